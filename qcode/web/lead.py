"""The project lead's views in ``qcode serve``: disagreements between coders, adjudication, live agreement,
memos (issue 19), discovery's candidate codes (issue 20) and the study report."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from ..errors import ProjectError, QcodeError
from ..review.core import coder_states
from .payload import KEY_PATTERN, RequestError, request_key


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
    replay = _recorded_press(project, key, service.adjudicator, segment_id)
    if replay is not None:  # a retry of an adjudication already saved: the same answer, nothing new
        return replay
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


def _recorded_press(project: Any, key: str, coder: str, segment_id: str) -> dict[str, Any] | None:
    """The answer an adjudication made with ``key`` gave, from its events in the log; None if none were made.

    The events of one press carry ``key`` or ``key.0``, ``key.1``... (:func:`qcode.review.core.press_keys`).
    """
    found = project.event_by_key(key)
    events = [found] if found is not None else []
    while found is None:
        found = project.event_by_key(f"{key}.{len(events)}")
        if found is not None:
            events.append(found)
            found = None
        else:
            break
    if not events:
        return None
    if any(e["coder"] != coder or e["segment_id"] != segment_id for e in events):
        raise RequestError("this request's key was already used for another decision; reload the page", 409)
    return {"events": [int(e["event_id"]) for e in events],
            "accepted": [e["code_id"] for e in events if e["verdict"] == "accept"],
            "rejected": [e["code_id"] for e in events if e["verdict"] == "reject"]}


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


# -- memos (issue 19) ---------------------------------------------------------------------
#: the memo kinds the lead's page writes, in the order its menu lists them
MEMO_KINDS = ("project", "document", "code", "case", "passage")
_MEMO_NAMESPACE = uuid.UUID("6f1d2c1e-3b0a-4c55-9d7e-2f0b8f6a9c41")


def memo_board(service: LeadSource) -> dict[str, Any]:
    """Every memo's latest version with its earlier versions, newest memo first, and what a memo can be on."""
    project = service.project()
    history = project.memo_history()
    memos = []
    for memo_id, versions in history.groupby("memo_id", sort=True):
        rows = versions.sort_values("version").to_dict("records")
        latest = rows[-1]
        memos.append({"memo_id": int(memo_id), "kind": latest["target_kind"], "target": latest["target_id"],
                      "text": latest["text"], "author": latest["author"], "time": latest["time"],
                      "version": int(latest["version"]),
                      "earlier": [{"version": int(r["version"]), "author": r["author"], "time": r["time"],
                                   "text": r["text"]} for r in reversed(rows[:-1])]})
    memos.reverse()
    codebook = project.codebook
    return {"memos": memos, "kinds": list(MEMO_KINDS),
            "codes": [{"code_id": c.id, "name": c.name} for c in codebook.codes],
            "documents": sorted(set(project.documents()["doc_id"]))}


def _memo_text(payload: Mapping[str, Any]) -> str:
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        raise RequestError("a memo needs text", 422)
    return text


