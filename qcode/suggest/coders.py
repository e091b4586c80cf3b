"""Whose decisions may shape the model a coder sees: the blind-coding rule.

In blind mode the model a coder sees is trained only on that coder's own
decisions (or on the codebook alone): otherwise a second coder's suggestions
would carry the first coder's codes and their agreement would measure nothing.
Outside blind mode a workflow may name the coders to learn from explicitly
(``--learn-from ana`` for a first pass that a lead then checks).

:class:`LearningScope` is the set of coders whose standing decisions a model
was trained on; its :attr:`~LearningScope.key` keys per-scope learned state and
tuned models, and every run records :meth:`~LearningScope.record`.

>>> scope_for("ben", blind=True).coders
('ben',)
>>> scope_for("ben", learn_from=["ana"], blind=True)
Traceback (most recent call last):
...
qcode.errors.InputError: blind mode: ben's suggestions may learn only from ben's own decisions, not from ana; drop --learn-from or review without --blind
>>> scope_for(None, learn_from=["ben", "ana"], blind=False).key
'coders:ana+ben'
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InputError


@dataclass(frozen=True)
class LearningScope:
    """The coders whose decisions a model learns from (sorted, no repeats; empty: the codebook alone)."""

    coders: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "coders", tuple(sorted(set(self.coders))))

    @property
    def key(self) -> str:
        return "coders:" + "+".join(self.coders) if self.coders else "codebook-only"

    def record(self) -> dict[str, Any]:
        return {"learned_from_coders": list(self.coders)}


def scope_for(viewer: str | None, learn_from: Sequence[str] | None = None, *, blind: bool = True) -> LearningScope:
    """The scope a run for ``viewer`` may use.

    * blind (the default): the viewer's own decisions only; naming anyone else is an error;
    * not blind: the coders named in ``learn_from``, else the viewer's own.
    """
    named = tuple(learn_from or ())
    if blind:
        others = sorted(set(named) - {viewer}) if named else []
        if others:
            raise InputError(f"blind mode: {viewer}'s suggestions may learn only from {viewer}'s own decisions, "
                             f"not from {', '.join(others)}; drop --learn-from or review without --blind")
        return LearningScope((viewer,) if viewer else ())
    if named:
        return LearningScope(named)
    return LearningScope((viewer,) if viewer else ())


#: the learned state of a suggester that has learned nothing (``Suggester.identity()["learned_state"]``)
EMPTY_LEARNED_STATE = hashlib.sha256(b'{"accepted": {}, "rejected": {}}').hexdigest()[:16]


def run_is_independent(params: Mapping[str, Any], coder: str) -> bool:
    """Whether a suggestion run's model was trained by no coder but ``coder`` (the run a blind coder may see).

    A run records ``learned_from``, the coders whose decisions shaped its
    model (``[]``: the codebook alone). A run that learned from decisions and
    does not say whose counts as trained by others.
    """
    learned_from = params.get("learned_from")
    if isinstance(learned_from, (list, tuple)):
        return {str(c) for c in learned_from} <= {coder}
    state = params.get("learned_state")
    return state is None or state == EMPTY_LEARNED_STATE


def scoped_labels(project: Any, scope: LearningScope) -> Any:
    """The standing accept/reject labels of the scope's coders only.

    A coder with no decisions yet (not known to the project) contributes nothing: an empty frame.
    """
    import pandas as pd

    known = set(project.coders())
    frames = [project.labels(coder) for coder in scope.coders if coder in known]
    if not frames:
        empty = project.labels()
        return empty.iloc[0:0]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def scoped_no_code(project: Any, coders: Any) -> list[str]:
    """The passages ``coders`` said "no code" to (the ``no_code`` verdict, still standing), for learned
    abstention (:meth:`qcode.project.Project.no_code_passages`; passages whose every decided code was
    rejected come through the labels and are counted by the learner itself)."""
    known = set(project.coders())
    texts: list[str] = []
    for coder in coders:
        if coder in known:
            said = project.no_code_passages(coder)
            texts += [str(t) for t in said.loc[said["how"] == "no_code", "text"]]
    return list(dict.fromkeys(texts))


__all__ = ["EMPTY_LEARNED_STATE", "LearningScope", "run_is_independent", "scope_for", "scoped_labels",
           "scoped_no_code"]
