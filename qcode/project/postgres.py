"""The project store on a PostgreSQL server: the same :class:`~qcode.project.Project`, another connection.

Every layer of the store (documents, codebooks, runs, decisions) runs
unchanged on PostgreSQL through :class:`~qcode.project.dialect.PgConnection`;
this module holds only what a server does differently:

* writers take one transaction-scoped advisory lock per project, the
  server's counterpart of SQLite's ``BEGIN IMMEDIATE``: writes queue, none fails;
* a commit returns after the server has flushed it (``synchronous_commit``
  on, and a server running with ``fsync=off`` is refused);
* the coder identity is the role the server authenticated (``current_user``),
  enforced by a trigger on the decision log;
* a connection lost to a server restart is re-opened at the next call, so a
  client that retries with the same ``event_key`` neither loses nor doubles
  a decision.

With a server at hand (not in a doctest: the tests in ``tests/test_project_postgres.py``
start one)::

    project = init_project("postgresql:///study?host=/run/postgresql")
    project.identity      # the server role this connection acts as, e.g. 'alice'
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from .._io import atomic_write_text
from ..codebook.io import load_codebook
from ..codebook.model import Codebook
from ..errors import ProjectError
from .base import DEFAULT_LOCK_TIMEOUT, SETTINGS_NAME, now_utc
from .dialect import HISTORY_TABLES, PG_TRIGGERS, PgConnection, postgres_ddl, redact_url, translate_pg
from .schema import SCHEMA, SCHEMA_VERSION
from .store import Project

#: the first key of the advisory lock every writer of a project takes ('qcod')
LOCK_CLASS = 0x71636F64


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise ProjectError("a PostgreSQL project needs psycopg: pip install 'qcode[postgres]'") from None
    return psycopg


def _connect(url: str, where: str, readonly: bool = False) -> PgConnection:
    psycopg = _psycopg()
    try:
        raw = psycopg.connect(url, autocommit=True, connect_timeout=10, application_name="qcode")
    except psycopg.ProgrammingError as exc:  # libpq could not parse the URL
        detail = " ".join(str(exc).replace(url, where).split())
        raise ProjectError(f"{where}: not a valid PostgreSQL URL ({detail})") from None
    except psycopg.Error as exc:
        raise translate_pg(exc, where) from None
    conn = PgConnection(raw)
    try:
        if raw.execute("SHOW fsync").fetchone()[0] != "on":
            raw.close()
            raise ProjectError(f"{where}: the server runs with fsync=off, so a committed decision could be lost "
                               "in a crash; qcode refuses to store decisions there")
        raw.execute("SET synchronous_commit TO on")
        if readonly:
            raw.execute("SET default_transaction_read_only TO on")
    except psycopg.Error as exc:
        raw.close()
        raise translate_pg(exc, where) from None
    return conn


class PostgresProject(Project):
    """A project whose data lives on a PostgreSQL server (see :func:`init_project`, :func:`open_project`)."""

    def __init__(self, url: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT, readonly: bool = False,
                 folder: Path | None = None):
        self.url = url
        self.path = folder if folder is not None else redact_url(url)  # type: ignore[assignment]
        self.db_path = redact_url(url)  # type: ignore[assignment]
        self.lock_timeout = float(lock_timeout)
        self.readonly = readonly
        self._depth = 0
        self._codebook_cache = None
        self._db_errors = (_psycopg().Error,)
        self._conn = _connect(url, redact_url(url), readonly)  # type: ignore[assignment]
        self._check_schema()

    def __repr__(self) -> str:
        return f"PostgresProject({self.db_path!r})"

    def _error(self, exc: BaseException) -> ProjectError:
        if isinstance(exc, _psycopg().errors.UndefinedTable) and "meta" in str(exc):
            return ProjectError(f"{self.db_path}: not a qcode project (no table 'meta'; run `qcode init "
                                f"{self.db_path}`)")
        return translate_pg(exc, str(self.db_path))

    # -- connection ------------------------------------------------------------------
    def _reconnect_if_lost(self) -> None:
        if self._depth == 0 and self._conn.broken:  # type: ignore[attr-defined]
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = _connect(self.url, str(self.db_path), self.readonly)  # type: ignore[assignment]

    def _query(self, sql: str, params: Any = ()) -> Any:
        self._reconnect_if_lost()
        return super()._query(sql, params)

    def _begin(self) -> None:
        """BEGIN, then the project's advisory lock (waiting up to ``lock_timeout``)."""
        self._reconnect_if_lost()
        conn = self._conn
        conn.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        try:
            conn.execute(f"SET LOCAL lock_timeout = '{int(self.lock_timeout * 1000)}ms'")
            conn.execute("SELECT pg_advisory_xact_lock(?, hashtext(current_schema()))", (LOCK_CLASS,))
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        try:
            if not self._conn.broken and self._conn.in_transaction:  # type: ignore[attr-defined]
                self._conn.execute("ROLLBACK")
        except self._db_errors:
            pass

    def _run_ddl(self, statement: str) -> None:
        self._conn.script(postgres_ddl(statement))  # type: ignore[attr-defined]

    def _after_upgrade(self) -> None:
        self._conn.script(PG_TRIGGERS)  # type: ignore[attr-defined]  # idempotent: the new tables get theirs

    def close(self) -> None:
        self._conn.close()

    # -- what a server answers differently ---------------------------------------------
    @property
    def identity(self) -> str:
        """The role the server authenticated this connection as: the coder identity of its decisions."""
        return str(self._query("SELECT current_user")[0][0])

    def _default_author(self) -> str | None:
        return self.identity

    @property
    def is_owner(self) -> bool:
        """Whether this role owns the project (and so may record decisions for other coders)."""
        rows = self._query("SELECT pg_has_role(current_user, c.relowner, 'MEMBER') FROM pg_class c "
                           "WHERE c.oid = 'events'::regclass")
        return bool(rows[0][0])

    def integrity_check(self) -> str:
        """``"ok"`` when the log's triggers are in place and every table the schema names exists."""
        for table in ("events", *HISTORY_TABLES):
            rows = self._query("SELECT tgname FROM pg_trigger WHERE tgrelid = ?::regclass AND NOT tgisinternal",
                               (table,))
            names = {r[0] for r in rows}
            missing = {f"{table}_append_only", f"{table}_no_truncate", f"{table}_identity"} - names
            if missing:
                return f"missing trigger(s) on {table}: {', '.join(sorted(missing))}"
        return "ok"

    def grant_coder(self, role: str) -> None:
        """Let database role ``role`` read the project and record its own decisions, attributes and memos
        (owner only)."""
        from psycopg import sql

        tables = sql.SQL(", ").join(sql.Identifier(t) for t in ("meta", "documents", "segments", "codebooks",
                                                                 "code_migrations", "runs", "suggestions",
                                                                 "coders", "events", *HISTORY_TABLES))
        who = sql.Identifier(role)
        statements = [sql.SQL("GRANT SELECT ON {} TO {}").format(tables, who),
                      sql.SQL("GRANT INSERT ON coders, events, case_events, memo_events TO {}").format(who),
                      *(sql.SQL("GRANT USAGE ON SEQUENCE {} TO {}").format(
                          sql.Identifier(self._sequence(table, "event_id")), who)
                        for table in ("events", *HISTORY_TABLES))]
        with self.transaction():
            try:
                for statement in statements:
                    self._conn.raw.execute(statement)  # type: ignore[attr-defined]
            except self._db_errors as exc:
                raise self._error(exc) from None

    def _sequence(self, table: str, column: str) -> str:
        name = self._query("SELECT pg_get_serial_sequence(?, ?)", (table, column))[0][0]
        return str(name).split(".")[-1].strip('"')

    def reset_sequences(self) -> None:
        """Move every generated-id sequence past the largest id stored (after rows were copied in with ids)."""
        from .dialect import GENERATED_KEYS

        for table, column in GENERATED_KEYS.items():
            self._conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                               f"COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)")


