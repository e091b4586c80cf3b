"""The card a coder is shown: the segment, its neighbouring turns, the suggestions and the coder's own
decisions (and, in a view that is not blind, the other coders'); and moving through a filtered queue."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..review.core import QueueItem, SegmentState, coder_states
from .payload import Filters, Viewer

CONTEXT_BEFORE = 2
CONTEXT_AFTER = 1


@dataclass
class Snapshot:
    """The project's current segments and suggestion runs, read once and shared by every request."""

    fingerprint: tuple
    items: list[QueueItem]
    by_id: dict[str, int]
    runs: list[tuple[int, dict[str, Any]]]  # newest first
    by_doc: dict[str, list[QueueItem]] = field(default_factory=dict)
    queues: dict[tuple, tuple[list[QueueItem], dict[str, int]]] = field(default_factory=dict)
    suggestions: dict[int, dict[tuple[str, int], list[tuple[str, float]]]] = field(default_factory=dict)


def filtered(queue: list[QueueItem], states: Mapping[tuple[str, int], SegmentState],
              suggestions: Mapping[tuple[str, int], list[tuple[str, float]]], filters: Filters) -> list[QueueItem]:
    shown = []
    for it in queue:
        key = (it.segment_id, it.doc_version)
        state = states.get(key) or SegmentState()
        if filters.doc and it.doc_id != filters.doc:
            continue
        if filters.code and filters.code not in [c for c, _ in suggestions.get(key, [])] \
                and filters.code not in state.verdicts:
            continue
        if filters.state != "all" and state.status != filters.state:
            continue
        shown.append(it)
    return shown


def next_open(shown: list[QueueItem], states: Mapping[tuple[str, int], SegmentState], after: int) -> QueueItem | None:
    """The first segment not yet decided after position ``after`` (wrapping), else the first skipped one."""
    n = len(shown)
    for wanted in ("new", "skipped"):
        for step in range(1, n + 1):
            it = shown[(after + step) % n]
            if (states.get((it.segment_id, it.doc_version)) or SegmentState()).status == wanted:
                return it
    return None


def build_card(project: Any, viewer: Viewer, corpus: Snapshot, run_id: int | None,
          suggestions: Mapping[tuple[str, int], list[tuple[str, float]]],
          queued: tuple[list[QueueItem], dict[str, int]], shown: list[QueueItem],
          states: Mapping[tuple[str, int], SegmentState], last: list[int], current: QueueItem | None,
          filters: Filters, current_codebook: tuple[Any, str]) -> dict[str, Any]:
    codebook, codebook_version = current_codebook
    queue, position = queued
    total = len(queue)
    reviewed = skipped = 0
    for (seg_id, version), st in states.items():  # the coder's decisions, usually far fewer than the queue
        if seg_id in position and queue[position[seg_id]].doc_version == version:
            status = st.status
            reviewed += status == "reviewed"
            skipped += status == "skipped"
    card: dict[str, Any] = {
        "coder": viewer.coder, "blind": viewer.blind, "lead": viewer.lead,
        "codebook_version": codebook_version, "codebook_name": codebook.name,
        "run": None if viewer.blind else run_id, "has_run": run_id is not None,
        "progress": {"reviewed": reviewed, "skipped": skipped, "total": total},
        "in_view": len(shown), "filters": filters.query(), "last": last, "segment": None,
    }
    if current is None:
        return card
    key = (current.segment_id, current.doc_version)
    state = states.get(key) or SegmentState()
    same_doc = corpus.by_doc[current.doc_id]
    at = next(i for i, it in enumerate(same_doc) if it.index == current.index)

    def turn(it: QueueItem) -> dict[str, Any]:
        return {"who": it.speaker or it.role, "role": it.role, "text": it.text}

    suggested = []
    for n, (code_id, score) in enumerate(suggestions.get(key, []), start=1):
        code = codebook.get(code_id)
        entry = {"n": n, "code_id": code_id, "name": code.name if code is not None else code_id,
                 "definition": code.definition if code is not None else "",
                 "parent": (codebook.get(code.parent).name if code is not None and code.parent
                            and codebook.get(code.parent) is not None else None),
                 "mine": state.verdicts.get(code_id)}
        if not viewer.blind:
            entry["score"] = f"{score:.2f}"
        suggested.append(entry)
    suggested_ids = {s["code_id"] for s in suggested}
    extra = [{"code_id": c, "name": codebook.get(c).name if codebook.get(c) is not None else c, "mine": v}
             for c, v in state.verdicts.items() if c not in suggested_ids]
    card.update({
        "segment": {"segment_id": current.segment_id, "doc_id": current.doc_id, "speaker": current.speaker,
                    "role": current.role, "text": current.text, "start": current.start, "end": current.end},
        "queue_position": position[current.segment_id] + 1,
        "before": [turn(it) for it in same_doc[max(0, at - CONTEXT_BEFORE):at]],
        "after": [turn(it) for it in same_doc[at + 1:at + 1 + CONTEXT_AFTER]],
        "suggestions": suggested, "extra": extra,
        "status": state.status, "skipped": state.skipped, "notes": list(state.notes),
        "others": [] if viewer.blind else others(project, viewer.coder, current),
    })
    return card


def others(project: Any, coder: str, item: QueueItem) -> list[dict[str, Any]]:
    """Other coders' standing decisions and notes on a segment (never called for a blind view)."""
    log = project.decisions()
    log = log[(log["coder"] != coder) & (log["segment_id"] == item.segment_id)
              & (log["doc_version"] == item.doc_version)]
    out = []
    for name in sorted(set(log["coder"])):
        state = coder_states(log[log["coder"] == name]).get((item.segment_id, item.doc_version))
        if state is None:
            continue
        codebook = project.codebook
        out.append({"coder": name, "status": state.status,
                    "accepted": [codebook.get(c).name if codebook.get(c) is not None else c
                                 for c in state.accepted],
                    "notes": state.notes})
    return out

# -- actions ----------------------------------------------------------------------


__all__ = ["CONTEXT_AFTER", "Snapshot", "CONTEXT_BEFORE", "build_card", "filtered", "next_open", "others"]
