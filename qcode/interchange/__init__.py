"""Exchange with other qualitative tools: REFI-QDA (.qdc, .qdpx) and coded spreadsheets (.csv, .xlsx).

These are pure formats; moving them into or out of a project is :mod:`qcode.project.bridge`.

>>> from qcode.interchange import read_qdc, write_qdc, read_qdpx, export_qdpx, import_qdpx
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> module defining it; the project-facing names live in qcode.project.bridge (looked up on first use)
_LAZY = {
    "read_qdc": "qcode.interchange.qdc", "write_qdc": "qcode.interchange.qdc",
    "read_qdpx": "qcode.interchange.qdpx", "write_qdpx": "qcode.interchange.qdpx",
    "RefiProject": "qcode.interchange.model", "RefiUser": "qcode.interchange.model",
    "RefiSource": "qcode.interchange.model", "RefiCoding": "qcode.interchange.model",
    "read_codings_table": "qcode.interchange.spreadsheet", "write_codings_table": "qcode.interchange.spreadsheet",
    "SpanCoding": "qcode.interchange.spreadsheet", "CodingTable": "qcode.interchange.spreadsheet",
    "SafeZip": "qcode.safezip", "ZipLimits": "qcode.safezip",
    "export_qdpx": "qcode.project.bridge", "import_qdpx": "qcode.project.bridge",
    "import_codings_table": "qcode.project.bridge", "export_codings_table": "qcode.project.bridge",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'qcode.interchange' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
