"""What one coder sees and does in the web review, as plain data over a :class:`~qcode.project.Project`.

The HTTP layer (:mod:`qcode.web.app`) only parses requests and renders what
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

import hashlib
import random
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ProjectError, StoreUnavailableError

ORDERS = ("document", "random", "active")
STATES = ("all", "new", "skipped", "reviewed")
STATE_LABELS = {"all": "every segment", "new": "not yet reviewed", "skipped": "skipped by me",
                "reviewed": "reviewed by me"}
CONTEXT_BEFORE = 2
CONTEXT_AFTER = 1
MAX_NOTE_CHARS = 10_000
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
#: the learned state of a suggester that has learned nothing (``Suggester.identity()["learned_state"]``)
EMPTY_LEARNED_STATE = hashlib.sha256(b'{"accepted": {}, "rejected": {}}').hexdigest()[:16]
FINGERPRINT_SECONDS = 1.0


class RequestError(ProjectError):
    """A request that cannot be carried out as sent; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Viewer:
    """Who is looking: a coder name, whether the view is blind, whether it is the project lead's."""

    coder: str
    blind: bool = True
    lead: bool = False


@dataclass(frozen=True)
class Filters:
    """Which segments a coder's queue shows: one document, one code, and a review state."""

    doc: str | None = None
    code: str | None = None
    state: str = "all"

    @classmethod
    def parse(cls, values: Mapping[str, Any]) -> Filters:
        def text(name: str) -> str | None:
            value = values.get(name)
            return value.strip() or None if isinstance(value, str) else None

        state = text("state") or "all"
        if state not in STATES:
            raise RequestError(f"filter state must be one of {', '.join(STATES)}, got {state!r}")
        return cls(text("doc"), text("code"), state)

    def query(self) -> dict[str, str]:
        return {k: v for k, v in (("doc", self.doc), ("code", self.code), ("state", self.state))
                if v and not (k == "state" and v == "all")}


@dataclass
class Item:
    """One current segment of the project, with its place in its document."""

    segment_id: str
    doc_id: str
    doc_version: int
    start: int
    end: int
    text: str
    speaker: str | None
    role: str
    index: int  # position among all segments, in document order


@dataclass
class Corpus:
    """The project's current segments and suggestion runs, read once and shared by every request."""

    fingerprint: tuple
    items: list[Item]
    by_id: dict[str, int]
    runs: list[tuple[int, dict[str, Any]]]  # newest first
    by_doc: dict[str, list[Item]] = field(default_factory=dict)
    queues: dict[tuple, tuple[list[Item], dict[str, int]]] = field(default_factory=dict)
    suggestions: dict[int, dict[tuple[str, int], list[tuple[str, float]]]] = field(default_factory=dict)


@dataclass
class SegmentState:
    """One coder's standing decisions on one segment."""

    verdicts: dict[str, str] = field(default_factory=dict)  # code -> accept/reject, latest wins
    skipped: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> list[str]:
        return [c for c, v in self.verdicts.items() if v == "accept"]

    @property
    def rejected(self) -> list[str]:
        return [c for c, v in self.verdicts.items() if v == "reject"]

    @property
    def reviewed(self) -> bool:
        return bool(self.verdicts)

    @property
    def status(self) -> str:
        return "reviewed" if self.reviewed else ("skipped" if self.skipped else "new")


@dataclass
class CoderMemory:
    """One coder's standing decisions, as of the coder's newest event (``mark``, undos included)."""

    mark: int | None
    states: dict[tuple[str, int], SegmentState]
    last: list[int]


def run_is_independent(params: Mapping[str, Any], coder: str) -> bool:
    """Whether a suggestion run was made by a model that no coder but ``coder`` trained.

    A run records the learned state of its suggester; a run that learned from
    decisions and does not say whose (``learned_from``) counts as trained by others.
    """
    learned_from = params.get("learned_from")
    if isinstance(learned_from, (list, tuple)):
        return {str(c) for c in learned_from} <= {coder}
    state = params.get("learned_state")
    return state is None or state == EMPTY_LEARNED_STATE


