"""Moved to :mod:`qcode.review.terminal` (a terminal UI is not part of the store)."""

from __future__ import annotations

from ..review.terminal import KeyReader, QueueItem, ReviewSession, build_queue, run_review

__all__ = ["KeyReader", "QueueItem", "ReviewSession", "build_queue", "run_review"]
