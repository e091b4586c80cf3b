"""Pruning a project's learned models: keep the versions runs still name and the newest few.

``qcode learn PROJECT --prune [--keep N]`` removes, in every scope folder under
``PROJECT/models/``, the saved versions that no recorded run names (a run
records the version it used as ``learned_model``) and that are not among the
``keep`` newest; then the fine-tuned bodies no kept version uses. Nothing a run
names is ever removed, so every run stays reproducible from the project; a
removed version is retrained from the decision log by ``qcode learn`` (training
is deterministic: the same decisions and seed give the same model).

The default learning ("few-shot") saves only the decisions (kilobytes per
version), so pruning matters mostly for ``learning="fine-tune"`` bodies.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .learning import MODELS_DIR

#: versions kept per scope besides those runs name (``qcode learn --prune --keep N``)
DEFAULT_KEEP = 1


@dataclass
class PruneReport:
    """What a prune removed and kept, and the bytes freed."""

    removed: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    freed_bytes: int = 0


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


def named_versions(project: Any) -> set[tuple[str, int]]:
    """(scope key, version) of every saved model a recorded run used."""
    named: set[tuple[str, int]] = set()
    for params in project.runs()["params"]:
        record = params.get("learned_model") if isinstance(params, dict) else None
        if isinstance(record, dict) and record.get("version") is not None:
            named.add((str(record.get("scope")), int(record["version"])))
    return named


def prune_models(project: Any, keep: int = DEFAULT_KEEP) -> PruneReport:
    """Remove the versions no run names beyond the ``keep`` newest per scope, and unused bodies."""
    if keep < 1:
        from ..errors import InputError

        raise InputError(f"--keep must be at least 1 (the newest version is always kept), not {keep}")
    report = PruneReport()
    root = Path(project.path) / MODELS_DIR
    if not root.is_dir():
        return report
    named = named_versions(project)
    for scope_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        found = sorted((int(c.name[1:]), c) for c in scope_dir.iterdir()
                       if c.is_dir() and c.name.startswith("v") and c.name[1:].isdigit())
        newest = {number for number, _ in found[-keep:]}
        bodies_used: set[str] = set()
        for number, folder in found:
            info = _provenance(folder)
            scope = str(info.get("scope")) if info else None
            if number in newest or (scope is not None and (scope, number) in named) or info is None:
                report.kept.append(folder)  # unreadable versions are left for the user to look at
                if info and info.get("body"):
                    bodies_used.add(str(info["body"]))
                continue
            report.freed_bytes += _size(folder)
            shutil.rmtree(folder)
            report.removed.append(folder)
        bodies = scope_dir / "bodies"
        if bodies.is_dir():
            for body in sorted(p for p in bodies.iterdir() if p.is_dir()):
                if f"bodies/{body.name}" not in bodies_used:
                    report.freed_bytes += _size(body)
                    shutil.rmtree(body)
                    report.removed.append(body)
    return report


def _provenance(folder: Path) -> dict[str, Any] | None:
    try:
        info = json.loads((folder / "provenance.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


__all__ = ["DEFAULT_KEEP", "PruneReport", "named_versions", "prune_models"]
