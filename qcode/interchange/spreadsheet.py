"""Coded spreadsheets (CSV, XLSX) in the two shapes teams keep them in.

**Long**: one row per coded segment::

    document,start,end,text,code,coder
    int1.txt,120,188,"We bid for the money every year.",funding,alice

``start``/``end`` (character offsets) or ``text`` (located in the document)
say where; ``code`` is a code id or name; ``coder`` may instead be given once
for the whole file. ``segment_id`` may stand in for document and offsets.

**Wide**: one row per segment, one column per code holding 0/1::

    document,text,funding,staffing
    int1.txt,"We bid for the money every year.",1,0

Reading is pure (:func:`read_codings_table` returns :class:`SpanCoding` rows
that still point at the spreadsheet row); :func:`resolve_spans` turns them into
offsets against the documents' texts; :func:`qcode.project.bridge.import_codings_table`
does both against a project and records everything in one transaction. Every error names
the file, the row (as numbered in a spreadsheet program: the header is row 1)
and the column.

>>> from qcode.codebook import Code, Codebook
>>> cb = Codebook("demo", [Code("funding", "Funding"), Code("staffing", "Staffing")])
>>> header, rows = ["document", "start", "end", "code"], [["a.txt", "0", "5", "Funding"]]
>>> table = codings_from_rows(header, rows, cb, "demo.csv", coder="alice")
>>> table.shape, table.codings[0].code_id, table.codings[0].row
('long', 'funding', 2)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..codebook import Codebook
from ..errors import InterchangeError
from ..formats import FormatError, read_table

#: role -> accepted header spellings (compared case-insensitively, spaces and dashes as underscores)
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "document": ("document", "doc_id", "doc", "document_id", "file", "filename", "transcript"),
    "segment_id": ("segment_id", "segment"),
    "start": ("start", "start_position", "startposition", "begin", "start_offset"),
    "end": ("end", "end_position", "endposition", "stop", "end_offset"),
    "text": ("text", "segment_text", "coded_text", "quote", "excerpt"),
    "code": ("code", "code_id", "theme", "node"),
    "coder": ("coder", "user", "rater", "annotator", "coded_by"),
    "note": ("note", "memo", "comment"),
}
#: columns that may sit beside codings and are ignored (qcode's own exports write some of them)
IGNORED_COLUMNS = {"code_name", "speaker", "role", "unit", "time", "timestamp", "doc_version", "turn_index",
                   "event_id", "source", "stale", "row", "id", "participant", "case", "score", "rank"}
_TRUE = {"1", "1.0", "true", "yes", "y", "x"}
_FALSE = {"0", "0.0", "false", "no", "n", ""}
EXCEL_CELL_LIMIT = 32767


@dataclass(frozen=True)
class SpanCoding:
    """One coding read from a spreadsheet row, before it is placed in a document.

    ``row`` is the spreadsheet row number (header = 1); ``start``/``end`` are
    None when the row gives only ``text`` (or only ``segment_id``).
    """

    row: int
    code_id: str
    coder: str
    doc_id: str | None = None
    start: int | None = None
    end: int | None = None
    text: str | None = None
    segment_id: str | None = None
    note: str | None = None


@dataclass
class CodingTable:
    """What :func:`read_codings_table` found: the shape, codings and warnings."""

    path: str
    shape: str
    codings: list[SpanCoding]
    warnings: list[str] = field(default_factory=list)


# -- reading cells --------------------------------------------------------------------------

def _norm_header(value: Any) -> str:
    return re.sub(r"[\s\-]+", "_", str(value or "").strip().casefold())


def _column_letter(index: int) -> str:
    """0 -> 'A', 26 -> 'AA' (as spreadsheet programs name columns)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).replace("\r\n", "\n")


def read_rows(path: str | Path, sheet: str | None = None) -> tuple[list[str], list[list[Any]]]:
    """Header and data rows of a ``.csv`` (UTF-8) or ``.xlsx`` file (first sheet unless ``sheet``)."""
    path = Path(path)
    if not path.is_file():
        raise InterchangeError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, sheet)
    raise InterchangeError(f"{path}: unknown spreadsheet format {suffix!r} (use .csv or .xlsx)")


