"""The store's foundation: the SQLite connection, durable transactions, meta values, schema upgrades.

Every write runs in one ``BEGIN IMMEDIATE`` transaction and is committed with
``synchronous=FULL`` before the call returns, so a decision whose call has
returned survives a crash or ``kill -9``. Concurrent writers wait for each
other (busy timeout plus retries) instead of failing.

Damage: the first write of each opening runs ``PRAGMA quick_check`` and a
damaged database refuses every write (see :mod:`qcode.project.integrity`).
Text whose stored bytes are not valid UTF-8 is read with U+FFFD in place of
the bad bytes and a :class:`~qcode.errors.DamageWarning`, so one flipped byte
does not make the whole project unreadable. A project on read-only media (or
in a folder this user cannot write) is opened read-only, as SQLite's
``immutable`` database when it cannot keep its shared-memory index there.

>>> translate(sqlite3.OperationalError("database is locked"), "p")
StoreUnavailableError('p: the project database is locked by another process; try again')
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import stat
import time
import warnings
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from ..codebook.model import Codebook
from ..errors import DamageWarning, ProjectError, StoreUnavailableError
from .schema import SCHEMA_VERSION, UPGRADES

_S = TypeVar("_S", bound="StoreBase")

DB_NAME = "qcode.sqlite"
SETTINGS_NAME = "settings.json"


def _lock_timeout_from_env(default: float = 30.0) -> float:
    try:
        value = float(os.environ.get("QCODE_LOCK_TIMEOUT", default))
    except ValueError:
        raise ProjectError(f"QCODE_LOCK_TIMEOUT={os.environ['QCODE_LOCK_TIMEOUT']!r}: expected seconds, "
                           "e.g. 30") from None
    return value if value > 0 else default


#: seconds a write waits for another process's transaction (``QCODE_LOCK_TIMEOUT``, default 30)
DEFAULT_LOCK_TIMEOUT = _lock_timeout_from_env()


def now_utc() -> str:
    """The current time as ISO 8601 UTC with microseconds (``2026-01-31T12:00:00.123456Z``)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def translate(exc: sqlite3.Error, where: Path | str) -> ProjectError:
    """Turn an sqlite3 error into a one-line :class:`ProjectError` (:class:`StoreUnavailableError` when
    retrying may succeed)."""
    message = str(exc)
    lowered = message.lower()
    if "database or disk is full" in lowered or ("disk i/o error" in lowered and _no_space_at(where)):
        return StoreUnavailableError(f"{where}: the disk is full ({message}); nothing of this change was written")
    if "disk i/o error" in lowered:
        return ProjectError(f"{where}: the disk failed to read or write ({message}); nothing of this change was "
                            "written")
    if "readonly" in lowered or "read-only" in lowered:
        return StoreUnavailableError(f"{where}: the project database is read-only; nothing was written")
    if "locked" in lowered or "busy" in lowered:
        return StoreUnavailableError(f"{where}: the project database is locked by another process; try again")
    if "append-only" in lowered:
        return ProjectError(f"{where}: {message}")
    if "not a database" in lowered or "malformed" in lowered:
        return ProjectError(f"{where}: the project database is damaged or not SQLite ({message}); "
                            f"{SALVAGE_HINT}")
    if "unable to open" in lowered:
        return StoreUnavailableError(f"{where}: cannot open the project database ({message})")
    return ProjectError(f"{where}: database error: {_one_line(message)}")


def _no_space_at(where: Path | str) -> bool:
    """True when the file system holding ``where`` has (next to) no space left."""
    import shutil

    folder = Path(where)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free < 64 * 1024
    except OSError:
        return False


#: what a message about a damaged project tells the user to do
SALVAGE_HINT = ("`qcode check PROJECT` lists the damage, `qcode export` saves what can still be read "
                "(docs: Hostile input, Damaged projects)")


class DamagedText(str):
    """A column's text whose stored bytes are not valid UTF-8, with U+FFFD in place of the bad bytes."""