def _has_project(conn: PgConnection) -> bool:
    rows = conn.execute("SELECT to_regclass('meta') IS NOT NULL").fetchall()
    return bool(rows[0][0])


def init_postgres(url: str, codebook: Codebook | str | Path | None = None,
                  lock_timeout: float = DEFAULT_LOCK_TIMEOUT, folder: Path | None = None) -> PostgresProject:
    """Create a project's tables in the database ``url`` names (its current schema), all or nothing.

    With ``folder``, also write that folder's settings, naming the server
    (without a password) so that ``open_project(folder)`` finds the data.
    """
    where = redact_url(url)
    cb = load_codebook(codebook) if codebook is not None else None
    if folder is not None:
        if folder.exists() and any(folder.iterdir()):
            raise ProjectError(f"{folder}: exists and is not empty; pick a new folder for the project's settings")
    conn = _connect(url, where)
    psycopg = _psycopg()
    try:
        conn.execute("BEGIN")
        conn.execute("SELECT pg_advisory_xact_lock(?, hashtext(current_schema()))", (LOCK_CLASS,))
        if _has_project(conn):
            conn.execute("ROLLBACK")
            raise ProjectError(f"{where}: already a qcode project (open it with `qcode status {where}`)")
        conn.script(postgres_ddl(SCHEMA))
        conn.script(PG_TRIGGERS)
        stamp = now_utc()
        for key, value in (("schema_version", str(SCHEMA_VERSION)), ("created", stamp)):
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
        conn.execute("COMMIT")
    except psycopg.Error as exc:
        if not conn.broken and conn.in_transaction:
            conn.execute("ROLLBACK")
        raise translate_pg(exc, where) from None
    finally:
        conn.close()
    if folder is not None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            settings = {"qcode_project": SCHEMA_VERSION, "created": stamp, "store": where}
            atomic_write_text(folder / SETTINGS_NAME, json.dumps(settings, indent=2) + "\n")
        except OSError as exc:
            raise ProjectError(f"{folder}: cannot write the project's settings: {exc.strerror or exc}") from None
    project = PostgresProject(url, lock_timeout=lock_timeout, folder=folder)
    if cb is not None:
        project.set_codebook(cb)
    return project


