"""The project store: one SQLite database (WAL) holding documents, segments,
codebooks, suggestion runs and an append-only log of coding decisions.

>>> import tempfile
>>> from qcode.document import Document
>>> from qcode.project import init_project
>>> from qcode.segmentation import segment
>>> project = init_project(tempfile.mkdtemp() + "/my-study", codebook="mcn-sst")
>>> doc = Document("a.txt", "P1: We never had the funding.")
>>> project.add_documents([doc])
{'new': ['a.txt'], 'unchanged': [], 'changed': []}
>>> [seg] = segment(doc)
>>> project.add_segments([seg])
1
>>> project.decide("alice", seg.id, "infrastructure.funding", "accept")
1

:class:`Project` is assembled from layers, each in its own module and each
building on the one below: :mod:`.base` (connection, durable transactions,
schema upgrades), :mod:`.documents` (documents, segments), :mod:`.codebooks`
(codebook versions, migrations), :mod:`.runs` (suggestion runs) and
:mod:`.decisions` (coders, the decision log, codings), :mod:`.cases` (cases and their
attribute history) and :mod:`.memos` (memos and their versions). The pure parts are
:mod:`.codings` (log -> codings) and :mod:`.validation`.
"""

from __future__ import annotations

from typing import Any

from .memos import MemoStore


class Project(MemoStore):
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

    def status(self) -> dict[str, Any]:
        """Counts for ``qcode status``: documents, segments, runs, suggestions, cases, memos, decisions per coder."""
        def count(sql: str, params: tuple = ()) -> int:
            return int(self._query(sql, params)[0][0])

        cb = self.codebook_or_none()
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
            "cases": len(self.cases()),
            "memos": len(self.memos()),
            "coders": per_coder,
        }

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` result (``"ok"`` when healthy)."""
        return str(self._query("PRAGMA integrity_check")[0][0])


__all__ = ["Project"]
