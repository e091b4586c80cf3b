"""Spreadsheets of open-ended responses (``.csv``, ``.tsv``, ``.xlsx``): one row, one document.

The text column and the id column are chosen with ``text_column=`` and
``id_column=`` (names as in the header row, matched case-insensitively). Left
out, the id column is one named ``id`` (or ``respondent_id``, ``response_id``,
...) when there is one, else the row number; the text column is the only
column left, or one named ``text``/``response``/``answer``/``comment``. When
that is ambiguous the error lists the columns to pick from.

Document ids are ``"<file id>#<row id>"``; the other columns of the row are kept
in ``doc.metadata["columns"]``. Rows with an empty text cell are skipped, and
a warning naming their lines is added to every document of that file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..document import UNKNOWN, Document, Turn
from ..errors import InputError
from ..limits import current as current_limits
from ..office import read_xlsx_rows
from .normalize import decode_bytes, normalize_text, read_file_bytes

_ID_NAMES = ("id", "respondent_id", "response_id", "participant_id", "record_id", "respondent", "participant", "responseid", "respondentid")
_TEXT_NAMES = ("text", "response", "answer", "comment", "comments", "open_response", "free_text", "verbatim", "feedback")


def _key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().casefold())


def _cell_str(value) -> str:
    """Spreadsheet cell as text: integers stay integers (``12.0`` -> ``"12"``), None is empty."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _pick(header: Sequence[str], wanted: str | None, candidates: Iterable[str], what: str, source: str) -> int | None:
    keys = [_key(h) for h in header]
    if wanted is not None:
        if _key(wanted) in keys:
            return keys.index(_key(wanted))
        raise InputError(f"{source}: no {what} column named {wanted!r} (columns: {', '.join(map(str, header))})")
    for name in candidates:
        if name in keys:
            return keys.index(name)
    return None


def choose_columns(header: Sequence[str], *, id_column: str | None, text_column: str | None, source: str) -> tuple[int | None, int]:
    """Indexes of the id column (None: use row numbers) and the text column.

    >>> choose_columns(["ID", "Response", "Age"], id_column=None, text_column=None, source="a.csv")
    (0, 1)
    """
    if not header or not any(str(h).strip() for h in header):
        raise InputError(f"{source}: no header row (the first row must name the columns)")
    seen: dict[str, int] = {}
    for position, name in enumerate(header):
        k = _key(name)
        if k and k in seen:
            raise InputError(f"{source}: column {name!r} appears twice in the header")
        seen[k] = position
    id_index = _pick(header, id_column, _ID_NAMES, "id", source)
    text_index = _pick(header, text_column, _TEXT_NAMES, "text", source)
    if text_index is None:
        rest = [i for i in range(len(header)) if i != id_index and str(header[i]).strip()]
        if len(rest) != 1:
            raise InputError(
                f"{source}: cannot tell which column holds the text (columns: {', '.join(map(str, header))}); "
                f"name it with text_column= / --text-column"
            )
        text_index = rest[0]
    if id_index == text_index:
        raise InputError(f"{source}: the id column and the text column are the same ({header[text_index]!r})")
    return id_index, text_index


def documents_from_rows(
    header: Sequence[str],
    rows: Iterable[tuple[int, Sequence]],
    *,
    file_id: str,
    source: str,
    id_column: str | None = None,
    text_column: str | None = None,
    warnings: Sequence[str] = (),
) -> list[Document]:
    """One :class:`Document` per row with text. ``rows`` yields ``(line_number, cells)``."""
    id_index, text_index = choose_columns(header, id_column=id_column, text_column=text_column, source=source)
    docs: list[Document] = []
    seen: dict[str, int] = {}
    empty_rows: list[int] = []
    for row_number, (line, cells) in enumerate(rows, start=1):
        cells = list(cells)
        if not any(_cell_str(c).strip() for c in cells):
            continue  # blank line
        text = normalize_text(_cell_str(cells[text_index]) if text_index < len(cells) else "")
        if id_index is None:
            row_id = str(row_number)
        else:
            row_id = _cell_str(cells[id_index]).strip() if id_index < len(cells) else ""
            if not row_id:
                raise InputError(f"{source}:{line}: empty id in column {header[id_index]!r}")
        if row_id in seen:
            raise InputError(f"{source}:{line}: duplicate id {row_id!r} (first on line {seen[row_id]})")
        seen[row_id] = line
        start = len(text) - len(text.lstrip())
        end = len(text.rstrip())
        if end <= start:
            empty_rows.append(line)
            continue
        extra = {str(header[i]): _cell_str(v) for i, v in enumerate(cells) if i not in (id_index, text_index) and i < len(header)}
        docs.append(Document(
            id=f"{file_id}#{row_id}",
            text=text,
            turns=[Turn(start=start, end=end, speaker=None, role=UNKNOWN)],
            source=source,
            metadata={"format": Path(source).suffix.lower().lstrip("."), "row": line, "row_id": row_id,
                      "text_column": str(header[text_index]), "columns": extra},
            warnings=list(warnings),
        ))
    if empty_rows:
        shown = ", ".join(map(str, empty_rows[:10])) + (" ..." if len(empty_rows) > 10 else "")
        note = f"{source}: {len(empty_rows)} row(s) with empty text skipped (lines {shown})"
        for doc in docs:
            doc.warnings.append(note)
        if not docs:
            raise InputError(f"{source}: every row has an empty {header[text_index]!r} column")
    if not docs:
        raise InputError(f"{source}: no data rows under the header")
    return docs


