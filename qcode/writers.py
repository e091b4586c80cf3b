"""Deprecated: the streaming table writers live in :mod:`qcode.formats` (one registry of table formats)."""

from __future__ import annotations

from .formats import TABLE_FORMATS as _TABLE_FORMATS
from .formats import AtomicTableWriter as _AtomicWriter
from .formats import CsvWriter, JsonlWriter, ParquetWriter, XlsxWriter
from .formats import open_table_writer as open_writer

FORMATS = tuple(_TABLE_FORMATS.suffixes())

__all__ = ["CsvWriter", "FORMATS", "JsonlWriter", "ParquetWriter", "XlsxWriter", "_AtomicWriter", "open_writer"]