def coder_states(decisions: Any) -> dict[tuple[str, int], SegmentState]:
    """Per (segment id, document version): the coder's standing decisions.

    ``decisions`` is the frame of :meth:`Project.decisions` for one coder.
    """
    states: dict[tuple[str, int], SegmentState] = {}
    if decisions is None or len(decisions) == 0:
        return states
    live = decisions[(~decisions["undone"]) & (decisions["verdict"] != "undo")]
    for row in live.sort_values("event_id").itertuples(index=False):
        if not isinstance(row.segment_id, str):
            continue
        state = states.setdefault((row.segment_id, int(row.doc_version)), SegmentState())
        if isinstance(row.note, str) and row.note:
            state.notes.append(row.note)
        if row.verdict == "skip":
            state.skipped = True
        elif isinstance(row.code_id, str):
            state.verdicts.pop(row.code_id, None)
            state.verdicts[row.code_id] = row.verdict
    return states


def press_keys(key: str, count: int) -> list[str]:
    """The event keys of one key press that records ``count`` events: ``key``, or ``key.0``, ``key.1``, ..."""
    return [key] if count == 1 else [f"{key}.{i}" for i in range(count)]


def last_press(project: Any, coder: str, decisions: Any) -> list[int]:
    """Event ids of the coder's last key press still in effect (several for one ``r``), oldest first.

    The events of one press share an event key up to its dot (see :func:`press_keys`);
    a decision recorded without a key is a press of its own.
    """
    last = project.last_decision(coder)
    if last is None:
        return []
    key = last.get("event_key")
    if not isinstance(key, str) or "." not in key:
        return [int(last["event_id"])]
    prefix = key.rsplit(".", 1)[0]
    live = {int(e) for e in decisions.loc[(~decisions["undone"]) & (decisions["verdict"] != "undo"), "event_id"]}
    ids = []
    for i in range(10_000):
        found = project.event_by_key(f"{prefix}.{i}")
        if found is None:
            break
        if int(found["event_id"]) in live:
            ids.append(int(found["event_id"]))
    return ids or [int(last["event_id"])]


def _shuffled(items: list[Item], seed: str) -> list[Item]:
    rng = random.Random(int(hashlib.sha256(seed.encode("utf-8")).hexdigest()[:16], 16))
    shuffled = list(items)
    rng.shuffle(shuffled)
    return shuffled


