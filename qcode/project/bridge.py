"""The one bridge between a project store and files: REFI-QDA, coded spreadsheets, table exports.

The formats themselves are pure (:mod:`qcode.interchange`, :mod:`qcode.codebook`);
this module reads a project through its public methods and writes into it in
one transaction, so an import is all or nothing:

* :func:`import_file` (``qcode import``): a .qdpx, .qdc, .csv or .xlsx, by extension;
* :func:`import_qdpx` / :func:`export_qdpx`: a REFI-QDA project archive;
* :func:`import_codings_table` / :func:`export_codings_table`: coded spreadsheets;
* :func:`export_table` / :func:`export_file` (``qcode export``): decisions, codings,
  segments or suggestions as .csv, .jsonl, .parquet, .xlsx or .qdpx.

>>> import tempfile
>>> from qcode.project import init_project
>>> folder = tempfile.mkdtemp()
>>> project = init_project(folder + "/study", codebook="mcn-sst")
>>> export_file(project, folder + "/codings.csv")["rows"]
0
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import formats
from .._io import atomic_write_bytes
from ..codebook.model import Codebook
from ..document import Document
from ..errors import InterchangeError, ProjectError
from ..interchange.merge import merge_codebooks
from ..interchange.model import RefiCoding, RefiProject, RefiSource, RefiUser, code_guid, norm_guid, stable_guid
from ..interchange.qdc import read_qdc
from ..interchange.qdpx import read_qdpx, write_qdpx
from ..interchange.spreadsheet import read_codings_table, resolve_spans, write_codings_table
from .base import DB_NAME, SETTINGS_NAME
from .dialect import is_postgres_url
from .opening import init_project, open_project
from .refi_cases import cases_and_notes_to_refi, import_cases_and_notes
from .store import Project
from .validation import check_coder

# -- import -----------------------------------------------------------------------------

def _documents(proj: RefiProject, label: str) -> list[Document]:
    """The sources as documents, with speaker turns found in their text as in a ``.txt`` (offsets unchanged)."""
    from ..ingest.speakers import detect_turns

    return [Document(id=s.name, text=s.text, turns=detect_turns(s.text) if s.text.strip() else [],
                     source=f"{label}#{s.guid}",
                     metadata={"refi_guid": s.guid, "imported_from": label})
            for s in proj.sources]


def current_codings(project: Project) -> set[tuple[str, str, int, int, str]]:
    """(coder, doc_id, start, end, code_id) of every coding in effect on a current document version."""
    frame = project.codings()
    if frame.empty:
        return set()
    frame = frame[~frame["stale"].astype(bool)]
    return {(r.coder, r.doc_id, int(r.start), int(r.end), r.code_id) for r in frame.itertuples(index=False)}


def _map_users(project: Project, proj: RefiProject, label: str, map_coder: dict[str, str] | None) -> dict[str, str]:
    """Import user GUID -> local coder name; refuses a user named like a local coder with another GUID.

    Two people can share a name; the GUID says whether they are the same
    coder. ``map_coder`` (``{"ana": "ana-site-b"}``, or ``{"ana": "ana"}`` to
    merge) settles each clash explicitly.
    """
    mapping = dict(map_coder or {})
    unknown = sorted(set(mapping) - {u.name for u in proj.users})
    if unknown:
        raise InterchangeError(f"{label}: --map-coder names {', '.join(map(repr, unknown))}, not users of this file "
                               f"(users: {', '.join(u.name for u in proj.users) or 'none'})")
    local = project.coder_guids()
    names: dict[str, str] = {}
    for user in proj.users:
        target = check_coder(mapping.get(user.name, user.name))
        guid = local.get(target)
        if user.name not in mapping and guid and user.guid and norm_guid(guid) != norm_guid(user.guid):
            raise InterchangeError(
                f"{label}: user {user.name!r} has GUID {user.guid}, but this project's coder {target!r} has "
                f"{guid}: a different person with the same name? Import with --map-coder "
                f"'{user.name}=<new name>' to keep them apart, or --map-coder '{user.name}={target}' to merge")
        names[norm_guid(user.guid)] = target
    return names


def import_refi_project(project: Project, proj: RefiProject, label: str,
                        map_coder: dict[str, str] | None = None) -> dict[str, Any]:
    """Write an already-read :class:`RefiProject` into ``project`` in one transaction; return a summary."""
    try:
        current_cb = project.codebook
    except ProjectError:
        current_cb = None
    merged, code_map, added_codes = merge_codebooks(current_cb, proj.codebook)
    code_of_guid = {norm_guid(code_guid(proj.codebook.name, c)): code_map[c.id] for c in proj.codebook.codes}
    users = _map_users(project, proj, label, map_coder)
    sources = proj.source_by_guid()
    docs = _documents(proj, label)
    with project.transaction():
        if current_cb is None or added_codes or merged.version != current_cb.version:
            if merged.codes:
                project.set_codebook(merged)
        doc_report = project.add_documents(docs)
        from ..segmentation import segment

        segments = project.add_segments(seg for doc in docs for seg in segment(doc, unit="turn"))
        for user in proj.users:
            project.add_coder(users[norm_guid(user.guid)], guid=user.guid)
        present = current_codings(project)
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
        extras = import_cases_and_notes(project, proj, label, code_of_guid, users)
    warnings = list(proj.warnings) + extras["warnings"]
    if doc_report["changed"]:
        warnings.append(f"{label}: the text of {doc_report['changed']} differs from the project's; a new version "
                        "was stored and codings made on the old text are now stale")
    return {"file": label, "documents": doc_report, "coders": sorted(set(users.values())),
            "codes_added": added_codes if current_cb is not None else len(proj.codebook.codes),
            "codings": len(events), "already_present": duplicates, "segments": segments, "cases": extras["cases"],
            "attribute_changes": extras["attribute_changes"], "memos": extras["memos"], "warnings": warnings}


def import_project(project: Project, path: str | Path, encoding_fallback: str | None = None,
                   nfc: bool = False, map_coder: dict[str, str] | None = None) -> dict[str, Any]:
    """Read and validate ``path`` (.qdpx) fully, then import it into ``project`` all or nothing."""
    proj = read_qdpx(path, encoding_fallback=encoding_fallback, nfc=nfc)
    return import_refi_project(project, proj, str(path), map_coder=map_coder)


# -- export -------------------------------------------------------------------------------

def project_to_refi(project: Project) -> RefiProject:
    """A :class:`RefiProject` holding the project's codebook, coders, current documents and codings."""
    warnings: list[str] = []
    try:
        cb = project.codebook
    except ProjectError:
        cb = Codebook(name="codebook", codes=[])
    guids = project.coder_guids()
    created = project._meta("created") or str(project.path)  # coders of older projects have no GUID: one per project
    users = [RefiUser(guid=guids.get(name) or stable_guid("user", created, name), name=name) for name in project.coders()]
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
                                  created=row.time, note=row.note if isinstance(row.note, str) and row.note else None))
    if stale:
        warnings.append(f"left out {stale} codings made on earlier versions of documents that have since changed")
    variables, cases, notes, more = cases_and_notes_to_refi(project, source_guid, users, cb)
    return RefiProject(name=Path(project.path).name, users=users, codebook=cb, sources=sources, codings=codings,
                       warnings=warnings + more, variables=variables, cases=cases, notes=notes)


