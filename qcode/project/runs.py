"""Suggestion runs (model, codebook, parameters) and the scores they gave."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import ProjectError, UnknownCodeError
from .base import now_utc
from .codebooks import CodebookStore


class RunStore(CodebookStore):
    """Suggestion runs of a project (part of :class:`qcode.project.Project`)."""

    def add_run(self, meta: Mapping[str, Any], suggestions: Iterable[tuple[str, str, float, int]]) -> int:
        """Store one suggestion run; returns its ``run_id``.

        ``meta`` holds ``model`` (the embedding model's identity), optionally
        ``codebook_version`` (defaults to the current codebook) and any other
        parameters (stored as JSON). ``suggestions`` are ``(segment_id,
        code_id, score, rank)`` tuples, rank 1 being the best for the segment.

        >>> import tempfile
        >>> from qcode.project.sample import build_sample_project
        >>> project = build_sample_project(tempfile.mkdtemp() + "/study")
        >>> seg_id = project.segments().segment_id.iloc[1]
        >>> project.add_run({"model": "all-MiniLM-L6-v2", "top_k": 3}, [(seg_id, "funding", 0.61, 1)])
        2
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
                raise UnknownCodeError(f"suggestion #{i + 1} for segment {seg_id!r}: codebook {cb.name!r} "
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
            assert cursor.lastrowid is not None
            run_id = int(cursor.lastrowid)
            self._conn.executemany(
                "INSERT INTO suggestions (run_id, seg_row, code_id, score, rank) VALUES (?, ?, ?, ?, ?)",
                [(run_id, *row) for row in rows])
        return run_id

    def runs(self) -> Any:
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

    def check_run(self, run_id: int | str) -> int:
        """``run_id`` as an int, once the project is known to hold that run (else a one-line ProjectError)."""
        try:
            run_id = int(run_id)
        except (TypeError, ValueError):
            raise ProjectError(f"run id must be a number, got {run_id!r}") from None
        if not self._query("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)):
            known = ", ".join(str(r[0]) for r in self._query("SELECT run_id FROM runs")) or "none"
            raise ProjectError(f"{self.path}: unknown run {run_id} (runs: {known})")
        return run_id

    def suggestions(self, run: int | str | None = None) -> Any:
        """Suggestions of one run as a DataFrame (``run=None``: the latest run; ``"all"``: every run).

        Columns: ``run_id, segment_id, doc_id, doc_version, start, end, text,
        code_id, score, rank``, ordered by document, offset and rank.
        """
        import pandas as pd

        columns = ["run_id", "segment_id", "doc_id", "doc_version", "start", "end", "text",
                   "code_id", "score", "rank"]
        params: tuple[int, ...]
        if run == "all":
            where, params = "", ()
        else:
            run_id = self.latest_run() if run is None else self.check_run(run)
            if run_id is None:
                return pd.DataFrame(columns=columns)
            where, params = "WHERE g.run_id = ?", (run_id,)
        rows = self._query(
            'SELECT g.run_id, s.segment_id, s.doc_id, s.doc_version, s.start, s."end", s.text, g.code_id, '
            f"g.score, g.rank FROM suggestions g JOIN segments s ON s.seg_row = g.seg_row {where} "
            'ORDER BY g.run_id, s.doc_id, s.start, s."end", g.rank', params)
        return pd.DataFrame([tuple(r) for r in rows], columns=columns)


__all__ = ["RunStore"]
