"""``qcode check``: is a project's database sound, and does its decision log keep its own rules?

:func:`check_project` opens the database read-only (as an ``immutable``
database on read-only media) without going through :class:`Project`, so a
project too damaged to open still gets a list of what is wrong. It checks:

* SQLite's ``PRAGMA integrity_check`` (every page, record and index);
* the schema: every table present (the cases' and memos' tables from schema
  version 3 on), a schema version this qcode knows;
* the log: the append-only triggers are present, event ids only grow (the
  id sequence is past every event; an undo comes after the event it undoes),
  every undo has one existing target of its own coder that is not an undo
  and is undone only once;
* references: events, segments, suggestions, runs and migrations name
  documents, segments, coders, runs and codebooks that exist;
* contents: every text column is valid UTF-8 and every JSON column is JSON.

Each problem is one line; an empty list means the project is sound. On a
PostgreSQL store the server guarantees pages and encodings, so only the log
and reference checks run.

>>> import tempfile
>>> from qcode.project.sample import build_sample_project
>>> study = build_sample_project(tempfile.mkdtemp() + "/study").path
>>> report = check_project(study)
>>> report.ok, report.problems
(True, [])
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ProjectError
from .base import DB_NAME, connect_readonly
from .dialect import HISTORY_TABLES, TABLES, is_postgres_url
from .schema import SCHEMA_VERSION

#: at most this many lines for one kind of problem (then a count of the rest)
MAX_LINES_PER_CHECK = 20

#: the append-only triggers of a SQLite project
SQLITE_TRIGGERS = ("events_no_update", "events_no_delete", "case_events_no_update", "case_events_no_delete",
                   "memo_events_no_update", "memo_events_no_delete")
#: and of a PostgreSQL one
PG_TRIGGERS = ("events_append_only", "events_no_truncate", "case_events_append_only", "case_events_no_truncate",
               "memo_events_append_only", "memo_events_no_truncate")

#: (table, query returning (label, ...) rows, what is wrong with each) for the reference checks
REFERENCES: tuple[tuple[str, str, str], ...] = (
    ("events", "SELECT e.event_id, e.doc_id, e.doc_version FROM events e WHERE NOT EXISTS (SELECT 1 FROM documents d "
               "WHERE d.doc_id = e.doc_id AND d.version = e.doc_version) ORDER BY e.event_id",
     "event {0} names document {1!r} version {2}, which does not exist"),
    ("events", "SELECT e.event_id, e.segment_id FROM events e WHERE e.segment_id IS NOT NULL AND NOT EXISTS "
               "(SELECT 1 FROM segments s WHERE s.segment_id = e.segment_id AND s.doc_version = e.doc_version) "
               "ORDER BY e.event_id",
     "event {0} names segment {1!r}, which does not exist in its document version"),
    ("events", "SELECT e.event_id, e.coder FROM events e WHERE NOT EXISTS (SELECT 1 FROM coders c "
               "WHERE c.name = e.coder) ORDER BY e.event_id",
     "event {0} names coder {1!r}, who is not in the coders table"),
    ("events", "SELECT e.event_id, e.run_id FROM events e WHERE e.run_id IS NOT NULL AND NOT EXISTS "
               "(SELECT 1 FROM runs r WHERE r.run_id = e.run_id) ORDER BY e.event_id",
     "event {0} names run {1}, which does not exist"),
    ("events", "SELECT e.event_id, e.codebook_version FROM events e WHERE e.codebook_version IS NOT NULL AND NOT "
               "EXISTS (SELECT 1 FROM codebooks c WHERE c.version = e.codebook_version) ORDER BY e.event_id",
     "event {0} names codebook version {1!r}, which is not stored"),
    ("segments", "SELECT s.segment_id, s.doc_id, s.doc_version FROM segments s WHERE NOT EXISTS (SELECT 1 FROM "
                 "documents d WHERE d.doc_id = s.doc_id AND d.version = s.doc_version) ORDER BY s.seg_row",
     "segment {0!r} names document {1!r} version {2}, which does not exist"),
    ("suggestions", "SELECT g.run_id, g.seg_row FROM suggestions g WHERE NOT EXISTS (SELECT 1 FROM runs r "
                    "WHERE r.run_id = g.run_id) OR NOT EXISTS (SELECT 1 FROM segments s WHERE s.seg_row = g.seg_row) "
                    "ORDER BY g.run_id, g.seg_row",
     "a suggestion of run {0} names a run or segment row ({1}) that does not exist"),
    ("runs", "SELECT r.run_id, r.codebook_version FROM runs r WHERE r.codebook_version IS NOT NULL AND NOT EXISTS "
             "(SELECT 1 FROM codebooks c WHERE c.version = r.codebook_version) ORDER BY r.run_id",
     "run {0} names codebook version {1!r}, which is not stored"),
    ("code_migrations", "SELECT m.migration_id, m.codebook_version FROM code_migrations m WHERE NOT EXISTS "
                        "(SELECT 1 FROM codebooks c WHERE c.version = m.codebook_version) ORDER BY m.migration_id",
     "migration {0} names codebook version {1!r}, which is not stored"),
    ("memo_events", "SELECT m.memo_id, m.version FROM memo_events m WHERE m.version > 1 AND NOT EXISTS "
                    "(SELECT 1 FROM memo_events p WHERE p.memo_id = m.memo_id AND p.version = m.version - 1) "
                    "ORDER BY m.memo_id, m.version",
     "memo {0} has version {1} but not the version before it"),
    ("memo_events", "SELECT m.memo_id, m.version FROM memo_events m JOIN memo_events f ON f.memo_id = m.memo_id "
                    "AND f.version = 1 WHERE m.target_kind <> f.target_kind OR m.target_id <> f.target_id "
                    "OR m.guid <> f.guid ORDER BY m.memo_id, m.version",
     "memo {0} version {1} names another target or guid than its first version"),
    ("meta", "SELECT m.value FROM meta m WHERE m.key = 'codebook_version' AND NOT EXISTS "
             "(SELECT 1 FROM codebooks c WHERE c.version = m.value)",
     "the current codebook version {0!r} is not stored"),
)

#: the undo rules of the log, as (query, what is wrong with each row)
UNDO_RULES: tuple[tuple[str, str], ...] = (
    ("SELECT event_id FROM events WHERE verdict = 'undo' AND undoes IS NULL ORDER BY event_id",
     "event {0} is an undo without a target"),
    ("SELECT event_id, undoes FROM events WHERE verdict <> 'undo' AND undoes IS NOT NULL ORDER BY event_id",
     "event {0} is not an undo but names event {1} as undone"),
    ("SELECT u.event_id, u.undoes FROM events u WHERE u.undoes IS NOT NULL AND NOT EXISTS "
     "(SELECT 1 FROM events t WHERE t.event_id = u.undoes) ORDER BY u.event_id",
     "event {0} undoes event {1}, which does not exist"),
    ("SELECT event_id, undoes FROM events WHERE undoes IS NOT NULL AND undoes >= event_id ORDER BY event_id",
     "event {0} undoes event {1}, which is not earlier (event ids must increase)"),
    ("SELECT u.event_id, u.undoes FROM events u JOIN events t ON t.event_id = u.undoes WHERE t.verdict = 'undo' "
     "ORDER BY u.event_id",
     "event {0} undoes event {1}, which is itself an undo"),
    ("SELECT u.event_id, u.undoes, u.coder, t.coder FROM events u JOIN events t ON t.event_id = u.undoes "
     "WHERE t.coder <> u.coder ORDER BY u.event_id",
     "event {0} (coder {2!r}) undoes event {1} of another coder ({3!r})"),
    ("SELECT undoes, COUNT(*) FROM events WHERE undoes IS NOT NULL GROUP BY undoes HAVING COUNT(*) > 1 "
     "ORDER BY undoes",
     "event {0} is undone {1} times"),
)

#: table -> (columns that name a row, JSON columns) for the content checks
CONTENT: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "meta": (("key",), ()),
    "documents": (("doc_id", "version"), ("metadata", "turns")),
    "segments": (("segment_id", "doc_version"), ()),
    "codebooks": (("version",), ("json",)),
    "code_migrations": (("migration_id",), ()),
    "runs": (("run_id",), ("params",)),
    "coders": (("name",), ()),
    "events": (("event_id",), ()),
    "case_events": (("event_id",), ()),
    "memo_events": (("event_id",), ()),
}

Query = Callable[[str], Sequence[Sequence[Any]]]


@dataclass
class CheckReport:
    """What :func:`check_project` found: ``problems`` (one line each), counts of rows, seconds taken."""

    path: str
    problems: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


def check_project(path: str | Path) -> CheckReport:
    """Check a project folder's database (or a ``postgresql://`` store); see the module's docstring."""
    started = time.perf_counter()
    if is_postgres_url(path) or not (Path(path) / DB_NAME).exists():
        report = _check_postgres(path)  # a folder whose settings name a server, else "not a qcode project"
    else:
        report = _check_sqlite(Path(path))
    report.seconds = time.perf_counter() - started
    return report


def open_readonly(db_path: Path) -> sqlite3.Connection:
    """A read-only connection; on read-only media, where SQLite cannot keep its WAL index, ``immutable=1``."""
    return connect_readonly(db_path)[0]


def _check_sqlite(folder: Path) -> CheckReport:
    db_path = folder / DB_NAME
    report = CheckReport(str(folder))
    if not db_path.is_file():
        raise ProjectError(f"{folder}: not a qcode project (run `qcode init {folder}`)")
    try:
        conn = open_readonly(db_path)
    except sqlite3.Error as exc:
        report.problems.append(f"the database cannot be opened ({exc})")
        return report
    problems = report.problems
    try:
        rows = _run(problems, "integrity", lambda: conn.execute("PRAGMA integrity_check").fetchall()) or []
        problems.extend(f"integrity_check: {line}" for row in rows for line in str(row[0]).splitlines()
                        if line.strip() not in ("ok", "*** in database main ***"))

        def query(sql: str) -> list[tuple[Any, ...]]:
            return conn.execute(sql).fetchall()

        present = _run(problems, "schema", lambda: {r[0] for r in query(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}) or set()
        missing = [t for t in _required(query, present) if t not in present]
        problems.extend(f"table {t!r} is missing" for t in missing)
        if missing and present == set():
            return report
        triggers = _run(problems, "schema", lambda: {r[0]: r[1] or "" for r in query(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")}) or {}
        for name in SQLITE_TRIGGERS:
            if name.split("_no_")[0] in missing or name.split("_no_")[0] not in present:
                continue
            if "RAISE(ABORT" not in triggers.get(name, "").upper().replace(" ", ""):
                problems.append(f"the append-only trigger {name!r} is missing or changed: the "
                                f"{_log_of(name)} could be edited in place")
        if "events" not in missing:
            _run(problems, "events", lambda: _sequence(query, problems))
        _common_checks(query, problems, report.counts, missing, present)
        conn.text_factory = bytes
        for table, (keys, json_columns) in CONTENT.items():
            if table in present:
                _run(problems, table, lambda table=table, keys=keys, jc=json_columns:  # type: ignore[misc]
                     _contents(conn, table, keys, jc, problems))
    finally:
        conn.close()
    return report


def _required(query: Query, present: set[str]) -> tuple[str, ...]:
    """The tables a project of its schema version must hold (an older one predates cases and memos)."""
    try:
        rows = query("SELECT value FROM meta WHERE key = 'schema_version'") if "meta" in present else []
        version = int(rows[0][0]) if rows else SCHEMA_VERSION
    except Exception:  # reported by the schema version check
        version = SCHEMA_VERSION
    return TABLES if version >= 3 else tuple(t for t in TABLES if t not in HISTORY_TABLES)


def _log_of(trigger: str) -> str:
    if trigger.startswith("case_events"):
        return "case attribute history"
    if trigger.startswith("memo_events"):
        return "memo history"
    return "decision log"


def _sequence(query: Query, problems: list[str]) -> None:
    top = query("SELECT MAX(event_id) FROM events")[0][0]
    if top is None:
        return
    rows = query("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
    if not rows or rows[0][0] is None or int(rows[0][0]) < int(top):
        seq = rows[0][0] if rows else None
        problems.append(f"the event id sequence ({seq}) is behind the last event ({top}): a new decision could "
                        "take the id of an old one")


def _common_checks(query: Query, problems: list[str], counts: dict[str, int], missing: Sequence[str],
                   present: set[str]) -> None:
    """Schema version, undo rules and references: plain SQL both stores run."""
    if "meta" not in missing:
        rows = _run(problems, "meta", lambda: query("SELECT value FROM meta WHERE key = 'schema_version'")) or []
        if not rows:
            problems.append("no schema version in table 'meta'")
        else:
            value = rows[0][0]
            try:
                version = int(value)
            except (TypeError, ValueError):
                version = -1
            if not 1 <= version <= SCHEMA_VERSION:
                problems.append(f"schema version {value!r} is not one this qcode knows (1 to {SCHEMA_VERSION})")
    for table in ("documents", "segments", "events", "coders", "runs", "case_events", "memo_events"):
        if table in present:
            found = _run(problems, table, lambda table=table: query(f"SELECT COUNT(*) FROM {table}"))  # type: ignore[misc]
            if found:
                counts[table] = int(found[0][0])
    if missing:  # already reported; the rules below read every table
        return
    for sql, message in UNDO_RULES:
        _run(problems, "events", lambda sql=sql, message=message: _lines(  # type: ignore[misc]
            problems, query(sql), message))
    for table, sql, message in REFERENCES:
        if table not in present:  # an older project's schema predates it
            continue
        _run(problems, table, lambda sql=sql, message=message: _lines(  # type: ignore[misc]
            problems, query(sql), message))


def _lines(problems: list[str], rows: Sequence[Sequence[Any]], message: str) -> None:
    for row in rows[:MAX_LINES_PER_CHECK]:
        problems.append(message.format(*row))
    if len(rows) > MAX_LINES_PER_CHECK:
        problems.append(f"... and {len(rows) - MAX_LINES_PER_CHECK} more like the last")


def _contents(conn: sqlite3.Connection, table: str, keys: tuple[str, ...], json_columns: tuple[str, ...],
              problems: list[str]) -> None:
    """Every text column valid UTF-8, every JSON column JSON (the connection returns text as bytes)."""
    columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})").fetchall()
               if (r[2] or b"").upper() in (b"TEXT", "TEXT")]
    names = [c.decode() if isinstance(c, bytes) else c for c in columns]
    if not names:
        return
    found: list[str] = []
    cursor = conn.execute("SELECT " + ", ".join(f'"{n}"' for n in [*keys, *names]) + f" FROM {table}")
    for row in cursor:
        label = _label(table, [_show(v) for v in row[:len(keys)]])
        for name, value in zip(names, row[len(keys):]):
            if not isinstance(value, bytes):
                continue
            try:
                text = value.decode("utf-8")
            except UnicodeDecodeError as exc:
                found.append(f"{label}: column {name!r} is not valid UTF-8 (byte {exc.start})")
                continue
            if name in json_columns:
                try:
                    json.loads(text)
                except json.JSONDecodeError as exc:
                    found.append(f"{label}: column {name!r} is not valid JSON ({exc.msg} at character {exc.pos})")
    _lines(problems, [(line,) for line in found], "{0}")


def _show(value: Any) -> Any:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _label(table: str, keys: list[Any]) -> str:
    if table == "events":
        return f"event {keys[0]}"
    if table == "case_events":
        return f"case event {keys[0]}"
    if table == "memo_events":
        return f"memo event {keys[0]}"
    if table == "documents":
        return f"document {keys[0]!r} version {keys[1]}"
    if table == "segments":
        return f"segment {keys[0]!r} (document version {keys[1]})"
    if table == "codebooks":
        return f"codebook version {keys[0]!r}"
    if table == "runs":
        return f"run {keys[0]}"
    if table == "coders":
        return f"coder {keys[0]!r}"
    if table == "meta":
        return f"meta value {keys[0]!r}"
    return f"{table} row {keys[0]}"


def _run(problems: list[str], what: str, step: Callable[[], Any]) -> Any:
    """``step()``; a database error becomes one problem line (the rest of the checks still run)."""
    try:
        result = step()
    except sqlite3.Error as exc:
        line = f"{what}: cannot be read ({' '.join(str(exc).split())})"
        if line not in problems:
            problems.append(line)
        return None
    return result


def _check_postgres(path: str | Path) -> CheckReport:
    from .opening import open_project

    project = open_project(path, readonly=True)
    report = CheckReport(str(project.path))
    conn = project._conn
    errors = project._db_errors

    def query(sql: str) -> list[Any]:
        return list(conn.execute(sql).fetchall())

    problems = report.problems
    try:
        present = {r[0] for r in query("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
        missing = [t for t in _required(query, present) if t not in present]
        problems.extend(f"table {t!r} is missing" for t in missing)
        triggers = {r[0] for r in query("SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                                        "WHERE NOT t.tgisinternal")}
        for name in PG_TRIGGERS:
            if name not in triggers and name.rsplit("_", 2)[0] in present:
                problems.append(f"the append-only trigger {name!r} is missing: the {_log_of(name)} could be edited")
        _common_checks(query, problems, report.counts, missing, present)
    except errors as exc:
        raise project._error(exc) from None
    finally:
        project.close()
    return report


__all__ = ["CheckReport", "MAX_LINES_PER_CHECK", "check_project", "open_readonly"]