def export_project(project: Project, path: str | Path) -> dict[str, Any]:
    """Write ``project`` as a validated .qdpx at ``path``; return a summary with warnings."""
    proj = project_to_refi(project)
    write_qdpx(proj, path)
    return {"file": str(path), "users": len(proj.users), "codes": len(proj.codebook.codes),
            "sources": len(proj.sources), "codings": len(proj.codings), "cases": len(proj.cases),
            "memos": len(proj.notes), "warnings": proj.warnings}


# -- `qcode import`: any supported file into a new or existing project -------------------------------

IMPORT_SUFFIXES = (".qdpx", ".qdc", ".csv", ".xlsx")


def import_codebook(project: Project, codebook: Codebook) -> dict[str, Any]:
    """Merge ``codebook`` into the project's codebook (or make it the codebook); return a summary."""
    try:
        current = project.codebook
    except ProjectError:
        current = None
    merged, _, added = merge_codebooks(current, codebook)
    if current is None or merged.version != current.version:
        project.set_codebook(merged)
    return {"codes_added": added, "codebook_version": merged.version}


def import_suffix(file: Path) -> str:
    """The suffix of a file ``qcode import`` can read, once it is known to exist (else a one-line error)."""
    suffix = file.suffix.lower()
    if suffix not in IMPORT_SUFFIXES:
        raise InterchangeError(f"{file}: cannot import {suffix or 'a file without extension'!r} "
                               f"(use {', '.join(IMPORT_SUFFIXES)})")
    if not file.is_file():
        raise InterchangeError(f"{file}: no such file")
    return suffix


