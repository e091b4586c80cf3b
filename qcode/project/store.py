"""The project store: one SQLite database (WAL) holding documents, segments,
codebooks, suggestion runs and an append-only log of coding decisions.

>>> from qcode.project import init_project
>>> project = init_project("my-study", codebook="mcn-sst")      # doctest: +SKIP
>>> project.add_documents(docs)                                 # doctest: +SKIP
{'new': ['a.txt'], 'unchanged': [], 'changed': []}
>>> project.decide("alice", "s-1a2b3c4d5e6f", "funding", "accept")  # doctest: +SKIP
1

Every write runs in one ``BEGIN IMMEDIATE`` transaction and is committed with
``synchronous=FULL`` before the call returns, so a decision whose call has
returned survives a crash or ``kill -9``. Concurrent writers wait for each
other (busy timeout plus retries) instead of failing.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sqlite3
import stat
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from .._io import atomic_write_text
from ..codebook import Codebook, codebook_from_dict, load_codebook
from ..document import ROLES, Document, Segment, Turn
from ..errors import ProjectError
from .schema import SCHEMA, SCHEMA_VERSION, SOURCES, VERDICTS

DB_NAME = "qcode.sqlite"
SETTINGS_NAME = "settings.json"
DEFAULT_LOCK_TIMEOUT = 30.0

#: verdicts a coder can give (``undo`` is recorded through :meth:`Project.undo`)
DECISION_VERDICTS = ("accept", "reject", "skip")


def now_utc() -> str:
    """The current time as ISO 8601 UTC with microseconds (``2026-01-31T12:00:00.123456Z``)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


# -- opening ----------------------------------------------------------------------

