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
import hashlib
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..document import UNKNOWN, Document, Turn
from ..errors import InputError
from ..limits import current as current_limits
from ..office import read_xlsx_rows
from .normalize import decode_bytes, normalize_text, read_file_bytes

_ID_NAMES = ("id", "respondent_id", "response_id", "participant_id", "record_id", "respondent", "participant", "responseid", "respondentid")
_TEXT_NAMES = ("text", "response", "answer", "comment", "comments", "open_response", "free_text", "verbatim", "feedback")


def _key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().casefold())


def cell_text(value: object) -> str:
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


def row_document(header: Sequence[str], cells: Sequence[str], id_index: int | None, text_index: int, *,
                 row_id: str, line: int, file_id: str, source: str, warnings: Sequence[str] = (),
                 text: str | None = None) -> Document | None:
    """The document of one table row (cells as text), or None when its text cell is empty.

    ``text``: the row's text already normalised (else it is taken from ``cells``).
    """
    if text is None:
        text = normalize_text(cells[text_index] if text_index < len(cells) else "")
    start = len(text) - len(text.lstrip())
    end = len(text.rstrip())
    if end <= start:
        return None
    extra = {str(header[i]): v for i, v in enumerate(cells) if i not in (id_index, text_index) and i < len(header)}
    return Document(
        id=f"{file_id}#{row_id}",
        text=text,
        turns=[Turn(start=start, end=end, speaker=None, role=UNKNOWN)],
        source=source,
        metadata={"format": Path(source).suffix.lower().lstrip("."), "row": line, "row_id": row_id,
                  "text_column": str(header[text_index]), "columns": extra},
        warnings=list(warnings),
    )


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
        if not any(cell_text(c).strip() for c in cells):
            continue  # blank line
        text = normalize_text(cell_text(cells[text_index]) if text_index < len(cells) else "")
        if id_index is None:
            row_id = str(row_number)
        else:
            row_id = cell_text(cells[id_index]).strip() if id_index < len(cells) else ""
            if not row_id:
                raise InputError(f"{source}:{line}: empty id in column {header[id_index]!r}")
        if row_id in seen:
            raise InputError(f"{source}:{line}: duplicate id {row_id!r} (first on line {seen[row_id]})")
        seen[row_id] = line
        doc = row_document(header, [cell_text(c) for c in cells], id_index, text_index, row_id=row_id, line=line,
                           file_id=file_id, source=source, warnings=warnings, text=text)
        if doc is None:
            empty_rows.append(line)
            continue
        docs.append(doc)
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


def sniff_delimiter(text: str, suffix: str) -> str:
    """The delimiter of a ``.csv`` (sniffed among ``, ; tab |`` in its first 64 KiB) or ``.tsv``."""
    if suffix == ".tsv":
        return "\t"
    sample = text[:65536]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_csv(path: str | Path, *, file_id: str, id_column: str | None = None, text_column: str | None = None,
             max_bytes: int | None = None, encoding: str | None = None) -> list[Document]:
    """Read a ``.csv``/``.tsv`` of responses (delimiter sniffed among ``, ; tab |``)."""
    decoded = decode_bytes(read_file_bytes(path, max_bytes=max_bytes), path, encoding)
    csv.field_size_limit(current_limits().cell_chars)  # csv's own default, now named and raisable
    reader = csv.reader(io.StringIO(decoded.text, newline=""), strict=True,
                        delimiter=sniff_delimiter(decoded.text, Path(path).suffix.lower()))
    row_start = 1  # the line a row starts on, to name where an unclosed quote opened
    try:
        header = next(reader)
        row_start = reader.line_num + 1
        max_rows = current_limits().rows
        rows = []
        for row in reader:
            rows.append((reader.line_num, row))
            row_start = reader.line_num + 1
            if len(rows) > max_rows:
                raise InputError(f"{path}: more than {max_rows} data rows ({current_limits().hint('rows')})")
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):  # strict mode: a quote ran to the end of the file
            raise InputError(f"{path}:{row_start}: a quote that is never closed (it would take in every row "
                             "after it); close it, or double a quote inside a quoted cell (\"\")") from None
        if "field larger than field limit" in str(exc):
            raise InputError(f"{path}:{row_start}: a cell longer than {current_limits().cell_chars} characters "
                             f"({current_limits().hint('cell_chars')})") from None
        raise InputError(f"{path}:{reader.line_num}: malformed CSV ({exc})") from None
    except StopIteration:
        raise InputError(f"{path}: empty file") from None
    return documents_from_rows(header, rows, file_id=file_id, source=str(path), id_column=id_column,
                               text_column=text_column, warnings=decoded.warnings)