def row_attributes(doc: Document, columns: Sequence[str]) -> dict[str, str]:
    """The cells of ``columns`` (matched case-insensitively) of the row a table document came from.

    These become attributes of the row's case (its document, ``FILE#ID``).
    InputError naming the file and the columns there are when one is missing.

    >>> doc = Document("r.csv#7", "fine", metadata={"row": 3, "columns": {"Age": "41", "Site": "B"}})
    >>> row_attributes(doc, ["site", "AGE"])
    {'Site': 'B', 'Age': '41'}
    """
    cells = doc.metadata.get("columns") if isinstance(doc.metadata, dict) else None
    if not isinstance(cells, dict):
        raise InputError(f"{doc.source or doc.id}: --attribute-column is for spreadsheets of responses "
                         "(.csv/.xlsx, one row a document), not transcripts")
    by_key = {_key(name): name for name in cells}
    out: dict[str, str] = {}
    for wanted in columns:
        name = by_key.get(_key(wanted))
        if name is None:
            raise InputError(f"{doc.source or doc.id}: --attribute-column {wanted!r}: no such column (columns: "
                             f"{', '.join(map(repr, cells)) or 'none'}; the id and text columns cannot be attributes)")
        out[name] = str(cells[name])
    return out


def _sniff_delimiter(text: str, suffix: str) -> str:
    if suffix == ".tsv":
        return "\t"
    sample = text[:65536]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_csv(path: str | Path, *, file_id: str, id_column: str | None = None, text_column: str | None = None,
             max_bytes: int | None = None) -> list[Document]:
    """Read a ``.csv``/``.tsv`` of responses (delimiter sniffed among ``, ; tab |``)."""
    decoded = decode_bytes(read_file_bytes(path, max_bytes=max_bytes), path)
    reader = csv.reader(io.StringIO(decoded.text, newline=""), delimiter=_sniff_delimiter(decoded.text, Path(path).suffix.lower()))
    try:
        header = next(reader)
        max_rows = current_limits().rows
        rows = []
        for row in reader:
            rows.append((reader.line_num, row))
            if len(rows) > max_rows:
                raise InputError(f"{path}: more than {max_rows} data rows ({current_limits().hint('rows')})")
    except csv.Error as exc:
        raise InputError(f"{path}:{reader.line_num}: malformed CSV ({exc})") from None
    except StopIteration:
        raise InputError(f"{path}: empty file") from None
    return documents_from_rows(header, rows, file_id=file_id, source=str(path), id_column=id_column,
                               text_column=text_column, warnings=decoded.warnings)


def read_xlsx(path: str | Path, *, file_id: str, id_column: str | None = None, text_column: str | None = None,
              max_bytes: int | None = None) -> list[Document]:
    """Read the first worksheet of an ``.xlsx`` of responses (header in its first row)."""
    data = read_file_bytes(path, max_bytes=max_bytes)
    _, rows = read_xlsx_rows(data, path)
    header = [_cell_str(h) for h in (rows[0] if rows else ())]
    while header and not header[-1].strip():
        header.pop()  # trailing empty header cells of a used range
    body = [(line, row) for line, row in enumerate(rows[1:], start=2)]
    return documents_from_rows(header, body, file_id=file_id, source=str(path), id_column=id_column, text_column=text_column)