def import_file(project_path: str | Path, file: str | Path, coder: str | None = None, shape: str | None = None,
                sheet: str | None = None, encoding_fallback: str | None = None,
                codebook_name: str | None = None, nfc: bool = False,
                map_coder: dict[str, str] | None = None) -> dict[str, Any]:
    """Import a .qdpx, .qdc, .csv or .xlsx file (by extension) into the project at ``project_path``.

    A .qdpx or .qdc creates the project when the folder holds none; if the
    import then fails, the new project is removed again, so nothing is left
    half-made. Spreadsheets need an existing project holding their documents.

    >>> import tempfile
    >>> from qcode.project.sample import build_sample_project
    >>> folder = tempfile.mkdtemp()
    >>> _ = export_qdpx(build_sample_project(folder + "/study"), folder + "/study.qdpx")
    >>> summary = import_file(folder + "/copy", folder + "/study.qdpx")
    >>> len(summary["documents"]["new"]), summary["segments"], summary["codes_added"]
    (2, 9, 5)
    """
    if is_postgres_url(project_path):  # a team project on a server: it exists (made by qcode init URL)
        return _import_into_server(str(project_path), Path(file), coder=coder, shape=shape, sheet=sheet,
                                   encoding_fallback=encoding_fallback, nfc=nfc, codebook_name=codebook_name,
                                   map_coder=map_coder)
    project_path, file = Path(project_path), Path(file)
    suffix = import_suffix(file)
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
            return import_refi_project(project, payload, str(file), map_coder=map_coder)
        summary = import_codebook(project, payload)
        return {"file": str(file), **summary, "warnings": warnings}
    except BaseException:
        if not exists:
            project.close()
            _remove_new_project(project_path, folder_existed)
        raise
    finally:
        project.close()


def _import_into_server(url: str, file: Path, *, coder: str | None, shape: str | None, sheet: str | None,
                        encoding_fallback: str | None, nfc: bool, codebook_name: str | None,
                        map_coder: dict[str, str] | None) -> dict:
    """:func:`import_file` into a PostgreSQL project, which must exist; all or nothing, as for a folder."""
    suffix = import_suffix(file)
    warnings: list[str] = []
    payload: Any = None
    if suffix == ".qdpx":
        payload = read_qdpx(file, encoding_fallback=encoding_fallback, nfc=nfc)
    elif suffix == ".qdc":
        payload = read_qdc(file, name=codebook_name, warnings=warnings)
    project = open_project(url)
    try:
        if suffix in (".csv", ".xlsx"):
            return import_codings_table(project, file, coder=coder, shape=shape, sheet=sheet)
        if suffix == ".qdpx":
            return import_refi_project(project, payload, str(file), map_coder=map_coder)
        return {"file": str(file), **import_codebook(project, payload), "warnings": warnings}
    finally:
        project.close()


