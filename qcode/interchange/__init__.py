"""Exchange with other qualitative tools: REFI-QDA (.qdc, .qdpx) and coded spreadsheets (.csv, .xlsx).

These are pure formats and never touch a project store: moving them into or out of a project
(``export_qdpx``, ``import_qdpx``, ``import_codings_table``, ``export_codings_table``) is
:mod:`qcode.project.bridge`, one layer up.

>>> from qcode.interchange import read_qdc, write_qdc, read_qdpx, write_qdpx, RefiProject
"""

from __future__ import annotations

from ..safezip import SafeZip, ZipLimits
from .model import RefiCoding, RefiProject, RefiSource, RefiUser
from .qdc import read_qdc, write_qdc
from .qdpx import read_qdpx, write_qdpx
from .spreadsheet import CodingTable, SpanCoding, read_codings_table, write_codings_table

__all__ = ["CodingTable", "RefiCoding", "RefiProject", "RefiSource", "RefiUser", "SafeZip", "SpanCoding",
           "ZipLimits", "read_codings_table", "read_qdc", "read_qdpx", "write_codings_table", "write_qdc",
           "write_qdpx"]