def _read_csv(path: Path) -> tuple[list[str], list[list[Any]]]:
    """The table registry's CSV reader (UTF-8, ',' ';' or tab, guarded cells restored), errors as InterchangeError."""
    try:
        return read_table(path)
    except FormatError as exc:
        raise InterchangeError(str(exc)) from None


def _read_xlsx(path: Path, sheet: str | None) -> tuple[list[str], list[list[Any]]]:
    from ..office import read_xlsx_rows

    title, raw_rows = read_xlsx_rows(path, path, sheet=sheet, error=InterchangeError)  # limits, and every row despite a stale <dimension>
    rows = [list(r) for r in raw_rows]
    if not rows:
        raise InterchangeError(f"{path}: sheet {title!r} is empty (expected a header row)")
    return [_cell_text(h) for h in rows[0]], rows[1:]


# -- interpreting rows (pure) ------------------------------------------------------------------

def _roles(header: Sequence[str], label: str) -> tuple[dict[str, int], list[int]]:
    """Map roles to column indexes; return also the columns that matched no role."""
    roles: dict[str, int] = {}
    rest: list[int] = []
    for i, raw in enumerate(header):
        name = _norm_header(raw)
        role = next((r for r, names in COLUMN_ALIASES.items() if name in names), None)
        if role is None:
            rest.append(i)
            continue
        if role in roles:
            raise InterchangeError(f"{label}: columns {header[roles[role]]!r} ({_column_letter(roles[role])}) and "
                                   f"{raw!r} ({_column_letter(i)}) both give the {role}; keep one")
        roles[role] = i
    return roles, rest


def _int_cell(value: Any, where: str) -> int:
    text = _cell_text(value).strip()
    if not re.fullmatch(r"\d+", text):
        raise InterchangeError(f"{where}: expected a whole number of characters, got {text!r}")
    return int(text)