def _remove_new_project(path: Path, folder_existed: bool) -> None:
    """Delete a project this import created (its database files and settings only)."""
    for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", SETTINGS_NAME):
        (path / name).unlink(missing_ok=True)
    if not folder_existed:
        try:
            path.rmdir()
        except OSError:
            pass


def export_qdpx(project: Project, path: str | Path) -> dict[str, Any]:
    """Export a qcode project's codebook, documents, coders and accepted codings as a .qdpx file."""
    return export_project(project, path)


def import_qdpx(project: Project, path: str | Path, encoding_fallback: str | None = None,
                nfc: bool = False, map_coder: dict[str, str] | None = None) -> dict[str, Any]:
    """Import a .qdpx made elsewhere into a qcode project, all or nothing (see :func:`read_qdpx` for the options).

    Returns a summary: ``documents`` (new/unchanged/changed ids), ``coders``,
    ``codes_added``, ``codings`` recorded, ``already_present``, ``warnings``.
    """
    return import_project(project, path, encoding_fallback=encoding_fallback, nfc=nfc, map_coder=map_coder)


# -- coded spreadsheets ------------------------------------------------------------------------

def import_codings_table(project: Project, path: str | Path, coder: str | None = None, shape: str | None = None,
                         sheet: str | None = None) -> dict[str, Any]:
    """Read, place and record a coded spreadsheet's codings in ``project`` (one transaction, all or nothing).

    Documents must already be in the project. Codings that are already
    current for their coder are not recorded twice.
    """
    table = read_codings_table(path, project.codebook, shape=shape, coder=coder, sheet=sheet)
    docs = {c.doc_id for c in table.codings if c.doc_id}
    known = set(project.documents()["doc_id"])
    texts = {d: project.document_text(d) for d in docs if d in known}
    segments = None
    if any(c.segment_id for c in table.codings):
        frame = project.segments()
        segments = {r.segment_id: (r.doc_id, int(r.start), int(r.end)) for r in frame.itertuples(index=False)}
        texts.update({d: project.document_text(d) for d, _, _ in segments.values() if d not in texts})
    spans = resolve_spans(table, texts, segments)
    with project.transaction():
        present = current_codings(project)
        events, duplicates = [], 0
        for s in spans:
            key = (s["coder"], s["doc_id"], s["start"], s["end"], s["code_id"])
            if key in present:
                duplicates += 1
                continue
            present.add(key)
            events.append({"coder": s["coder"], "doc_id": s["doc_id"], "start": s["start"], "end": s["end"],
                           "code_id": s["code_id"], "verdict": "accept", "source": "import", "note": s["note"]})
        try:
            project.record_many(events)
        except ProjectError as exc:
            raise InterchangeError(f"{path}: {exc}") from None
    return {"file": str(path), "shape": table.shape, "codings": len(events), "already_present": duplicates,
            "coders": sorted({s["coder"] for s in spans}), "warnings": table.warnings}


def export_codings_table(project: Project, path: str | Path, shape: str = "long", coder: str | None = None) -> Path:
    """Write the project's current codings (not stale ones) to a spreadsheet in long or wide shape."""
    frame = project.codings(coder=coder)
    if not frame.empty:
        frame = frame[~frame["stale"].astype(bool)]
    try:
        codebook = project.codebook
    except ProjectError:
        codebook = None
    return write_codings_table(frame, path, shape=shape, codebook=codebook)


# -- table exports (`qcode export`) -------------------------------------------------------------

TABLE_FORMATS = (".csv", ".jsonl", ".parquet")
WHAT = ("decisions", "codings", "segments", "suggestions")


def frame_to_bytes(frame: Any, suffix: str) -> bytes:
    """Serialise a DataFrame as CSV (UTF-8, header), JSON Lines or Parquet bytes (:mod:`qcode.formats`).

    Missing values become empty CSV cells, JSON ``null`` and Parquet nulls.
    """
    try:
        return formats.frame_to_bytes(frame, suffix if suffix.startswith(".") else f".{suffix}")
    except formats.FormatError:
        raise ProjectError(f"unknown export format {suffix or '(none)'!r}; "
                           f"use one of {', '.join(TABLE_FORMATS)}") from None


