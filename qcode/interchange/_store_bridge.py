"""Between the plain REFI objects and a qcode project store.

Import is all or nothing: the file is fully read, checked and validated first
(:func:`qcode.interchange.refi.read_qdpx`), then everything is written inside
one project transaction: codebook, documents, coders, decisions. Export reads
the project through its public methods only.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ..codebook import Code, Codebook
from ..document import Document, Turn
from ..errors import InterchangeError, ProjectError
from .refi import (RefiCoding, RefiProject, RefiSource, RefiUser, code_guid, norm_guid, read_qdpx, stable_guid,
                   write_qdpx)


# -- codebook merge (pure) ------------------------------------------------------------

def _name_paths(codebook: Codebook) -> dict[tuple[str, ...], str]:
    """Casefolded name path from the root -> code id."""
    out = {}
    for code in codebook.codes:
        names = [a.name for a in reversed(codebook.ancestors(code.id))] + [code.name]
        out[tuple(n.strip().casefold() for n in names)] = code.id
    return out


def merge_codebooks(current: Codebook | None, incoming: Codebook) -> tuple[Codebook, dict[str, str], int]:
    """Fold ``incoming`` codes into ``current``.

    Incoming codes are matched to current ones by GUID, then by name path
    (``Parent > Child``, case-insensitive); matched codes without a GUID take
    the incoming one; unmatched codes are appended under their (mapped)
    parent. Returns ``(merged codebook, incoming id -> merged id, codes added)``.

    >>> cur = Codebook("x", [Code("a", "Access")])
    >>> new = Codebook("y", [Code("acc", "access", guid="00000000-0000-0000-0000-000000000001"), Code("b", "Cost")])
    >>> merged, ids, added = merge_codebooks(cur, new)
    >>> ids, added, merged["a"].guid
    ({'acc': 'a', 'b': 'b'}, 1, '00000000-0000-0000-0000-000000000001')
    """
    if current is None or not current.codes:
        return incoming, {c.id: c.id for c in incoming.codes}, len(incoming.codes)
    by_guid = {norm_guid(c.guid): c.id for c in current.codes if c.guid}
    by_path = _name_paths(current)
    incoming_paths = {v: k for k, v in _name_paths(incoming).items()}
    codes = {c.id: c for c in current.codes}
    order = [c.id for c in current.codes]
    mapping: dict[str, str] = {}
    taken_guids = set(by_guid)
    added = 0
    for code in incoming.codes:  # parents come first (depth-first order)
        target = by_guid.get(norm_guid(code.guid)) if code.guid else None
        if target is None:
            target = by_path.get(incoming_paths[code.id])
        if target is not None:
            mapping[code.id] = target
            existing = codes[target]
            if not existing.guid and code.guid and norm_guid(code.guid) not in taken_guids:
                codes[target] = replace(existing, guid=code.guid)
                taken_guids.add(norm_guid(code.guid))
            continue
        new_id, n = code.id, 1
        while new_id in codes:
            n += 1
            new_id = f"{code.id}-{n}"
        parent = mapping.get(code.parent) if code.parent else None
        codes[new_id] = replace(code, id=new_id, parent=parent)
        order.append(new_id)
        mapping[code.id] = new_id
        added += 1
    merged = Codebook(name=current.name, codes=[codes[i] for i in order], title=current.title,
                      description=current.description, source=current.source)
    return merged, mapping, added


# -- import -----------------------------------------------------------------------------

def _documents(proj: RefiProject, label: str) -> list[Document]:
    return [Document(id=s.name, text=s.text, turns=[Turn(0, len(s.text))] if s.text else [],
                     source=f"{label}#{s.guid}",
                     metadata={"refi_guid": s.guid, "imported_from": label})
            for s in proj.sources]


def _current_codings(project: Any) -> set[tuple[str, str, int, int, str]]:
    frame = project.codings()
    if frame.empty:
        return set()
    frame = frame[~frame["stale"].astype(bool)]
    return {(r.coder, r.doc_id, int(r.start), int(r.end), r.code_id) for r in frame.itertuples(index=False)}


def import_refi_project(project: Any, proj: RefiProject, label: str) -> dict[str, Any]:
    """Write an already-read :class:`RefiProject` into ``project`` in one transaction; return a summary."""
    try:
        current_cb = project.codebook
    except ProjectError:
        current_cb = None
    merged, code_map, added_codes = merge_codebooks(current_cb, proj.codebook)
    code_of_guid = {norm_guid(c.guid): code_map[c.id] for c in proj.codebook.codes if c.guid}
    users = proj.user_names()
    sources = proj.source_by_guid()
    docs = _documents(proj, label)
    with project.transaction():
        if current_cb is None or added_codes or merged.version != current_cb.version:
            if merged.codes:
                project.set_codebook(merged)
        doc_report = project.add_documents(docs)
        for user in proj.users:
            project.add_coder(user.name, guid=user.guid)
        present = _current_codings(project)
        events, duplicates = [], 0
        for coding in proj.codings:
            key = (users[norm_guid(coding.user_guid)], sources[norm_guid(coding.source_guid)].name,
                   coding.start, coding.end, code_of_guid[norm_guid(coding.code_guid)])
            if key in present:
                duplicates += 1
                continue
            present.add(key)
            event = {"coder": key[0], "doc_id": key[1], "start": key[2], "end": key[3], "code_id": key[4],
                     "verdict": "accept", "source": "import"}
            if coding.created:
                event["time"] = coding.created
            events.append(event)
        try:
            project.record_many(events)
        except ProjectError as exc:
            raise InterchangeError(f"{label}: {exc}") from None
    warnings = list(proj.warnings)
    if doc_report["changed"]:
        warnings.append(f"{label}: the text of {doc_report['changed']} differs from the project's; a new version "
                        "was stored and codings made on the old text are now stale")
    return {"file": label, "documents": doc_report, "coders": [u.name for u in proj.users],
            "codes_added": added_codes if current_cb is not None else len(proj.codebook.codes),
            "codings": len(events), "already_present": duplicates, "warnings": warnings}


def import_project(project: Any, path: str | Path, encoding_fallback: str | None = None,
                   nfc: bool = False) -> dict[str, Any]:
    """Read and validate ``path`` (.qdpx) fully, then import it into ``project`` all or nothing."""
    proj = read_qdpx(path, encoding_fallback=encoding_fallback, nfc=nfc)
    return import_refi_project(project, proj, str(path))


# -- export -------------------------------------------------------------------------------

def project_to_refi(project: Any) -> RefiProject:
    """A :class:`RefiProject` holding the project's codebook, coders, current documents and codings."""
    warnings: list[str] = []
    try:
        cb = project.codebook
    except ProjectError:
        cb = Codebook(name="codebook", codes=[])
    guids = project.coder_guids() if hasattr(project, "coder_guids") else {}
    users = [RefiUser(guid=guids.get(name) or stable_guid("user", name), name=name) for name in project.coders()]
    user_guid = {u.name: u.guid for u in users}
    sources: list[RefiSource] = []
    source_guid: dict[str, str] = {}
    for doc_id in project.documents()["doc_id"]:
        doc = project.document(doc_id)
        guid = doc.metadata.get("refi_guid") if isinstance(doc.metadata, dict) else None
        if not guid or norm_guid(guid) in {norm_guid(s.guid) for s in sources}:
            guid = stable_guid("source", doc_id, doc.sha256)
        sources.append(RefiSource(guid=guid, name=doc_id, text=doc.text))
        source_guid[doc_id] = guid
    codings: list[RefiCoding] = []
    frame = project.codings()
    stale = 0
    for row in frame.itertuples(index=False):
        if bool(row.stale):
            stale += 1
            continue
        code = cb.get(row.code_id)
        if code is None:
            warnings.append(f"coding of {row.doc_id!r} {row.start}:{row.end} uses code {row.code_id!r}, "
                            "which is not in the current codebook; left out")
            continue
        codings.append(RefiCoding(source_guid=source_guid[row.doc_id], start=int(row.start), end=int(row.end),
                                  code_guid=code_guid(cb.name, code), user_guid=user_guid[row.coder],
                                  created=row.time))
    if stale:
        warnings.append(f"left out {stale} codings made on earlier versions of documents that have since changed")
    return RefiProject(name=Path(project.path).name, users=users, codebook=cb, sources=sources, codings=codings,
                       warnings=warnings)


