"""Moved to :mod:`qcode.project.bridge` (the one bridge between the store and file formats)."""

from __future__ import annotations

from .bridge import TABLE_FORMATS, WHAT, export_file, export_frame, export_table, frame_to_bytes

__all__ = ["TABLE_FORMATS", "WHAT", "export_file", "export_frame", "export_table", "frame_to_bytes"]
