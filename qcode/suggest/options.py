"""The options of a suggestion run, written down once.

:class:`SuggestOptions` is what ``qcode suggest`` builds from its flags, what
:func:`qcode.suggest_corpus` takes, and (through :meth:`SuggestOptions.record`)
what the run record stores, so the three can never drift apart.

>>> opts = SuggestOptions(unit="sentence", top_k=1, interviewers=["Anna"])
>>> opts.record()["unit"], opts.record()["interviewers"]
('sentence', ['Anna'])
>>> SuggestOptions(unit="word")
Traceback (most recent call last):
...
qcode.errors.InputError: unknown unit 'word'; choose one of turn, sentence, paragraph, document
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from ..errors import InputError
from ..segmentation import DEFAULT_MAX_TOKENS, UNITS


@dataclass(frozen=True)
class SuggestOptions:
    """How to read, segment and rank a corpus.

    Parameters
    ----------
    unit : ``"turn"``, ``"sentence"``, ``"paragraph"`` or ``"document"``.
    top_k : suggestions per segment (``None``: no limit).
    threshold : drop suggestions scoring below this (a raw score).
    min_probability : drop suggestions whose probability is below this; once the suggester is
        calibrated on 30 or more of the coder's decisions, ``0.7`` keeps suggestions right about 70%
        of the time (before that the probabilities are marked uncalibrated).
    multi_label : with ``threshold``, keep every code above it (maybe none) instead of
        always keeping the best one.
    include_interviewer : also suggest for interviewer/facilitator turns.
    interviewers : speaker names to treat as interviewers (besides labels such as ``Interviewer:``).
    max_tokens : token budget per segment; longer turns are split.
    id_column, text_column : for spreadsheets of responses, the id and text columns.
    encoding : the encoding of the text files (``"gbk"``); default: detected (see :mod:`qcode.ingest.normalize`).
    attribute_columns : for spreadsheets of responses recorded in a project, columns whose cells become
        attributes of each row's case (its document); they do not change the suggestions, so they are not
        in :meth:`record`.
    batch_segments : segments embedded and ranked together (memory, not output).
    engine : ``"local"`` (this process) or ``"dask"`` (a Dask cluster: :mod:`qcode.suggest.dask_engine`).
    scheduler, workers : for the dask engine, a scheduler address (``tcp://HOST:PORT``) or the number of
        worker processes of a local cluster. Where the run happens does not change its output, so these
        three are not in :meth:`record`.
    """

    unit: str = "turn"
    top_k: int | None = 3
    threshold: float | None = None
    multi_label: bool = False
    min_probability: float | None = None
    include_interviewer: bool = False
    interviewers: Sequence[str] = ()
    max_tokens: int = DEFAULT_MAX_TOKENS
    id_column: str | None = None
    text_column: str | None = None
    attribute_columns: Sequence[str] = ()
    batch_segments: int = 512
    engine: str = "local"
    scheduler: str | None = None
    workers: int | None = None
    encoding: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "interviewers", tuple(self.interviewers))
        object.__setattr__(self, "attribute_columns", tuple(self.attribute_columns))
        if self.unit not in UNITS:
            raise InputError(f"unknown unit {self.unit!r}; choose one of {', '.join(UNITS)}")
        if self.top_k is not None and (isinstance(self.top_k, bool) or not isinstance(self.top_k, int)
                                       or self.top_k < 1):
            raise InputError(f"top_k={self.top_k!r}: must be a whole number of at least 1, or None")
        if self.batch_segments < 1:
            raise InputError(f"batch_segments={self.batch_segments!r}: must be at least 1")
        if self.engine not in ("local", "dask"):
            raise InputError(f"unknown engine {self.engine!r}; choose local or dask")
        if self.engine != "dask" and (self.scheduler is not None or self.workers is not None):
            raise InputError("--scheduler and --workers go with --engine dask")
        if self.scheduler is not None and self.workers is not None:
            raise InputError("give --scheduler or --workers, not both (--workers starts a local cluster)")
        if self.workers is not None and (isinstance(self.workers, bool) or not isinstance(self.workers, int)
                                         or self.workers < 1):
            raise InputError(f"workers={self.workers!r}: must be a whole number of at least 1")

    def record(self) -> dict[str, Any]:
        """The parameters that shape the output, as the run record stores them (and the run id hashes)."""
        return {"unit": self.unit, "top_k": self.top_k, "threshold": self.threshold,
                "multi_label": self.multi_label, "min_probability": self.min_probability,
                "include_interviewer": self.include_interviewer,
                "interviewers": sorted(self.interviewers), "max_tokens": self.max_tokens,
                **({"encoding": self.encoding} if self.encoding else {})}  # absent when detected: run ids stay

    def replace(self, **changes: Any) -> SuggestOptions:
        """A copy with some options changed; an unknown name is a one-line error."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(f"unknown suggest option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return replace(self, **changes)


__all__ = ["SuggestOptions"]
