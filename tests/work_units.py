"""Load-independent measures of work for the hostile-input tests.

A loaded CI machine stretches seconds, never the work done: these helpers count
Python lines executed (a deterministic operation count), refuse stages that a
refusal must come before, and measure peak allocation with ``tracemalloc``.
Wall-clock figures for the same cases come from ``scripts/hostile_figures.py``.
"""

from __future__ import annotations

import sys
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any


class TooMuchWork(BaseException):
    """Raised inside the measured code once it has run more lines than allowed (a BaseException, so no
    ``except Exception`` in the code under test swallows it)."""


class StageReached(BaseException):
    """Raised when code reaches a stage that a refusal should have come before."""


@dataclass
class Work:
    lines: int = 0
    peak_bytes: int = 0


@contextmanager
def counted_lines(limit: int | None = None) -> Iterator[Work]:
    """Count the Python lines run in calls made inside the block; past ``limit`` raise :class:`TooMuchWork`."""
    work = Work()

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            work.lines += 1
            if limit is not None and work.lines > limit:
                raise TooMuchWork(f"more than {limit} lines run")
        return local

    def on_call(frame: FrameType, event: str, arg: Any) -> Any:
        return local

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        yield work
    finally:
        sys.settrace(previous)


@contextmanager
def peak_allocation() -> Iterator[Work]:
    """The peak bytes allocated through Python's allocator inside the block (``work.peak_bytes``)."""
    work = Work()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    baseline = tracemalloc.get_traced_memory()[0]
    try:
        yield work
    finally:
        work.peak_bytes = tracemalloc.get_traced_memory()[1] - baseline
        if not was_tracing:
            tracemalloc.stop()


def forbid(monkeypatch: Any, target: Any, name: str, stage: str) -> None:
    """Make ``target.name`` raise :class:`StageReached` naming ``stage`` when called."""

    def reached(*args: Any, **kwargs: Any) -> Any:
        raise StageReached(f"reached {stage} ({getattr(target, '__name__', target)}.{name})")

    monkeypatch.setattr(target, name, reached)
