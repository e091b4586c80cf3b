"""The table formats qcode writes and reads: one registry, keyed by file suffix.

Each :class:`TableFormat` (``.csv``, ``.jsonl``, ``.parquet``, ``.xlsx``) brings

- ``writer``: a streaming writer class (rows go to a temporary file beside the
  target; ``commit()`` fsyncs and renames it over the target, ``abort()``
  removes it, so a failed run leaves the previous file or nothing, never half);
- ``rows_to_bytes`` / ``frame_to_bytes``: a whole table (header + rows, or a
  pandas DataFrame) as the file's bytes, for exports published with
  :func:`qcode._io.atomic_write_bytes`;
- ``read_rows``: the header and rows of such a file.

Every caller goes through :func:`table_format`, so adding a format is one
:func:`register_table_format` call, and an unknown suffix is one message
everywhere: a :class:`FormatError` listing the known ones.

The CSV flavours differ on purpose: ``rows_to_bytes`` writes what spreadsheet
programs open cleanly (UTF-8 with BOM, CRLF), ``frame_to_bytes`` the plain
UTF-8 data table of exports, the streaming writer CSV as Python's csv module
writes it.

>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
>>> w = open_table_writer(out, ["a", "b"]); w.write_rows([{"a": 1, "b": "x"}]); _ = w.commit()
>>> out.read_text().splitlines()
['a,b', '1,x']
>>> table_format("x.ods")
Traceback (most recent call last):
...
qcode.formats.FormatError: x.ods: unknown table format '.ods'; use one of .csv, .jsonl, .parquet, .xlsx
"""

from __future__ import annotations

import csv
import fcntl
import glob
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._io import default_file_mode, output_error
from .errors import InputError
from .safetext import neutralise_cell, restore_cell

#: Most characters an Excel cell holds.
EXCEL_CELL_LIMIT = 32767

Header = Sequence[str]
Rows = Sequence[Sequence[Any]]


class FormatError(InputError):
    """A table file whose format is unknown, that cannot be read, or that cannot hold the data."""


# -- streaming writers -------------------------------------------------------------------------