def tolerant_text(data: bytes) -> str:
    """SQLite text as ``str``; undecodable bytes give a :class:`DamagedText` instead of an error."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return DamagedText(data.decode("utf-8", "replace"))


def _undecodable(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "could not decode to utf-8" in str(exc).lower()


def writable_place(path: Path) -> bool:
    """False when ``path`` (a file or folder) sits on read-only media or this user may not write it."""
    try:
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return False
    except (OSError, AttributeError):
        pass
    return os.access(path, os.W_OK)


def connect_readonly(db_path: Path, *, timeout: float = 5.0,
                     check_same_thread: bool = True) -> tuple[sqlite3.Connection, bool]:
    """A read-only connection (``mode=ro``) and whether it had to be ``immutable=1``: on read-only
    media SQLite cannot keep the WAL index, and only an immutable open reads the file there."""
    uri = f"file:{db_path.resolve()}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=timeout,
                           check_same_thread=check_same_thread)
    try:
        conn.execute("PRAGMA schema_version").fetchone()
        return conn, False
    except sqlite3.OperationalError as exc:
        conn.close()
        if "unable to open" not in str(exc).lower() or writable_place(db_path.parent):
            raise
    return sqlite3.connect(f"{uri}&immutable=1", uri=True, isolation_level=None, timeout=timeout,
                           check_same_thread=check_same_thread), True


class StoreBase:
    """Connection, transactions and meta values of a project database (see :class:`qcode.project.Project`)."""

    def __init__(self, path: Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT, readonly: bool = False):
        self.path = Path(path)
        self.db_path = self.path / DB_NAME
        if not self.db_path.is_file():
            raise ProjectError(f"{self.path}: not a qcode project (run `qcode init {self.path}`)")
        self.lock_timeout = float(lock_timeout)
        mode = self.db_path.stat().st_mode
        self.readonly = (readonly or not (mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
                         or not writable_place(self.db_path) or not writable_place(self.path))
        self.immutable = False
        self._depth = 0
        self._conn = self._connect()
        self._codebook_cache: tuple[str, Codebook] | None = None
        self._check_schema()

    # -- connection ----------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            if self.readonly:
                conn = self._connect_readonly()
            else:
                conn = sqlite3.connect(self.db_path, isolation_level=None, timeout=self.lock_timeout,
                                       check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(self.lock_timeout * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            if not self.readonly:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise ProjectError(f"{self.db_path}: cannot switch the database to WAL mode (got {mode})")
                conn.execute("PRAGMA synchronous = FULL")
            conn.row_factory = sqlite3.Row
            return conn
        except sqlite3.Error as exc:
            raise translate(exc, self.db_path) from None

    def _connect_readonly(self) -> sqlite3.Connection:
        """``mode=ro``; where SQLite cannot open the WAL index (read-only media), ``immutable=1``."""
        conn, immutable = connect_readonly(self.db_path, timeout=self.lock_timeout, check_same_thread=False)
        if immutable:
            wal = Path(f"{self.db_path}-wal")
            if wal.is_file() and wal.stat().st_size > 0:
                warnings.warn(f"{self.db_path}: read-only media, and the project has a write-ahead log that "
                              "cannot be replayed here: the latest changes may be missing (copy the folder to "
                              "writable storage to read them)", DamageWarning, stacklevel=4)
            self.immutable = True
        return conn

    #: the driver's error classes, turned into ProjectError by :meth:`_error`
    _db_errors: tuple[type[BaseException], ...] = (sqlite3.Error,)

    def _error(self, exc: BaseException) -> ProjectError:
        return translate(exc, self.db_path)  # type: ignore[arg-type]

    def _check_schema(self) -> None:
        try:
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except self._db_errors as exc:
            raise self._error(exc) from None
        if row is None:
            raise ProjectError(f"{self.db_path}: no schema version in table 'meta' (not a qcode project database)")
        version = int(row[0])
        if version > SCHEMA_VERSION:
            raise ProjectError(f"{self.db_path}: schema version {version} was written by a newer qcode "
                               f"(this one reads up to {SCHEMA_VERSION}); upgrade qcode")
        if version < SCHEMA_VERSION and not self.readonly:
            self._upgrade()

    def _upgrade(self) -> None:
        """Bring an older project's schema up to :data:`SCHEMA_VERSION` in place, in one transaction."""
        with self.transaction():
            version = int(self._meta("schema_version") or 0)  # another process may have upgraded it meanwhile
            for step in range(version, SCHEMA_VERSION):
                for statement in UPGRADES[step]:
                    self._run_ddl(statement)
            self._after_upgrade()
            self._set_meta("schema_version", str(SCHEMA_VERSION))

    def _after_upgrade(self) -> None:
        """What a store runs once its tables are upgraded (PostgreSQL: its triggers)."""

    def _run_ddl(self, statement: str) -> None:
        """One schema statement, written in SQLite's spelling (the PostgreSQL store translates it)."""
        self._conn.execute(statement)

    def close(self) -> None:
        """Close the database connection (the project object is unusable afterwards)."""
        self._conn.close()

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Project({str(self.path)!r})"

    #: reads that met undecodable text (see :meth:`_query`)
    _damaged_reads = 0
    #: True while the caller names damaged rows itself (no general warning then)
    _damage_named = False

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        try:
            return self._conn.execute(sql, tuple(params)).fetchall()
        except self._db_errors as exc:
            if _undecodable(exc):
                return self._query_damaged(sql, params)
            raise self._error(exc) from None

    def _query_damaged(self, sql: str, params: Iterable[Any]) -> list[sqlite3.Row]:
        """The query again, with damaged text read as :class:`DamagedText`, and a warning."""
        conn = self._conn
        conn.text_factory = tolerant_text
        try:
            rows = conn.execute(sql, tuple(params)).fetchall()
        except self._db_errors as exc:
            raise self._error(exc) from None
        finally:
            conn.text_factory = str
        self._damaged_reads += 1
        if not self._damage_named:
            warnings.warn(f"{self.db_path}: some stored text is not valid UTF-8 (damaged); it is read with U+FFFD "
                          f"in place of the bad bytes; `qcode check {self.path}` lists where", DamageWarning,
                          stacklevel=3)
        return rows

    def _begin(self) -> None:
        """``BEGIN IMMEDIATE``, retried with jittered backoff until ``lock_timeout`` passes."""
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.005
        while True:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                lowered = str(exc).lower()
                if ("locked" not in lowered and "busy" not in lowered) or time.monotonic() >= deadline:
                    raise
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.25)

    @contextlib.contextmanager
    def transaction(self: _S) -> Iterator[_S]:
        """Group writes into one all-or-nothing transaction.

        Every write method called inside the block joins it; the block commits
        (durably) at its end, or rolls everything back if it raises. Nested
        blocks join the outermost one.

        >>> import tempfile
        >>> from qcode.project.sample import build_sample_project
        >>> project = build_sample_project(tempfile.mkdtemp() + "/study")
        >>> seg_id = project.segments().segment_id.iloc[1]
        >>> with project.transaction():
        ...     for code in ("funding", "staffing"):
        ...         _ = project.decide("alice", seg_id, code, "accept", source="import")
        >>> len(project.decisions())
        2
        """
        if self.readonly:
            raise StoreUnavailableError(f"{self.db_path}: the project was opened read-only; nothing was written")
        if self._depth == 0:
            self.check_writable()
        if self._depth > 0:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        try:
            self._begin()
        except self._db_errors as exc:
            raise self._error(exc) from None
        self._depth = 1
        try:
            yield self
        except BaseException as exc:
            self._depth = 0
            self._rollback()
            if isinstance(exc, self._db_errors):
                raise self._error(exc) from None
            raise
        self._depth = 0
        try:
            self._conn.execute("COMMIT")
        except self._db_errors as exc:
            self._rollback()
            raise self._error(exc) from None

    #: set once this opening's quick check passed
    _write_checked = False

    def check_writable(self) -> None:
        """ProjectError unless writes may go ahead: opened for writing, and the database passes a quick check.

        The first call of each opening runs SQLite's ``PRAGMA quick_check``
        (every page and record read once, without the index cross-checks of
        ``integrity_check``); writing into a damaged database could spread
        the damage, so a failed check refuses every write of this opening.
        """
        if self.readonly:
            raise StoreUnavailableError(f"{self.db_path}: the project was opened read-only; nothing was written")
        if self._write_checked or not isinstance(self._conn, sqlite3.Connection):
            return
        try:
            lines = str(self._conn.execute("PRAGMA quick_check(1)").fetchone()[0]).splitlines()
            first = next((line for line in lines if not line.startswith("*** ")), "damaged")
        except sqlite3.Error as exc:
            first = _one_line(str(exc))
        if first != "ok":
            raise ProjectError(f"{self.db_path}: the project database is damaged (quick_check: {first}); nothing "
                               f"was written and writes are refused; {SALVAGE_HINT}")
        self._write_checked = True

    def _rollback(self) -> None:
        try:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        except self._db_errors:
            pass

    # -- meta ----------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        row = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return row[0][0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self._conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                           "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    @property
    def schema_version(self) -> int:
        return int(self._meta("schema_version") or 0)


__all__ = ["DB_NAME", "DEFAULT_LOCK_TIMEOUT", "DamagedText", "SALVAGE_HINT", "SETTINGS_NAME", "StoreBase", "now_utc",
           "tolerant_text", "translate", "writable_place"]