def init_project(path: str | Path, codebook: Codebook | str | Path | None = None,
                 lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> "Project":
    """Create a project folder at ``path`` and return it opened.

    ``codebook`` is a :class:`~qcode.codebook.Codebook`, a shipped codebook
    name or a codebook file; it becomes the project's current codebook.
    Raises :class:`ProjectError` if ``path`` already holds a project.

    >>> project = init_project(tmp_path / "study", codebook="mcn-sst")   # doctest: +SKIP
    """
    folder = Path(path)
    if (folder / DB_NAME).exists():
        raise ProjectError(f"{folder}: already a qcode project (open it with `qcode status {folder}`)")
    if folder.exists() and not folder.is_dir():
        raise ProjectError(f"{folder}: exists and is not a folder")
    cb = load_codebook(codebook) if codebook is not None else None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProjectError(f"{folder}: cannot create the project folder: {exc.strerror or exc}") from None
    db_path = folder / DB_NAME
    tmp_path = folder / f".{DB_NAME}.init"
    for leftover in (tmp_path, Path(f"{tmp_path}-wal"), Path(f"{tmp_path}-shm")):
        leftover.unlink(missing_ok=True)
    # Build the schema under a temporary name and rename it into place, so that
    # a crash during init never leaves a half-made database that looks like a project.
    try:
        conn = sqlite3.connect(tmp_path, isolation_level=None)
        try:
            conn.executescript(SCHEMA)
            conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            conn.execute("INSERT INTO meta (key, value) VALUES ('created', ?)", (now_utc(),))
        finally:
            conn.close()
        settings = {"qcode_project": SCHEMA_VERSION, "created": now_utc(), "database": DB_NAME}
        atomic_write_text(folder / SETTINGS_NAME, json.dumps(settings, indent=2) + "\n")
        _publish_new(tmp_path, db_path, folder)
    except sqlite3.Error as exc:
        tmp_path.unlink(missing_ok=True)
        raise _translate(exc, folder) from None
    except OSError as exc:
        tmp_path.unlink(missing_ok=True)
        raise ProjectError(f"{folder}: cannot create the project: {exc.strerror or exc}") from None
    project = Project(folder, lock_timeout=lock_timeout)
    if cb is not None:
        project.set_codebook(cb)
    return project


def _publish_new(tmp_path: Path, db_path: Path, folder: Path) -> None:
    """Move the new database into place, refusing to replace one another process made meanwhile."""
    try:
        os.link(tmp_path, db_path)  # fails if db_path exists: no silent overwrite of a concurrent init
    except FileExistsError:
        tmp_path.unlink(missing_ok=True)
        raise ProjectError(f"{folder}: already a qcode project (created by another process just now)") from None
    except OSError:  # file systems without hard links
        if db_path.exists():
            tmp_path.unlink(missing_ok=True)
            raise ProjectError(f"{folder}: already a qcode project") from None
        os.replace(tmp_path, db_path)
        return
    tmp_path.unlink()


def open_project(path: str | Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
                 readonly: bool = False) -> "Project":
    """Open an existing project folder.

    Raises :class:`ProjectError` ``"PATH: not a qcode project (run `qcode init PATH`)"``
    when ``path`` holds no project database.

    >>> project = open_project("my-study")   # doctest: +SKIP
    """
    if isinstance(path, Project):
        return path
    return Project(Path(path), lock_timeout=lock_timeout, readonly=readonly)


def _translate(exc: sqlite3.Error, where: Path | str) -> ProjectError:
    """Turn an sqlite3 error into a one-line :class:`ProjectError`."""
    message = str(exc)
    lowered = message.lower()
    if "database or disk is full" in lowered or "disk i/o error" in lowered:
        return ProjectError(f"{where}: the disk is full ({message}); nothing of this change was written")
    if "readonly" in lowered or "read-only" in lowered:
        return ProjectError(f"{where}: the project database is read-only; nothing was written")
    if "locked" in lowered or "busy" in lowered:
        return ProjectError(f"{where}: the project database is locked by another process; try again")
    if "append-only" in lowered:
        return ProjectError(f"{where}: {message}")
    if "not a database" in lowered or "malformed" in lowered:
        return ProjectError(f"{where}: the project database is damaged or not SQLite ({message})")
    if "unable to open" in lowered:
        return ProjectError(f"{where}: cannot open the project database ({message})")
    return ProjectError(f"{where}: database error: {_one_line(message)}")


class Project:
    """A qcode project: a folder holding ``qcode.sqlite`` (WAL) and ``settings.json``.

    Use :func:`init_project` / :func:`open_project` rather than this constructor.
    All ``*()`` table methods return pandas DataFrames; all writes are
    transactions committed durably before the method returns.

    Parameters
    ----------
    path : Path
        The project folder.
    lock_timeout : float
        Seconds a write waits for another process's transaction before it
        gives up with a :class:`ProjectError`.
    readonly : bool
        Open for reading only. A database file without write permission is
        opened read-only automatically.
    """

    def __init__(self, path: Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT, readonly: bool = False):
        self.path = Path(path)
        self.db_path = self.path / DB_NAME
        if not self.db_path.is_file():
            raise ProjectError(f"{self.path}: not a qcode project (run `qcode init {self.path}`)")
        self.lock_timeout = float(lock_timeout)
        mode = self.db_path.stat().st_mode
        self.readonly = readonly or not (mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        self._depth = 0
        self._conn = self._connect()
        self._codebook_cache: tuple[str, Codebook] | None = None
        self._check_schema()

    # -- connection ----------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            if self.readonly:
                uri = f"file:{self.db_path.resolve()}?mode=ro"
                conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=self.lock_timeout,
                                       check_same_thread=False)
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
            raise _translate(exc, self.db_path) from None

    def _check_schema(self) -> None:
        try:
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.Error as exc:
            raise _translate(exc, self.db_path) from None
        if row is None:
            raise ProjectError(f"{self.db_path}: no schema version in table 'meta' (not a qcode project database)")
        version = int(row[0])
        if version > SCHEMA_VERSION:
            raise ProjectError(f"{self.db_path}: schema version {version} was written by a newer qcode "
                               f"(this one reads up to {SCHEMA_VERSION}); upgrade qcode")

    def close(self) -> None:
        """Close the database connection (the project object is unusable afterwards)."""
        self._conn.close()

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Project({str(self.path)!r})"

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        try:
            return self._conn.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise _translate(exc, self.db_path) from None

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
    def transaction(self) -> Iterator["Project"]:
        """Group writes into one all-or-nothing transaction.

        Every write method called inside the block joins it; the block commits
        (durably) at its end, or rolls everything back if it raises. Nested
        blocks join the outermost one.

        >>> with project.transaction():                                     # doctest: +SKIP
        ...     for seg_id, code in imported:
        ...         project.decide("alice", seg_id, code, "accept", source="import")
        """
        if self.readonly:
            raise ProjectError(f"{self.db_path}: the project was opened read-only; nothing was written")
        if self._depth > 0:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        try:
            self._begin()
        except sqlite3.Error as exc:
            raise _translate(exc, self.db_path) from None
        self._depth = 1
        try:
            yield self
        except BaseException as exc:
            self._depth = 0
            self._rollback()
            if isinstance(exc, sqlite3.Error):
                raise _translate(exc, self.db_path) from None
            raise
        self._depth = 0
        try:
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise _translate(exc, self.db_path) from None

    def _rollback(self) -> None:
        try:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        except sqlite3.Error:
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

    # -- documents -----------------------------------------------------------------
    def _latest_versions(self) -> dict[str, tuple[int, str]]:
        rows = self._query("SELECT d.doc_id, d.version, d.sha256 FROM documents d WHERE d.version = "
                           "(SELECT MAX(version) FROM documents x WHERE x.doc_id = d.doc_id)")
        return {r["doc_id"]: (int(r["version"]), r["sha256"]) for r in rows}

    def _current_version(self, doc_id: str) -> int:
        row = self._query("SELECT MAX(version) FROM documents WHERE doc_id = ?", (doc_id,))
        if row[0][0] is None:
            raise ProjectError(f"{self.path}: unknown document {doc_id!r}")
        return int(row[0][0])

    def add_documents(self, docs: Iterable[Document]) -> dict[str, list[str]]:
        """Store documents; a document whose text changed gets a new version.

        Earlier versions (and every decision made on them) are kept untouched.
        Returns ``{"new": [ids], "unchanged": [ids], "changed": [ids]}``.

        >>> project.add_documents([Document("a.txt", "P1: hello")])   # doctest: +SKIP
        {'new': ['a.txt'], 'unchanged': [], 'changed': []}
        """
        docs = list(docs)
        seen: set[str] = set()
        for doc in docs:
            _check_document(doc)
            if doc.id in seen:
                raise ProjectError(f"document {doc.id!r} is given twice in one call")
            seen.add(doc.id)
        report: dict[str, list[str]] = {"new": [], "unchanged": [], "changed": []}
        with self.transaction():
            latest = self._latest_versions()
            stamp = now_utc()
            for doc in docs:
                sha = doc.sha256
                if doc.id in latest and latest[doc.id][1] == sha:
                    report["unchanged"].append(doc.id)
                    continue
                version = latest[doc.id][0] + 1 if doc.id in latest else 1
                report["changed" if doc.id in latest else "new"].append(doc.id)
                self._conn.execute(
                    "INSERT INTO documents (doc_id, version, sha256, text, source, metadata, turns, added_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (doc.id, version, sha, doc.text, None if doc.source is None else str(doc.source),
                     json.dumps(doc.metadata, ensure_ascii=False, default=str),
                     json.dumps([asdict(t) for t in doc.turns]), stamp))
        return report

    def document(self, doc_id: str, version: int | None = None) -> Document:
        """A stored document (its latest version unless ``version`` is given)."""
        version = self._current_version(doc_id) if version is None else int(version)
        rows = self._query("SELECT * FROM documents WHERE doc_id = ? AND version = ?", (doc_id, version))
        if not rows:
            raise ProjectError(f"{self.path}: document {doc_id!r} has no version {version}")
        row = rows[0]
        turns = [Turn(**t) for t in json.loads(row["turns"])]
        return Document(id=row["doc_id"], text=row["text"], turns=turns, source=row["source"],
                        metadata=json.loads(row["metadata"]))

    def document_text(self, doc_id: str, version: int | None = None) -> str:
        """The text of a document (latest version unless ``version`` is given)."""
        version = self._current_version(doc_id) if version is None else int(version)
        rows = self._query("SELECT text FROM documents WHERE doc_id = ? AND version = ?", (doc_id, version))
        if not rows:
            raise ProjectError(f"{self.path}: document {doc_id!r} has no version {version}")
        return rows[0][0]

    def documents(self, all_versions: bool = False):
        """Documents as a DataFrame.

        Columns: ``doc_id, version, sha256, chars, source, added_at, current``;
        one row per document (its latest version) unless ``all_versions``.
        """
        import pandas as pd

        rows = self._query(
            "SELECT d.doc_id, d.version, d.sha256, length(d.text) AS chars, d.source, d.added_at, "
            "d.version = (SELECT MAX(version) FROM documents x WHERE x.doc_id = d.doc_id) AS current "
            "FROM documents d ORDER BY d.doc_id, d.version")
        frame = pd.DataFrame([dict(r) for r in rows],
                             columns=["doc_id", "version", "sha256", "chars", "source", "added_at", "current"])
        frame["current"] = frame["current"].astype(bool)
        if not all_versions:
            frame = frame[frame["current"]].reset_index(drop=True)
        return frame

    # -- segments ------------------------------------------------------------------
    def add_segments(self, segments: Iterable[Segment]) -> int:
        """Store segments of the current version of their documents; returns how many were new.

        Each segment's offsets are checked against the stored text
        (``text[start:end] == segment.text``). Re-adding a segment is a no-op.
        """
        segments = list(segments)
        added = 0
        with self.transaction():
            texts: dict[str, tuple[int, str]] = {}
            for seg in segments:
                if seg.doc_id not in texts:
                    try:
                        version = self._current_version(seg.doc_id)
                    except ProjectError:
                        raise ProjectError(f"segment {seg.id!r}: unknown document {seg.doc_id!r} "
                                           f"(add the document first)") from None
                    texts[seg.doc_id] = (version, self.document_text(seg.doc_id, version))
                version, text = texts[seg.doc_id]
                _check_segment(seg, text, version)
                cursor = self._conn.execute(
                    'INSERT INTO segments (segment_id, doc_id, doc_version, start, "end", text, unit, speaker, '
                    "role, turn_index, timestamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (segment_id, doc_version) DO NOTHING",
                    (seg.id, seg.doc_id, version, seg.start, seg.end, seg.text, seg.unit, seg.speaker,
                     seg.role, seg.turn_index, seg.timestamp))
                added += cursor.rowcount
        return added

    def _segment_row(self, segment_id: str) -> sqlite3.Row:
        """The current-version row of ``segment_id``; a ProjectError names why there is none."""
        rows = self._query(
            "SELECT s.* FROM segments s WHERE s.segment_id = ? AND s.doc_version = "
            "(SELECT MAX(version) FROM documents d WHERE d.doc_id = s.doc_id)", (segment_id,))
        if rows:
            return rows[0]
        old = self._query("SELECT doc_id, doc_version FROM segments WHERE segment_id = ? "
                          "ORDER BY doc_version DESC LIMIT 1", (segment_id,))
        if old:
            raise ProjectError(f"segment {segment_id!r} belongs to version {old[0]['doc_version']} of document "
                               f"{old[0]['doc_id']!r}, which has changed since; re-segment the new version")
        raise ProjectError(f"{self.path}: unknown segment {segment_id!r}")

    def segments(self, all_versions: bool = False):
        """Segments of the current document versions, in document order, as a DataFrame.

        Columns: ``segment_id, doc_id, doc_version, start, end, text, unit,
        speaker, role, turn_index, timestamp``.
        """
        import pandas as pd

        where = "" if all_versions else (
            "WHERE s.doc_version = (SELECT MAX(version) FROM documents d WHERE d.doc_id = s.doc_id) ")
        rows = self._query(
            'SELECT s.segment_id, s.doc_id, s.doc_version, s.start, s."end", s.text, s.unit, s.speaker, '
            f"s.role, s.turn_index, s.timestamp FROM segments s {where}"
            "ORDER BY s.doc_id, s.doc_version, s.start, s.\"end\"")
        columns = ["segment_id", "doc_id", "doc_version", "start", "end", "text", "unit", "speaker",
                   "role", "turn_index", "timestamp"]
        return pd.DataFrame([tuple(r) for r in rows], columns=columns)

    # -- codebooks -----------------------------------------------------------------
    @property
    def codebook(self) -> Codebook:
        """The project's current codebook (ProjectError if none was set)."""
        version = self._meta("codebook_version")
        if version is None:
            raise ProjectError(f"{self.path}: the project has no codebook yet "
                               f"(run `qcode init {self.path} --codebook NAME` or set_codebook)")
        return self.codebook_version(version)

    def codebook_version(self, version: str) -> Codebook:
        """A codebook the project has used, by its content hash."""
        if self._codebook_cache and self._codebook_cache[0] == version:
            return self._codebook_cache[1]
        rows = self._query("SELECT json FROM codebooks WHERE version = ?", (version,))
        if not rows:
            raise ProjectError(f"{self.path}: unknown codebook version {version!r}")
        cb = codebook_from_dict(json.loads(rows[0][0]), where=f"{self.path}: codebook {version}")
        self._codebook_cache = (version, cb)
        return cb

    def _codebook_or_none(self) -> Codebook | None:
        return self.codebook if self._meta("codebook_version") is not None else None

    def _migrations(self) -> dict[str, str | None]:
        rows = self._query("SELECT from_code, to_code FROM code_migrations ORDER BY migration_id")
        return {r["from_code"]: r["to_code"] for r in rows}

    def set_codebook(self, codebook: Codebook | str | Path,
                     migrate: Mapping[str, str | None] | None = None) -> str:
        """Make ``codebook`` the project's current codebook; returns its version hash.

        Refuses (ProjectError) when a code that carries decisions is missing
        from the new codebook, unless ``migrate`` says where it goes:
        ``{"old-id": "new-id"}`` moves its decisions to ``new-id`` (renames and
        merges), ``{"old-id": None}`` drops it from current codings. The
        decision log itself is never changed; migrations are recorded beside it.

        >>> project.set_codebook(new_cb, migrate={"funding": "money"})   # doctest: +SKIP
        '3f2a9c0d1e4b5a6c'
        """
        cb = load_codebook(codebook)
        migrate = dict(migrate or {})
        for old, new in migrate.items():
            if new is not None and new not in cb:
                raise ProjectError(f"migration {old!r} -> {new!r}: codebook {cb.name!r} has no code {new!r}")
            if old in cb:
                raise ProjectError(f"migration {old!r} -> {new!r}: {old!r} is still in codebook {cb.name!r}; "
                                   f"migrate only codes the new codebook drops")
        with self.transaction():
            migrations = self._migrations()
            migrations.update(migrate)
            used = self._query("SELECT code_id, COUNT(*) AS n FROM events WHERE code_id IS NOT NULL "
                               "AND verdict != 'undo' GROUP BY code_id")
            orphaned: dict[str, int] = {}
            for row in used:
                target = resolve_migration(row["code_id"], migrations)
                if target is not None and target not in cb:
                    orphaned[target] = orphaned.get(target, 0) + row["n"]
            if orphaned:
                listed = ", ".join(f"{code!r} ({n} decisions)" for code, n in sorted(orphaned.items()))
                raise ProjectError(f"codebook {cb.name!r} drops codes that carry decisions: {listed}; keep them, "
                                   "or migrate them explicitly (`qcode codebook use PROJECT CODEBOOK "
                                   "--migrate OLD=NEW`, or OLD= to drop)")
            stamp = now_utc()
            self._conn.execute("INSERT INTO codebooks (version, name, json, added_at) VALUES (?, ?, ?, ?) "
                               "ON CONFLICT (version) DO NOTHING",
                               (cb.version, cb.name, json.dumps(cb.to_dict(), ensure_ascii=False), stamp))
            for old, new in migrate.items():
                self._conn.execute("INSERT INTO code_migrations (from_code, to_code, codebook_version, time) "
                                   "VALUES (?, ?, ?, ?)", (old, new, cb.version, stamp))
            self._set_meta("codebook_version", cb.version)
        self._codebook_cache = (cb.version, cb)
        return cb.version

    def codebooks(self):
        """Every codebook version the project has stored: ``version, name, codes, added_at, current``."""
        import pandas as pd

        current = self._meta("codebook_version")
        rows = self._query("SELECT version, name, json, added_at FROM codebooks ORDER BY added_at, version")
        records = [{"version": r["version"], "name": r["name"], "codes": len(json.loads(r["json"])["codes"]),
                    "added_at": r["added_at"], "current": r["version"] == current} for r in rows]
        return pd.DataFrame(records, columns=["version", "name", "codes", "added_at", "current"])

    # -- runs and suggestions --------------------------------------------------------
    def add_run(self, meta: Mapping[str, Any], suggestions: Iterable[tuple[str, str, float, int]]) -> int:
        """Store one suggestion run; returns its ``run_id``.

        ``meta`` holds ``model`` (the embedding model's identity), optionally
        ``codebook_version`` (defaults to the current codebook) and any other
        parameters (stored as JSON). ``suggestions`` are ``(segment_id,
        code_id, score, rank)`` tuples, rank 1 being the best for the segment.

        >>> project.add_run({"model": "all-MiniLM-L6-v2", "top_k": 3},
        ...                 [("s-1a2b3c4d5e6f", "funding", 0.61, 1)])        # doctest: +SKIP
        1
        """
        meta = dict(meta)
        model = meta.pop("model", None)
        cb_version = meta.pop("codebook_version", None) or self._meta("codebook_version")
        cb = self.codebook_version(cb_version) if cb_version else None
        rows = []
        seen: set[tuple[str, str]] = set()
        cache: dict[str, int] = {}
        for i, item in enumerate(suggestions):
            try:
                seg_id, code_id, score, rank = item
            except (TypeError, ValueError):
                raise ProjectError(f"suggestion #{i + 1}: expected (segment_id, code_id, score, rank), "
                                   f"got {item!r}") from None
            if seg_id not in cache:
                cache[seg_id] = self._segment_row(seg_id)["seg_row"]
            if cb is not None and code_id not in cb:
                raise ProjectError(f"suggestion #{i + 1} for segment {seg_id!r}: codebook {cb.name!r} "
                                   f"has no code {code_id!r}")
            if (seg_id, code_id) in seen:
                raise ProjectError(f"suggestion #{i + 1}: code {code_id!r} is suggested twice for "
                                   f"segment {seg_id!r}")
            seen.add((seg_id, code_id))
            try:
                score, rank = float(score), int(rank)
            except (TypeError, ValueError):
                raise ProjectError(f"suggestion #{i + 1} for segment {seg_id!r}: score and rank must be "
                                   f"numbers, got {score!r}, {rank!r}") from None
            if score != score:
                raise ProjectError(f"suggestion #{i + 1} for segment {seg_id!r}: score is NaN")
            rows.append((cache[seg_id], code_id, score, rank))
        with self.transaction():
            cursor = self._conn.execute(
                "INSERT INTO runs (time, model, codebook_version, params) VALUES (?, ?, ?, ?)",
                (now_utc(), None if model is None else str(model), cb_version,
                 json.dumps(meta, ensure_ascii=False, default=str, sort_keys=True)))
            run_id = int(cursor.lastrowid)
            self._conn.executemany(
                "INSERT INTO suggestions (run_id, seg_row, code_id, score, rank) VALUES (?, ?, ?, ?, ?)",
                [(run_id, *row) for row in rows])
        return run_id

    def runs(self):
        """Suggestion runs: ``run_id, time, model, codebook_version, params, n_suggestions``."""
        import pandas as pd

        rows = self._query("SELECT r.run_id, r.time, r.model, r.codebook_version, r.params, "
                           "(SELECT COUNT(*) FROM suggestions s WHERE s.run_id = r.run_id) AS n_suggestions "
                           "FROM runs r ORDER BY r.run_id")
        frame = pd.DataFrame([dict(r) for r in rows],
                             columns=["run_id", "time", "model", "codebook_version", "params", "n_suggestions"])
        frame["params"] = [json.loads(p) for p in frame["params"]]
        return frame

    def latest_run(self) -> int | None:
        """The id of the most recent suggestion run, or None."""
        row = self._query("SELECT MAX(run_id) FROM runs")
        return None if row[0][0] is None else int(row[0][0])

    def _check_run(self, run_id: int) -> int:
        try:
            run_id = int(run_id)
        except (TypeError, ValueError):
            raise ProjectError(f"run id must be a number, got {run_id!r}") from None
        if not self._query("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)):
            known = ", ".join(str(r[0]) for r in self._query("SELECT run_id FROM runs")) or "none"
            raise ProjectError(f"{self.path}: unknown run {run_id} (runs: {known})")
        return run_id

    def suggestions(self, run: int | str | None = None):
        """Suggestions of one run as a DataFrame (``run=None``: the latest run; ``"all"``: every run).

        Columns: ``run_id, segment_id, doc_id, doc_version, start, end, text,
        code_id, score, rank``, ordered by document, offset and rank.
        """
        import pandas as pd

        columns = ["run_id", "segment_id", "doc_id", "doc_version", "start", "end", "text",
                   "code_id", "score", "rank"]
        if run == "all":
            where, params = "", ()
        else:
            run_id = self.latest_run() if run is None else self._check_run(run)
            if run_id is None:
                return pd.DataFrame(columns=columns)
            where, params = "WHERE g.run_id = ?", (run_id,)
        rows = self._query(
            'SELECT g.run_id, s.segment_id, s.doc_id, s.doc_version, s.start, s."end", s.text, g.code_id, '
            f"g.score, g.rank FROM suggestions g JOIN segments s ON s.seg_row = g.seg_row {where} "
            'ORDER BY g.run_id, s.doc_id, s.start, s."end", g.rank', params)
        return pd.DataFrame([tuple(r) for r in rows], columns=columns)

    # -- coders --------------------------------------------------------------------
    def add_coder(self, name: str, guid: str | None = None) -> str:
        """Register a coder (decisions register their coder automatically); returns the name."""
        name = _check_coder(name)
        with self.transaction():
            self._conn.execute("INSERT INTO coders (name, guid, added_at) VALUES (?, ?, ?) "
                               "ON CONFLICT (name) DO NOTHING", (name, guid, now_utc()))
        return name

    def coders(self) -> list[str]:
        """Names of the coders known to the project, sorted."""
        return [r[0] for r in self._query("SELECT name FROM coders ORDER BY name")]

    def coder_guids(self) -> dict[str, str | None]:
        """Coder name -> REFI-QDA user guid (None when the coder has none)."""
        return {r[0]: r[1] for r in self._query("SELECT name, guid FROM coders ORDER BY name")}

    def _known_coder(self, coder: str) -> str:
        if coder not in self.coders():
            known = ", ".join(self.coders()) or "none yet"
            raise ProjectError(f"{self.path}: unknown coder {coder!r} (coders: {known})")
        return coder

    # -- decisions -------------------------------------------------------------------
    def decide(self, coder: str, segment_id: str, code_id: str | None, verdict: str,
               note: str | None = None, run_id: int | None = None, score: float | None = None,
               source: str | None = None, time: str | None = None) -> int:
        """Record one decision on a segment; returns its event id once it is durable.

        ``verdict`` is ``"accept"``, ``"reject"`` or ``"skip"`` (``code_id``
        may be None for a skip). When ``run_id`` is given the decision is on
        that run's suggestion and its score is looked up unless given;
        ``source`` defaults to ``"suggestion"`` with a run and ``"manual"``
        without (``"import"`` for decisions imported from elsewhere).

        >>> project.decide("alice", "s-1a2b3c4d5e6f", "funding", "accept", note="clear case")  # doctest: +SKIP
        17
        """
        return self.record_many([{"coder": coder, "segment_id": segment_id, "code_id": code_id,
                                  "verdict": verdict, "note": note, "run_id": run_id, "score": score,
                                  "source": source, "time": time}])[0]

    def code_span(self, coder: str, doc_id: str, start: int, end: int, code_id: str,
                  verdict: str = "accept", note: str | None = None, source: str = "manual",
                  time: str | None = None) -> int:
        """Code a span of the coder's own choosing, by character offsets into the current text.

        ``0 <= start < end <= len(text)``; the coded text is stored with the
        decision. A span with exactly a segment's offsets is linked to it.

        >>> project.code_span("alice", "a.txt", 120, 188, "funding")   # doctest: +SKIP
        18
        """
        return self.record_many([{"coder": coder, "doc_id": doc_id, "start": start, "end": end,
                                  "code_id": code_id, "verdict": verdict, "note": note, "source": source,
                                  "time": time}])[0]

    def record_many(self, events: Iterable[Mapping[str, Any]]) -> list[int]:
        """Record many decisions in ONE transaction (all or nothing); returns their event ids.

        Each event is a mapping with ``coder``, ``code_id``, ``verdict`` and
        either ``segment_id`` or ``doc_id``/``start``/``end``; optional
        ``note``, ``run_id``, ``score``, ``source`` and ``time`` (ISO 8601,
        kept for imported decisions; default now).

        >>> project.record_many([{"coder": "bob", "doc_id": "a.txt", "start": 0, "end": 40,
        ...                       "code_id": "funding", "verdict": "accept", "source": "import"}])  # doctest: +SKIP
        [19]
        """
        events = list(events)
        ids: list[int] = []
        with self.transaction():
            cb = self._codebook_or_none()
            cb_version = cb.version if cb is not None else None
            doc_texts: dict[str, tuple[int, str]] = {}
            for i, event in enumerate(events):
                row = self._event_row(event, i, len(events), cb, doc_texts)
                self._conn.execute("INSERT INTO coders (name, added_at) VALUES (?, ?) "
                                   "ON CONFLICT (name) DO NOTHING", (row["coder"], row["time"]))
                cursor = self._conn.execute(
                    'INSERT INTO events (time, coder, doc_id, doc_version, segment_id, start, "end", text, '
                    "code_id, verdict, note, run_id, score, source, undoes, codebook_version) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                    (row["time"], row["coder"], row["doc_id"], row["doc_version"], row["segment_id"],
                     row["start"], row["end"], row["text"], row["code_id"], row["verdict"], row["note"],
                     row["run_id"], row["score"], row["source"], cb_version))
                ids.append(int(cursor.lastrowid))
        return ids

    def _event_row(self, event: Mapping[str, Any], index: int, total: int, cb: Codebook | None,
                   doc_texts: dict[str, tuple[int, str]]) -> dict[str, Any]:
        """Validate one decision and fill in its target (document version, offsets, text)."""
        where = "" if total == 1 else f"decision #{index + 1}: "
        unknown = set(event) - {"coder", "segment_id", "doc_id", "start", "end", "code_id", "verdict",
                                "note", "run_id", "score", "source", "time"}
        if unknown:
            raise ProjectError(f"{where}unknown field(s) {sorted(unknown)}")
        try:
            coder = _check_coder(event.get("coder"))
        except ProjectError as exc:
            raise ProjectError(f"{where}{exc}") from None
        verdict = event.get("verdict")
        if verdict not in DECISION_VERDICTS:
            raise ProjectError(f"{where}verdict must be one of {', '.join(DECISION_VERDICTS)}, got {verdict!r}")
        code_id = event.get("code_id")
        if code_id is None and verdict != "skip":
            raise ProjectError(f"{where}a {verdict!r} decision needs a code")
        if code_id is not None:
            if cb is None:
                raise ProjectError(f"{where}{self.path}: the project has no codebook yet; set one before deciding")
            if code_id not in cb:
                found = cb.find(str(code_id))
                hint = f" (did you mean {found.id!r}?)" if found is not None else ""
                raise ProjectError(f"{where}codebook {cb.name!r} has no code {code_id!r}{hint}")
        run_id, score = event.get("run_id"), event.get("score")
        segment_id = event.get("segment_id")
        if segment_id is not None:
            if event.get("doc_id") is not None or event.get("start") is not None:
                raise ProjectError(f"{where}give either segment_id or doc_id/start/end, not both")
            seg = self._segment_row(str(segment_id))
            target = {"doc_id": seg["doc_id"], "doc_version": seg["doc_version"], "segment_id": seg["segment_id"],
                      "start": seg["start"], "end": seg["end"], "text": seg["text"]}
            seg_row = seg["seg_row"]
        else:
            target = self._span_target(event, where, doc_texts)
            seg_row = None
        if run_id is not None:
            run_id = self._check_run(run_id)
            if score is None and code_id is not None and seg_row is not None:
                found = self._query("SELECT score FROM suggestions WHERE run_id = ? AND seg_row = ? AND code_id = ?",
                                    (run_id, seg_row, code_id))
                score = found[0][0] if found else None
        if score is not None:
            try:
                score = float(score)
            except (TypeError, ValueError):
                raise ProjectError(f"{where}score must be a number, got {score!r}") from None
        source = event.get("source") or ("suggestion" if run_id is not None else "manual")
        if source not in SOURCES:
            raise ProjectError(f"{where}source must be one of {', '.join(SOURCES)}, got {source!r}")
        note = event.get("note")
        if note is not None and not isinstance(note, str):
            raise ProjectError(f"{where}note must be text, got {type(note).__name__}")
        stamp = event.get("time") or now_utc()
        if not isinstance(stamp, str):
            raise ProjectError(f"{where}time must be an ISO 8601 string, got {stamp!r}")
        return {"coder": coder, "verdict": verdict, "code_id": code_id, "run_id": run_id, "score": score,
                "source": source, "note": note or None, "time": stamp, **target}

    def _span_target(self, event: Mapping[str, Any], where: str,
                     doc_texts: dict[str, tuple[int, str]]) -> dict[str, Any]:
        doc_id = event.get("doc_id")
        if doc_id is None:
            raise ProjectError(f"{where}a decision needs a segment_id, or a doc_id with start and end")
        if doc_id not in doc_texts:
            try:
                version = self._current_version(doc_id)
            except ProjectError:
                raise ProjectError(f"{where}{self.path}: unknown document {doc_id!r}") from None
            doc_texts[doc_id] = (version, self.document_text(doc_id, version))
        version, text = doc_texts[doc_id]
        start, end = event.get("start"), event.get("end")
        if not _is_int(start) or not _is_int(end):
            raise ProjectError(f"{where}span of {doc_id!r}: start and end must be integers, got {start!r}, {end!r}")
        if not 0 <= start < end <= len(text):
            raise ProjectError(f"{where}span {start}:{end} is outside document {doc_id!r} "
                               f"({len(text)} characters) or empty")
        seg = self._query(
            'SELECT segment_id FROM segments WHERE doc_id = ? AND doc_version = ? AND start = ? AND "end" = ? '
            "ORDER BY seg_row LIMIT 1", (doc_id, version, start, end))
        return {"doc_id": doc_id, "doc_version": version, "segment_id": seg[0][0] if seg else None,
                "start": start, "end": end, "text": text[start:end]}

    def undo(self, coder: str) -> int:
        """Undo the coder's latest decision that is not yet undone, by appending an ``undo`` event.

        Calling it again undoes the decision before that. Returns the undo
        event's id; ProjectError if the coder has nothing left to undo.
        """
        coder = _check_coder(coder)
        with self.transaction():
            target = self._last_undoable(coder)
            if target is None:
                raise ProjectError(f"{self.path}: coder {coder!r} has no decision to undo")
            cursor = self._conn.execute(
                'INSERT INTO events (time, coder, doc_id, doc_version, segment_id, start, "end", text, code_id, '
                "verdict, note, run_id, score, source, undoes, codebook_version) "
                "SELECT ?, coder, doc_id, doc_version, segment_id, start, \"end\", text, code_id, 'undo', NULL, "
                "run_id, score, source, event_id, codebook_version FROM events WHERE event_id = ?",
                (now_utc(), target))
            return int(cursor.lastrowid)

    def _last_undoable(self, coder: str) -> int | None:
        row = self._conn.execute(
            "SELECT e.event_id FROM events e WHERE e.coder = ? AND e.verdict != 'undo' AND NOT EXISTS "
            "(SELECT 1 FROM events u WHERE u.undoes = e.event_id) ORDER BY e.event_id DESC LIMIT 1",
            (coder,)).fetchone()
        return None if row is None else int(row[0])

    def last_decision(self, coder: str) -> dict[str, Any] | None:
        """The coder's latest decision that is still in effect (not undone), as a dict, or None."""
        event_id = self._last_undoable(coder)
        if event_id is None:
            return None
        return dict(self._query("SELECT * FROM events WHERE event_id = ?", (event_id,))[0])

    def decisions(self, coder: str | None = None):
        """The full decision log as a DataFrame, oldest first (undos included).

        Columns: ``event_id, time, coder, doc_id, doc_version, segment_id,
        start, end, text, code_id, verdict, note, run_id, score, source,
        undoes, undone`` (``undone``: a later undo event cancelled it).
        """
        import pandas as pd

        params: tuple = ()
        where = ""
        if coder is not None:
            self._known_coder(coder)
            where, params = "WHERE e.coder = ? ", (coder,)
        rows = self._query(
            'SELECT e.event_id, e.time, e.coder, e.doc_id, e.doc_version, e.segment_id, e.start, e."end", '
            "e.text, e.code_id, e.verdict, e.note, e.run_id, e.score, e.source, e.undoes, "
            "EXISTS (SELECT 1 FROM events u WHERE u.undoes = e.event_id) AS undone "
            f"FROM events e {where}ORDER BY e.event_id", params)
        columns = ["event_id", "time", "coder", "doc_id", "doc_version", "segment_id", "start", "end", "text",
                   "code_id", "verdict", "note", "run_id", "score", "source", "undoes", "undone"]
        frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
        frame["undone"] = frame["undone"].astype(bool)
        for col in ("run_id", "undoes", "doc_version"):
            frame[col] = frame[col].astype("Int64")
        return frame

    def codings(self, coder: str | None = None, as_of: int | str | None = None):
        """The current codings, derived from the decision log, as a DataFrame.

        ``as_of`` gives the codings as they stood earlier instead: an event id
        (every event up to and including it) or an ISO time (every event made
        at or before it). Comparing a coder ``as_of`` a time with the same
        coder now measures how much review changed their coding.

        For each (coder, document version, start, end, code) the latest
        decision in effect wins: an ``accept`` makes a coding, a ``reject``
        (change of mind) removes it; skips and undone decisions do not count.
        Codes renamed or merged by a codebook migration appear under their new
        id. ``stale`` marks codings on a document version that has since changed.

        Columns: ``doc_id, doc_version, segment_id, start, end, text, code_id,
        code_name, coder, time, event_id, source, note, stale``.
        """
        log = self.decisions(coder)
        if as_of is not None:
            log = log_as_of(log, as_of)
        return derive_codings(log, self._migrations(), self._codebook_or_none(), self._latest_versions())

    def labels(self, coder: str | None = None):
        """Current accept/reject labels per (coder, passage, code), for learning from decisions.

        Like :meth:`codings` but rejections that stand are kept too, with a
        boolean ``accepted`` column; undone decisions, undo events and skips
        are left out, and a change of mind keeps only the latest verdict.

        >>> labels = project.labels()                                   # doctest: +SKIP
        >>> suggester.learn(labels["text"], labels["code_id"], labels["accepted"])  # doctest: +SKIP
        """
        frame = derive_codings(self.decisions(coder), self._migrations(), self._codebook_or_none(),
                               self._latest_versions(), keep_rejected=True)
        frame.insert(frame.columns.get_loc("coder") + 1, "accepted", frame.pop("verdict") == "accept")
        return frame

    # -- summaries -----------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """Counts for ``qcode status``: documents, segments, runs, suggestions, decisions per coder."""
        def count(sql: str, params: tuple = ()) -> int:
            return int(self._query(sql, params)[0][0])

        cb = self._codebook_or_none()
        codings = self.codings()
        per_coder = {}
        for name in self.coders():
            per_coder[name] = {
                "decisions": count("SELECT COUNT(*) FROM events WHERE coder = ? AND verdict != 'undo'", (name,)),
                "undos": count("SELECT COUNT(*) FROM events WHERE coder = ? AND verdict = 'undo'", (name,)),
                "codings": int((codings["coder"] == name).sum()),
            }
        return {
            "path": str(self.path),
            "schema_version": self.schema_version,
            "codebook": None if cb is None else {"name": cb.name, "version": cb.version, "codes": len(cb)},
            "documents": count("SELECT COUNT(DISTINCT doc_id) FROM documents"),
            "document_versions": count("SELECT COUNT(*) FROM documents"),
            "segments": count("SELECT COUNT(*) FROM segments s WHERE s.doc_version = "
                              "(SELECT MAX(version) FROM documents d WHERE d.doc_id = s.doc_id)"),
            "runs": count("SELECT COUNT(*) FROM runs"),
            "suggestions": count("SELECT COUNT(*) FROM suggestions"),
            "events": count("SELECT COUNT(*) FROM events"),
            "coders": per_coder,
        }

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` result (``"ok"`` when healthy)."""
        return str(self._query("PRAGMA integrity_check")[0][0])


# -- pure helpers -------------------------------------------------------------------

def resolve_migration(code_id: str, migrations: Mapping[str, str | None]) -> str | None:
    """Follow explicit codebook migrations from ``code_id`` to the code it now lives on (None: dropped)."""
    seen = {code_id}
    while code_id in migrations:
        code_id = migrations[code_id]
        if code_id is None or code_id in seen:
            return code_id
        seen.add(code_id)
    return code_id


def log_as_of(decisions, as_of: int | str):
    """The decision log as it stood at an event id or ISO time, undo marks recomputed."""
    if _is_int(as_of) or (isinstance(as_of, str) and as_of.strip().isdigit()):
        cut = decisions[decisions["event_id"] <= int(as_of)].copy()
    else:
        from datetime import datetime

        try:
            moment = datetime.fromisoformat(str(as_of).strip())
        except ValueError:
            raise ProjectError(f"as_of {as_of!r} is neither an event id nor an ISO time "
                               "(e.g. 2026-11-25T14:30:00)") from None
        times = []
        for event_id, t in zip(decisions["event_id"], decisions["time"]):
            try:
                times.append(datetime.fromisoformat(str(t)))
            except ValueError:
                raise ProjectError(f"event {event_id} has a time {t!r} that is not ISO 8601; "
                                   "use an event id for as_of instead") from None
        if moment.tzinfo is None:
            times = [t.replace(tzinfo=None) for t in times]
        elif times and times[0].tzinfo is None:
            moment = moment.replace(tzinfo=None)
        cut = decisions[[t <= moment for t in times]].copy()
    undone_ids = set(cut.loc[cut["verdict"] == "undo", "undoes"].dropna().astype(int))
    cut["undone"] = cut["event_id"].isin(undone_ids)
    return cut


def derive_codings(decisions, migrations: Mapping[str, str | None], codebook: Codebook | None,
                   latest: Mapping[str, tuple[int, str]], keep_rejected: bool = False):
    """Current codings from a decision log (pure function of its inputs).

    ``decisions`` is the frame of :meth:`Project.decisions`; ``migrations``
    maps dropped code ids to their new id (or None); ``latest`` maps doc_id to
    (current version, sha256). Returns the frame described in
    :meth:`Project.codings`; with ``keep_rejected`` the standing rejections
    are kept too and a ``verdict`` column tells them apart.
    """
    import pandas as pd

    columns = ["doc_id", "doc_version", "segment_id", "start", "end", "text", "code_id", "code_name",
               "coder", "time", "event_id", "source", "note", "stale"]
    if keep_rejected:
        columns.insert(columns.index("coder") + 1, "verdict")
    live = decisions[(~decisions["undone"]) & decisions["verdict"].isin(["accept", "reject"])].copy()
    if live.empty:
        return pd.DataFrame(columns=columns)

    live["code_id"] = [resolve_migration(c, migrations) for c in live["code_id"]]
    live = live[live["code_id"].notna()]
    key = ["coder", "doc_id", "doc_version", "start", "end", "code_id"]
    last = live.sort_values("event_id").groupby(key, sort=False, dropna=False).tail(1)
    kept = (last if keep_rejected else last[last["verdict"] == "accept"]).copy()
    kept["code_name"] = [codebook.get(c).name if codebook is not None and codebook.get(c) is not None else c
                         for c in kept["code_id"]]
    kept["stale"] = [int(v) != latest.get(d, (v, ""))[0] for d, v in zip(kept["doc_id"], kept["doc_version"])]
    kept = kept.sort_values(["doc_id", "doc_version", "start", "end", "coder", "code_id"])
    return kept[columns].reset_index(drop=True)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_coder(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ProjectError(f"coder name must be non-empty text, got {name!r}")
    name = name.strip()
    if any(ord(ch) < 32 for ch in name):
        raise ProjectError(f"coder name {name!r} contains control characters")
    return name


def _check_document(doc: Document) -> None:
    if not isinstance(doc, Document):
        raise ProjectError(f"expected a Document, got {type(doc).__name__}")
    if not isinstance(doc.id, str) or not doc.id:
        raise ProjectError(f"document id must be non-empty text, got {doc.id!r}")
    if not isinstance(doc.text, str):
        raise ProjectError(f"document {doc.id!r}: text must be a str")
    for i, turn in enumerate(doc.turns):
        if not (_is_int(turn.start) and _is_int(turn.end) and 0 <= turn.start <= turn.end <= len(doc.text)):
            raise ProjectError(f"document {doc.id!r}: turn #{i + 1} offsets {turn.start}:{turn.end} are outside "
                               f"its text ({len(doc.text)} characters)")


def _check_segment(seg: Segment, text: str, version: int) -> None:
    if not isinstance(seg, Segment):
        raise ProjectError(f"expected a Segment, got {type(seg).__name__}")
    if not (_is_int(seg.start) and _is_int(seg.end) and 0 <= seg.start <= seg.end <= len(text)):
        raise ProjectError(f"segment {seg.id!r}: offsets {seg.start}:{seg.end} are outside document "
                           f"{seg.doc_id!r} version {version} ({len(text)} characters)")
    if text[seg.start:seg.end] != seg.text:
        raise ProjectError(f"segment {seg.id!r}: its text does not match document {seg.doc_id!r} version "
                           f"{version} at {seg.start}:{seg.end}")
    if seg.role not in ROLES:
        raise ProjectError(f"segment {seg.id!r}: role must be one of {', '.join(ROLES)}, got {seg.role!r}")


__all__ = ["Project", "init_project", "open_project", "derive_codings", "DB_NAME"]