def add_memo(service: LeadSource, author: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Write a memo (``kind``, ``target``, ``text``); a retried request (same ``key``) writes it once.

    The request key becomes the memo's guid (a name-based UUID of author and key), which the project
    keeps unique: the retry finds the memo the first request wrote and answers with it.
    """
    key = payload.get("key")
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise RequestError("every request that writes needs a 'key': 8-64 letters, digits, - or _")
    kind = payload.get("kind")
    if kind not in MEMO_KINDS:
        raise RequestError(f"a memo is on one of {', '.join(MEMO_KINDS)}, got {kind!r}", 422)
    target = payload.get("target")
    if target is not None and not isinstance(target, str):
        raise RequestError("target must be text", 422)
    text = _memo_text(payload)
    guid = str(uuid.uuid5(_MEMO_NAMESPACE, f"{author}\x1f{key}"))
    project = service.project()

    def earlier() -> int | None:
        found = project.memos()
        found = found[found["guid"] == guid]
        return int(found["memo_id"].iloc[0]) if len(found) else None

    memo_id = earlier()
    if memo_id is not None:
        return {"memo_id": memo_id, "version": 1, "repeated": True}
    try:
        memo_id = project.add_memo(kind, target if kind != "project" else None, text, author, guid=guid)
    except ProjectError as exc:
        again = earlier()  # the same request, retried while the first was being written
        if again is not None:
            return {"memo_id": again, "version": 1, "repeated": True}
        raise RequestError(str(exc), 422) from None
    return {"memo_id": memo_id, "version": 1, "repeated": False}


def edit_memo(service: LeadSource, author: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Append a version to memo ``memo_id`` (``text``; ``version``: the one the page showed).

    Refused (409) when someone wrote a newer version since the page was loaded; a retried request, whose
    text is already the latest, appends nothing.
    """
    memo_id = payload.get("memo_id")
    if not isinstance(memo_id, int) or isinstance(memo_id, bool):
        raise RequestError("memo_id must be a whole number", 422)
    seen = payload.get("version")
    text = _memo_text(payload)
    project = service.project()
    with project.transaction():
        try:
            history = project.memo_history(memo_id)
        except ProjectError:
            raise RequestError(f"no memo {memo_id}", 404) from None
        latest = history.iloc[-1]
        if latest["text"] == text:
            return {"memo_id": memo_id, "version": int(latest["version"]), "repeated": True}
        if isinstance(seen, int) and int(latest["version"]) != seen:
            raise RequestError(f"memo {memo_id} was changed by {latest['author']} ({latest['time']}) since this "
                               "page was loaded; nothing was recorded: reload the page (copy your text first)", 409)
        version = project.edit_memo(memo_id, text, author)
    return {"memo_id": memo_id, "version": version, "repeated": False}


# -- discovery candidates (issue 20) ------------------------------------------------------
def candidate_board(service: LeadSource, path: Path | None) -> dict[str, Any]:
    """The candidates of the file ``qcode serve --candidates`` named, each marked when it is a code already."""
    if path is None:
        return {"file": None, "candidates": [], "notes": []}
    from ..discovery.sources import read_candidates

    try:
        data = read_candidates(path)
    except QcodeError as exc:  # edited into something that is not a candidates file: say so, keep the memos
        return {"file": path.name, "candidates": [], "notes": [], "problem": str(exc)}
    project = service.project()
    made = _made_from(project.codebook_history(), path.name)
    names = {c.name.strip().lower(): c.id for c in project.codebook.codes}
    out = []
    for cand in data:
        label = str(cand.get("label") or "")
        out.append({"id": str(cand["id"]), "label": label,
                    "keywords": [str(k) for k in cand.get("keywords") or []],
                    "definition": str(cand.get("definition") or ""), "size": cand.get("size"),
                    "examples": [str(e) for e in cand.get("examples") or []],
                    "code_id": cand.get("code_id") or "",
                    "now_code": made.get(str(cand["id"])) or names.get(label.strip().lower())})
    notes = _file_notes(path)
    return {"file": path.name, "candidates": out, "notes": notes,
            "codebook_version": service.current_codebook()[1]}


def _made_from(history: Any, file_name: str) -> dict[str, str]:
    """Which candidates of ``file_name`` the codebook history says were made codes (here or by
    ``qcode codebook add``, whose note is ``from FILE: ID, ID``), and the code each became."""
    import json

    made: dict[str, str] = {}
    prefix = f"from {file_name}: "
    for raw in history.loc[history["action"] == "add", "detail"]:
        detail = json.loads(raw) if raw else {}
        note = str(detail.get("note") or "")
        if note.startswith(prefix):
            picked = note[len(prefix):].split(" (qcode serve")[0].split(", ")
            made.update(zip(picked, detail.get("codes") or []))
    return made


def _file_notes(path: Path) -> list[dict[str, Any]]:
    """The "this looks like CODE" notes of a candidates file (clusters that duplicate a code)."""
    import json

    import yaml

    try:
        raw = path.read_text(encoding="utf-8")
        data = json.loads(raw) if path.suffix.lower() == ".json" else yaml.safe_load(raw)
    except Exception:  # read_candidates has already said what is wrong with the file
        return []
    notes = data.get("notes") if isinstance(data, dict) else None
    return [{"label": str(n.get("label") or ""), "looks_like": str(n.get("looks_like") or ""), "size": n.get("size")}
            for n in notes or [] if isinstance(n, dict)]


def make_code(service: LeadSource, author: str, path: Path | None, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Turn candidate ``candidate`` (with the lead's ``label``, ``definition`` and optional ``code_id``) into a
    code of a new codebook version, as ``qcode codebook add`` does; logged in the codebook history.

    A retried request (same ``key``) finds its own entry in the history and adds nothing.
    """
    from ..discovery.adopt import codes_from_candidates
    from ..discovery.sources import read_candidates

    key = payload.get("key")
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise RequestError("every request that writes needs a 'key': 8-64 letters, digits, - or _")
    if path is None:
        raise RequestError("no candidates file: start the server with --candidates FILE "
                           "(written by `qcode discover --project P --out FILE`)", 404)
    marker = f"(qcode serve request {key})"
    project = service.project()
    with project.transaction():
        history = project.codebook_history()
        done = history[history["detail"].str.contains(marker, regex=False)]
        if len(done):
            import json

            detail = json.loads(done["detail"].iloc[-1])
            return {"code_id": detail["codes"][0], "version": done["codebook_version"].iloc[-1], "repeated": True}
        request_key(payload, service.current_codebook()[1])
        cand_id = payload.get("candidate")
        if not isinstance(cand_id, str):
            raise RequestError("candidate must be a candidate id", 422)
        by_id = {str(c["id"]): c for c in read_candidates(path)}
        if cand_id not in by_id:
            raise RequestError(f"{path.name} has no candidate {cand_id!r}", 404)
        edited = dict(by_id[cand_id])
        for field, limit in (("label", 200), ("definition", 5000), ("code_id", 64)):
            value = payload.get(field)
            if value is None:
                continue
            if not isinstance(value, str) or len(value) > limit:
                raise RequestError(f"{field} must be text of at most {limit} characters", 422)
            edited[field] = value.strip()
        if not edited.get("label"):
            raise RequestError("the new code needs a name", 422)
        edited.pop("draft", None)
        try:
            codes = codes_from_candidates([edited], [cand_id], where=path.name)
            version = project.add_codes(codes, author=author,
                                        note=f"from {path.name}: {cand_id} {marker}")
        except QcodeError as exc:
            raise RequestError(str(exc), 409) from None
    return {"code_id": codes[0].id, "name": codes[0].name, "version": version, "repeated": False}


__all__ = ["MEMO_KINDS", "add_memo", "adjudicate", "agreement_html", "candidate_board",
           "disagreements", "edit_memo", "make_code", "memo_board", "study_report_html"]
