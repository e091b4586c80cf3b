"""Coders and the append-only decision log, and the codings derived from it."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..codebook.model import Codebook
from ..errors import ProjectError, UnknownCodeError
from .base import now_utc
from .codings import derive_codings, log_as_of
from .runs import RunStore
from .salvage import salvage_log, screen_damaged
from .schema import SOURCES
from .validation import check_coder, check_event_key, is_int

#: verdicts a coder can give (``undo`` is recorded through :meth:`Project.undo`)
DECISION_VERDICTS = ("accept", "reject", "skip")


class DecisionStore(RunStore):
    """Coders, decisions, codings and labels of a project (part of :class:`qcode.project.Project`)."""

    def add_coder(self, name: str, guid: str | None = None) -> str:
        """Register a coder (decisions register their coder automatically); returns the name."""
        name = check_coder(name)
        with self.transaction():  # a random GUID: a name-derived one collided across projects
            self._conn.execute("INSERT INTO coders (name, guid, added_at) VALUES (?, ?, ?) "
                               "ON CONFLICT (name) DO NOTHING", (name, guid or str(uuid.uuid4()), now_utc()))
        return name

    def coders(self) -> list[str]:
        """Names of the coders known to the project, sorted."""
        return [r[0] for r in self._query("SELECT name FROM coders ORDER BY name")]

    def coder_guids(self) -> dict[str, str | None]:
        """Coder name -> REFI-QDA user guid (None when the coder has none)."""
        return {r[0]: r[1] for r in self._query("SELECT name, guid FROM coders ORDER BY name")}

    def require_coder(self, coder: str) -> str:
        """``coder`` if the project knows that coder, else a ProjectError listing the coders it knows."""
        if coder not in self.coders():
            known = ", ".join(self.coders()) or "none yet"
            raise ProjectError(f"{self.path}: unknown coder {coder!r} (coders: {known})")
        return coder


    def decide(self, coder: str, segment_id: str, code_id: str | None, verdict: str,
               note: str | None = None, run_id: int | None = None, score: float | None = None,
               source: str | None = None, time: str | None = None, event_key: str | None = None) -> int:
        """Record one decision on a segment; returns its event id once it is durable.

        ``verdict`` is ``"accept"``, ``"reject"`` or ``"skip"`` (``code_id``
        may be None for a skip). When ``run_id`` is given the decision is on
        that run's suggestion and its score is looked up unless given;
        ``source`` defaults to ``"suggestion"`` with a run and ``"manual"``
        without (``"import"`` for decisions imported from elsewhere).
        ``event_key`` is a client's idempotency key (see :meth:`record_many`).

        >>> import tempfile
        >>> from qcode.project.sample import build_sample_project
        >>> project = build_sample_project(tempfile.mkdtemp() + "/study")
        >>> seg_id = project.segments().segment_id.iloc[1]
        >>> project.decide("alice", seg_id, "funding", "accept", note="clear case")
        1
        """
        return self.record_many([{"coder": coder, "segment_id": segment_id, "code_id": code_id,
                                  "verdict": verdict, "note": note, "run_id": run_id, "score": score,
                                  "source": source, "time": time, "event_key": event_key}])[0]

    def code_span(self, coder: str, doc_id: str, start: int, end: int, code_id: str,
                  verdict: str = "accept", note: str | None = None, source: str = "manual",
                  time: str | None = None, event_key: str | None = None) -> int:
        """Code a span of the coder's own choosing, by character offsets into the current text.

        ``0 <= start < end <= len(text)``; the coded text is stored with the
        decision. A span with exactly a segment's offsets is linked to it.
        ``event_key`` is a client's idempotency key (see :meth:`record_many`).

        >>> import tempfile
        >>> from qcode.project.sample import build_sample_project
        >>> project = build_sample_project(tempfile.mkdtemp() + "/study")
        >>> text = project.document_text("site-a/interview-01.txt")
        >>> start = text.index("budget")
        >>> project.code_span("alice", "site-a/interview-01.txt", start, start + len("budget"), "funding")
        1
        """
        return self.record_many([{"coder": coder, "doc_id": doc_id, "start": start, "end": end,
                                  "code_id": code_id, "verdict": verdict, "note": note, "source": source,
                                  "time": time, "event_key": event_key}])[0]

    def record_many(self, events: Iterable[Mapping[str, Any]]) -> list[int]:
        """Record many decisions in ONE transaction (all or nothing); returns their event ids.

        Each event is a mapping with ``coder``, ``code_id``, ``verdict`` and
        either ``segment_id`` or ``doc_id``/``start``/``end``; optional
        ``note``, ``run_id``, ``score``, ``source`` and ``time`` (ISO 8601,
        kept for imported decisions; default now).

        ``event_key`` (optional, unique per project) makes a request safe to
        retry: when an event with that key exists and says the same (coder,
        target, code, verdict, note, run, source), its id is returned and
        nothing new is recorded; the same key on a different decision is a
        ProjectError. Times are not compared, since a retry comes later.

        >>> import tempfile
        >>> from qcode.project.sample import build_sample_project
        >>> project = build_sample_project(tempfile.mkdtemp() + "/study")
        >>> project.record_many([{"coder": "bob", "doc_id": "site-a/interview-01.txt", "start": 0, "end": 10,
        ...                       "code_id": "funding", "verdict": "accept", "source": "import"}])
        [1]
        """
        events = list(events)
        ids: list[int] = []
        with self.transaction():
            cb = self.codebook_or_none()
            cb_version = cb.version if cb is not None else None
            doc_texts: dict[str, tuple[int, str]] = {}
            for i, event in enumerate(events):
                where = "" if len(events) == 1 else f"decision #{i + 1}: "
                key = self._key_of(event, where)
                if key is not None:
                    existing = self.event_by_key(key)
                    if existing is not None:
                        _same_decision(existing, event, key, where)
                        ids.append(int(existing["event_id"]))
                        continue
                row = self._event_row(event, i, len(events), cb, doc_texts)
                self._conn.execute("INSERT INTO coders (name, guid, added_at) VALUES (?, ?, ?) "
                                   "ON CONFLICT (name) DO NOTHING", (row["coder"], str(uuid.uuid4()), row["time"]))
                cursor = self._conn.execute(
                    'INSERT INTO events (time, coder, doc_id, doc_version, segment_id, start, "end", text, '
                    "code_id, verdict, note, run_id, score, source, undoes, codebook_version, event_key) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                    (row["time"], row["coder"], row["doc_id"], row["doc_version"], row["segment_id"],
                     row["start"], row["end"], row["text"], row["code_id"], row["verdict"], row["note"],
                     row["run_id"], row["score"], row["source"], cb_version, key))
                assert cursor.lastrowid is not None
                ids.append(int(cursor.lastrowid))
        return ids

    @staticmethod
    def _key_of(event: Mapping[str, Any], where: str) -> str | None:
        try:
            return check_event_key(event.get("event_key"))
        except ProjectError as exc:
            raise ProjectError(f"{where}{exc}") from None

    def event_by_key(self, event_key: str) -> dict[str, Any] | None:
        """The event recorded with idempotency key ``event_key``, as a dict, or None."""
        rows = self._query("SELECT * FROM events WHERE event_key = ?", (event_key,))
        return dict(rows[0]) if rows else None

    def event(self, event_id: int) -> dict[str, Any]:
        """One event of the log (coder, verdict, code_id, doc_id, start, end, text...), as a dict."""
        rows = self._query("SELECT * FROM events WHERE event_id = ?", (int(event_id),))
        if not rows:
            raise ProjectError(f"{self.path}: no event {event_id}")
        return dict(rows[0])

    def _event_row(self, event: Mapping[str, Any], index: int, total: int, cb: Codebook | None,
                   doc_texts: dict[str, tuple[int, str]]) -> dict[str, Any]:
        """Validate one decision and fill in its target (document version, offsets, text)."""
        where = "" if total == 1 else f"decision #{index + 1}: "
        unknown = set(event) - {"coder", "segment_id", "doc_id", "start", "end", "code_id", "verdict",
                                "note", "run_id", "score", "source", "time", "event_key"}
        if unknown:
            raise ProjectError(f"{where}unknown field(s) {sorted(unknown)}")
        try:
            coder = check_coder(event.get("coder"))
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
                raise UnknownCodeError(f"{where}{self.path}: the project has no codebook yet; set one before deciding")
            if code_id not in cb:
                found = cb.find(str(code_id))
                hint = f" (did you mean {found.id!r}?)" if found is not None else ""
                raise UnknownCodeError(f"{where}codebook {cb.name!r} has no code {code_id!r}{hint}")
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
            run_id = self.check_run(run_id)
            if score is None and code_id is not None and seg_row is not None:
                suggested = self._query("SELECT score FROM suggestions WHERE run_id = ? AND seg_row = ? AND code_id = ?",
                                        (run_id, seg_row, code_id))
                score = suggested[0][0] if suggested else None
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
        if not is_int(start) or not is_int(end):
            raise ProjectError(f"{where}span of {doc_id!r}: start and end must be integers, got {start!r}, {end!r}")
        if not 0 <= start < end <= len(text):
            raise ProjectError(f"{where}span {start}:{end} is outside document {doc_id!r} "
                               f"({len(text)} characters) or empty")
        seg = self._query(
            'SELECT segment_id FROM segments WHERE doc_id = ? AND doc_version = ? AND start = ? AND "end" = ? '
            "ORDER BY seg_row LIMIT 1", (doc_id, version, start, end))
        return {"doc_id": doc_id, "doc_version": version, "segment_id": seg[0][0] if seg else None,
                "start": start, "end": end, "text": text[start:end]}

    def undo(self, coder: str, event_key: str | None = None) -> int:
        """Undo the coder's latest decision that is not yet undone, by appending an ``undo`` event.

        Calling it again undoes the decision before that. Returns the undo
        event's id; ProjectError if the coder has nothing left to undo.
        With ``event_key``, a retried undo returns the undo it already made.
        """
        coder = check_coder(coder)
        key = self._key_of({"event_key": event_key}, "")
        with self.transaction():
            if key is not None:
                existing = self.event_by_key(key)
                if existing is not None:
                    if existing["verdict"] != "undo" or existing["coder"] != coder:
                        raise ProjectError(f"event_key {key!r} was already used for event {existing['event_id']}, "
                                           f"a {existing['verdict']!r} decision of {existing['coder']!r}, not an "
                                           f"undo of {coder!r}")
                    return int(existing["event_id"])
            target = self._last_undoable(coder)
            if target is None:
                raise ProjectError(f"{self.path}: coder {coder!r} has no decision to undo")
            cursor = self._conn.execute(
                'INSERT INTO events (time, coder, doc_id, doc_version, segment_id, start, "end", text, code_id, '
                "verdict, note, run_id, score, source, undoes, codebook_version, event_key) "
                "SELECT ?, coder, doc_id, doc_version, segment_id, start, \"end\", text, code_id, 'undo', NULL, "
                "run_id, score, source, event_id, codebook_version, ? FROM events WHERE event_id = ?",
                (now_utc(), key, target))
            assert cursor.lastrowid is not None
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

    def live_decisions(self, coder: str) -> list[dict[str, Any]]:
        """The coder's decisions in effect (neither undone nor undos), oldest first, as dicts of the events table."""
        rows = self._query(
            "SELECT e.* FROM events e WHERE e.coder = ? AND e.verdict != 'undo' AND NOT EXISTS "
            "(SELECT 1 FROM events u WHERE u.undoes = e.event_id) ORDER BY e.event_id", (coder,))
        return [dict(r) for r in rows]

    def latest_event_id(self, coder: str) -> int | None:
        """The id of the coder's newest event of any kind (undos included), or None: one index lookup.

        The log is append-only, so an unchanged id means nothing of this coder's was recorded since.
        """
        rows = self._query("SELECT max(event_id) FROM events WHERE coder = ?", (coder,))
        return None if not rows or rows[0][0] is None else int(rows[0][0])

    def decisions(self, coder: str | None = None) -> Any:
        """The full decision log as a DataFrame, oldest first (undos included).

        Columns: ``event_id, time, coder, doc_id, doc_version, segment_id,
        start, end, text, code_id, verdict, note, run_id, score, source,
        undoes, undone`` (``undone``: a later undo event cancelled it).
        """
        import pandas as pd

        params: tuple = ()
        where = ""
        if coder is not None:
            self.require_coder(coder)
            where, params = "WHERE e.coder = ? ", (coder,)
        damaged_before, self._damage_named = self._damaged_reads, True
        try:
            rows: Sequence[Any] = self._query(
                'SELECT e.event_id, e.time, e.coder, e.doc_id, e.doc_version, e.segment_id, e.start, e."end", '
                "e.text, e.code_id, e.verdict, e.note, e.run_id, e.score, e.source, e.undoes, "
                "EXISTS (SELECT 1 FROM events u WHERE u.undoes = e.event_id) AS undone "
                f"FROM events e {where}ORDER BY e.event_id", params)
        except ProjectError as exc:
            if "damaged" not in str(exc) or not isinstance(self._conn, sqlite3.Connection):
                raise
            rows = salvage_log(self._conn, self.db_path, coder)
        finally:
            self._damage_named = False
        if self._damaged_reads != damaged_before:
            rows = screen_damaged(rows, self.path)
        columns = ["event_id", "time", "coder", "doc_id", "doc_version", "segment_id", "start", "end", "text",
                   "code_id", "verdict", "note", "run_id", "score", "source", "undoes", "undone"]
        frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
        frame["undone"] = frame["undone"].astype(bool)
        for col in ("run_id", "undoes", "doc_version"):
            frame[col] = frame[col].astype("Int64")
        return frame

    def codings(self, coder: str | None = None, as_of: int | str | None = None) -> Any:
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
        return derive_codings(log, self._migrations(), self.codebook_or_none(), self._latest_versions())

    def labels(self, coder: str | None = None) -> Any:
        """Current accept/reject labels per (coder, passage, code), for learning from decisions.

        Like :meth:`codings` but rejections that stand are kept too, with a
        boolean ``accepted`` column; undone decisions, undo events and skips
        are left out, and a change of mind keeps only the latest verdict.

        >>> import tempfile
        >>> from qcode.project.sample import build_sample_project
        >>> project = build_sample_project(tempfile.mkdtemp() + "/study")
        >>> seg_id = project.segments().segment_id.iloc[1]
        >>> _ = project.decide("alice", seg_id, "funding", "accept")
        >>> _ = project.decide("alice", seg_id, "staffing", "reject")
        >>> labels = project.labels()
        >>> labels[["code_id", "accepted"]].values.tolist()
        [['funding', True], ['staffing', False]]

        ``Suggester.learn(labels["text"], labels["code_id"], labels["accepted"])`` learns from them.
        """
        frame = derive_codings(self.decisions(coder), self._migrations(), self.codebook_or_none(),
                               self._latest_versions(), keep_rejected=True)
        frame.insert(frame.columns.get_loc("coder") + 1, "accepted", frame.pop("verdict") == "accept")
        return frame


def _same_decision(existing: Mapping[str, Any], event: Mapping[str, Any], key: str, where: str) -> None:
    """ProjectError unless ``event`` asks for the decision ``existing`` already records (times aside)."""
    wanted: dict[str, Any] = {"coder": check_coder(event.get("coder")), "verdict": event.get("verdict"),
                              "code_id": event.get("code_id"), "note": event.get("note") or None}
    if event.get("segment_id") is not None:
        wanted["segment_id"] = str(event["segment_id"])
    else:
        wanted.update(doc_id=event.get("doc_id"), start=event.get("start"), end=event.get("end"))
    if event.get("run_id") is not None:
        wanted["run_id"] = event["run_id"]
    if event.get("source") is not None:
        wanted["source"] = event["source"]
    for name, value in wanted.items():
        old = existing[name]
        if name == "run_id" and value is not None and old is not None:
            try:
                value = int(value)
            except (TypeError, ValueError):
                pass
        if old != value:
            raise ProjectError(f"{where}event_key {key!r} was already used for event {existing['event_id']}, "
                               f"a different decision ({name} {old!r}, not {value!r}); use a new key for a new "
                               "decision")


__all__ = ["DECISION_VERDICTS", "DecisionStore"]
