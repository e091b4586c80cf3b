"""Moved to :mod:`qcode.safezip` (it sits below every reader: transcripts, spreadsheets and REFI-QDA share it)."""

from ..safezip import SafeZip, ZipLimits, check_member_name

__all__ = ["SafeZip", "ZipLimits", "check_member_name"]