class AtomicTableWriter:
    """Base of the streaming writers: rows to a temporary file, published by :meth:`commit`."""

    def __init__(self, path: Path, columns: list[str]) -> None:
        self.path = path
        self.columns = columns
        self._lock_fd: int | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _remove_stale_parts(path)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        except OSError as exc:
            raise output_error(exc, path) from None
        os.fchmod(fd, default_file_mode())  # mkstemp makes 0600 files; publish with the usual mode
        fcntl.flock(fd, fcntl.LOCK_EX)  # held while writing: a temp file nobody holds is a killed run's leftover
        self._lock_fd = fd
        self.tmp = Path(tmp)
        self.rows_written = 0
        try:
            self._open()
        except OSError as exc:
            self.abort()
            raise output_error(exc, path) from None

    def _open(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def write_rows(self, rows: Iterable[dict[str, Any]]) -> None:
        """Append rows; an :class:`OSError` (disk full) comes as a one-line OutputError naming the file."""
        try:
            self._write_rows(rows)
        except OSError as exc:
            raise output_error(exc, self.path) from None

    def _write_rows(self, rows: Iterable[dict[str, Any]]) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        """Complete the file before it is published (formats with a footer write it here)."""
        self._close()

    def commit(self) -> Path:
        """Complete, fsync and publish the file; on an OSError nothing is published (call :meth:`abort`)."""
        try:
            self._finish()
            with open(self.tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(self.tmp, self.path)
        except OSError as exc:
            raise output_error(exc, self.path) from None
        self._unlock()
        return self.path

    def abort(self) -> None:
        try:
            self._close()
        except Exception:
            pass
        self.tmp.unlink(missing_ok=True)
        self._unlock()

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def _remove_stale_parts(path: Path) -> None:
    """Delete ``.NAME.*.part`` files beside ``path`` that no live writer holds (left by a killed run)."""
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*.part"):
        try:
            fd = os.open(leftover, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # another run is writing it now
        else:
            leftover.unlink(missing_ok=True)
        finally:
            os.close(fd)


class CsvWriter(AtomicTableWriter):
    def _open(self) -> None:
        self._handle = open(self.tmp, "w", encoding="utf-8", newline="")
        self._csv = csv.DictWriter(self._handle, fieldnames=self.columns, extrasaction="ignore")
        self._csv.writer.writerow([neutralise_cell(c) for c in self.columns])  # header cells too

    def _write_rows(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self._csv.writerow({k: neutralise_cell(v) for k, v in row.items()})  # no cell runs as a formula
            self.rows_written += 1

    def _close(self) -> None:
        if not self._handle.closed:
            self._handle.close()


class JsonlWriter(AtomicTableWriter):
    def _open(self) -> None:
        self._handle = open(self.tmp, "w", encoding="utf-8")

    def _write_rows(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self._handle.write(json.dumps({c: row.get(c) for c in self.columns}, ensure_ascii=False) + "\n")
            self.rows_written += 1

    def _close(self) -> None:
        if not self._handle.closed:
            self._handle.close()


class ParquetWriter(AtomicTableWriter):
    """Writes one row group per ``write_rows`` call (callers batch their rows)."""

    def _open(self) -> None:
        self._writer: Any = None
        self._schema: Any = None

    def _write_rows(self, rows: Iterable[dict[str, Any]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = list(rows)
        if not rows:
            return
        table = pa.Table.from_pylist([{c: r.get(c) for c in self.columns} for r in rows], schema=self._schema)
        if self._writer is None:
            self._schema = table.schema
            self._writer = pq.ParquetWriter(str(self.tmp), self._schema)
        self._writer.write_table(table)
        self.rows_written += len(rows)

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _finish(self) -> None:
        if self._writer is None:  # no rows: still a valid Parquet file with the columns
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.table({c: pa.array([], type=pa.string()) for c in self.columns}), str(self.tmp))
        self._close()


class XlsxWriter(AtomicTableWriter):
    """One sheet, written row by row (openpyxl's write-only mode); text is never read as a formula."""

    sheet = "Sheet1"

    def _open(self) -> None:
        from openpyxl import Workbook

        self._book: Any = Workbook(write_only=True)
        self._ws = self._book.create_sheet(self.sheet)
        self._ws.append(_xlsx_cells(self._ws, _xlsx_checked(self.columns, self.columns, 1)))

    def _write_rows(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            values = _xlsx_checked([row.get(c) for c in self.columns], self.columns, self.rows_written + 2)
            self._ws.append(_xlsx_cells(self._ws, values))
            self.rows_written += 1

    def _close(self) -> None:
        if self._book is not None:
            self._book = None
            self._ws.close()  # an unsaved write-only sheet still holds an open XML stream

    def _finish(self) -> None:
        if self._book is not None:
            self._book.save(str(self.tmp))
            self._book = None


# -- whole tables to bytes ---------------------------------------------------------------------

def _csv_rows(header: Header, rows: Rows, sheet: str) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([neutralise_cell(h) for h in header])  # a code id such as "=1+1" names a wide column
    writer.writerows([neutralise_cell(v) for v in row] for row in rows)  # no cell runs as a formula
    return buf.getvalue().encode("utf-8-sig")  # the BOM makes Excel show accents


def _jsonl_lines(records: Iterable[dict[str, Any]]) -> bytes:
    lines = [json.dumps(_plain(record), ensure_ascii=False) for record in records]
    return ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")


def _jsonl_rows(header: Header, rows: Rows, sheet: str) -> bytes:
    return _jsonl_lines(dict(zip(header, row)) for row in rows)


def _parquet_rows(header: Header, rows: Rows, sheet: str) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {name: [_plain_value(row[i]) for row in rows] for i, name in enumerate(header)}
    try:
        table = pa.table({name: pa.array(values, type=None if values else pa.string())
                          for name, values in columns.items()})
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise FormatError(f"cannot write these rows as Parquet (a column mixes types: {exc})") from None
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _xlsx_checked(values: Sequence[Any], header: Sequence[str], row: int) -> list[Any]:
    """The row's values as Python scalars; :class:`FormatError` for text Excel cannot hold."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    out = []
    for col, value in enumerate(values):
        value = _plain_value(value)
        if isinstance(value, str):
            if ILLEGAL_CHARACTERS_RE.search(value):
                raise FormatError(f"row {row}, column {header[col]!r}: text holds control characters that "
                                  "Excel cannot store; export as .csv")
            if len(value) > EXCEL_CELL_LIMIT:
                raise FormatError(f"row {row}, column {header[col]!r}: text is {len(value)} characters, "
                                  f"over Excel's {EXCEL_CELL_LIMIT} per cell; export as .csv")
        out.append(value)
    return out


def _xlsx_cells(ws: Any, values: Sequence[Any]) -> list[Any]:
    from openpyxl.cell import WriteOnlyCell

    out = []
    for value in values:
        cell = WriteOnlyCell(ws, value=value)
        if isinstance(value, str) and value.startswith("="):
            cell.data_type = "s"  # text, never a formula
        out.append(cell)
    return out


def _xlsx_rows(header: Header, rows: Rows, sheet: str) -> bytes:
    from openpyxl import Workbook

    checked = [_xlsx_checked(header, header, 1)] + [_xlsx_checked(row, header, i) for i, row in enumerate(rows, start=2)]
    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet)
    for values in checked:
        ws.append(_xlsx_cells(ws, values))
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _plain_value(value: Any) -> Any:
    """Numpy scalars -> Python scalars (json, openpyxl and pyarrow take those)."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    return {key: _plain_value(value) for key, value in record.items()}


def _clean(frame: Any) -> Any:
    """The frame as Python objects, missing values as ``None``."""
    return frame.astype(object).where(frame.notna(), None)


def _csv_frame(frame: Any) -> bytes:
    clean = _clean(frame)
    guarded = clean.apply(lambda col: col.map(neutralise_cell))
    guarded.columns = [neutralise_cell(str(c)) for c in guarded.columns]
    return guarded.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _jsonl_frame(frame: Any) -> bytes:
    return _jsonl_lines(_clean(frame).to_dict("records"))


def _parquet_frame(frame: Any) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame.convert_dtypes(), preserve_index=False)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _xlsx_frame(frame: Any) -> bytes:
    clean = _clean(frame)
    return _xlsx_rows([str(c) for c in clean.columns], clean.values.tolist(), "Sheet1")


# -- readers -----------------------------------------------------------------------------------

def _read_csv(path: Path, sheet: str | None) -> tuple[list[str], list[list[Any]]]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FormatError(f"{path}: row {line}: not UTF-8 (byte 0x{data[exc.start]:02x}); "
                          "save the sheet as 'CSV UTF-8'") from None
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)  # Excel in some locales writes ';'
    from .limits import current as current_limits

    csv.field_size_limit(current_limits().cell_chars)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        rows = list(reader)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise FormatError(f"{path}: row {reader.line_num}: a cell longer than {current_limits().cell_chars} "
                              f"characters ({current_limits().hint('cell_chars')})") from None
        raise FormatError(f"{path}: not a readable CSV file: {exc}") from None
    if not rows:
        raise FormatError(f"{path}: the file is empty (expected a header row)")
    return [restore_cell(h) for h in rows[0]], [[restore_cell(v) for v in r] for r in rows[1:]]


def _read_jsonl(path: Path, sheet: str | None) -> tuple[list[str], list[list[Any]]]:
    records: list[dict[str, Any]] = []
    header: dict[str, None] = {}
    with open(path, encoding="utf-8") as handle:
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise FormatError(f"{path}: line {number}: not JSON ({exc.msg})") from None
                if not isinstance(record, dict):
                    raise FormatError(f"{path}: line {number}: expected a JSON object, got {type(record).__name__}")
                header.update(dict.fromkeys(record))
                records.append(record)
        except UnicodeDecodeError:
            raise FormatError(f"{path}: not UTF-8 text") from None
    if not header:
        raise FormatError(f"{path}: the file is empty (expected one JSON object a line)")
    return list(header), [[r.get(c) for c in header] for r in records]


def _read_parquet(path: Path, sheet: str | None) -> tuple[list[str], list[list[Any]]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(str(path))
    except (pa.ArrowException, OSError) as exc:
        raise FormatError(f"{path}: not a readable Parquet file ({exc})") from None
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return list(table.column_names), [list(row) for row in zip(*columns)]


def _xlsx_header_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).replace("\r\n", "\n")


def _read_xlsx(path: Path, sheet: str | None) -> tuple[list[str], list[list[Any]]]:
    from .office import read_xlsx_rows

    title, raw_rows = read_xlsx_rows(path, path, sheet=sheet, error=FormatError)  # limits, and every row despite a stale <dimension>
    rows = [list(r) for r in raw_rows]
    if not rows:
        raise FormatError(f"{path}: sheet {title!r} is empty (expected a header row)")
    header = [_xlsx_header_text(h) for h in rows[0]]
    width = len(header)
    return header, [row + [None] * (width - len(row)) for row in rows[1:]]  # empty trailing cells are left out


# -- the registry ------------------------------------------------------------------------------

@dataclass(frozen=True)
class TableFormat:
    """One table format: its suffixes and what it can do (see the module docstring)."""

    name: str
    suffixes: tuple[str, ...]
    writer: type[AtomicTableWriter]
    encode_rows: Callable[[Header, Rows, str], bytes]
    encode_frame: Callable[[Any], bytes]
    read_rows: Callable[[Path, str | None], tuple[list[str], list[list[Any]]]]
    #: further suffixes this format reads but never writes (``.xlsm``)
    also_reads: tuple[str, ...] = ()

    @property
    def suffix(self) -> str:
        return self.suffixes[0]


class TableFormatRegistry:
    """Formats by suffix, in registration order."""

    def __init__(self) -> None:
        self._formats: dict[str, TableFormat] = {}
        self._by_suffix: dict[str, TableFormat] = {}
        self._read_only: dict[str, TableFormat] = {}

    def register(self, fmt: TableFormat) -> TableFormat:
        self._formats[fmt.name] = fmt
        for suffix in fmt.suffixes:
            self._by_suffix[suffix.lower()] = fmt
        for suffix in fmt.also_reads:
            self._read_only[suffix.lower()] = fmt
        return fmt

    def get(self, suffix: str, *, reading: bool = False) -> TableFormat | None:
        suffix = suffix.lower()
        found = self._by_suffix.get(suffix)
        if found is None and reading:
            found = self._read_only.get(suffix)
        return found

    def suffixes(self) -> list[str]:
        return list(self._by_suffix)

    def __iter__(self) -> Iterator[TableFormat]:
        return iter(self._formats.values())

    def __contains__(self, suffix: object) -> bool:
        return isinstance(suffix, str) and suffix.lower() in self._by_suffix


#: Every table format qcode knows.
TABLE_FORMATS = TableFormatRegistry()


def register_table_format(fmt: TableFormat) -> TableFormat:
    """Add (or replace) a format; its suffixes then work wherever qcode writes or reads tables."""
    return TABLE_FORMATS.register(fmt)


register_table_format(TableFormat("csv", (".csv",), CsvWriter, _csv_rows, _csv_frame, _read_csv))
register_table_format(TableFormat("jsonl", (".jsonl",), JsonlWriter, _jsonl_rows, _jsonl_frame, _read_jsonl))
register_table_format(TableFormat("parquet", (".parquet",), ParquetWriter, _parquet_rows, _parquet_frame,
                                  _read_parquet))
register_table_format(TableFormat("xlsx", (".xlsx",), XlsxWriter, _xlsx_rows, _xlsx_frame, _read_xlsx,
                                  also_reads=(".xlsm",)))


def _suffix_of(path_or_suffix: str | Path) -> tuple[str, str]:
    """(label for messages, suffix) of a path or a bare suffix such as ``".csv"``."""
    text = str(path_or_suffix)
    if isinstance(path_or_suffix, str) and text.startswith(".") and "/" not in text and text.count(".") == 1:
        return "", text.lower()
    return f"{path_or_suffix}: ", Path(path_or_suffix).suffix.lower()


def table_format(path_or_suffix: str | Path, *, reading: bool = False) -> TableFormat:
    """The format of a path (or bare suffix); :class:`FormatError` naming the known suffixes if none."""
    label, suffix = _suffix_of(path_or_suffix)
    found = TABLE_FORMATS.get(suffix, reading=reading)
    if found is None:
        raise FormatError(f"{label}unknown table format {suffix or '(none)'!r}; "
                          f"use one of {', '.join(TABLE_FORMATS.suffixes())}")
    return found


def open_table_writer(path: str | Path, columns: list[str]) -> AtomicTableWriter:
    """A streaming, atomically published writer for ``path``, chosen by its suffix."""
    path = Path(path)
    return table_format(path).writer(path, columns)


def rows_to_bytes(header: Header, rows: Rows, path_or_suffix: str | Path, *, sheet: str = "Sheet1") -> bytes:
    """A header and rows as the bytes of a file of ``path_or_suffix``'s format (``sheet``: the .xlsx sheet name)."""
    return table_format(path_or_suffix).encode_rows(header, rows, sheet)


def frame_to_bytes(frame: Any, path_or_suffix: str | Path) -> bytes:
    """A pandas DataFrame as file bytes; missing values become empty CSV cells, JSON ``null``, Parquet nulls."""
    return table_format(path_or_suffix).encode_frame(frame)


def read_table(path: str | Path, *, sheet: str | None = None) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of a table file (``sheet``: which .xlsx sheet; default the first)."""
    path = Path(path)
    fmt = table_format(path, reading=True)
    if not path.is_file():
        raise FormatError(f"{path}: no such file")
    return fmt.read_rows(path, sheet)


__all__ = [
    "AtomicTableWriter", "CsvWriter", "EXCEL_CELL_LIMIT", "FormatError", "JsonlWriter", "ParquetWriter",
    "TABLE_FORMATS", "TableFormat", "TableFormatRegistry", "XlsxWriter", "frame_to_bytes", "open_table_writer",
    "read_table", "register_table_format", "rows_to_bytes", "table_format",
]
