"""Creating and opening a project: a SQLite folder (:class:`~qcode.project.store.Project`) or a team
project on PostgreSQL (:class:`~qcode.project.postgres.PostgresProject`).

It sits above both stores, so that neither imports the other's module to be chosen.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from .._io import atomic_write_text
from ..codebook.io import load_codebook
from ..codebook.model import Codebook
from ..errors import ProjectError
from ..safetext import escape_name
from .base import DB_NAME, DEFAULT_LOCK_TIMEOUT, SETTINGS_NAME, now_utc, translate
from .dialect import is_postgres_url
from .postgres import PostgresProject, init_postgres, store_of_folder
from .schema import SCHEMA, SCHEMA_VERSION
from .store import Project


def init_project(path: str | Path, codebook: Codebook | str | Path | None = None,
                 lock_timeout: float = DEFAULT_LOCK_TIMEOUT, store: str | None = None, *,
                 exist_ok: bool = False, force: bool = False) -> Project:
    """Create a project folder at ``path`` and return it opened.

    ``codebook`` is a :class:`~qcode.codebook.Codebook`, a shipped codebook
    name or a codebook file; it becomes the project's current codebook.
    Raises :class:`ProjectError` if ``path`` already holds a project, unless
    ``exist_ok=True``: then that project is opened (and ``codebook``, if given,
    made its current codebook), so a script that creates its project can run twice.
    A folder that already holds other files (names starting with ``.`` aside) is
    refused unless ``force=True``, so a folder of transcripts is never turned
    into a project by mistake; a new path or an empty folder is fine.

    >>> import tempfile
    >>> project = init_project(tempfile.mkdtemp() + "/study", codebook="mcn-sst")
    >>> project.codebook.name
    'mcn-sst'

    ``path`` may be a ``postgresql://`` URL instead (a team project on a
    server), or ``store`` may name one: then ``path`` is a folder whose
    settings name that server (see :mod:`qcode.project.postgres`).
    """
    if is_postgres_url(path) or store is not None:
        if store is not None and not is_postgres_url(store):
            raise ProjectError(f"--store {store!r}: expected a postgresql:// URL")
        url = str(path) if store is None else store
        return init_postgres(url, codebook, lock_timeout, folder=None if store is None else Path(path))
    folder = Path(path)
    if (folder / DB_NAME).exists():
        if exist_ok:
            existing = Project(folder, lock_timeout=lock_timeout)
            if codebook is not None:
                existing.set_codebook(codebook)
            return existing
        raise ProjectError(f"{folder}: already a qcode project (open it with qcode.open_project({str(folder)!r}) or "
                           f"init_project(..., exist_ok=True) in Python, `qcode status {folder}` on the command line)")
    if folder.exists() and not folder.is_dir():
        raise ProjectError(f"{folder}: exists and is not a folder")
    if (folder / SETTINGS_NAME).exists():
        raise ProjectError(f"{folder}: already holds a {SETTINGS_NAME} (left untouched; move it away or pick "
                           "another folder to create a project)")
    if not force and folder.is_dir():
        other = next((entry.name for entry in folder.iterdir() if not entry.name.startswith(".")), None)
        if other is not None:
            raise ProjectError(f"{folder}: not empty and not a qcode project (it holds {escape_name(other)!r}, ...); "
                               "create the project in a new or empty folder, or pass --force (force=True in "
                               "Python) to make this folder a project as it is")
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
        raise translate(exc, folder) from None
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
                 readonly: bool = False) -> Project:
    """Open an existing project folder.

    Raises :class:`ProjectError` ``"PATH: not a qcode project (run `qcode init PATH`)"``
    when ``path`` holds no project database.

    >>> import tempfile
    >>> folder = init_project(tempfile.mkdtemp() + "/my-study").path
    >>> open_project(folder).coders()
    []
    """
    if isinstance(path, Project):
        return path
    if is_postgres_url(path) or not (Path(path) / DB_NAME).exists():
        if is_postgres_url(path):
            return PostgresProject(str(path), lock_timeout=lock_timeout, readonly=readonly)
        url = store_of_folder(Path(path))
        if url is not None:
            return PostgresProject(url, lock_timeout=lock_timeout, readonly=readonly, folder=Path(path))
    return Project(Path(path), lock_timeout=lock_timeout, readonly=readonly)


__all__ = ["init_project", "open_project"]