class GroupWriter:
    """One thread that commits the key presses waiting at that moment together (group commit).

    A press waits while the previous group is being written and fsynced,
    then joins the next group: under load, many presses share one fsync. If a
    group fails, each of its presses is retried alone, so one bad press fails
    alone and the others are recorded.
    """

    def __init__(self, service: ReviewService, max_batch: int = 64):
        import queue

        self.service = service
        self.max_batch = max_batch
        self.pending: queue.Queue[tuple[list[dict[str, Any]], str, Any]] = queue.Queue()
        self.thread: threading.Thread | None = None
        self.start_lock = threading.Lock()

    def submit(self, events: list[dict[str, Any]], key: str) -> list[int]:
        from concurrent.futures import Future

        with self.start_lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="qcode-web-writer", daemon=True)
                self.thread.start()
        future: Future = Future()
        self.pending.put((events, key, future))
        return future.result()

    def _run(self) -> None:
        import queue

        while True:
            first = self.pending.get()
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self.pending.get_nowait())
                except queue.Empty:
                    break
            self._write(batch)

    def _write(self, batch: list[tuple[list[dict[str, Any]], str, Any]]) -> None:
        project = self.service.project()
        try:
            results = self.service._write_batch(project, [(events, key) for events, key, _ in batch])
        except BaseException as exc:
            if len(batch) == 1:
                batch[0][2].set_exception(exc)
                return
            for item in batch:  # find the press that failed; the others are recorded alone
                self._write([item])
            return
        for (_, _, future), ids in zip(batch, results):
            future.set_result(ids)


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
        if order not in ORDERS:
            raise ProjectError(f"--order must be one of {', '.join(ORDERS)} (the web review never orders by "
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
        self._corpus: Corpus | None = None
        self._coders: dict[str, CoderMemory] = {}
        self._coder_locks: dict[str, threading.Lock] = {}
        self._writer = GroupWriter(self)
        self._checked = 0.0
        project = self.project()
        if project.readonly:
            raise StoreUnavailableError(f"{self.path}: the project is read-only; qcode serve needs to record decisions "
                               "(check the folder's permissions)")
        self.codebook_name = project.codebook.name  # a project without a codebook cannot be reviewed: say so now
        self.run = None if run is None else self._checked_run(project, run)

    @staticmethod
    def _checked_run(project: Any, run: int) -> int:
        runs = project.runs()
        if int(run) not in {int(r) for r in runs["run_id"]}:
            known = ", ".join(str(r) for r in runs["run_id"]) or "none"
            raise ProjectError(f"{project.path}: unknown run {run} (runs: {known})")
        return int(run)

    # -- connections and shared reads -------------------------------------------------
    def project(self) -> Any:
        """This thread's connection to the project."""
        project = getattr(self._local, "project", None)
        if project is None:
            from ..project import open_project

            project = open_project(self.path, lock_timeout=self.lock_timeout)
            self._local.project = project
        return project

    def _codebook(self) -> tuple[Any, str]:
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

    def corpus(self) -> Corpus:
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
            items: list[Item] = []
            for row in frame.itertuples(index=False):
                speaker = row.speaker if isinstance(row.speaker, str) and row.speaker else None
                items.append(Item(row.segment_id, row.doc_id, int(row.doc_version), int(row.start), int(row.end),
                                  row.text, speaker, str(row.role), len(items)))
            runs_frame = project.runs()
            runs = [(int(r.run_id), dict(r.params)) for r in runs_frame.itertuples(index=False)][::-1]
            by_doc: dict[str, list[Item]] = {}
            for it in items:
                by_doc.setdefault(it.doc_id, []).append(it)
            self._corpus = Corpus(fingerprint, items, {it.segment_id: it.index for it in items}, runs, by_doc)
            return self._corpus

    def _suggestions(self, corpus: Corpus, run_id: int | None) -> dict[tuple[str, int], list[tuple[str, float]]]:
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

    def run_for(self, viewer: Viewer, corpus: Corpus | None = None) -> int | None:
        """The suggestion run a viewer is shown (blind: the newest run no other coder trained)."""
        corpus = corpus or self.corpus()
        if not viewer.blind:
            return self.run if self.run is not None else (corpus.runs[0][0] if corpus.runs else None)
        candidates = [(rid, p) for rid, p in corpus.runs if self.run is None or rid == self.run]
        for run_id, params in candidates:
            if run_is_independent(params, viewer.coder):
                return run_id
        return None

    def queue(self, viewer: Viewer, corpus: Corpus | None = None) -> list[Item]:
        """Every segment the viewer reviews, in the viewer's order (filters not applied)."""
        return self._queue(viewer, corpus or self.corpus())[0]

    def _queue(self, viewer: Viewer, corpus: Corpus) -> tuple[list[Item], dict[str, int]]:
        """The viewer's queue and each segment's place in it, made once per run (and coder, in random order)."""
        run_id = self.run_for(viewer, corpus)
        cache_key = ("queue", run_id, viewer.coder if self.order == "random" else None)
        found = corpus.queues.get(cache_key)
        if found is not None:
            return found
        suggestions = self._suggestions(corpus, run_id)
        items = [it for it in corpus.items if self.include_interviewer or it.role != "interviewer"]
        if suggestions:
            items = [it for it in items if (it.segment_id, it.doc_version) in suggestions]
        if self.order == "random":
            items = _shuffled(items, f"{self.path.resolve()}\x1f{viewer.coder}")
        elif self.order == "active" and not viewer.blind and suggestions:
            from ..suggest.active import active_order

            keyed = [suggestions.get((it.segment_id, it.doc_version), []) for it in items]
            items = [items[i] for i in active_order(keyed)]
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
    def _filtered(self, queue: list[Item], states: Mapping[tuple[str, int], SegmentState],
                  suggestions: Mapping[tuple[str, int], list[tuple[str, float]]], filters: Filters) -> list[Item]:
        shown = []
        for it in queue:
            key = (it.segment_id, it.doc_version)
            state = states.get(key) or SegmentState()
            if filters.doc and it.doc_id != filters.doc:
                continue
            if filters.code and filters.code not in [c for c, _ in suggestions.get(key, [])] \
                    and filters.code not in state.verdicts:
                continue
            if filters.state != "all" and state.status != filters.state:
                continue
            shown.append(it)
        return shown

    @staticmethod
    def _next_open(shown: list[Item], states: Mapping[tuple[str, int], SegmentState], after: int) -> Item | None:
        """The first segment not yet decided after position ``after`` (wrapping), else the first skipped one."""
        n = len(shown)
        for wanted in ("new", "skipped"):
            for step in range(1, n + 1):
                it = shown[(after + step) % n]
                if (states.get((it.segment_id, it.doc_version)) or SegmentState()).status == wanted:
                    return it
        return None

    def locate(self, viewer: Viewer, segment_id: str | None, go: str = "here",
               filters: Filters = Filters()) -> dict[str, Any]:
        """The card to show: ``go`` is ``here`` (that segment, or where the coder left off), ``next`` or ``prev``."""
        return self._locate(viewer, segment_id, go, filters, self._codebook())

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
        shown = queue if unfiltered else self._filtered(queue, states, suggestions, filters)
        current: Item | None = None
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
                current = self._next_open(shown, states, -1)
        elif shown:
            anchor = position[segment_id]
            in_view = [anchor] if unfiltered else [i for i, it in enumerate(shown) if it.segment_id == segment_id]
            # a segment outside the filtered view (e.g. just decided) is placed by queue order
            after = in_view[0] if in_view else sum(1 for it in shown if position[it.segment_id] < anchor) - 1
            if go == "prev":
                current = shown[(after - 1) % len(shown)] if in_view else shown[after % len(shown)]
            else:
                current = self._next_open(shown, states, after)
        return self._card(viewer, corpus, run_id, suggestions, (queue, position), shown, states, last, current,
                          filters, codebook)

    def _card(self, viewer: Viewer, corpus: Corpus, run_id: int | None,
              suggestions: Mapping[tuple[str, int], list[tuple[str, float]]],
              queued: tuple[list[Item], dict[str, int]], shown: list[Item],
              states: Mapping[tuple[str, int], SegmentState], last: list[int], current: Item | None,
              filters: Filters, current_codebook: tuple[Any, str]) -> dict[str, Any]:
        codebook, codebook_version = current_codebook
        queue, position = queued
        total = len(queue)
        reviewed = skipped = 0
        for (seg_id, version), st in states.items():  # the coder's decisions, usually far fewer than the queue
            if seg_id in position and queue[position[seg_id]].doc_version == version:
                status = st.status
                reviewed += status == "reviewed"
                skipped += status == "skipped"
        card: dict[str, Any] = {
            "coder": viewer.coder, "blind": viewer.blind, "lead": viewer.lead,
            "codebook_version": codebook_version, "codebook_name": codebook.name,
            "run": None if viewer.blind else run_id, "has_run": run_id is not None,
            "progress": {"reviewed": reviewed, "skipped": skipped, "total": total},
            "in_view": len(shown), "filters": filters.query(), "last": last, "segment": None,
        }
        if current is None:
            return card
        key = (current.segment_id, current.doc_version)
        state = states.get(key) or SegmentState()
        same_doc = corpus.by_doc[current.doc_id]
        at = next(i for i, it in enumerate(same_doc) if it.index == current.index)

        def turn(it: Item) -> dict[str, Any]:
            return {"who": it.speaker or it.role, "role": it.role, "text": it.text}

        suggested = []
        for n, (code_id, score) in enumerate(suggestions.get(key, []), start=1):
            code = codebook.get(code_id)
            entry = {"n": n, "code_id": code_id, "name": code.name if code is not None else code_id,
                     "definition": code.definition if code is not None else "",
                     "parent": (codebook.get(code.parent).name if code is not None and code.parent
                                and codebook.get(code.parent) is not None else None),
                     "mine": state.verdicts.get(code_id)}
            if not viewer.blind:
                entry["score"] = f"{score:.2f}"
            suggested.append(entry)
        suggested_ids = {s["code_id"] for s in suggested}
        extra = [{"code_id": c, "name": codebook.get(c).name if codebook.get(c) is not None else c, "mine": v}
                 for c, v in state.verdicts.items() if c not in suggested_ids]
        card.update({
            "segment": {"segment_id": current.segment_id, "doc_id": current.doc_id, "speaker": current.speaker,
                        "role": current.role, "text": current.text, "start": current.start, "end": current.end},
            "queue_position": position[current.segment_id] + 1,
            "before": [turn(it) for it in same_doc[max(0, at - CONTEXT_BEFORE):at]],
            "after": [turn(it) for it in same_doc[at + 1:at + 1 + CONTEXT_AFTER]],
            "suggestions": suggested, "extra": extra,
            "status": state.status, "skipped": state.skipped, "notes": list(state.notes),
            "others": [] if viewer.blind else self._others(viewer.coder, current),
        })
        return card

    def _others(self, coder: str, item: Item) -> list[dict[str, Any]]:
        """Other coders' standing decisions and notes on a segment (never called for a blind view)."""
        project = self.project()
        log = project.decisions()
        log = log[(log["coder"] != coder) & (log["segment_id"] == item.segment_id)
                  & (log["doc_version"] == item.doc_version)]
        out = []
        for name in sorted(set(log["coder"])):
            state = coder_states(log[log["coder"] == name]).get((item.segment_id, item.doc_version))
            if state is None:
                continue
            codebook = project.codebook
            out.append({"coder": name, "status": state.status,
                        "accepted": [codebook.get(c).name if codebook.get(c) is not None else c
                                     for c in state.accepted],
                        "notes": state.notes})
        return out

    # -- actions ----------------------------------------------------------------------
    def _check_common(self, payload: Mapping[str, Any], current: str | None = None) -> str:
        key = payload.get("key")
        if not isinstance(key, str) or not KEY_PATTERN.match(key):
            raise RequestError("every deciding request needs a 'key': 8-64 letters, digits, - or _ "
                               "(made by the page, so that a retried request is recorded once)")
        version = payload.get("codebook_version")
        if current is None:
            current = self._codebook()[1]
        if version is not None and version != current:
            raise RequestError(f"the project's codebook changed since this page was loaded (now version "
                               f"{current}); nothing was recorded: reload the page", 409)
        return key

    @staticmethod
    def _note(payload: Mapping[str, Any]) -> str | None:
        note = payload.get("note")
        if note is None:
            return None
        if not isinstance(note, str):
            raise RequestError("note must be text")
        if len(note) > MAX_NOTE_CHARS:
            raise RequestError(f"note is longer than {MAX_NOTE_CHARS} characters")
        return note.strip() or None

    def decide(self, viewer: Viewer, payload: Mapping[str, Any]) -> dict[str, Any]:
        """One key press that decides: ``accept`` a code, ``reject`` codes, or ``skip``; returns the next card.

        ``payload``: ``key`` (client-made, unique per key press), ``action``,
        ``segment_id``, ``code_id`` (accept), ``code_ids`` (reject: default
        every shown suggestion not accepted), ``note``, ``stay`` (accept and stay
        on the segment), ``codebook_version`` and ``filters``. The coder is the
        viewer's, whatever the payload says.
        """
        codebook_now = self._codebook()
        key = self._check_common(payload, codebook_now[1])
        action = payload.get("action")
        segment_id = payload.get("segment_id")
        if not isinstance(segment_id, str):
            raise RequestError("segment_id must be text")
        filters = Filters.parse(payload.get("filters") or {})
        note = self._note(payload)
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
        else:
            raise RequestError(f"action must be accept, reject or skip, got {action!r}")
        ids = self._record(events, key)
        stay = bool(payload.get("stay")) and action == "accept"
        card = self._locate(viewer, segment_id, "here" if stay else "next", filters, codebook_now)
        return {"events": ids, "card": card}

    def _record(self, events: list[dict[str, Any]], key: str) -> list[int]:
        """Record one key press's events atomically; returns their ids once they are durable.

        Presses arriving together are committed in one transaction by the
        writer thread (one fsync for all of them); each caller still returns
        only after its own events are on disk.
        """
        return self._writer.submit(events, key)

    def _write_batch(self, project: Any, batch: list[tuple[list[dict[str, Any]], str]]) -> list[list[int]]:
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

    def _remember(self, corpus: Corpus, events: list[dict[str, Any]], before: int | None, ids: list[int]) -> None:
        """Apply just-recorded events to the coder's memory, if it was made exactly before them."""
        memory = self._coders.get(events[0]["coder"])
        if memory is None or memory.mark != before or not all(i > (before or 0) for i in ids):
            return  # a replayed key, or a memory that is not current: the next read reloads it
        for event in events:
            item = corpus.items[corpus.by_id[event["segment_id"]]]
            state = memory.states.setdefault((item.segment_id, item.doc_version), SegmentState())
            if event.get("note"):
                state.notes.append(event["note"])
            if event["verdict"] == "skip":
                state.skipped = True
            else:
                state.verdicts.pop(event["code_id"], None)
                state.verdicts[event["code_id"]] = event["verdict"]
        memory.mark, memory.last = max(ids), list(ids)

    def undo(self, viewer: Viewer, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Undo the coder's last key press (``target``: its event ids, as the page last showed them).

        Idempotent: when every target is already undone nothing more is undone.
        Returns the card of the undone segment and the note the undone
        decisions carried, so the page can put it back in the note box.
        """
        key = self._check_common(payload)
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

    # -- the lead's views ---------------------------------------------------------------
    def disagreements(self, include_resolved: bool = True) -> dict[str, Any]:
        """Segments where coders' standing codes differ, with every coder's codes and notes side by side."""
        project = self.project()
        corpus = self.corpus()
        codebook = project.codebook
        log = project.decisions()
        coders = sorted(c for c in set(log["coder"]) if c != self.adjudicator)
        per_coder = {c: coder_states(log[log["coder"] == c]) for c in coders}
        adjudicated = coder_states(log[log["coder"] == self.adjudicator])
        rows = []
        for it in corpus.items:
            key = (it.segment_id, it.doc_version)
            views = {c: per_coder[c][key] for c in coders if key in per_coder[c] and per_coder[c][key].reviewed}
            if len(views) < 2 or len({frozenset(v.accepted) for v in views.values()}) < 2:
                continue
            settled = adjudicated.get(key)
            if settled is not None and not settled.reviewed:
                settled = None
            if settled is not None and not include_resolved:
                continue
            union = sorted({c for v in views.values() for c in v.accepted}
                           | set(settled.accepted if settled else []))
            rows.append({
                "segment_id": it.segment_id, "doc_id": it.doc_id, "speaker": it.speaker or it.role,
                "text": it.text,
                "coders": [{"coder": c, "codes": [self._code_name(codebook, x) for x in v.accepted],
                            "notes": v.notes} for c, v in views.items()],
                "candidates": [{"code_id": c, "name": self._code_name(codebook, c),
                                "chosen": bool(settled and settled.verdicts.get(c) == "accept")} for c in union],
                "adjudicated": None if settled is None else [self._code_name(codebook, c) for c in settled.accepted],
            })
        return {"rows": rows, "coders": coders, "adjudicator": self.adjudicator,
                "codes": [{"code_id": c.id, "name": c.name} for c in codebook.leaves()],
                "codebook_version": codebook.version}

    @staticmethod
    def _code_name(codebook: Any, code_id: str) -> str:
        code = codebook.get(code_id)
        return code.name if code is not None else code_id

    def adjudicate(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Record the lead's settled codes for a segment as decisions of the adjudicator coder.

        ``payload``: ``key``, ``segment_id``, ``codes`` (the codes that apply).
        Each chosen code is accepted; each other code any coder (or an earlier
        adjudication) applied there is rejected.
        """
        key = self._check_common(payload)
        segment_id = payload.get("segment_id")
        codes = payload.get("codes")
        if not isinstance(segment_id, str):
            raise RequestError("segment_id must be text")
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise RequestError("codes must be a list of code ids")
        project = self.project()
        codebook = project.codebook
        for c in codes:
            if c not in codebook:
                raise RequestError(f"codebook {codebook.name!r} has no code {c!r}", 422)
        corpus = self.corpus()
        if segment_id not in corpus.by_id:
            raise RequestError(f"unknown segment {segment_id!r}", 404)
        item = corpus.items[corpus.by_id[segment_id]]
        log = project.decisions()
        here = log[(log["segment_id"] == segment_id) & (log["doc_version"] == item.doc_version)]
        applied: set[str] = set()
        for name in set(here["coder"]):
            state = coder_states(here[here["coder"] == name]).get((segment_id, item.doc_version))
            if state is not None:
                applied |= set(state.accepted)
        chosen = list(dict.fromkeys(codes))
        events = [{"coder": self.adjudicator, "segment_id": segment_id, "code_id": c, "verdict": "accept",
                   "source": "manual"} for c in chosen]
        events += [{"coder": self.adjudicator, "segment_id": segment_id, "code_id": c, "verdict": "reject",
                    "source": "manual"} for c in sorted(applied - set(chosen))]
        if not events:
            raise RequestError("choose at least one code (or reject them all by choosing none of several)", 422)
        ids = self._record(events, key)
        return {"events": ids, "accepted": chosen, "rejected": sorted(applied - set(chosen))}

    def agreement_html(self, n_boot: int = 500) -> str:
        """The agreement report (qcode.agreement's HTML) on the project as it stands now, adjudicator left out."""
        from ..agreement import project_report

        project = self.project()
        coders = [c for c in project.coders() if c != self.adjudicator]
        result = project_report(project, coders=coders, n_boot=n_boot)
        return result.to_html()

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


__all__ = ["ReviewService", "Viewer", "Filters", "RequestError", "run_is_independent", "coder_states",
           "EMPTY_LEARNED_STATE", "ORDERS", "STATES"]