def read_xlsx(path: str | Path, *, file_id: str, id_column: str | None = None, text_column: str | None = None,
              max_bytes: int | None = None) -> list[Document]:
    """Read the first worksheet of an ``.xlsx`` of responses (header in its first row)."""
    header, body = xlsx_header_and_rows(read_file_bytes(path, max_bytes=max_bytes), path)
    return documents_from_rows(header, body, file_id=file_id, source=str(path), id_column=id_column, text_column=text_column)


# -- streaming: tables too large to hold (the Dask engine reads them this way) -----------------------------

def _csv_lines(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for line in handle:
            yield normalize_text(line)


def xlsx_header_and_rows(data: bytes, path: str | Path) -> tuple[list[str], list[tuple[int, list[object]]]]:
    """The header (trailing empty cells dropped) and ``(line, cells)`` rows of an ``.xlsx``'s first sheet."""
    _, rows = read_xlsx_rows(data, path)
    header = [cell_text(h) for h in (rows[0] if rows else ())]
    while header and not header[-1].strip():
        header.pop()  # trailing empty header cells of a used range
    return header, [(line, list(row)) for line, row in enumerate(rows[1:], start=2)]


def stream_table(path: Path) -> tuple[list[str], Iterator[tuple[int, list[Any]]], list[str]]:
    """Header, ``(line, cells)`` rows streamed from a ``.csv``/``.tsv``/``.xlsx``/``.parquet``, and the warnings.

    A UTF-8 ``.csv`` is read line by line; one in another encoding is read whole, as
    :func:`read_csv` does. An ``.xlsx`` sheet is read whole (sheets are bounded).
    """
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            handle = pq.ParquetFile(path)
        except Exception as exc:
            raise InputError(f"{path}: cannot read this Parquet file ({' '.join(str(exc).split())})") from None
        header = [str(n) for n in handle.schema_arrow.names]

        def parquet_rows() -> Iterator[tuple[int, list[Any]]]:
            line = 1
            for batch in handle.iter_batches(batch_size=8192):
                columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
                for values in zip(*columns):
                    line += 1
                    yield line, list(values)

        return header, parquet_rows(), []
    if suffix == ".xlsx":
        header, body = xlsx_header_and_rows(read_file_bytes(path), path)
        return header, iter(body), []
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            head = handle.read(1 << 17)
        delimiter = sniff_delimiter(normalize_text(head)[:65536], suffix)
        lines: Iterable[str] = _csv_lines(path)
        for _ in _csv_lines(path):  # a file that is not UTF-8 is read whole, as the single-process reader does
            pass
        warnings: list[str] = []
    except UnicodeDecodeError:
        decoded = decode_bytes(read_file_bytes(path), path)
        delimiter = sniff_delimiter(decoded.text, suffix)
        lines, warnings = iter(decoded.text.splitlines(keepends=True)), decoded.warnings
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    reader = csv.reader(iter(lines), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{path}: empty file") from None
    except csv.Error as exc:
        raise InputError(f"{path}:{reader.line_num}: malformed CSV ({exc})") from None

    def csv_rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for row in reader:
                yield reader.line_num, row
        except csv.Error as exc:
            raise InputError(f"{path}:{reader.line_num}: malformed CSV ({exc})") from None

    return header, csv_rows(), warnings


def stream_table_items(path: Path, info: dict[str, Any], *, id_column: str | None = None,
                       text_column: str | None = None) -> Iterator[dict[str, Any]]:
    """The rows of a table streamed as ``{"line", "row_id", "cells"}`` (cells as text), ids checked as
    :func:`documents_from_rows` checks them; ``info`` receives the header, the chosen columns, the
    source, the format and the reader's warnings once reading starts."""
    header, rows, warnings = stream_table(path)
    source = str(path)
    id_index, text_index = choose_columns(header, id_column=id_column, text_column=text_column, source=source)
    info.update(header=header, id_index=id_index, text_index=text_index, source=source,
                format=path.suffix.lower().lstrip("."), warnings=warnings)
    seen: set[bytes] = set()  # 8-byte digests of the ids: duplicates found without keeping the ids
    any_rows = False
    for row_number, (line, raw) in enumerate(rows, start=1):
        cells = [cell_text(c) for c in raw]
        if not any(c.strip() for c in cells):
            continue
        if id_index is None:
            row_id = str(row_number)
        else:
            row_id = cells[id_index].strip() if id_index < len(cells) else ""
            if not row_id:
                raise InputError(f"{source}:{line}: empty id in column {header[id_index]!r}")
        key = hashlib.blake2b(row_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        if key in seen:
            raise InputError(f"{source}:{line}: duplicate id {row_id!r}")
        seen.add(key)
        any_rows = True
        yield {"line": line, "row_id": row_id, "cells": cells}
    if not any_rows:
        raise InputError(f"{source}: no data rows under the header")
