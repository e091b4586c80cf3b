"""Write a bench script's figures as bench/results/NAME.json, the file the benchmarks page renders.

    from record import Results
    results = Results("agreement", script=__file__, machine=machine_line())
    results.table("alpha", "Krippendorff's alpha", ["data", "qcode s"], rows, align="lr")
    results.save()        # atomic; scripts call it only when asked (--json)

The schema is what ``scripts/docs_hooks.py`` reads: script, command, machine, measured (date),
and tables, each with id, title, columns, rows (lists of cells), align ("l"/"r"/"c" per column)
and optional notes.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine_line() -> str:
    """The processor, cores, Python and load average, as the page shows them."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical cores, "
            f"{platform.system()}, Python {platform.python_version()} (load average {load:.1f} at start)")


class Results:
    def __init__(self, name: str, *, script: str, machine: str, command: str | None = None) -> None:
        self.name = name
        self.data: dict[str, Any] = {
            "script": f"bench/{Path(script).name}",
            "command": command or f"python bench/{Path(script).name}",
            "machine": machine,
            "measured": _dt.date.today().isoformat(),
            "tables": [],
        }

    def table(self, table_id: str, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], *,
              align: str | None = None, notes: str | None = None) -> None:
        table: dict[str, Any] = {"id": table_id, "title": title, "columns": list(columns),
                                 "rows": [list(r) for r in rows]}
        if align:
            if len(align) != len(columns):
                raise ValueError(f"align {align!r} has {len(align)} letters for {len(columns)} columns")
            table["align"] = align
        if notes:
            table["notes"] = notes
        self.data["tables"].append(table)

    def save(self, folder: Path = RESULTS, *, keep_tables: bool = False) -> Path:
        """Write the file atomically; with keep_tables, tables of the old file whose id this run did
        not produce (a summary written from an earlier run) are kept after the new ones."""
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{self.name}.json"
        if keep_tables and target.is_file():
            ids = {t["id"] for t in self.data["tables"]}
            old = json.loads(target.read_text(encoding="utf-8")).get("tables", [])
            kept = [t for t in old if t.get("id") not in ids]
            self.data["tables"] = kept + self.data["tables"]
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{self.name}.", suffix=".part")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self.data, fh, indent=1, ensure_ascii=False)
            fh.write("\n")
        os.replace(tmp, target)
        return target