def export_project(project: Any, path: str | Path) -> dict[str, Any]:
    """Write ``project`` as a validated .qdpx at ``path``; return a summary with warnings."""
    proj = project_to_refi(project)
    write_qdpx(proj, path)
    return {"file": str(path), "users": len(proj.users), "codes": len(proj.codebook.codes),
            "sources": len(proj.sources), "codings": len(proj.codings), "warnings": proj.warnings}


# -- `qcode import`: any supported file into a new or existing project -------------------------------

IMPORT_SUFFIXES = (".qdpx", ".qdc", ".csv", ".xlsx")


def import_codebook(project: Any, codebook: Codebook) -> dict[str, Any]:
    """Merge ``codebook`` into the project's codebook (or make it the codebook); return a summary."""
    try:
        current = project.codebook
    except ProjectError:
        current = None
    merged, _, added = merge_codebooks(current, codebook)
    if current is None or merged.version != current.version:
        project.set_codebook(merged)
    return {"codes_added": added, "codebook_version": merged.version}


def import_file(project_path: str | Path, file: str | Path, coder: str | None = None, shape: str | None = None,
                sheet: str | None = None, encoding_fallback: str | None = None,
                codebook_name: str | None = None, nfc: bool = False) -> dict[str, Any]:
    """Import a .qdpx, .qdc, .csv or .xlsx file (by extension) into the project at ``project_path``.

    A .qdpx or .qdc creates the project when the folder holds none; if the
    import then fails, the new project is removed again, so nothing is left
    half-made. Spreadsheets need an existing project holding their documents.

    >>> import_file("my-study", "nvivo_export.qdpx")   # doctest: +SKIP
    """
    from ..project import init_project, open_project
    from ..project.store import DB_NAME
    from .refi import read_qdc
    from .spreadsheet import import_codings_table

    project_path, file = Path(project_path), Path(file)
    suffix = file.suffix.lower()
    if suffix not in IMPORT_SUFFIXES:
        raise InterchangeError(f"{file}: cannot import {suffix or 'a file without extension'!r} "
                               f"(use {', '.join(IMPORT_SUFFIXES)})")
    if not file.is_file():
        raise InterchangeError(f"{file}: no such file")
    exists = (project_path / DB_NAME).is_file()
    if suffix in (".csv", ".xlsx"):
        if not exists:
            raise InterchangeError(f"{project_path}: not a qcode project; a spreadsheet of codings needs a project "
                                   "that already holds its documents and codebook")
        project = open_project(project_path)
        try:
            return import_codings_table(project, file, coder=coder, shape=shape, sheet=sheet)
        finally:
            project.close()
    # REFI files: read and validate everything before touching the project folder
    warnings: list[str] = []
    if suffix == ".qdpx":
        payload: Any = read_qdpx(file, encoding_fallback=encoding_fallback, nfc=nfc)
    else:
        payload = read_qdc(file, name=codebook_name, warnings=warnings)
    folder_existed = project_path.exists()
    project = open_project(project_path) if exists else init_project(project_path)
    try:
        if suffix == ".qdpx":
            return import_refi_project(project, payload, str(file))
        summary = import_codebook(project, payload)
        return {"file": str(file), **summary, "warnings": warnings}
    except BaseException:
        if not exists:
            project.close()
            _remove_new_project(project_path, folder_existed)
        raise
    finally:
        project.close()


def _remove_new_project(path: Path, folder_existed: bool) -> None:
    """Delete a project this import created (its database files and settings only)."""
    from ..project.store import DB_NAME, SETTINGS_NAME

    for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", SETTINGS_NAME):
        (path / name).unlink(missing_ok=True)
    if not folder_existed:
        try:
            path.rmdir()
        except OSError:
            pass
