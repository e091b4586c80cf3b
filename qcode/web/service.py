"""What one coder sees and does in the web review, as plain data over a :class:`~qcode.project.Project`.

The HTTP layer (:mod:`qcode.web.handlers`) only parses requests and renders what
this module returns; every action is a ``Project`` call the Python API also
offers (``decide``, ``record_many``, ``undo``, ``decisions``, ``codings``).

Blind views are built from the coder's own decisions only and never carry a
score: what a blind coder is sent cannot depend on another coder's work.

>>> import tempfile
>>> from qcode.project.sample import build_sample_project
>>> study = build_sample_project(tempfile.mkdtemp() + "/study").path
>>> service = ReviewService(study)
>>> first = service.queue(Viewer("ana", blind=True))[0]
>>> first.doc_id, first.role
('site-a/interview-01.txt', 'participant')
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ProjectError, StoreUnavailableError
from ..review.core import (
    WEB_ORDERS,
    CoderMemory,
    QueueItem,
    SegmentState,
    blind_run,
    coder_states,
    last_press,
    order_queue,
    press_keys,
)
from . import lead
from .cards import Snapshot, build_card, filtered, next_open
from .payload import Filters, RequestError, Viewer, request_key, request_note
from .writer import GroupWriter

FINGERPRINT_SECONDS = 1.0


class ReviewService:
    """The web review of one project: queues, cards and decisions for every coder, thread-safe.

    Each worker thread has its own connection to the project (SQLite in WAL
    mode lets readers and the one writer proceed together); every write is
    one ``Project`` transaction, durable before the call returns.

    Parameters
    ----------
    path : str or Path
        The project folder.
    order : "document" or "random"
        Queue order. Random is fixed per coder (resuming keeps it). Neither
        depends on the model's scores, so a blind coder learns nothing from it.
    blind : bool
        Whether coders' views are blind (the lead's never is).
    run : int, optional
        The suggestion run non-blind views show (default: the latest). Blind
        views show the latest run that no other coder's decisions trained.
    adjudicator : str
        The coder name under which the lead's adjudications are recorded.
    """

    def __init__(self, path: str | Path, order: str = "document", blind: bool = True, run: int | None = None,
                 top_k: int = 5, include_interviewer: bool = False, adjudicator: str = "adjudicator",
                 lock_timeout: float = 10.0):
        if order not in WEB_ORDERS:
            raise ProjectError(f"--order must be one of {', '.join(WEB_ORDERS)} (the web review never orders by "
                               f"the model's uncertainty, which would tell a blind coder its confidence; "
                               f"active only with --no-blind); got {order!r}")
        from ..suggest.active import check_order

        check_order(order, blind)
        self.path = Path(path)
        self.order = order
        self.blind = blind
        self.top_k = int(top_k)
        self.include_interviewer = include_interviewer
        self.adjudicator = adjudicator
        self.lock_timeout = lock_timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._corpus: Snapshot | None = None
        self._coders: dict[str, CoderMemory] = {}
        self._coder_locks: dict[str, threading.Lock] = {}
        self._writer = GroupWriter(lambda batch: self.write_batch(self.project(), batch))
        self._checked = 0.0
        project = self.project()
        if project.readonly:
            raise StoreUnavailableError(f"{self.path}: the project is read-only; qcode serve needs to record decisions "
                               "(check the folder's permissions)")
        self.codebook_name = project.codebook.name  # a project without a codebook cannot be reviewed: say so now
        self.run = None if run is None else project.check_run(run)

    # -- connections and shared reads -------------------------------------------------
    def project(self) -> Any:
        """This thread's connection to the project."""
        project = getattr(self._local, "project", None)
        if project is None:
            from ..project import open_project

            project = open_project(self.path, lock_timeout=self.lock_timeout)
            self._local.project = project
        return project

    def current_codebook(self) -> tuple[Any, str]:
        """The current codebook and its version, read once per request (the version hash is kept per object)."""
        codebook = self.project().codebook
        known = getattr(self._local, "codebook", None)
        if known is None or known[0] is not codebook:
            known = (codebook, codebook.version)
            self._local.codebook = known
        return known

    def viewer(self, coder: str, lead: bool = False) -> Viewer:
        return Viewer(coder, blind=False if lead else self.blind, lead=lead)

    def _fingerprint(self, project: Any) -> tuple:
        docs = project.documents(all_versions=True)
        return (project.latest_run(), len(docs), tuple(docs["sha256"]), project.codebook.version)

    def corpus(self) -> Snapshot:
        """The segments and runs, re-read when the project's documents, runs or codebook change."""
        now = time.monotonic()
        corpus = self._corpus
        if corpus is not None and now - self._checked < FINGERPRINT_SECONDS:
            return corpus
        project = self.project()
        fingerprint = self._fingerprint(project)
        with self._lock:
            self._checked = now
            if self._corpus is not None and self._corpus.fingerprint == fingerprint:
                return self._corpus
            frame = project.segments()
            items: list[QueueItem] = []
            for row in frame.itertuples(index=False):
                speaker = row.speaker if isinstance(row.speaker, str) and row.speaker else None
                items.append(QueueItem(row.segment_id, row.doc_id, int(row.doc_version), int(row.start), int(row.end),
                                  row.text, speaker, str(row.role), len(items)))
            runs_frame = project.runs()
            runs = [(int(r.run_id), dict(r.params)) for r in runs_frame.itertuples(index=False)][::-1]
            by_doc: dict[str, list[QueueItem]] = {}
            for it in items:
                by_doc.setdefault(it.doc_id, []).append(it)
            self._corpus = Snapshot(fingerprint, items, {it.segment_id: it.index for it in items}, runs, by_doc)
            return self._corpus

    def _suggestions(self, corpus: Snapshot, run_id: int | None) -> dict[tuple[str, int], list[tuple[str, float]]]:
        if run_id is None:
            return {}
        if run_id not in corpus.suggestions:
            frame = self.project().suggestions(run_id)
            table: dict[tuple[str, int], list[tuple[str, float, int]]] = {}
            for row in frame.itertuples(index=False):
                table.setdefault((row.segment_id, int(row.doc_version)), []).append(
                    (row.code_id, float(row.score), int(row.rank)))
            corpus.suggestions[run_id] = {
                key: [(c, s) for c, s, _ in sorted(rows, key=lambda t: (t[2], -t[1]))[: self.top_k]]
                for key, rows in table.items()}
        return corpus.suggestions[run_id]

    def run_for(self, viewer: Viewer, corpus: Snapshot | None = None) -> int | None:
        """The suggestion run a viewer is shown (blind: the newest run no other coder trained)."""
        corpus = corpus or self.corpus()
        if not viewer.blind:
            return self.run if self.run is not None else (corpus.runs[0][0] if corpus.runs else None)
        return blind_run(corpus.runs, viewer.coder, self.run)

    def queue(self, viewer: Viewer, corpus: Snapshot | None = None) -> list[QueueItem]:
        """Every segment the viewer reviews, in the viewer's order (filters not applied)."""
        return self._queue(viewer, corpus or self.corpus())[0]

    def _queue(self, viewer: Viewer, corpus: Snapshot) -> tuple[list[QueueItem], dict[str, int]]:
        """The viewer's queue and each segment's place in it, made once per run (and coder, in random order)."""
        run_id = self.run_for(viewer, corpus)
        cache_key = ("queue", run_id, viewer.coder if self.order == "random" else None)
        found = corpus.queues.get(cache_key)
        if found is not None:
            return found
        suggestions = self._suggestions(corpus, run_id)
        # every segment is queued: one the run suggested nothing for (abstained, or under the thresholds)
        # is shown as "no code suggested", for the coder to code or to confirm "no code"
        items = [it for it in corpus.items if self.include_interviewer or it.role != "interviewer"]
        order = self.order if self.order != "active" or (not viewer.blind and suggestions) else "document"
        items = order_queue(items, order, seed=f"{self.path.resolve()}\x1f{viewer.coder}",
                            suggestions_of=lambda it: suggestions.get(it.key, []))
        made = (items, {it.segment_id: i for i, it in enumerate(items)})
        corpus.queues[cache_key] = made
        return made

    def _coder_lock(self, coder: str) -> threading.Lock:
        with self._lock:
            return self._coder_locks.setdefault(coder, threading.Lock())

    def states(self, coder: str) -> tuple[dict[tuple[str, int], SegmentState], list[int]]:
        """The coder's standing decisions per segment, and the event ids of their last key press.

        Kept in memory per coder and re-read from the log whenever the coder's
        newest event is not the one the memory was made at (a write by another
        process or tab, an undo): the log is append-only, so that id tells, and
        reading it is one index lookup per request.
        """
        project = self.project()
        with self._coder_lock(coder):
            mark = project.latest_event_id(coder)
            cached = self._coders.get(coder)
            if cached is not None and cached.mark == mark:
                return cached.states, list(cached.last)
            if coder not in project.coders():
                fresh = CoderMemory(mark, {}, [])
            else:
                log = project.decisions(coder)
                fresh = CoderMemory(mark, coder_states(log), last_press(project, coder, log))
            self._coders[coder] = fresh
            return fresh.states, list(fresh.last)

    # -- the card ---------------------------------------------------------------------
    def locate(self, viewer: Viewer, segment_id: str | None, go: str = "here",
               filters: Filters = Filters()) -> dict[str, Any]:
        """The card to show: ``go`` is ``here`` (that segment, or where the coder left off), ``next`` or ``prev``."""
        return self._locate(viewer, segment_id, go, filters, self.current_codebook())

    def _locate(self, viewer: Viewer, segment_id: str | None, go: str, filters: Filters,
                codebook: tuple[Any, str]) -> dict[str, Any]:
        if go not in ("here", "next", "prev"):
            raise RequestError(f"go must be here, next or prev, got {go!r}")
        corpus = self.corpus()
        run_id = self.run_for(viewer, corpus)
        suggestions = self._suggestions(corpus, run_id)
        queue, position = self._queue(viewer, corpus)
        states, last = self.states(viewer.coder)
        unfiltered = filters == Filters()
        shown = queue if unfiltered else filtered(queue, states, suggestions, filters)
        current: QueueItem | None = None
        if segment_id is not None:
            if segment_id not in corpus.by_id:
                raise RequestError(f"unknown segment {segment_id!r} (it may belong to a document that has "
                                   "changed since; reload the page)", 404)
            if segment_id not in position:
                raise RequestError(f"segment {segment_id!r} is not in your review queue", 404)
        if segment_id is None or go == "here":
            if segment_id is not None:
                current = queue[position[segment_id]]
            elif shown:
                current = next_open(shown, states, -1)
        elif shown:
            anchor = position[segment_id]
            in_view = [anchor] if unfiltered else [i for i, it in enumerate(shown) if it.segment_id == segment_id]
            # a segment outside the filtered view (e.g. just decided) is placed by queue order
            after = in_view[0] if in_view else sum(1 for it in shown if position[it.segment_id] < anchor) - 1
            if go == "prev":
                current = shown[(after - 1) % len(shown)] if in_view else shown[after % len(shown)]
            else:
                current = next_open(shown, states, after)
        return build_card(self.project(), viewer, corpus, run_id, suggestions, (queue, position), shown, states, last, current,
                          filters, codebook)

    def decide(self, viewer: Viewer, payload: Mapping[str, Any]) -> dict[str, Any]:
        """One key press that decides: ``accept`` a code, ``reject`` codes, ``skip``, or ``no_code`` (nothing in
        the codebook fits); returns the next card.

        ``payload``: ``key`` (client-made, unique per key press), ``action``,
        ``segment_id``, ``code_id`` (accept), ``code_ids`` (reject: default
        every shown suggestion not accepted), ``note``, ``stay`` (accept and stay
        on the segment), ``codebook_version`` and ``filters``. The coder is the
        viewer's, whatever the payload says.
        """
        codebook_now = self.current_codebook()
        key = request_key(payload, codebook_now[1])
        action = payload.get("action")
        segment_id = payload.get("segment_id")
        if not isinstance(segment_id, str):
            raise RequestError("segment_id must be text")
        filters = Filters.parse(payload.get("filters") or {})
        note = request_note(payload)
        corpus = self.corpus()
        if segment_id not in corpus.by_id:
            raise RequestError(f"unknown segment {segment_id!r} (its document may have changed; reload the page)", 404)
        item = corpus.items[corpus.by_id[segment_id]]
        run_id = self.run_for(viewer, corpus)
        suggestions = self._suggestions(corpus, run_id)
        shown_codes = [c for c, _ in suggestions.get((item.segment_id, item.doc_version), [])]
        codebook = codebook_now[0]
        events: list[dict[str, Any]] = []
        base = {"coder": viewer.coder, "segment_id": segment_id}
        if action == "accept":
            code_id = payload.get("code_id")
            if not isinstance(code_id, str) or code_id not in codebook:
                raise RequestError(f"codebook {codebook.name!r} has no code {code_id!r}", 422)
            from_run = code_id in shown_codes
            events.append({**base, "code_id": code_id, "verdict": "accept", "note": note,
                           "run_id": run_id if from_run else None, "source": "suggestion" if from_run else "manual"})
        elif action == "reject":
            codes = payload.get("code_ids")
            if codes is None:
                states, _ = self.states(viewer.coder)
                mine = states.get((item.segment_id, item.doc_version)) or SegmentState()
                codes = [c for c in shown_codes if mine.verdicts.get(c) != "accept"]
            if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                raise RequestError("code_ids must be a list of code ids")
            codes = list(dict.fromkeys(codes))  # a code listed twice is rejected once
            for c in codes:
                if c not in codebook:
                    raise RequestError(f"codebook {codebook.name!r} has no code {c!r}", 422)
            if not codes:
                raise RequestError("nothing to reject here (no suggestion you have not accepted); "
                                   "press space to skip or c to add a code", 422)
            for i, c in enumerate(codes):
                events.append({**base, "code_id": c, "verdict": "reject", "note": note if i == 0 else None,
                               "run_id": run_id if c in shown_codes else None,
                               "source": "suggestion" if c in shown_codes else "manual"})
        elif action == "skip":
            events.append({**base, "code_id": None, "verdict": "skip", "note": note, "source": "manual"})
        elif action == "no_code":
            events.append({**base, "code_id": None, "verdict": "no_code", "note": note,
                           "run_id": run_id if shown_codes else None,
                           "source": "suggestion" if shown_codes else "manual"})
        else:
            raise RequestError(f"action must be accept, reject, skip or no_code, got {action!r}")
        ids = self.record(events, key)
        stay = bool(payload.get("stay")) and action == "accept"
        card = self._locate(viewer, segment_id, "here" if stay else "next", filters, codebook_now)
        return {"events": ids, "card": card}

    def record(self, events: list[dict[str, Any]], key: str) -> list[int]:
        """Record one key press's events atomically; returns their ids once they are durable.

        Presses arriving together are committed in one transaction by the
        writer thread (one fsync for all of them); each caller still returns
        only after its own events are on disk.
        """
        return self._writer.submit(events, key)

    def write_batch(self, project: Any, batch: list[tuple[list[dict[str, Any]], str]]) -> list[list[int]]:
        """Record several key presses in ONE transaction and update each coder's memory; all or nothing."""
        corpus = self.corpus()
        coders = sorted({events[0]["coder"] for events, _ in batch})
        locks = [self._coder_lock(c) for c in coders]
        for lock in locks:
            lock.acquire()
        try:
            results = []
            with project.transaction():
                for events, key in batch:
                    coder = events[0]["coder"]
                    before = project.latest_event_id(coder)
                    keys = press_keys(key, len(events))
                    ids = project.record_many([{**e, "event_key": k} for e, k in zip(events, keys)])
                    results.append((events, before, ids))
            for events, before, ids in results:
                self._remember(corpus, events, before, ids)
            return [ids for _, _, ids in results]
        finally:
            for lock in locks:
                lock.release()

    def _remember(self, corpus: Snapshot, events: list[dict[str, Any]], before: int | None, ids: list[int]) -> None:
        """Apply just-recorded events to the coder's memory, if it was made exactly before them."""
        memory = self._coders.get(events[0]["coder"])
        if memory is None or memory.mark != before or not all(i > (before or 0) for i in ids):
            return  # a replayed key, or a memory that is not current: the next read reloads it
        for event in events:
            item = corpus.items[corpus.by_id[event["segment_id"]]]
            state = memory.states.setdefault((item.segment_id, item.doc_version), SegmentState())
            state.apply(event["verdict"], event["code_id"], event.get("note"))
        memory.mark, memory.last = max(ids), list(ids)

    def undo(self, viewer: Viewer, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Undo the coder's last key press (``target``: its event ids, as the page last showed them).

        Idempotent: when every target is already undone nothing more is undone.
        Returns the card of the undone segment and the note the undone
        decisions carried, so the page can put it back in the note box.
        """
        key = request_key(payload, self.current_codebook()[1])
        filters = Filters.parse(payload.get("filters") or {})
        target = payload.get("target")
        if not isinstance(target, list) or not target or not all(isinstance(t, int) for t in target):
            raise RequestError("nothing to undo: you have no decision left to undo", 409)
        project = self.project()
        with project.transaction():
            log = project.decisions(viewer.coder) if viewer.coder in project.coders() else None
            if log is None or not set(target) <= {int(e) for e in log["event_id"]}:
                raise RequestError("those decisions are not yours to undo", 403)
            mine = log[log["event_id"].isin(target)]
            undone_rows = mine[mine["verdict"] != "undo"]
            if len(undone_rows) != len(target):
                raise RequestError("only decisions can be undone", 409)
            if not bool(undone_rows["undone"].all()):
                live = log[(~log["undone"]) & (log["verdict"] != "undo")].sort_values("event_id")
                latest = [int(e) for e in live["event_id"].tail(len(target))]
                if sorted(latest) != sorted(target) or bool(undone_rows["undone"].any()):
                    raise RequestError("your last decision is no longer the one this page shows "
                                       "(decided in another tab?); reload the page", 409)
                for undo_key in press_keys(key, len(target)):
                    project.undo(viewer.coder, event_key=undo_key)
        segment_ids = [s for s in undone_rows["segment_id"] if isinstance(s, str)]
        notes = [n for n in undone_rows["note"] if isinstance(n, str) and n]
        segment_id = segment_ids[0] if segment_ids and segment_ids[0] in self.corpus().by_id else None
        try:
            card = self.locate(viewer, segment_id, "here", filters)
        except RequestError:
            card = self.locate(viewer, None, "here", filters)
        undone = [{"verdict": r.verdict, "code_id": r.code_id if isinstance(r.code_id, str) else None}
                  for r in undone_rows.itertuples(index=False)]
        return {"undone": undone, "note": notes[0] if notes else None, "card": card}

    # -- the lead's views (qcode.web.lead) ---------------------------------------------
    def disagreements(self, include_resolved: bool = True) -> dict[str, Any]:
        """Segments where coders' standing codes differ (:func:`qcode.web.lead.disagreements`)."""
        return lead.disagreements(self, include_resolved)

    def adjudicate(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Record the lead's settled codes for a segment (:func:`qcode.web.lead.adjudicate`)."""
        return lead.adjudicate(self, payload)

    def agreement_html(self, n_boot: int = 500) -> str:
        """The agreement report on the project as it stands now (:func:`qcode.web.lead.agreement_html`)."""
        return lead.agreement_html(self, n_boot)

    def study_report_html(self) -> str:
        """The study report of the project as it stands now (:func:`qcode.web.lead.study_report_html`)."""
        return lead.study_report_html(self)

    def codebook_entries(self) -> list[dict[str, Any]]:
        """Every codable code of the current codebook, for the page's search box (the codebook is not secret)."""
        codebook = self.project().codebook
        out = []
        for code in codebook.leaves():
            parent = codebook.get(code.parent) if code.parent else None
            out.append({"code_id": code.id, "name": code.name, "definition": code.definition or "",
                        "parent": parent.name if parent is not None else None})
        return out

    def documents(self, viewer: Viewer) -> list[str]:
        return sorted({it.doc_id for it in self.queue(viewer)})


__all__ = ["ReviewService"]
