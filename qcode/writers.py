"""Streaming table writers (.csv, .jsonl, .parquet) that publish atomically.

Rows go to a temporary file beside the target as they are made; ``commit()``
fsyncs and renames it over the target, ``abort()`` removes it. A run that
fails half-way leaves the previous file (or nothing) in place, never half a file.

>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
>>> w = open_writer(out, ["a", "b"]); w.write_rows([{"a": 1, "b": "x"}]); _ = w.commit()
>>> out.read_text().splitlines()
['a,b', '1,x']
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable

from ._io import default_file_mode
from .errors import InputError

FORMATS = (".csv", ".jsonl", ".parquet")


class _AtomicWriter:
    def __init__(self, path: Path, columns: list[str]) -> None:
        self.path = path
        self.columns = columns
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        os.fchmod(fd, default_file_mode())  # mkstemp makes 0600 files; publish with the usual mode
        os.close(fd)
        self.tmp = Path(tmp)
        self.rows_written = 0
        self._open()

    def _open(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def write_rows(self, rows: Iterable[dict[str, Any]]) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        """Complete the file before it is published (formats with a footer write it here)."""
        self._close()

    def commit(self) -> Path:
        self._finish()
        with open(self.tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        try:
            self._close()
        except Exception:
            pass
        self.tmp.unlink(missing_ok=True)


class CsvWriter(_AtomicWriter):
    def _open(self) -> None:
        self._handle = open(self.tmp, "w", encoding="utf-8", newline="")
        self._csv = csv.DictWriter(self._handle, fieldnames=self.columns, extrasaction="ignore")
        self._csv.writeheader()

    def write_rows(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self._csv.writerow(row)
            self.rows_written += 1

    def _close(self) -> None:
        if not self._handle.closed:
            self._handle.close()


class JsonlWriter(_AtomicWriter):
    def _open(self) -> None:
        self._handle = open(self.tmp, "w", encoding="utf-8")

    def write_rows(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self._handle.write(json.dumps({c: row.get(c) for c in self.columns}, ensure_ascii=False) + "\n")
            self.rows_written += 1

    def _close(self) -> None:
        if not self._handle.closed:
            self._handle.close()


class ParquetWriter(_AtomicWriter):
    """Writes one row group per ``write_rows`` call (callers batch their rows)."""

    def _open(self) -> None:
        self._writer = None
        self._schema = None

    def write_rows(self, rows: Iterable[dict[str, Any]]) -> None:
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


def open_writer(path: str | Path, columns: list[str]) -> _AtomicWriter:
    """A streaming writer for ``path``, chosen by its extension."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return CsvWriter(path, columns)
    if suffix == ".jsonl":
        return JsonlWriter(path, columns)
    if suffix == ".parquet":
        return ParquetWriter(path, columns)
    raise InputError(f"{path}: unknown output format {suffix or '(none)'!r}; use one of {', '.join(FORMATS)}")
