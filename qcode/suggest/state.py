"""Saving and loading what a :class:`~qcode.suggest.Suggester` learned (the decisions, not the model) as JSON.

>>> import tempfile, pathlib
>>> from qcode.embed.fake import FakeEmbedder
>>> from qcode.suggest import make_suggester
>>> s = make_suggester("mcn-sst", model=FakeEmbedder())
>>> path = save_state(s, pathlib.Path(tempfile.mkdtemp()) / "state.json")
>>> load_state(make_suggester("mcn-sst", model=FakeEmbedder()), path).identity()["learned_decisions"]
0
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .._io import atomic_write_text
from ..errors import QcodeError
from .ranking import Suggester


def save_state(suggester: Suggester, path: str | Path) -> Path:
    """Save what ``suggester`` learned as JSON, atomically; returns the path."""
    atomic_write_text(path, json.dumps(suggester.state(), ensure_ascii=False, indent=1))
    return Path(path)


def read_state(path: str | Path) -> dict[str, Any]:
    """The ``learned`` part of a state saved by :func:`save_state` (one-line error otherwise)."""
    path = Path(path)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        learned: dict[str, Any] = state["learned"]
    except (OSError, ValueError, KeyError) as exc:
        raise QcodeError(f"{path}: not a qcode suggester state ({exc})") from None
    return learned


def load_state(suggester: Suggester, path: str | Path) -> Suggester:
    """Reload a state saved by :func:`save_state` into ``suggester`` (classifiers are refitted deterministically)."""
    return suggester.restore(read_state(path))


__all__ = ["load_state", "read_state", "save_state"]
