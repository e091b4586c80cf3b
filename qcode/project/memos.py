"""Memos: the analyst's notes on the project, a document, a code, a case or a passage, with their history.

A memo is never changed in place: :meth:`MemoStore.edit_memo` appends a new
version, and :meth:`MemoStore.memo_history` shows every one. A memo's target
is named by ``target_kind`` and ``target_id``:

========== =====================================================
project    ``""`` (the project itself)
document   a document id
code       a code id of the project's codebook (current or earlier)
case       a case (a speaker label or document id the cases table holds)
passage    a segment id
========== =====================================================

>>> import tempfile
>>> from qcode.project.sample import build_sample_project
>>> project = build_sample_project(tempfile.mkdtemp() + "/study")
>>> memo = project.add_memo("code", "funding", "Funding talk clusters in site A.", "alice")
>>> project.edit_memo(memo, "Funding talk clusters in site A; check site B.", "bob")
2
>>> project.memos()[["memo_id", "target_kind", "target_id", "author", "version"]].values.tolist()
[[1, 'code', 'funding', 'bob', 2]]
>>> project.memo_history(memo).text.tolist()
['Funding talk clusters in site A.', 'Funding talk clusters in site A; check site B.']
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from ..errors import ProjectError
from .base import now_utc
from .cases import CaseStore
from .schema import MEMO_TARGETS
from .validation import is_int

#: the columns of :meth:`MemoStore.memos` and :meth:`MemoStore.memo_history`
MEMO_COLUMNS = ["memo_id", "target_kind", "target_id", "text", "author", "time", "version", "guid", "event_id"]
#: longest memo, in characters
MAX_MEMO_CHARS = 1_000_000


def check_memo_text(text: Any) -> str:
    """A memo's text; ProjectError when it is not text or is empty."""
    if not isinstance(text, str) or not text.strip():
        raise ProjectError("a memo needs text (got an empty one)")
    if len(text) > MAX_MEMO_CHARS:
        raise ProjectError(f"a memo of {len(text)} characters is too long (at most {MAX_MEMO_CHARS})")
    if "\x00" in text:
        raise ProjectError("a memo cannot hold NUL characters")
    return text


def parse_target(spec: str) -> tuple[str, str | None]:
    """``KIND:ID`` (or ``project``) as (target_kind, target_id), for the command line.

    >>> parse_target("code:funding"), parse_target("project"), parse_target("document:site-a/a.txt#3")
    (('code', 'funding'), ('project', None), ('document', 'site-a/a.txt#3'))
    """
    kind, _, target = str(spec).partition(":")
    kind = kind.strip().lower()
    if kind not in MEMO_TARGETS:
        raise ProjectError(f"--on {spec!r}: expected project, or KIND:ID with KIND one of "
                           f"{', '.join(t for t in MEMO_TARGETS if t != 'project')} (e.g. code:funding)")
    if kind != "project" and not target.strip():
        raise ProjectError(f"--on {spec!r}: name the {kind} after the colon (e.g. {kind}:ID)")
    return kind, (target.strip() or None)


def _all_codes(codes: Any) -> list[dict[str, Any]]:
    """Every code of a stored codebook's ``codes`` list, children included."""
    out: list[dict[str, Any]] = []
    for code in codes if isinstance(codes, list) else ():
        if isinstance(code, dict) and "id" in code:
            out.append(code)
            out.extend(_all_codes(code.get("children")))
    return out


