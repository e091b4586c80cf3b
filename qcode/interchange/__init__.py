"""Exchange with other qualitative tools: REFI-QDA (.qdc, .qdpx) and coded spreadsheets (.csv, .xlsx).

>>> from qcode.interchange import read_qdc, write_qdc, read_qdpx, export_qdpx, import_qdpx
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "read_qdc": "refi", "write_qdc": "refi", "read_qdpx": "refi", "write_qdpx": "refi",
    "export_qdpx": "refi", "import_qdpx": "refi", "RefiProject": "refi", "RefiUser": "refi",
    "RefiSource": "refi", "RefiCoding": "refi",
    "read_codings_table": "spreadsheet", "write_codings_table": "spreadsheet",
    "import_codings_table": "spreadsheet", "export_codings_table": "spreadsheet",
    "SpanCoding": "spreadsheet", "CodingTable": "spreadsheet",
    "SafeZip": "safezip", "ZipLimits": "safezip",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'qcode.interchange' has no attribute {name!r}")
    return getattr(importlib.import_module(f"qcode.interchange.{module}"), name)
