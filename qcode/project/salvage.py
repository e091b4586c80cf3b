"""Reading a decision log with damaged pages or bytes: every event still readable, and a warning naming the rest."""

from __future__ import annotations

import sqlite3
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from ..errors import DamageWarning, ProjectError
from .base import SALVAGE_HINT, DamagedText

#: event columns that only show the decision: damaged bytes there leave the event in the log
SHOWN_COLUMNS = ("text", "note")


def salvage_log(conn: Any, db_path: Any, coder: str | None) -> list[Any]:
    """The events still readable from a log with damaged pages, read by id ranges; a warning names the rest."""
    try:
        top = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    except sqlite3.DatabaseError:
        top = None
    if top is None or top[0] is None:
        raise ProjectError(f"{db_path}: the decision log is damaged and its last event id cannot be read; "
                           f"{SALVAGE_HINT}") from None
    sql = ('SELECT event_id, time, coder, doc_id, doc_version, segment_id, start, "end", text, code_id, verdict, '
           "note, run_id, score, source, undoes FROM events WHERE event_id BETWEEN ? AND ?"
           + (" AND coder = ?" if coder is not None else ""))
    rows: list[Any] = []
    lost: list[tuple[int, int]] = []
    stack = [(1, int(top[0]))]
    while stack:
        low, high = stack.pop()
        try:
            found = conn.execute(sql, (low, high) + ((coder,) if coder is not None else ())).fetchall()
        except sqlite3.DatabaseError:
            if low < high:
                middle = (low + high) // 2
                stack.extend([(middle + 1, high), (low, middle)])
            continue
        rows.extend(found)
    undone = {r["undoes"] for r in rows if r["undoes"] is not None}
    rows = [_with_undone(r, r["event_id"] in undone) for r in sorted(rows, key=lambda r: r["event_id"])]
    read = {r["event_id"] for r in rows}
    for event_id in range(1, int(top[0]) + 1):
        if event_id not in read and coder is None:
            if lost and lost[-1][1] == event_id - 1:
                lost[-1] = (lost[-1][0], event_id)
            else:
                lost.append((event_id, event_id))
    spans = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in lost[:10]) + (" ..." if len(lost) > 10 else "")
    warnings.warn(f"{db_path}: the decision log has damaged pages: {len(rows)} events read"
                  + (f", event ids {spans} lost" if lost else "") + f"; {SALVAGE_HINT}", DamageWarning,
                  stacklevel=4)
    return rows


def screen_damaged(rows: Sequence[Any], where: Any) -> list[Any]:
    """Name each event with damaged text; keep it if only its text or note is damaged, else leave it out."""
    kept = []
    for row in rows:
        bad = [name for name in row.keys() if isinstance(row[name], DamagedText)]  # noqa: SIM118 (a Row iterates values)
        if not bad:
            kept.append(row)
            continue
        columns = ", ".join(repr(name) for name in bad)
        if set(bad) <= set(SHOWN_COLUMNS):
            kept.append(row)
            outcome = "read with U+FFFD in place of the bad bytes"
        else:
            outcome = "left out of the log (it cannot be trusted)"
        warnings.warn(f"{where}: event {row['event_id']} is damaged: column {columns} is not valid UTF-8; "
                      f"{outcome}", DamageWarning, stacklevel=4)
    return kept


class _SalvagedRow(dict[str, Any]):
    """A salvaged event as a row: by column name, by position, and with ``keys()`` like ``sqlite3.Row``."""

    def __iter__(self) -> Iterator[Any]:
        return iter(self.values())

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, int):
            return list(self.values())[key]
        return super().__getitem__(key)


def _with_undone(row: Any, undone: bool) -> _SalvagedRow:
    record = _SalvagedRow((name, row[name]) for name in row.keys())  # noqa: SIM118 (a Row iterates values)
    record["undone"] = undone
    return record


__all__ = ["SHOWN_COLUMNS", "salvage_log", "screen_damaged"]