def store_of_folder(folder: Path) -> str | None:
    """The PostgreSQL URL a project folder's settings name as its store, or None (a SQLite project)."""
    settings = folder / SETTINGS_NAME
    if not settings.is_file():
        return None
    try:
        data = json.loads(settings.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ProjectError(f"{settings}: cannot read the project's settings ({exc})") from None
    store = data.get("store") if isinstance(data, dict) else None
    if store is None:
        return None
    from .dialect import is_postgres_url

    if not is_postgres_url(store):
        raise ProjectError(f"{settings}: field 'store' must be a postgresql:// URL, got {store!r}")
    return str(store)


def drop_postgres(project: PostgresProject) -> None:
    """Remove a project's tables and trigger functions, in one transaction (used to undo a failed copy)."""
    with project.transaction():
        project._conn.execute("DROP TABLE IF EXISTS memo_events, case_events, events, coders, suggestions, runs, "
                              "code_migrations, codebooks, segments, documents, meta CASCADE")
        project._conn.execute("DROP FUNCTION IF EXISTS qcode_events_append_only(), qcode_events_identity(), "
                              "qcode_author_identity()")


def wait_for_server(url: str, timeout: float = 30.0) -> None:
    """Block until the server at ``url`` accepts connections (ProjectError after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            _connect(url, redact_url(url)).close()
            return
        except ProjectError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.1)


__all__ = ["PostgresProject", "drop_postgres", "init_postgres", "store_of_folder", "wait_for_server"]