def export_frame(project: Project, what: str, coder: str | None = None, run: int | None = None) -> Any:
    """The table ``qcode export --what`` writes: decisions, codings, segments or the suggestions of ``run``
    (default: the latest run)."""
    if what in ("segments", "suggestions") and coder is not None:
        raise ProjectError(f"--coder filters decisions and codings, not {what}")
    if run is not None and what != "suggestions":
        raise ProjectError(f"--run picks the suggestion run to export; it goes with --what suggestions, not {what}")
    if what == "decisions":
        return project.decisions(coder=coder)
    if what == "codings":
        return project.codings(coder=coder)
    if what == "segments":
        return project.segments()
    return project.suggestions(run)


def export_table(project: Project, what: str, out: str | Path, coder: str | None = None) -> Path:
    """Write ``project.decisions()`` or ``project.codings()`` to ``out`` (format by extension).

    ``coder`` restricts the table to one coder (ProjectError if unknown).
    """
    out = Path(out)
    _export_table(project, what, out, coder)
    return out


def _export_table(project: Project, what: str, out: Path, coder: str | None, run: int | None = None) -> Any:
    if what not in WHAT:
        raise ProjectError(f"--what must be one of {', '.join(WHAT)}, got {what!r}")
    if out.suffix.lower() not in TABLE_FORMATS:
        raise ProjectError(f"{out}: unknown export format {out.suffix or '(none)'!r}; use one of "
                           f"{', '.join(TABLE_FORMATS)} for a table, .xlsx for a spreadsheet of the codings, "
                           ".qdpx for a REFI-QDA project")
    frame = export_frame(project, what, coder, run)
    atomic_write_bytes(out, frame_to_bytes(frame, out.suffix))  # an OSError comes as one line (qcode._io)
    return frame


def export_file(project: Project, out: str | Path, what: str = "codings", coder: str | None = None,
                shape: str | None = None, run: int | None = None) -> dict[str, Any]:
    """``qcode export``: write ``out`` in the format its extension names; return what was written.

    ``.qdpx`` is a REFI-QDA project (summary of sources, codes, users, codings
    and warnings); ``.xlsx`` or any ``shape`` is a spreadsheet of the current
    codings (``long`` or ``wide``); ``.csv``/``.jsonl``/``.parquet`` hold the
    table ``what`` names (``rows``: how many). ``run`` picks the run of
    ``what="suggestions"`` (default: the latest); the summary's ``run`` and
    ``run_params`` name the run written.
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix == ".qdpx":
        return {"file": str(out), "kind": "qdpx", **export_qdpx(project, out)}
    if shape is not None or suffix == ".xlsx":
        if what != "codings":
            raise ProjectError(f"{out}: spreadsheet shapes are for codings; use --what codings (or .csv/.jsonl/"
                               ".parquet for the decision log)")
        export_codings_table(project, out, shape=shape or "long", coder=coder)
        return {"file": str(out), "kind": "spreadsheet", "shape": shape or "long", "warnings": []}
    if what == "suggestions":
        run = project.latest_run() if run is None else project.check_run(run)
    frame = _export_table(project, what, out, coder, run)
    summary = {"file": str(out), "kind": "table", "what": what, "rows": len(frame), "warnings": []}
    if what == "suggestions":
        runs = project.runs()
        params = {int(r.run_id): dict(r.params) for r in runs.itertuples(index=False)}
        summary.update(run=run, run_params=params.get(run, {}) if run is not None else {}, runs=sorted(params))
    return summary


__all__ = ["IMPORT_SUFFIXES", "TABLE_FORMATS", "WHAT", "current_codings", "export_codings_table", "export_file",
           "export_frame", "export_project", "export_qdpx", "export_table", "frame_to_bytes", "import_codebook",
           "import_codings_table", "import_file", "import_project", "import_suffix", "import_qdpx", "import_refi_project",
           "merge_codebooks", "project_to_refi"]
