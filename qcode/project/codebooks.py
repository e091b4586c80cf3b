"""The project's codebooks: every version used, the current one, and explicit code migrations."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..codebook.io import load_codebook
from ..codebook.model import Codebook, codebook_from_dict
from ..errors import ProjectError, UnknownCodeError
from .base import now_utc
from .codings import resolve_migration
from .documents import DocumentStore


class CodebookStore(DocumentStore):
    """Codebook versions and migrations of a project (part of :class:`qcode.project.Project`)."""

    @property
    def codebook(self) -> Codebook:
        """The project's current codebook (ProjectError if none was set)."""
        version = self._meta("codebook_version")
        if version is None:
            raise UnknownCodeError(f"{self.path}: the project has no codebook yet "
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

    def codebook_or_none(self) -> Codebook | None:
        """The current codebook, or None when the project has none yet."""
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

        >>> import tempfile
        >>> from qcode.project.sample import build_sample_project
        >>> project = build_sample_project(tempfile.mkdtemp() + "/study")
        >>> from qcode.codebook.model import Code, Codebook
        >>> _ = project.decide("alice", project.segments().segment_id.iloc[1], "funding", "accept")
        >>> kept = [c for c in project.codebook.codes if c.id != "funding"]
        >>> new_cb = Codebook("sample", [*kept, Code("money", "Money")])
        >>> project.set_codebook(new_cb, migrate={"funding": "money"}) == new_cb.version
        True
        >>> project.codings()["code_id"].tolist()
        ['money']
        """
        cb = load_codebook(codebook)
        migrate = dict(migrate or {})
        for old, new in migrate.items():
            if new is not None and new not in cb:
                raise UnknownCodeError(f"migration {old!r} -> {new!r}: codebook {cb.name!r} has no code {new!r}")
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

    def codebooks(self) -> Any:
        """Every codebook version the project has stored: ``version, name, codes, added_at, current``."""
        import pandas as pd

        current = self._meta("codebook_version")
        rows = self._query("SELECT version, name, json, added_at FROM codebooks ORDER BY added_at, version")
        records = [{"version": r["version"], "name": r["name"], "codes": len(json.loads(r["json"])["codes"]),
                    "added_at": r["added_at"], "current": r["version"] == current} for r in rows]
        return pd.DataFrame(records, columns=["version", "name", "codes", "added_at", "current"])


__all__ = ["CodebookStore"]
