"""Moved to :mod:`qcode.project.bridge` (the interchange layer no longer touches a project store).

Names are looked up there on first use, so importing this module does not import the store.
"""

from __future__ import annotations

import importlib
from typing import Any

_RENAMED = {"_current_codings": "current_codings"}


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    bridge = importlib.import_module("qcode.project.bridge")
    try:
        return getattr(bridge, _RENAMED.get(name, name))
    except AttributeError:
        raise AttributeError(f"module 'qcode.interchange._store_bridge' has no attribute {name!r}") from None
