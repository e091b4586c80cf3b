"""Cases, attributes and memos between a project and a REFI-QDA project (the bridge's part for them).

Export: every case with its current attributes becomes a ``<Case>`` (speaker
cases refer to each source their speaker talks in, document cases to their
source), and the latest version of every memo a ``<Note>`` attached where the
standard allows (see :mod:`qcode.interchange.casenotes`). Import, inside the
bridge's one transaction: a case whose kind the file does not say is a
speaker case when its name is a speaker label of the project, a document case
when it is a document id, else its attributes go to each document it refers
to (with a warning); a note becomes a memo on what it is attached to, kept
once (by its GUID) however often the file is imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..codebook.model import Codebook
from ..document import Segment, segment_id
from ..errors import InputError, InterchangeError, ProjectError
from ..interchange.model import (
    RefiCase,
    RefiNote,
    RefiNoteRef,
    RefiProject,
    RefiUser,
    code_guid,
    norm_guid,
    stable_guid,
)
from .store import Project


def cases_and_notes_to_refi(project: Project, source_guid: Mapping[str, str], users: list[RefiUser],
                            codebook: Codebook) -> tuple[list[str], list[RefiCase], list[RefiNote], list[str]]:
    """(variables, cases, notes, warnings) of ``project`` for a :class:`RefiProject`."""
    warnings: list[str] = []
    cases = project.cases()
    variables = [c for c in cases.columns if c not in ("case", "by")]
    segments = project.segments()
    speaker_docs: dict[str, list[str]] = {}
    for speaker, doc in zip(segments["speaker"], segments["doc_id"]):
        if isinstance(speaker, str) and doc not in speaker_docs.setdefault(speaker, []):
            speaker_docs[speaker].append(doc)
    created = project._meta("created") or str(project.path)
    refi_cases = []
    for row in cases.to_dict("records"):
        docs = [row["case"]] if row["by"] == "document" else speaker_docs.get(row["case"], [])
        values = {name: str(row[name]) for name in variables if row[name] is not None}
        refi_cases.append(RefiCase(stable_guid("case", created, row["by"], row["case"]), row["case"], values,
                                   tuple(source_guid[d] for d in docs if d in source_guid), row["by"]))
    user_guid = {u.name: u.guid for u in users}
    seg_rows = {r.segment_id: r for r in project.segments(all_versions=True).itertuples(index=False)}
    current = {(r.segment_id, int(r.doc_version)) for r in segments.itertuples(index=False)}
    notes = []
    for memo in project.memos().to_dict("records"):
        ref, extra = _memo_ref(memo, source_guid, codebook, seg_rows, current, cases)
        if ref is None:
            warnings.append(f"memo {memo['memo_id']} is on {memo['target_kind']} {memo['target_id']!r}, which the "
                            "export does not hold (an old document version, or a code no longer in the codebook); "
                            "left out")
            continue
        first = project.memo_history(int(memo["memo_id"])).iloc[0]
        author = memo["author"]
        if author not in user_guid:
            extra["author"] = author
        notes.append(RefiNote(memo["guid"], f"memo {memo['memo_id']} on {memo['target_kind']}", memo["text"],
                              user_guid.get(author), first["time"], memo["time"] if memo["version"] > 1 else None,
                              (ref,), extra))
    return variables, refi_cases, notes, warnings


def _memo_ref(memo: Mapping[str, Any], source_guid: Mapping[str, str], codebook: Codebook,
              seg_rows: Mapping[str, Any], current: set[tuple[str, int]],
              cases: Any) -> tuple[RefiNoteRef | None, dict[str, str]]:
    kind, target = memo["target_kind"], memo["target_id"]
    if kind == "project":
        return RefiNoteRef("project"), {}
    if kind == "document":
        return (RefiNoteRef("source", source_guid[target]) if target in source_guid else None), {}
    if kind == "code":
        code = codebook.get(target)
        return (RefiNoteRef("code", code_guid(codebook.name, code)) if code is not None else None), {}
    if kind == "case":
        by = cases.loc[cases["case"] == target, "by"]
        return RefiNoteRef("case", case=target, by=str(by.iloc[0]) if len(by) else ""), {}
    seg = seg_rows.get(target)
    if seg is None or (target, int(seg.doc_version)) not in current or seg.doc_id not in source_guid:
        return None, {}
    return (RefiNoteRef("selection", source_guid[seg.doc_id], int(seg.start), int(seg.end)),
            {"segment": target, "unit": str(seg.unit)})


def import_cases_and_notes(project: Project, proj: RefiProject, label: str, code_of_guid: Mapping[str, str],
                           users: Mapping[str, str]) -> dict[str, Any]:
    """Write a REFI project's cases and notes into ``project`` (call inside the import's transaction)."""
    warnings: list[str] = []
    names = {norm_guid(s.guid): s.name for s in proj.sources}
    speakers = set(project.case_names("speaker"))
    documents = set(project.case_names("document"))
    by_kind: dict[str, dict[str, dict[str, str | None]]] = {"speaker": {}, "document": {}}
    for case in proj.cases:
        by = case.by or ("speaker" if case.name in speakers else "document" if case.name in documents else "")
        targets = [case.name] if by else [names[norm_guid(g)] for g in case.source_guids if norm_guid(g) in names]
        if not by:
            if not targets:
                warnings.append(f"{label}: case {case.name!r} is neither a speaker nor a document of the project "
                                "and refers to no source; left out")
                continue
            warnings.append(f"{label}: case {case.name!r} is neither a speaker nor a document; its attributes are "
                            f"given to the document(s) it refers to: {', '.join(targets)}")
            by = "document"
        for target in targets:
            held = by_kind[by].setdefault(target, {})
            for name, value in case.values.items():
                held[name] = value
    changed = 0
    try:
        for by, values in by_kind.items():
            if values:
                checked = {case: {k: _attribute(v, label, case, k) for k, v in attrs.items()}
                           for case, attrs in values.items()}
                changed += project._write_cases(checked, by, project._author(None), f"import:{label}", label)[1]
    except InputError as exc:
        raise InterchangeError(str(exc)) from None
    memos = _import_notes(project, proj, label, code_of_guid, users, warnings)
    return {"cases": sum(len(v) for v in by_kind.values()), "attribute_changes": changed, "memos": memos,
            "warnings": warnings}


def _attribute(value: str | None, label: str, case: str, name: str) -> str | None:
    from .caseinput import attribute_text, check_attribute_name

    check_attribute_name(name, f"{label}: case {case!r}: ")
    return attribute_text(value, f"{label}: case {case!r}: attribute {name!r}: ")


def _import_notes(project: Project, proj: RefiProject, label: str, code_of_guid: Mapping[str, str],
                  users: Mapping[str, str], warnings: list[str]) -> int:
    names = {norm_guid(s.guid): s.name for s in proj.sources}
    known = set(project.memo_history()["guid"])
    added = 0
    for note in proj.notes:
        author = users.get(norm_guid(note.user_guid or "")) or note.extra.get("author") or "unknown"
        for i, ref in enumerate(note.refs or (RefiNoteRef("project"),)):
            guid = note.guid if i == 0 else stable_guid("note-copy", norm_guid(note.guid), str(i))
            if guid in known or norm_guid(guid) in {norm_guid(g) for g in known}:
                continue
            target = _target(project, ref, names, code_of_guid, note.extra)
            if target is None:
                warnings.append(f"{label}: note {note.name or note.guid!r} is on a {ref.kind} this import cannot "
                                "place; kept as a project memo")
                target = ("project", None)
            try:
                project.add_memo(target[0], target[1], note.text or "(empty note)", author, guid=guid,
                                 time=note.created)
            except ProjectError as exc:
                raise InterchangeError(f"{label}: note {note.name or note.guid!r}: {exc}") from None
            known.add(guid)
            added += 1
    return added


def _target(project: Project, ref: RefiNoteRef, names: Mapping[str, str], code_of_guid: Mapping[str, str],
            extra: Mapping[str, str]) -> tuple[str, str | None] | None:
    if ref.kind == "project":
        return "project", None
    if ref.kind == "source":
        return ("document", names[norm_guid(ref.guid)]) if norm_guid(ref.guid) in names else None
    if ref.kind == "code":
        code = code_of_guid.get(norm_guid(ref.guid))
        return ("code", code) if code is not None else None
    if ref.kind == "case":
        return ("case", ref.case) if ref.case in set(project.case_history()["case"]) else None
    doc = names.get(norm_guid(ref.guid))
    if doc is None or ref.start is None or ref.end is None or ref.start >= ref.end:
        return None
    return "passage", _passage(project, doc, ref.start, ref.end, extra)


def _passage(project: Project, doc: str, start: int, end: int, extra: Mapping[str, str]) -> str:
    """The segment of ``doc`` at ``start:end``, added (in the unit the file names) when there is none."""
    segments = project.segments()
    mine = segments[segments["doc_id"] == doc]
    same = mine[(mine["start"] == start) & (mine["end"] == end)]
    wanted = extra.get("segment")
    if wanted in set(same["segment_id"]):
        return str(wanted)
    if len(same):
        return str(same["segment_id"].iloc[0])
    unit = extra.get("unit") or "selection"
    around = mine[(mine["start"] <= start) & (mine["end"] >= end)]
    speaker = around["speaker"].iloc[0] if len(around) else None
    role = str(around["role"].iloc[0]) if len(around) else "unknown"
    text = project.document_text(doc)[start:end]
    seg = Segment(segment_id(doc, unit, start, end), doc, start, end, text, unit,
                  speaker if isinstance(speaker, str) else None, role)
    project.add_segments([seg])
    return seg.id


__all__ = ["cases_and_notes_to_refi", "import_cases_and_notes"]
