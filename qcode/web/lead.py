"""The project lead's views in ``qcode serve``: disagreements between coders, adjudication, live agreement,
and the study report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ..review.core import coder_states
from .payload import RequestError, request_key


class LeadSource(Protocol):
    """What the lead's views use of :class:`qcode.web.service.ReviewService` (which calls them)."""

    adjudicator: str

    def project(self) -> Any: ...

    def corpus(self) -> Any: ...

    def current_codebook(self) -> tuple[Any, str]: ...

    def record(self, events: list[dict[str, Any]], key: str) -> list[int]: ...


def disagreements(service: LeadSource, include_resolved: bool = True) -> dict[str, Any]:
    """Segments where coders' standing codes differ, with every coder's codes and notes side by side."""
    project = service.project()
    corpus = service.corpus()
    codebook = project.codebook
    log = project.decisions()
    coders = sorted(c for c in set(log["coder"]) if c != service.adjudicator)
    per_coder = {c: coder_states(log[log["coder"] == c]) for c in coders}
    adjudicated = coder_states(log[log["coder"] == service.adjudicator])
    rows = []
    for it in corpus.items:
        key = (it.segment_id, it.doc_version)
        views = {c: per_coder[c][key] for c in coders if key in per_coder[c] and per_coder[c][key].reviewed}
        if len(views) < 2 or len({frozenset(v.accepted) for v in views.values()}) < 2:
            continue
        settled = adjudicated.get(key)
        if settled is not None and not settled.reviewed:
            settled = None
        if settled is not None and not include_resolved:
            continue
        union = sorted({c for v in views.values() for c in v.accepted}
                       | set(settled.accepted if settled else []))
        rows.append({
            "segment_id": it.segment_id, "doc_id": it.doc_id, "speaker": it.speaker or it.role,
            "text": it.text,
            "coders": [{"coder": c, "codes": [_code_name(codebook, x) for x in v.accepted],
                        "notes": v.notes} for c, v in views.items()],
            "candidates": [{"code_id": c, "name": _code_name(codebook, c),
                            "chosen": bool(settled and settled.verdicts.get(c) == "accept")} for c in union],
            "adjudicated": None if settled is None else [_code_name(codebook, c) for c in settled.accepted],
        })
    return {"rows": rows, "coders": coders, "adjudicator": service.adjudicator,
            "codes": [{"code_id": c.id, "name": c.name} for c in codebook.leaves()],
            "codebook_version": codebook.version}


def _code_name(codebook: Any, code_id: str) -> str:
    code = codebook.get(code_id)
    return code.name if code is not None else code_id


def adjudicate(service: LeadSource, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Record the lead's settled codes for a segment as decisions of the adjudicator coder.

    ``payload``: ``key``, ``segment_id``, ``codes`` (the codes that apply).
    Each chosen code is accepted; each other code any coder (or an earlier
    adjudication) applied there is rejected.
    """
    key = request_key(payload, service.current_codebook()[1])
    segment_id = payload.get("segment_id")
    codes = payload.get("codes")
    if not isinstance(segment_id, str):
        raise RequestError("segment_id must be text")
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        raise RequestError("codes must be a list of code ids")
    project = service.project()
    codebook = project.codebook
    for c in codes:
        if c not in codebook:
            raise RequestError(f"codebook {codebook.name!r} has no code {c!r}", 422)
    corpus = service.corpus()
    if segment_id not in corpus.by_id:
        raise RequestError(f"unknown segment {segment_id!r}", 404)
    item = corpus.items[corpus.by_id[segment_id]]
    log = project.decisions()
    here = log[(log["segment_id"] == segment_id) & (log["doc_version"] == item.doc_version)]
    applied: set[str] = set()
    for name in set(here["coder"]):
        state = coder_states(here[here["coder"] == name]).get((segment_id, item.doc_version))
        if state is not None:
            applied |= set(state.accepted)
    chosen = list(dict.fromkeys(codes))
    events = [{"coder": service.adjudicator, "segment_id": segment_id, "code_id": c, "verdict": "accept",
               "source": "manual"} for c in chosen]
    events += [{"coder": service.adjudicator, "segment_id": segment_id, "code_id": c, "verdict": "reject",
                "source": "manual"} for c in sorted(applied - set(chosen))]
    if not events:
        raise RequestError("choose at least one code (or reject them all by choosing none of several)", 422)
    ids = service.record(events, key)
    return {"events": ids, "accepted": chosen, "rejected": sorted(applied - set(chosen))}


def agreement_html(service: LeadSource, n_boot: int = 500) -> str:
    """The agreement report (qcode.agreement's HTML) on the project as it stands now, adjudicator left out."""
    from ..agreement import project_report

    project = service.project()
    coders = [c for c in project.coders() if c != service.adjudicator]
    result = project_report(project, coders=coders, n_boot=n_boot)
    return result.to_html()


def study_report_html(service: LeadSource) -> str:
    """The study report (:mod:`qcode.analysis`) of the project as it stands now, adjudications counted."""
    from ..analysis.report import build_report
    from ..analysis.report_html import render_html

    return render_html(build_report(service.project(), adjudicator=service.adjudicator))


__all__ = ["adjudicate", "agreement_html", "disagreements", "study_report_html"]