def _flag_cell(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = _cell_text(value).strip().casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InterchangeError(f"{where}: expected 0 or 1, got {_cell_text(value)!r}")


def _where(label: str, row: int, header: Sequence[str], col: int) -> str:
    return f"{label}: row {row}, column {header[col]!r} ({_column_letter(col)})"


def _place(cells: Sequence[Any], roles: Mapping[str, int], header: Sequence[str], label: str,
           row: int) -> dict[str, Any]:
    """Document, offsets, text and segment of one row."""
    def cell(role: str) -> Any:
        i = roles.get(role)
        return cells[i] if i is not None and i < len(cells) else None

    out: dict[str, Any] = {"doc_id": _cell_text(cell("document")).strip() or None,
                           "segment_id": _cell_text(cell("segment_id")).strip() or None,
                           "text": _cell_text(cell("text")) or None,
                           "note": _cell_text(cell("note")).strip() or None}
    has_start = "start" in roles and _cell_text(cell("start")).strip() != ""
    has_end = "end" in roles and _cell_text(cell("end")).strip() != ""
    if has_start != has_end:
        missing = "end" if has_start else "start"
        col = roles.get(missing, roles["start"] if has_start else roles["end"])
        raise InterchangeError(f"{_where(label, row, header, col)}: {missing} is missing (give both or neither)")
    out["start"] = _int_cell(cell("start"), _where(label, row, header, roles["start"])) if has_start else None
    out["end"] = _int_cell(cell("end"), _where(label, row, header, roles["end"])) if has_end else None
    if out["start"] is not None and out["start"] >= out["end"]:
        raise InterchangeError(f"{_where(label, row, header, roles['start'])}: start {out['start']} is not before "
                               f"end {out['end']}")
    if out["segment_id"] is None:
        if out["doc_id"] is None:
            doc_col = roles.get("document")
            where = _where(label, row, header, doc_col) if doc_col is not None else f"{label}: row {row}"
            raise InterchangeError(f"{where}: no document given")
        if out["start"] is None and out["text"] is None:
            raise InterchangeError(f"{label}: row {row}: give start and end, or the coded text, or a segment_id")
    return out


def _coder(cells: Sequence[Any], roles: Mapping[str, int], header: Sequence[str], label: str, row: int,
           default: str | None) -> str:
    i = roles.get("coder")
    value = _cell_text(cells[i]).strip() if i is not None and i < len(cells) else ""
    if value:
        return value
    if default:
        return default
    if i is None:
        raise InterchangeError(f"{label}: no coder column (add one, or name the coder: --coder NAME)")
    raise InterchangeError(f"{_where(label, row, header, i)}: the coder is empty (fill it, or give --coder NAME)")


def detect_shape(header: Sequence[str]) -> str:
    """``"long"`` when a column names the code, else ``"wide"``."""
    return "long" if any(_norm_header(h) in COLUMN_ALIASES["code"] for h in header) else "wide"


def codings_from_rows(header: Sequence[str], rows: Iterable[Sequence[Any]], codebook: Codebook, label: str,
                      shape: str | None = None, coder: str | None = None) -> CodingTable:
    """Interpret spreadsheet rows as codings (pure; see the module docstring for the shapes).

    Parameters
    ----------
    header : the first row
    rows : the data rows (row 2 onwards)
    codebook : codes are matched by id, then by name (case-insensitive)
    label : the file name used in errors
    shape : "long", "wide" or None (detect)
    coder : the coder for rows that name none
    """
    header = [_cell_text(h).strip() for h in header]
    shape = shape or detect_shape(header)
    if shape not in ("long", "wide"):
        raise InterchangeError(f"{label}: shape must be 'long' or 'wide', got {shape!r}")
    roles, rest = _roles(header, label)
    for i, name in enumerate(header):
        if _norm_header(name) in ("verdict", "undone", "undoes"):
            raise InterchangeError(f"{label}: column {name!r} ({_column_letter(i)}) makes this a decision log, not "
                                   "a sheet of codings; import current codings instead "
                                   "(`qcode export PROJECT --what codings --out FILE.csv`)")
    warnings: list[str] = []
    code_columns: dict[int, str] = {}
    if shape == "long":
        if "code" not in roles:
            raise InterchangeError(f"{label}: no code column (long shape needs one of: "
                                   f"{', '.join(COLUMN_ALIASES['code'])})")
        ignored = [header[i] for i in rest if header[i] and _norm_header(header[i]) not in IGNORED_COLUMNS]
        if ignored:
            warnings.append(f"{label}: ignored columns {ignored}")
    else:
        for i in rest:
            name = header[i]
            if not name or _norm_header(name) in IGNORED_COLUMNS:
                continue
            code = codebook.find(name)
            if code is None:
                raise InterchangeError(f"{label}: column {name!r} ({_column_letter(i)}) is neither a known column nor "
                                       f"a code of codebook {codebook.name!r}; rename or remove it")
            code_columns[i] = code.id
        if not code_columns:
            raise InterchangeError(f"{label}: no code columns (wide shape: one column per code, named by its id "
                                   "or name; long shape: a 'code' column)")
    stale_col = next((i for i, h in enumerate(header) if _norm_header(h) == "stale"), None)
    codings: list[SpanCoding] = []
    stale = 0
    for r, cells in enumerate(rows, start=2):
        cells = list(cells)
        if all(_cell_text(c).strip() == "" for c in cells):
            continue
        if stale_col is not None and stale_col < len(cells) and \
                _cell_text(cells[stale_col]).strip().casefold() in ("true", "1", "yes"):
            stale += 1  # coded on an earlier version of the document: its offsets fit another text
            continue
        if shape == "long":
            i = roles["code"]
            value = _cell_text(cells[i] if i < len(cells) else None).strip()
            if not value:
                raise InterchangeError(f"{_where(label, r, header, i)}: the code is empty")
            code = codebook.find(value)
            if code is None:
                raise InterchangeError(f"{_where(label, r, header, i)}: unknown code {value!r} "
                                       f"(not an id or name in codebook {codebook.name!r})")
            codes = [code.id]
        else:
            codes = [cid for i, cid in code_columns.items()
                     if _flag_cell(cells[i] if i < len(cells) else None, _where(label, r, header, i))]
            if not codes:
                continue
        place = _place(cells, roles, header, label, r)
        who = _coder(cells, roles, header, label, r, coder)
        codings += [SpanCoding(row=r, code_id=cid, coder=who, **place) for cid in codes]
    if stale:
        warnings.append(f"{label}: skipped {stale} rows marked stale (coded on an earlier version of the document)")
    return CodingTable(path=label, shape=shape, codings=codings, warnings=warnings)


def read_codings_table(path: str | Path, codebook: Codebook, shape: str | None = None, coder: str | None = None,
                       sheet: str | None = None) -> CodingTable:
    """Read codings from a ``.csv``/``.xlsx`` file in long or wide shape.

    Example
    -------
    >>> import pathlib, tempfile
    >>> from qcode.codebook.model import Code, Codebook
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "codings.csv"
    >>> _ = path.write_text("document,start,end,text,code\\na.txt,4,11,funding,funding\\n", encoding="utf-8")
    >>> table = read_codings_table(path, Codebook("demo", [Code("funding", "Funding")]), coder="alice")
    >>> table.shape, len(table.codings)
    ('long', 1)
    """
    header, rows = read_rows(path, sheet)
    return codings_from_rows(header, rows, codebook, str(path), shape=shape, coder=coder)


# -- placing codings in documents (pure) -----------------------------------------------------------

def _squash(text: str) -> str:
    return " ".join(text.split())


def _locate(cell: str, text: str) -> tuple[str, list[int]]:
    """Where ``cell`` occurs in ``text``: trimmed of spaces first (cells often carry stray ones), else as is."""
    trimmed = cell.strip()
    for needle in dict.fromkeys((trimmed, cell)):
        if not needle:
            continue
        hits = [m.start() for m in re.finditer(re.escape(needle), text)]
        if len(hits) == 1 or (hits and needle == cell):
            return needle, hits
    return trimmed, [m.start() for m in re.finditer(re.escape(trimmed), text)] if trimmed else []


def resolve_spans(table: CodingTable, texts: Mapping[str, str],
                  segments: Mapping[str, tuple[str, int, int]] | None = None) -> list[dict[str, Any]]:
    """Give every coding document offsets: ``[{"row", "coder", "doc_id", "start", "end", "code_id", "note"}]``.

    ``texts`` maps doc_id -> text; ``segments`` maps segment_id -> (doc_id,
    start, end). Given offsets are checked against the text (and against the
    ``text`` cell when both are there, ignoring differences in white space);
    a text without offsets must occur exactly once in its document.

    >>> t = CodingTable("x.csv", "long", [SpanCoding(row=2, code_id="c", coder="al", doc_id="a", text="lo")])
    >>> resolve_spans(t, {"a": "hello"})[0]["start"]
    3
    """
    label = table.path
    out = []
    for c in table.codings:
        doc_id, start, end = c.doc_id, c.start, c.end
        if c.segment_id is not None:
            if not segments or c.segment_id not in segments:
                raise InterchangeError(f"{label}: row {c.row}: unknown segment {c.segment_id!r}")
            seg_doc, seg_start, seg_end = segments[c.segment_id]
            if doc_id is not None and doc_id != seg_doc:
                raise InterchangeError(f"{label}: row {c.row}: segment {c.segment_id!r} is in {seg_doc!r}, "
                                       f"not in {doc_id!r}")
            if start is not None and (start, end) != (seg_start, seg_end):
                raise InterchangeError(f"{label}: row {c.row}: offsets {start}:{end} differ from segment "
                                       f"{c.segment_id!r} ({seg_start}:{seg_end})")
            doc_id, start, end = seg_doc, seg_start, seg_end
        if doc_id is None or doc_id not in texts:
            raise InterchangeError(f"{label}: row {c.row}: unknown document {doc_id!r} (import or ingest it first)")
        text = texts[doc_id]
        if start is not None and end is not None:
            if end > len(text):
                raise InterchangeError(f"{label}: row {c.row}: end {end} is past the end of document {doc_id!r} "
                                       f"({len(text)} characters)")
            if c.text is not None and c.text != text[start:end] and _squash(c.text) != _squash(text[start:end]):
                raise InterchangeError(f"{label}: row {c.row}: the text does not match document {doc_id!r} at "
                                       f"{start}:{end} (found {text[start:end][:40]!r})")
        else:
            if c.text is None:
                raise InterchangeError(f"{label}: row {c.row}: no start and end, text or segment_id to place the "
                                       "coding by")
            needle, hits = _locate(c.text, text)
            if not hits:
                raise InterchangeError(f"{label}: row {c.row}: the text {c.text[:40]!r} is not in document "
                                       f"{doc_id!r}")
            if len(hits) > 1:
                raise InterchangeError(f"{label}: row {c.row}: the text {c.text[:40]!r} occurs {len(hits)} times in "
                                       f"document {doc_id!r}; add start and end columns to say which")
            start, end = hits[0], hits[0] + len(needle)
        out.append({"row": c.row, "coder": c.coder, "doc_id": doc_id, "start": start, "end": end,
                    "code_id": c.code_id, "note": c.note})
    return out


# -- writing ---------------------------------------------------------------------------------------

LONG_COLUMNS = ["document", "start", "end", "text", "code", "code_name", "coder"]


def codings_to_rows(codings: Any, shape: str = "long", codebook: Codebook | None = None) -> tuple[list[str], list[list[Any]]]:
    """Header and rows for a codings frame (columns ``doc_id, start, end, text, code_id, coder``; pure).

    Wide rows are one per (document, start, end, coder) with a 0/1 column per
    code (every code of ``codebook`` in its order, else the codes present).
    """
    records = codings.to_dict("records") if hasattr(codings, "to_dict") else list(codings)
    if shape == "long":
        def name_of(code_id: str) -> str:
            code = codebook.get(code_id) if codebook else None
            return code.name if code else code_id

        rows = [[r["doc_id"], int(r["start"]), int(r["end"]), r["text"], r["code_id"],
                 r.get("code_name") or name_of(r["code_id"]), r["coder"]] for r in records]
        return list(LONG_COLUMNS), rows
    if shape != "wide":
        raise InterchangeError(f"shape must be 'long' or 'wide', got {shape!r}")
    code_ids = [c.id for c in codebook.codes] if codebook is not None else sorted({r["code_id"] for r in records})
    missing = sorted({r["code_id"] for r in records} - set(code_ids))
    code_ids += missing
    groups: dict[tuple, set[str]] = {}
    texts: dict[tuple, str] = {}
    for r in records:
        key = (r["doc_id"], int(r["start"]), int(r["end"]), r["coder"])
        groups.setdefault(key, set()).add(r["code_id"])
        texts[key] = r["text"]
    header = ["document", "start", "end", "text", "coder", *code_ids]
    rows = [[doc, start, end, texts[(doc, start, end, coder)], coder] + [int(c in codes) for c in code_ids]
            for (doc, start, end, coder), codes in sorted(groups.items())]
    return header, rows


def rows_to_bytes(header: Sequence[str], rows: Sequence[Sequence[Any]], suffix: str) -> bytes:
    """Serialise rows in the table format of ``suffix`` (see :mod:`qcode.formats`; CSV has a BOM for Excel)."""
    from ..formats import FormatError
    from ..formats import rows_to_bytes as encode

    try:
        return encode(header, rows, suffix, sheet="codings")
    except FormatError as exc:
        raise InterchangeError(str(exc)) from None


def write_codings_table(codings: Any, path: str | Path, shape: str = "long",
                        codebook: Codebook | None = None) -> Path:
    """Write a codings frame as ``.csv``/``.xlsx`` in long or wide shape, atomically."""
    from .._io import atomic_write_bytes

    path = Path(path)
    header, rows = codings_to_rows(codings, shape, codebook)
    try:
        data = rows_to_bytes(header, rows, path.suffix)
    except InterchangeError as exc:
        raise InterchangeError(f"{path}: {exc}") from None
    atomic_write_bytes(path, data)
    return path