class MemoStore(CaseStore):
    """Memos and their versions (part of :class:`qcode.project.Project`)."""

    def _check_target(self, kind: str, target: Any) -> str:
        if kind not in MEMO_TARGETS:
            raise ProjectError(f"a memo is on one of {', '.join(MEMO_TARGETS)}, got {kind!r}")
        target = "" if target is None else str(target).strip()
        if kind == "project":
            if target:
                raise ProjectError(f"a project memo names no target (got {target!r})")
            return ""
        if not target:
            raise ProjectError(f"a {kind} memo needs the {kind} it is about")
        if kind == "document":
            self._current_version(target)
        elif kind == "passage":
            if not self._query("SELECT 1 FROM segments WHERE segment_id = ? LIMIT 1", (target,)):
                raise ProjectError(f"{self.path}: unknown segment {target!r} (a passage memo names a segment id)")
        elif kind == "code":
            if target not in self._known_codes():
                raise ProjectError(f"{self.path}: the codebook has no code {target!r}")
        elif kind == "case":
            if target not in set(self.case_history()["case"]):
                raise ProjectError(f"{self.path}: unknown case {target!r} (`qcode cases import` adds cases)")
        return target

    def _known_codes(self) -> set[str]:
        codes: set[str] = set()
        for row in self._query("SELECT json FROM codebooks"):
            codes.update(str(c["id"]) for c in _all_codes(json.loads(row[0]).get("codes", ())))
        return codes

    def _memo_author(self, author: str | None) -> str:
        name = self._author(author)
        if name is None:
            raise ProjectError("a memo needs an author (--author NAME)")
        return name

    def add_memo(self, target_kind: str, target_id: str | None, text: str, author: str | None = None,
                 *, guid: str | None = None, time: str | None = None) -> int:
        """Write a new memo on a target; returns its memo id once it is durable.

        ``guid`` and ``time`` are kept from a memo imported from elsewhere (REFI-QDA notes).
        """
        text = check_memo_text(text)
        with self.transaction():
            target = self._check_target(target_kind, target_id)
            name = self._memo_author(author)
            if guid is not None:
                found = self._query("SELECT memo_id FROM memo_events WHERE guid = ? LIMIT 1", (guid,))
                if found:
                    raise ProjectError(f"{self.path}: a memo with guid {guid!r} exists (memo {found[0][0]})")
            top = self._query("SELECT MAX(memo_id) FROM memo_events")[0][0]
            memo_id = int(top or 0) + 1
            self._conn.execute(
                "INSERT INTO memo_events (memo_id, version, guid, time, author, target_kind, target_id, text) "
                "VALUES (?, 1, ?, ?, ?, ?, ?, ?)",
                (memo_id, guid or str(uuid.uuid4()), time or now_utc(), name, target_kind, target, text))
        return memo_id

    def edit_memo(self, memo_id: int, text: str, author: str | None = None) -> int:
        """Append a new version of a memo; returns its version number (earlier versions are kept)."""
        text = check_memo_text(text)
        if not is_int(memo_id):
            raise ProjectError(f"a memo id is a whole number, got {memo_id!r}")
        with self.transaction():
            name = self._memo_author(author)
            rows = self._query("SELECT version, guid, target_kind, target_id, text FROM memo_events "
                               "WHERE memo_id = ? ORDER BY version DESC LIMIT 1", (memo_id,))
            if not rows:
                raise ProjectError(f"{self.path}: no memo {memo_id}")
            last = rows[0]
            if last["text"] == text:
                return int(last["version"])
            version = int(last["version"]) + 1
            self._conn.execute(
                "INSERT INTO memo_events (memo_id, version, guid, time, author, target_kind, target_id, text) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (memo_id, version, last["guid"], now_utc(), name, last["target_kind"], last["target_id"], text))
        return version

    def _memo_frame(self, where: str = "", params: tuple[Any, ...] = ()) -> Any:
        import pandas as pd

        if self.schema_version < 3:  # an older project opened read-only: no memos yet
            return pd.DataFrame(columns=MEMO_COLUMNS)
        rows = self._query("SELECT memo_id, target_kind, target_id, text, author, time, version, guid, event_id "
                           f"FROM memo_events {where} ORDER BY memo_id, version", params)
        frame = pd.DataFrame([tuple(r) for r in rows], columns=MEMO_COLUMNS)
        return frame.astype({"memo_id": int, "version": int, "event_id": int})

    def memos(self, target_kind: str | None = None, target_id: str | None = None) -> Any:
        """The latest version of every memo (of one target kind, or one target, when given), by memo id.

        Columns: ``memo_id, target_kind, target_id, text, author, time, version,
        guid, event_id`` (``author`` and ``time`` of the latest version).
        """
        if target_kind is not None and target_kind not in MEMO_TARGETS:
            raise ProjectError(f"a memo is on one of {', '.join(MEMO_TARGETS)}, got {target_kind!r}")
        frame = self._memo_frame()
        latest = frame.groupby("memo_id", sort=True).tail(1)
        if target_kind is not None:
            latest = latest[latest["target_kind"] == target_kind]
        if target_id is not None:
            latest = latest[latest["target_id"] == str(target_id)]
        return latest.reset_index(drop=True)

    def memo_history(self, memo_id: int | None = None) -> Any:
        """Every version of one memo (or of all memos), oldest first; the columns of :meth:`memos`."""
        if memo_id is None:
            return self._memo_frame()
        frame = self._memo_frame("WHERE memo_id = ?", (int(memo_id),))
        if frame.empty:
            raise ProjectError(f"{self.path}: no memo {memo_id}")
        return frame


__all__ = ["MAX_MEMO_CHARS", "MEMO_COLUMNS", "MemoStore", "check_memo_text", "parse_target"]
