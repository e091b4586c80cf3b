"""Copy a project between stores (SQLite <-> PostgreSQL), row for row, and prove the copy equal.

Every table is copied with its own ids (event ids, run ids, segment rows),
times, coders and notes, inside ONE transaction on the destination; before
it commits, a dump of every table of the destination is compared with the
source's, so a copy that would differ is never committed. A destination
that the copy created is removed again when the copy fails.

>>> import tempfile
>>> from qcode.project.sample import build_sample_project
>>> folder = tempfile.mkdtemp()
>>> study = build_sample_project(folder + "/study")
>>> copied = copy_project(study, folder + "/copy")
>>> copied["rows"]["segments"] == len(study.segments())
True

The destination may be a ``postgresql://`` URL as well (a team project on a server).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from ..errors import ProjectError
from .base import DB_NAME
from .dialect import TABLE_ORDER, TABLES, is_postgres_url, redact_url
from .opening import init_project, open_project
from .store import Project


def table_dump(project: Project, table: str) -> list[tuple[Any, ...]]:
    """Every row of ``table``, in the table's key order, with values as plain Python values."""
    rows = project._query(f"SELECT * FROM {table} ORDER BY {TABLE_ORDER[table]}")
    return [tuple(_plain(v) for v in row) for row in rows]


def _plain(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def _column_names(project: Project, table: str) -> list[str]:
    from .dialect import PgConnection

    if isinstance(project._conn, PgConnection):
        rows = project._query("SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                              "AND table_schema = current_schema() ORDER BY ordinal_position", (table,))
        return [r[0] for r in rows]
    return [r[1] for r in project._query(f"PRAGMA table_info({table})")]


def fingerprint(project: Project) -> dict[str, str]:
    """table -> SHA-256 of its rows in key order (two stores with the same content agree)."""
    out = {}
    for table in TABLES:
        digest = hashlib.sha256()
        for row in table_dump(project, table):
            digest.update(repr(row).encode())
        out[table] = digest.hexdigest()
    return out


def _is_empty(project: Project) -> bool:
    return all(not project._query(f"SELECT 1 FROM {t} LIMIT 1") for t in TABLES if t != "meta")


def copy_project(source: str | Path | Project, destination: str | Path) -> dict[str, Any]:
    """Copy ``source`` into ``destination`` (a new folder or ``postgresql://`` URL, or an empty project).

    Returns ``{"source", "destination", "rows": {table: count}}``. Raises
    :class:`ProjectError` when the destination already holds data, or when
    the copy does not come out identical (then nothing is committed).
    """
    src = open_project(source, readonly=True) if not isinstance(source, Project) else source
    if src.schema_version != _current_version():
        raise ProjectError(f"{src.db_path}: schema version {src.schema_version}; open it once for writing with this "
                           "qcode to upgrade it before copying")
    created = False
    if is_postgres_url(destination):
        try:
            dst = open_project(str(destination))
        except ProjectError as exc:
            if "not a qcode project" not in str(exc):
                raise
            dst, created = init_project(str(destination)), True
    else:
        folder = Path(destination)
        if (folder / DB_NAME).exists() or (folder / "settings.json").exists():
            dst = open_project(folder)
        else:
            if folder.exists() and any(folder.iterdir()):
                raise ProjectError(f"{folder}: exists and is not empty; copy into a new folder")
            dst, created = init_project(folder), True
    try:
        rows = _copy_rows(src, dst)
    except BaseException:
        if created:
            _remove(dst, destination)
        raise
    return {"source": str(src.db_path), "destination": redact_url(str(destination)), "rows": rows}


def _current_version() -> int:
    from .schema import SCHEMA_VERSION

    return SCHEMA_VERSION


def _copy_rows(src: Project, dst: Project) -> dict[str, int]:
    where = f"{dst.db_path}"
    counts: dict[str, int] = {}
    with dst.transaction():
        if not _is_empty(dst):
            raise ProjectError(f"{where}: the destination already holds a project's data; copy into an empty one")
        dst._conn.execute("DELETE FROM meta")
        for table in TABLES:
            columns = _column_names(src, table)
            if _column_names(dst, table) != columns:
                raise ProjectError(f"{where}: table {table} has columns {_column_names(dst, table)}, "
                                   f"the source {columns}")
            rows = table_dump(src, table)
            quoted = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join("?" for _ in columns)
            dst._conn.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({marks})", rows)
            counts[table] = len(rows)
        reset = getattr(dst, "reset_sequences", None)
        if reset is not None:
            reset()
        for table in TABLES:
            if table_dump(dst, table) != table_dump(src, table):
                raise ProjectError(f"{where}: table {table} differs from the source after copying; nothing "
                                   "was committed")
    dst._codebook_cache = None
    return counts


def _remove(dst: Project, destination: str | Path) -> None:
    if is_postgres_url(destination):
        from .postgres import PostgresProject, drop_postgres

        if isinstance(dst, PostgresProject):
            try:
                drop_postgres(dst)
            except ProjectError:
                pass
    else:
        dst.close()
        shutil.rmtree(Path(destination), ignore_errors=True)


__all__ = ["copy_project", "fingerprint", "table_dump"]
