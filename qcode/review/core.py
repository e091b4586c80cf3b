"""The review core that both front-ends share: ``qcode review`` (:mod:`qcode.review.terminal`) and
``qcode serve`` (:mod:`qcode.web.service`).

* :class:`QueueItem`: one segment to review, with the suggestions shown for it (best first);
* :data:`ORDERS` and :func:`order_queue`: document order, smallest margin first, active, seeded random;
* :func:`blind_run`: the run a blind coder may see (:func:`qcode.suggest.coders.run_is_independent`);
* :class:`SegmentState` and :func:`coder_states`: one coder's standing decisions per segment;
* :func:`press_keys` and :func:`last_press`: the events of one key press, undone together.

A segment with no suggestion is an item whose ``suggestions`` list is empty, and a segment's state
keeps one verdict per code: a later "no code applies" decision is one more verdict kind, not a new
queue type.

>>> item = QueueItem("s-1", "a.txt", 1, 0, 5, "Hello", None, "participant", 0, [("funding", 0.6), ("care", 0.5)])
>>> round(item.margin, 2)
0.1
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..suggest.coders import run_is_independent

#: every queue order, and those each front-end offers: the web review never orders by the model's
#: uncertainty (it would tell a blind coder the model's confidence), the terminal never at random
ORDERS = ("document", "uncertain", "active", "random")
TERMINAL_ORDERS = ("document", "uncertain", "active")
WEB_ORDERS = ("document", "random", "active")

Suggestions = list[tuple[str, float]]


@dataclass
class QueueItem:
    """One segment to review: where it is, what it says, and the suggestions shown for it (best first).

    An empty ``suggestions`` list is a segment the model suggested nothing for.
    """

    segment_id: str
    doc_id: str
    doc_version: int
    start: int
    end: int
    text: str
    speaker: str | None
    role: str
    index: int = 0  # position among all segments, in document order
    suggestions: Suggestions = field(default_factory=list)

    @property
    def key(self) -> tuple[str, int]:
        """(segment id, document version): a run made before a transcript changed does not lend it codes."""
        return (self.segment_id, self.doc_version)

    @property
    def margin(self) -> float:
        """Top score minus the second score (the top score alone when there is one suggestion)."""
        if not self.suggestions:
            return float("inf")
        scores = sorted((s for _, s in self.suggestions), reverse=True)
        return scores[0] - (scores[1] if len(scores) > 1 else 0.0)


def shuffled(items: Sequence[Any], seed: str) -> list[Any]:
    """``items`` in an order fixed by ``seed`` (the same coder resumes the same order)."""
    rng = random.Random(int(hashlib.sha256(seed.encode("utf-8")).hexdigest()[:16], 16))
    out = list(items)
    rng.shuffle(out)
    return out


def order_queue(items: list[QueueItem], order: str, seed: str = "",
                suggestions_of: Callable[[QueueItem], Suggestions] | None = None) -> list[QueueItem]:
    """``items`` in review ``order``; ``suggestions_of`` gives an item's suggestions (default: its own)."""
    shown = suggestions_of or (lambda item: item.suggestions)
    if order == "uncertain":
        return [item for _, item in sorted(enumerate(items), key=lambda p: (p[1].margin, p[0]))]
    if order == "active":
        from ..suggest.active import active_order

        return [items[i] for i in active_order([shown(item) for item in items])]
    if order == "random":
        return shuffled(items, seed)
    return list(items)


def blind_run(runs: Sequence[tuple[int, dict[str, Any]]], coder: str, run: int | None = None) -> int | None:
    """The newest run in ``runs`` (newest first; only ``run`` when given) that no other coder trained, or None."""
    for run_id, params in runs:
        if (run is None or run_id == run) and run_is_independent(params, coder):
            return run_id
    return None


@dataclass
class SegmentState:
    """One coder's standing decisions on one segment."""

    verdicts: dict[str, str] = field(default_factory=dict)  # code -> accept/reject, latest wins
    skipped: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> list[str]:
        return [c for c, v in self.verdicts.items() if v == "accept"]

    @property
    def rejected(self) -> list[str]:
        return [c for c, v in self.verdicts.items() if v == "reject"]

    @property
    def reviewed(self) -> bool:
        return bool(self.verdicts)

    @property
    def status(self) -> str:
        return "reviewed" if self.reviewed else ("skipped" if self.skipped else "new")

    def apply(self, verdict: str, code_id: str | None, note: str | None) -> None:
        """Take one more decision into account (the latest verdict on a code wins)."""
        if note:
            self.notes.append(note)
        if verdict == "skip":
            self.skipped = True
        elif isinstance(code_id, str):
            self.verdicts.pop(code_id, None)
            self.verdicts[code_id] = verdict


@dataclass
class CoderMemory:
    """One coder's standing decisions, as of the coder's newest event (``mark``, undos included)."""

    mark: int | None
    states: dict[tuple[str, int], SegmentState]
    last: list[int]


def coder_states(decisions: Any) -> dict[tuple[str, int], SegmentState]:
    """Per (segment id, document version): the coder's standing decisions.

    ``decisions`` is the frame of :meth:`Project.decisions` for one coder.
    """
    states: dict[tuple[str, int], SegmentState] = {}
    if decisions is None or len(decisions) == 0:
        return states
    live = decisions[(~decisions["undone"]) & (decisions["verdict"] != "undo")]
    for row in live.sort_values("event_id").itertuples(index=False):
        if not isinstance(row.segment_id, str):
            continue
        state = states.setdefault((row.segment_id, int(row.doc_version)), SegmentState())
        state.apply(row.verdict, row.code_id if isinstance(row.code_id, str) else None,
                    row.note if isinstance(row.note, str) else None)
    return states


def press_keys(key: str, count: int) -> list[str]:
    """The event keys of one key press that records ``count`` events: ``key``, or ``key.0``, ``key.1``, ..."""
    return [key] if count == 1 else [f"{key}.{i}" for i in range(count)]


def last_press(project: Any, coder: str, decisions: Any) -> list[int]:
    """Event ids of the coder's last key press still in effect (several for one ``r``), oldest first.

    The events of one press share an event key up to its dot (see :func:`press_keys`);
    a decision recorded without a key is a press of its own.
    """
    last = project.last_decision(coder)
    if last is None:
        return []
    key = last.get("event_key")
    if not isinstance(key, str) or "." not in key:
        return [int(last["event_id"])]
    prefix = key.rsplit(".", 1)[0]
    live = {int(e) for e in decisions.loc[(~decisions["undone"]) & (decisions["verdict"] != "undo"), "event_id"]}
    ids = []
    for i in range(10_000):
        found = project.event_by_key(f"{prefix}.{i}")
        if found is None:
            break
        if int(found["event_id"]) in live:
            ids.append(int(found["event_id"]))
    return ids or [int(last["event_id"])]


__all__ = ["ORDERS", "TERMINAL_ORDERS", "WEB_ORDERS", "CoderMemory", "QueueItem", "SegmentState", "blind_run", "coder_states", "last_press",
           "order_queue", "press_keys", "shuffled"]
