"""The project's codebooks: every version used, the current one, and explicit code migrations."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..codebook.io import load_codebook
from ..codebook.model import Code, Codebook, codebook_from_dict
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
                     migrate: Mapping[str, str | None] | None = None, *, author: str | None = None,
                     action: str = "use", detail: Mapping[str, Any] | None = None) -> str:
        """Make ``codebook`` the project's current codebook; returns its version hash.

        Refuses (ProjectError) when a code that carries decisions is missing
        from the new codebook, unless ``migrate`` says where it goes:
        ``{"old-id": "new-id"}`` moves its decisions to ``new-id`` (renames and
        merges), ``{"old-id": None}`` drops it from current codings. The
        decision log itself is never changed; migrations are recorded beside it,
        and the change (``action``, ``author``, ``detail``) in the codebook history
        (:meth:`codebook_history`).

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
            previous = self._meta("codebook_version")
            if previous != cb.version or migrate:
                self._log_change(stamp, author, action, cb.version,
                                 {"from_version": previous, **({"migrate": migrate} if migrate else {}),
                                  **dict(detail or {})})
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

    # -- history and edits ---------------------------------------------------------
    def _log_change(self, stamp: str, author: str | None, action: str, version: str, detail: Mapping[str, Any]) -> None:
        """Append one codebook change to the history (a numbered ``meta`` entry: no schema change)."""
        count = int(self._meta(_CHANGE_COUNT) or 0) + 1
        record = {"time": stamp, "author": author, "action": action, "codebook_version": version, **detail}
        self._set_meta(f"{_CHANGE_PREFIX}{count:08d}", json.dumps(record, ensure_ascii=False, sort_keys=True))
        self._set_meta(_CHANGE_COUNT, str(count))

    def codebook_history(self) -> Any:
        """Every codebook change, oldest first: ``time, author, action, codebook_version, codes, detail``.

        Changes made before the history was kept (versions and migrations only) appear with an empty
        author, from the ``codebooks`` and ``code_migrations`` tables.
        """
        import pandas as pd

        logged = [json.loads(r["value"]) for r in
                  self._query("SELECT value FROM meta WHERE key LIKE ? ORDER BY key", (f"{_CHANGE_PREFIX}%",))]
        seen = {r["codebook_version"] for r in logged}
        rows = []
        for r in self._query("SELECT version, name, added_at FROM codebooks ORDER BY added_at, version"):
            if r["version"] not in seen:
                moved = self._query("SELECT from_code, to_code FROM code_migrations WHERE codebook_version = ?",
                                    (r["version"],))
                detail = {"migrate": {m["from_code"]: m["to_code"] for m in moved}} if moved else {}
                rows.append({"time": r["added_at"], "author": "", "action": "use", "codebook_version": r["version"],
                             "detail": json.dumps(detail, sort_keys=True) if detail else ""})
        for r in logged:
            detail = {k: v for k, v in r.items() if k not in ("time", "author", "action", "codebook_version")}
            rows.append({"time": r["time"], "author": r.get("author") or "", "action": r["action"],
                         "codebook_version": r["codebook_version"],
                         "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True)})
        rows.sort(key=lambda row: row["time"])
        return pd.DataFrame(rows, columns=["time", "author", "action", "codebook_version", "detail"])

    def add_codes(self, codes: list[Code], *, author: str | None = None, note: str | None = None) -> str:
        """A new codebook version with ``codes`` added to the current one; returns its version.

        Refuses (ProjectError, nothing changed) a code whose id or name (case-insensitively) is
        already in the codebook.

        >>> import tempfile
        >>> from qcode.project.sample import build_sample_project
        >>> project = build_sample_project(tempfile.mkdtemp() + "/study")
        >>> _ = project.add_codes([Code("waiting", "Waiting lists")], author="lead")
        >>> project.codebook_history()["action"].tolist()[-1], "waiting" in project.codebook
        ('add', True)
        """
        current = self.codebook
        names = {c.name.strip().lower(): c.id for c in current.codes}
        for code in codes:
            clash = names.get(code.name.strip().lower())
            if clash is not None:
                raise ProjectError(f"new code {code.name!r} clashes with code {clash!r} of the same name; rename it")
            if code.id in current:
                raise ProjectError(f"code id {code.id!r} is already in codebook {current.name!r}; "
                                   "set another 'code_id'")
            if code.parent is not None and code.parent not in current:
                raise ProjectError(f"new code {code.id!r}: parent {code.parent!r} is not in codebook {current.name!r}")
        new_cb = current.replace_codes([*current.codes, *codes])
        return self.set_codebook(new_cb, author=author, action="add",
                                 detail={"codes": [c.id for c in codes], **({"note": note} if note else {})})

    def split_code(self, code_id: str, first: Code, second: Code, to_second: list[str], *,
                   author: str | None = None) -> str:
        """Split ``code_id`` into ``first`` and ``second`` in a new codebook version; returns its version.

        Past decisions are never rewritten: a migration sends the old code's decisions to ``first``
        (none when ``first`` keeps the old id), and for each segment in ``to_second`` every coder whose
        coding of the old code stands there gets two appended decisions, accept ``second`` and reject
        ``first``, noted as the split; the mapping is kept in the codebook history.
        """
        current = self.codebook
        if code_id not in current:
            raise ProjectError(f"codebook {current.name!r} has no code {code_id!r} to split")
        if first.id == second.id:
            raise ProjectError(f"split of {code_id!r}: the two codes need different ids")
        for new in (first, second):
            if new.id != code_id and new.id in current:
                raise ProjectError(f"split of {code_id!r}: code id {new.id!r} is already in codebook {current.name!r}")
        old = current[code_id]
        kept = [c for c in current.codes if c.id != code_id]
        at = next(i for i, c in enumerate(current.codes) if c.id == code_id)
        parent = old.parent
        from dataclasses import replace

        pair = [replace(first, parent=first.parent or parent), replace(second, parent=second.parent or parent)]
        new_cb = current.replace_codes([*kept[:at], *pair, *kept[at:]])
        wanted = set(to_second)
        codings = self.codings()  # type: ignore[attr-defined]
        mine = codings[(codings["code_id"] == code_id) & (codings["segment_id"].isin(wanted))]
        unknown = wanted - set(codings.loc[codings["code_id"] == code_id, "segment_id"])
        if unknown:
            raise ProjectError(f"split of {code_id!r}: {len(unknown)} segment(s) not coded {code_id!r}, "
                               f"e.g. {sorted(unknown)[0]!r}")
        migrate = {} if first.id == code_id else {code_id: first.id}
        mapping = sorted(wanted)
        with self.transaction():
            version = self.set_codebook(new_cb, migrate=migrate, author=author, action="split",
                                        detail={"code": code_id, "into": [first.id, second.id],
                                                "to_second": mapping})
            note = f"split of {code_id} into {first.id} and {second.id}" + (f" by {author}" if author else "")
            events = []
            for row in mine.itertuples():
                events.append({"coder": row.coder, "segment_id": row.segment_id, "code_id": second.id,
                               "verdict": "accept", "note": note, "source": "manual"})
                events.append({"coder": row.coder, "segment_id": row.segment_id, "code_id": first.id,
                               "verdict": "reject", "note": note, "source": "manual"})
            if events:
                self.record_many(events)  # type: ignore[attr-defined]
        return version


_CHANGE_PREFIX = "codebook_change:"
_CHANGE_COUNT = "codebook_changes"

__all__ = ["CodebookStore"]
