"""Documents (every version of every text) and segments (coding units tied to one version)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from ..document import Document, Segment, Turn
from ..errors import ProjectError, UnknownSegmentError
from .base import StoreBase, now_utc
from .validation import check_document, check_segment


class DocumentStore(StoreBase):
    """The documents and segments of a project (part of :class:`qcode.project.Project`)."""

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

        >>> import tempfile
        >>> from qcode.project.sample import build_sample_project
        >>> project = build_sample_project(tempfile.mkdtemp() + "/study")
        >>> project.add_documents([Document("a.txt", "P1: hello")])
        {'new': ['a.txt'], 'unchanged': [], 'changed': []}
        """
        docs = list(docs)
        seen: set[str] = set()
        for doc in docs:
            check_document(doc)
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

    def documents(self, all_versions: bool = False) -> Any:
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
                check_segment(seg, text, version)
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
            raise UnknownSegmentError(f"segment {segment_id!r} belongs to version {old[0]['doc_version']} of document "
                               f"{old[0]['doc_id']!r}, which has changed since; re-segment the new version")
        raise UnknownSegmentError(f"{self.path}: unknown segment {segment_id!r}")

    def segments(self, all_versions: bool = False) -> Any:
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


__all__ = ["DocumentStore"]
