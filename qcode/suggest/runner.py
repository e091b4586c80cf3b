"""One entry point for a suggestion run: :func:`run_suggest` picks the codebook and the engine.

``qcode suggest`` parses its options and calls :func:`run_suggest`, then prints what it
returns. The rules live here, once:

* the codebook: the one asked for; else, with a project, the project's own codebook
  (a project made without one takes the default); else ``mcn-sst``
  (:func:`qcode.suggest.models.choose_codebook`, which every engine uses);
* the engine: ``options.engine`` ("local" or "dask"); a learned run (``learn`` or
  ``learn_from``) runs on the local engine, one run per learning scope
  (:func:`qcode.suggest.learning.suggest_by_scope`), all or nothing: when one of
  them fails or is interrupted, the runs already made by the call are removed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..codebook.model import Codebook
from ..document import Document
from ..errors import InputError
from .learning import LearnOutcome, suggest_by_scope
from .models import choose_codebook, make_suggester
from .options import SuggestOptions
from .pipeline import SuggestRun, suggest_corpus


@dataclass
class SuggestOutcome:
    """What :func:`run_suggest` did: the run written to ``out`` (the last one) and, for learned runs,
    each learning scope's outcome and run (``None`` where the codebook-only run serves the scope)."""

    run: SuggestRun
    learned: list[tuple[LearnOutcome | None, SuggestRun | None]] = field(default_factory=list)
    #: why the codebook-tuned model was not used (local, unlearned runs)
    tuning_note: str | None = None


def run_suggest(
    path: str | Path,
    options: SuggestOptions | None = None,
    *,
    codebook: Codebook | str | None = None,
    project: Any = None,
    out: str | Path | None = None,
    model: Any = None,
    backend: str = "auto",
    learn: bool = False,
    learn_from: Sequence[str] = (),
    learning: str = "auto",
    tuned: bool | str = "auto",
    context: bool | float | str = "auto",
    abstain: bool | float | str = "auto",
    on_start: Callable[[int], None] | None = None,
    on_document: Callable[[Document], None] | None = None,
    on_queued: Callable[[int], None] | None = None,
    on_embedded: Callable[[int], None] | None = None,
    on_shard: Callable[[int, int | None], None] | None = None,
    on_scope: Callable[[str, int], None] | None = None,
) -> SuggestOutcome:
    """Suggest codes for the corpus at ``path`` on the engine ``options.engine`` picks.

    ``learn`` (with ``project``): one codebook-only run and one run per coder, each
    trained on that coder's decisions only; ``learn_from``: one run trained on those
    coders. ``model``, ``backend``, ``tuned``, ``context``, ``abstain`` are those of
    :func:`~qcode.suggest.make_suggester`; the progress callbacks those of
    :func:`~qcode.suggest.suggest_corpus` (``on_shard``: of the Dask engine; ``on_scope(coders, decisions)``:
    before each learned scope trains).

    Example
    -------
    >>> import pathlib, tempfile, qcode
    >>> from qcode.embed.fake import FakeEmbedder
    >>> demo = pathlib.Path(qcode.__file__).parents[1] / "corpora" / "demo" / "interview_p07.txt"
    >>> outcome = run_suggest(demo, SuggestOptions(top_k=1), model=FakeEmbedder(),
    ...                       out=pathlib.Path(tempfile.mkdtemp()) / "s.csv")
    >>> outcome.run.record["codebook"]["name"], outcome.learned
    ('mcn-sst', [])
    """
    opts = options or SuggestOptions()
    learn_from = list(learn_from)
    if (learn or learn_from) and project is None:
        raise InputError("--learn needs --project PROJECT (the decisions to learn from live there)")
    if opts.engine == "dask" and (learn or learn_from):
        raise InputError("--learn and --learn-from run on the local engine (drop --engine dask for learned runs)")
    book = choose_codebook(codebook, project)
    if opts.engine == "dask":
        from .dask_engine import suggest_dask

        run = suggest_dask(path, book, opts, out=out, project=project, model=model, backend=backend,
                           on_shard=on_shard)
        return SuggestOutcome(run)
    progress: dict[str, Any] = {"on_start": on_start, "on_document": on_document, "on_queued": on_queued,
                                "on_embedded": on_embedded}
    if learn or learn_from:
        before = project.latest_run()
        try:
            learned = suggest_by_scope(path, project, opts, codebook=book, learn_from=learn_from, learning=learning,
                                      model=model, backend=backend, out=out, tuned=tuned, context=context,
                                      abstain=abstain, on_scope=on_scope, **progress)
        except BaseException:  # interrupted or failed: the set of runs lands whole or not at all
            project.discard_runs_after(before)
            raise
        return SuggestOutcome([run for _, run in learned if run is not None][-1], learned)
    ranker = make_suggester(book, model=model, backend=backend, tuned=tuned, context=context, abstain=abstain)
    run = suggest_corpus(path, ranker, opts, out=out, project=project, **progress)
    return SuggestOutcome(run, tuning_note=ranker.tuning_note)


__all__ = ["SuggestOutcome", "run_suggest"]
