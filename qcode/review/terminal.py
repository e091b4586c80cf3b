"""``qcode review``: keyboard-driven review of suggestions by a (second) coder.

The session walks a queue of segments (those with suggestions in the chosen
run, or every segment when the project has no run yet), shows each with its
neighbouring turns, document, speaker and the suggested codes with their
definitions, and records one decision per key press through
:meth:`Project.decide` — durable before the next screen is drawn.

Keys::

    a        accept the top suggestion          1-9   accept suggestion n
    r        reject the suggestions not accepted s     skip (decide later)
    u        undo your last decision             c     add another code (from the codebook)
    n        write a note (kept with the next decision on this segment)
    Enter    next segment without deciding       ?     help
    q        quit (everything decided is already saved)

Single keys are read raw from a terminal (termios); when stdin is not a
terminal each line of input is one key (an empty line is Enter), so the
review can also be scripted.

>>> import tempfile
>>> from qcode.project.sample import build_sample_project
>>> project = build_sample_project(tempfile.mkdtemp() + "/study")
>>> session = ReviewSession(project, "bob", order="uncertain", blind=False)
>>> "Suggested codes" in session.render()
True
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from ..errors import ProjectError
from ..project.store import Project
from ..project.validation import check_coder
from ..safetext import for_terminal
from .core import TERMINAL_ORDERS, QueueItem, order_queue
from .core import blind_run as choose_blind_run

CONTEXT_CHARS = 240

HELP = """Keys
  a        accept the top suggestion
  1-9      accept suggestion number n and go on
  Shift+1-9 (! @ # ...)  accept suggestion n and stay, to give this segment a second code
  r        reject every shown suggestion you have not accepted, then go on
  s        skip this segment (recorded; skipped segments come back after the undecided ones)
  u        undo your last decision (goes back to it; a note it carried is kept for the next one)
  b or ←   back to the previous segment
  c        add another code from the codebook (manual coding of this segment)
  n        write a note; it is stored with your next decision on this segment
  Enter    next segment without recording anything
  ?        this help
  q        quit: every decision is already saved; `qcode review` resumes here
"""

KEY_LINE = ("[a/1-9] accept  [Shift+1-9] accept, stay  [r] reject  [s] skip  [u] undo  [b/←] back  "
            "[c] add code  [n] note  [Enter] next  [?] help  [q] quit")
SHIFTED_DIGITS = "!@#$%^&*("  # Shift+1..9 on a US keyboard: accept suggestion n and stay
LEFT = "\x1b[D"


def build_queue(segments, suggestions, order: str = "document", top_k: int = 5,
                include_interviewer: bool = False) -> list[QueueItem]:
    """The review queue from the segments and suggestions frames of a project.

    Segments with suggestions are queued (all segments when ``suggestions``
    is empty). ``order="uncertain"`` puts the smallest top-1/top-2 margin first;
    ``order="active"`` does so taking each top code in turn (:mod:`qcode.suggest.active`).
    """
    if order not in TERMINAL_ORDERS:
        raise ProjectError(f"--order must be one of {', '.join(TERMINAL_ORDERS)}, got {order!r}")
    # keyed by (segment id, document version): a run made before a transcript changed
    # does not lend its suggestions to the new text
    by_segment: dict[tuple[str, int], list[tuple[str, float, int]]] = {}
    for row in suggestions.itertuples(index=False):
        key = (row.segment_id, int(row.doc_version))
        by_segment.setdefault(key, []).append((row.code_id, float(row.score), int(row.rank)))
    items: list[QueueItem] = []
    for index, row in enumerate(segments.itertuples(index=False)):
        key = (row.segment_id, int(row.doc_version))
        if row.role == "interviewer" and not include_interviewer:
            continue
        if len(suggestions) and key not in by_segment:
            continue
        ranked = sorted(by_segment.get(key, []), key=lambda t: (t[2], -t[1]))[:top_k]
        items.append(QueueItem(row.segment_id, row.doc_id, key[1], int(row.start), int(row.end), row.text,
                               None if row.speaker is None or row.speaker != row.speaker else str(row.speaker),
                               row.role, index, [(code, score) for code, score, _ in ranked]))
    return order_queue(items, order)


def blind_run(project: Project, coder: str, run: int | None = None) -> int:
    """The run a blind coder sees: the newest (or the given) run whose model no other coder's decisions trained.

    The same choice as ``qcode serve`` (:func:`qcode.review.core.blind_run`); a
    given run trained by others, or none left, is a one-line error naming the coders.
    """
    runs = project.runs()
    rows = [(int(r.run_id), dict(r.params)) for r in runs.itertuples(index=False)][::-1]
    chosen = choose_blind_run(rows, coder, run)
    if chosen is not None:
        return chosen
    for run_id, params in rows:
        if run is not None and run_id == run:
            others = ", ".join(str(c) for c in params.get("learned_from") or []) or "unnamed coders"
            raise ProjectError(f"run {run_id} learned from {others}: in blind mode {coder} sees only runs trained on "
                               f"the codebook or on {coder}'s own decisions (review with --no-blind to see it)")
    raise ProjectError(f"{project.path}: every suggestion run learned from other coders' decisions; make one for "
                       f"{coder} with `qcode suggest ... --project {project.path} --learn` (per-coder models)")


def _who(row: Any) -> str:
    """The speaker of a segments-frame row, else its role (missing values may be None or NaN)."""
    speaker = row["speaker"]
    return speaker if isinstance(speaker, str) and speaker else str(row["role"])


def _short(text: str, limit: int = CONTEXT_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class ReviewSession:
    """State and actions of one coder's review; rendering is pure text, I/O stays in :func:`run_review`."""

    def __init__(self, project: Project, coder: str, order: str = "document", blind: bool = True,
                 hide_scores: bool = False, run: int | None = None, top_k: int = 5,
                 include_interviewer: bool = False):
        self.project = project
        self.coder = check_coder(coder)
        known = project.coders()
        if self.coder not in known:
            similar = [c for c in known if c.casefold() == self.coder.casefold()]
            if similar:
                raise ProjectError(f"coder {self.coder!r} is new, but the project has the coder {similar[0]!r}: did "
                                   f"you mean {similar[0]!r}? (names are kept as written, so {self.coder!r} would "
                                   "start a second coder)")
        from ..suggest.active import check_order

        check_order(order, blind)
        self.blind = blind
        self.hide_scores = hide_scores
        self.order = order
        self.codebook = project.codebook
        self.run = project.latest_run() if run is None else project.check_run(run)
        if blind and self.run is not None:
            self.run = blind_run(project, self.coder, self.run if run is not None else None)
        suggestions = project.suggestions(self.run) if self.run is not None else project.suggestions()
        self.segments = project.segments()
        self.queue = build_queue(self.segments, suggestions, order=order, top_k=top_k,
                                 include_interviewer=include_interviewer)
        if not self.queue:
            raise ProjectError(f"{project.path}: nothing to review (no segments"
                               f"{'' if self.run is None else f' with suggestions in run {self.run}'})")
        self._position = {item.segment_id: i for i, item in enumerate(self.queue)}
        self.pending_note: str | None = None
        self.message = ""
        self.session_decisions = 0
        self.last_batch: list[int] = []  # event ids of the last multi-decision key (r), undone together
        self.history: list[int] = []  # queue indexes shown before, for b / ←
        self.index = self.first_open(0)

    # -- state -------------------------------------------------------------------
    def my_live_events(self) -> list[dict[str, Any]]:
        """This coder's decisions in effect (not undone), oldest first."""
        return self.project.live_decisions(self.coder)

    def done(self) -> set[str]:
        """Queued segment ids this coder has decided on (any live decision)."""
        return {e["segment_id"] for e in self.my_live_events() if e["segment_id"] in self._position}

    def skipped(self) -> set[str]:
        """Queued segment ids this coder has only skipped (no accept or reject in effect)."""
        live = self.my_live_events()
        decided = {e["segment_id"] for e in live if e["verdict"] != "skip"}
        return {e["segment_id"] for e in live if e["segment_id"] in self._position} - decided

    def first_open(self, start: int) -> int | None:
        """The first undecided queue index at or after ``start``, wrapping around; then the first one only
        skipped (skipped segments come back once every other one is decided); None when all are done."""
        done = self.done()
        n = len(self.queue)
        for wanted in (lambda s: s not in done, self.skipped().__contains__):
            for step in range(n):
                i = (start + step) % n
                if wanted(self.queue[i].segment_id):
                    return i
        return None

    def _go(self, index: int | None) -> None:
        if self.index is not None and index != self.index:
            self.history.append(self.index)
        self.index = index

    def back(self) -> None:
        """Show the segment shown before this one (the previous one in the queue at the start)."""
        while self.history and self.history[-1] == self.index:
            self.history.pop()
        if self.history:
            self.index = self.history.pop()
        elif self.index is not None and self.index > 0:
            self.index -= 1
        else:
            self.message = "this is the first segment"
            return
        self.message = "back to the previous segment"

    @property
    def current(self) -> QueueItem | None:
        return None if self.index is None else self.queue[self.index]

    def _on_screen(self) -> int:
        """The index of the segment on screen; the actions that decide on it are offered only while there is one."""
        if self.index is None:
            raise RuntimeError("no segment on screen")
        return self.index

    def _here(self) -> QueueItem:
        return self.queue[self._on_screen()]

    # -- actions -----------------------------------------------------------------
    def _record(self, code_id: str | None, verdict: str, from_run: bool) -> int:
        item = self._here()
        note, self.pending_note = self.pending_note, None
        event = self.project.decide(self.coder, item.segment_id, code_id, verdict, note=note,
                                    run_id=self.run if from_run else None)
        self.session_decisions += 1
        return event

    def _advance(self) -> None:
        self._go(self.first_open(self._on_screen() + 1))

    def accept(self, n: int, stay: bool = False) -> None:
        """Accept the n-th shown suggestion (1-based) and go on (or, with ``stay``, stay for another code)."""
        item = self._here()
        if not 1 <= n <= len(item.suggestions):
            self.message = f"no suggestion {n} here (there are {len(item.suggestions)})"
            return
        code_id = item.suggestions[n - 1][0]
        self._record(code_id, "accept", from_run=True)
        self.message = f"accepted {self._name(code_id)}" + (" (staying for another code)" if stay else "")
        if not stay:
            self._advance()

    def reject(self) -> None:
        """Reject every shown suggestion this coder has not accepted here, and go on."""
        item = self._here()
        if not item.suggestions:
            self.message = "no suggestions to reject here (use s to skip or c to add a code)"
            return
        accepted = self._my_codes(item.segment_id, "accept")
        rejected = [code for code, _ in item.suggestions if code not in accepted]
        with self.project.transaction():
            self.last_batch = [self._record(code, "reject", from_run=True) for code in rejected]
        self.message = f"rejected {', '.join(self._name(c) for c in rejected) or 'nothing'}"
        self._advance()

    def skip(self) -> None:
        self._record(None, "skip", from_run=False)
        self.message = "skipped"
        self._advance()

    def next(self) -> None:
        """Move on without deciding (a pending note is kept as a skip so it is not lost)."""
        if self.pending_note:
            self._record(None, "skip", from_run=False)
            self.message = "note saved with a skip"
        nxt = self.first_open(self._on_screen() + 1)
        if nxt == self.index:
            self.message = "this is the last segment you have not decided on"
        self._go(nxt)

    def undo(self) -> None:
        """Undo the last key's decisions (all rejections of one r), appending undo events."""
        last = self.project.last_decision(self.coder)
        if last is None:
            self.message = "nothing to undo"
            return
        undone = [last]
        with self.project.transaction():
            self.project.undo(self.coder)
            while undone[-1]["event_id"] in self.last_batch:
                previous = self.project.last_decision(self.coder)
                if previous is None or previous["event_id"] not in self.last_batch:
                    break
                self.project.undo(self.coder)
                undone.append(previous)
        self.last_batch = []
        what = ", ".join(e["verdict"] + (f" {self._name(e['code_id'])}" if e["code_id"] else "") for e in undone)
        self.message = f"undid: {what}"
        note = next((e["note"] for e in undone if e.get("note")), None)
        if note:  # the note goes back with the decision, to be saved with the next one
            self.pending_note = note
            self.message += " (its note is kept for your next decision here)"
        if last["segment_id"] in self._position:
            self._go(self._position[last["segment_id"]])

    def add_code(self, answer: str) -> None:
        """Accept a code picked from the codebook (by list number, id or name) for this segment."""
        answer = answer.strip()
        if not answer:
            self.message = "no code added"
            return
        leaves = self.codebook.leaves()
        code = None
        if answer.isdigit() and 1 <= int(answer) <= len(leaves):
            code = leaves[int(answer) - 1]
        else:
            code = self.codebook.find(answer)
        if code is None:
            self.message = f"no code {answer!r} in codebook {self.codebook.name!r}"
            return
        suggested = {c for c, _ in self._here().suggestions}
        self._record(code.id, "accept", from_run=code.id in suggested)
        self.message = f"added {code.name}"

    def set_note(self, text: str) -> None:
        text = text.strip()
        self.pending_note = text or None
        self.message = "note kept for your next decision here" if text else "note cleared"

    # -- rendering -----------------------------------------------------------------
    def _name(self, code_id: str | None) -> str:
        code = self.codebook.get(code_id) if code_id else None
        return code.name if code is not None else str(code_id)

    def _my_codes(self, segment_id: str, verdict: str) -> list[str]:
        return [e["code_id"] for e in self.my_live_events() if e["segment_id"] == segment_id
                and e["verdict"] == verdict and e["code_id"]]

    def _neighbours(self, item: QueueItem) -> tuple[Any, Any]:
        same = self.segments[self.segments["doc_id"] == item.doc_id]
        before = same[same["end"] <= item.start].tail(1)
        after = same[same["start"] >= item.end].head(1)
        return (before.iloc[0] if len(before) else None), (after.iloc[0] if len(after) else None)

    def progress(self) -> tuple[int, int]:
        return len(self.done()), len(self.queue)

    def render(self, width: int = 100, height: int | None = None) -> str:  # the loop passes the real size
        """The screen for the current segment, as plain text.

        With ``height`` the screen fits in that many rows: definitions, then
        the neighbouring turns, then the end of the segment's own text are cut
        (marked …), never the header, the suggestions or the keys.
        """
        done, total = self.progress()
        pct = 100 * done // total
        skipped = len(self.skipped())
        lines = [f"qcode review | coder {self.coder} | {done}/{total} reviewed ({pct}%)"
                 f"{f', {skipped} skipped' if skipped else ''} | order {self.order}"
                 f"{' | blind' if self.blind else ''}"]
        if self.index is None:
            lines += ["", f"All {total} segments reviewed. Press u to undo your last decision, q to quit."]
            if self.message:
                lines += ["", f"» {self.message}"]
            return _fit(lines, width)
        item = self.queue[self.index]
        speaker = f"{item.speaker} ({item.role})" if item.speaker else item.role
        lines.append(f"segment {self.index + 1} of {total} | document {item.doc_id} | speaker {speaker} | "
                     f"characters {item.start}-{item.end}")
        lines.append("-" * min(width, 100))
        before, after = self._neighbours(item)
        wrap = textwrap.TextWrapper(width=width - 4, initial_indent="    ", subsequent_indent="    ")
        head = len(lines)
        context: list[tuple[str, list[str]]] = []
        if before is not None:
            context.append(("before", _fit([f"  ({_who(before)}) " + _short(before["text"])], width).split("\n")))
        context.append(("segment", [">>> " + line[4:] for line in wrap.wrap(" ".join(item.text.split()))]
                        or [">>> (empty)"]))
        if after is not None:
            context.append(("after", _fit([f"  ({_who(after)}) " + _short(after["text"])], width).split("\n")))
        definitions: list[int] = []
        lines.append("-" * min(width, 100))
        if item.suggestions:
            run = f" (run {self.run})" if self.run is not None else ""
            lines.append(f"Suggested codes{run}:")
            for n, (code_id, score) in enumerate(item.suggestions, start=1):
                code = self.codebook.get(code_id)
                name = code.name if code is not None else code_id
                shown = "" if self.hide_scores else f"  {score:.2f}"
                lines.append(f"  {n}. {name} [{code_id}]{shown}")
                if code is not None and code.definition:
                    definitions.append(len(lines))
                    lines.append(f"       {_short(code.definition, width - 8)}")
        else:
            lines.append("No suggestions for this segment: press c to code it, s to skip.")
        mine = self.my_live_events()
        here = [e for e in mine if e["segment_id"] == item.segment_id]
        if here:
            lines.append("Your decisions here: " + "; ".join(
                f"{e['verdict']} {self._name(e['code_id'])}" if e["code_id"] else e["verdict"] for e in here))
        if not self.blind:
            lines.append("Other coders: " + (self._others(item) or "none yet"))
        if self.pending_note:
            lines.append(f"Note (saved with your next decision): {self.pending_note}")
        if self.message:
            lines.append(f"» {self.message}")
        lines.append(KEY_LINE)
        return _fit_height(lines[:head], context, lines[head:], definitions, width, height)

    def _others(self, item: QueueItem) -> str:
        codings = self.project.codings()
        if codings.empty:
            return ""
        here = codings[(codings["doc_id"] == item.doc_id) & (codings["start"] == item.start)
                       & (codings["end"] == item.end) & (codings["coder"] != self.coder) & (~codings["stale"])]
        parts: dict[str, list[str]] = {}
        for row in here.itertuples(index=False):
            parts.setdefault(row.coder, []).append(row.code_name)
        return "; ".join(f"{coder}: {', '.join(names)}" for coder, names in sorted(parts.items()))


# -- terminal I/O ------------------------------------------------------------------

class KeyReader:
    """Reads one key at a time: raw single characters on a terminal, else one line per key."""

    def __init__(self, stream: TextIO = sys.stdin):
        self.stream = stream
        try:
            self.tty = stream.isatty()
        except (AttributeError, ValueError):
            self.tty = False

    def key(self) -> str:
        """The next key: a single character, ``"\\n"`` for Enter, ``"q"`` at end of input."""
        if not self.tty:
            line = self.stream.readline()
            if line == "":
                return "q"
            line = line.rstrip("\r\n")
            return line[:1] if line else "\n"
        import termios
        import tty

        fd = self.stream.fileno()
        saved = termios.tcgetattr(fd)
        try:
            tty.setraw(fd, termios.TCSANOW)  # TCSAFLUSH (the default) threw away keys typed ahead
            ch = os.read(fd, 1).decode("utf-8", "replace")
            if ch == "\x1b":  # swallow the rest of an escape sequence (arrow keys)
                import select

                rest = b""
                while select.select([fd], [], [], 0.02)[0]:
                    rest += os.read(fd, 8)
                return LEFT if rest[:2] in (b"[D", b"OD") else ""
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        if ch in ("\x03", "\x04"):
            return "q"
        return "\n" if ch in ("\r", "\n", " ") else ch

    def line(self, prompt: str, out: TextIO) -> str:
        """A whole line of text (the terminal stays in normal, echoing mode)."""
        out.write(prompt)
        out.flush()
        line = self.stream.readline()
        return line.rstrip("\r\n")


def _code_list(codebook: Any) -> str:
    leaves = codebook.leaves()
    return "\n".join(f"  {n:3d}. {code.name} [{code.id}]" for n, code in enumerate(leaves, start=1))


def run_review(project: Project, coder: str, order: str = "document", blind: bool = True, hide_scores: bool = False,
               run: int | None = None, top_k: int = 5, include_interviewer: bool = False,
               stdin: TextIO | None = None, stdout: TextIO | None = None) -> ReviewSession:
    """Run the interactive review loop until the coder quits; returns the session."""
    stdin = stdin or sys.stdin
    out = stdout or sys.stdout
    session = ReviewSession(project, coder, order=order, blind=blind, hide_scores=hide_scores, run=run,
                            top_k=top_k, include_interviewer=include_interviewer)
    keys = KeyReader(stdin)
    clear = "\x1b[2J\x1b[H" if keys.tty and out.isatty() else "\n"
    with _one_live_session(project, session.coder):
        try:
            _loop(session, keys, out, clear)
        except KeyboardInterrupt:  # Ctrl-C between keys: every returned decision is already durable
            out.write("\ninterrupted")
    done, total = session.progress()
    out.write(for_terminal(f"\nsaved {session.session_decisions} decisions this session; {done}/{total} reviewed by "
                           f"{session.coder}. Run the same command to resume.\n"))
    out.flush()
    return session


@contextmanager
def _one_live_session(project: Project, coder: str) -> Iterator[None]:
    """Hold a per-coder lock for the session: a second live review by the same coder is refused.

    Two sessions of one coder each show the same cards and each record them, so
    the log got duplicate decisions. The lock is an OS lock on a file in the
    project folder, released by the OS when the process ends, however it ends.
    """
    import fcntl
    import hashlib

    name = hashlib.sha256(coder.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    path = Path(project.path) / f".review-{name}.lock"
    try:
        handle = open(path, "a+")
    except OSError:
        yield  # a read-only project cannot be written by a second session either
        return
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ProjectError(for_terminal(f"{project.path}: coder {coder!r} already has a live review session "
                                            "(finish it, or quit it with q, before starting another)",
                                            one_line=True)) from None
        yield
    finally:
        handle.close()


def _loop(session: ReviewSession, keys: KeyReader, out: TextIO, clear: str) -> None:
    """Draw, read a key, act; until q (or Ctrl-C / end of input).

    A write that fails (database locked for too long, read-only, disk full)
    is shown on the screen as not saved; the coder can retry or quit.
    """
    from ..errors import QcodeError

    while True:
        out.write(clear + for_terminal(session.render(width=_terminal_width(), height=_terminal_height())) + "\n")  # no file drives the terminal
        out.flush()
        key = keys.key()
        session.message = ""
        if key == "q":
            break
        try:
            _act(session, key, keys, out, clear)
        except QcodeError as exc:
            session.message = f"NOT SAVED: {exc}"


def _act(session: ReviewSession, key: str, keys: KeyReader, out: TextIO, clear: str) -> None:
    """Carry out one key."""
    actions: dict[str, Callable[[], None]] = {"r": session.reject, "s": session.skip, "\n": session.next}
    if key == "?":
        out.write(clear + HELP + "\npress any key to go back")
        out.flush()
        keys.key()
        return
    if key == "u":
        session.undo()
        return
    if key in ("b", LEFT):
        session.back()
        return
    if session.current is None:
        session.message = "all segments are reviewed: u to undo, q to quit"
        return
    if key == "a":
        session.accept(1)
    elif key.isdigit() and key != "0":
        session.accept(int(key))
    elif key and key in SHIFTED_DIGITS:
        session.accept(SHIFTED_DIGITS.index(key) + 1, stay=True)
    elif key in actions:
        actions[key]()
    elif key == "c":
        out.write("\n" + for_terminal(_code_list(session.codebook)) + "\n")
        session.add_code(keys.line("code number, id or name (Enter to cancel): ", out))
    elif key == "n":
        session.set_note(keys.line("note: ", out))
    elif key:
        session.message = f"unknown key {key!r}: press ? for help"


def _fit(lines: list[str], width: int) -> str:
    """Join screen lines, wrapping any that are wider than the terminal (keeping their indent)."""
    import textwrap

    out: list[str] = []
    for line in lines:
        if len(line) <= width:
            out.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        out.extend(textwrap.wrap(line, width, subsequent_indent=indent + "  ", break_long_words=True) or [""])
    return "\n".join(out)


def _fit_height(head: list[str], context: list[tuple[str, list[str]]], tail: list[str], definitions: list[int],
                width: int, height: int | None) -> str:
    """The screen in at most ``height - 1`` rows (the last row keeps the cursor): what is cut is, in turn,
    the code definitions, the neighbouring turns, and the end of the segment's text; never the header."""
    head_rows = _fit(head, width).split("\n")
    if height is None:
        return "\n".join(head_rows + [row for _, rows in context for row in rows] + _fit(tail, width).split("\n"))
    budget = max(1, height - 1)
    tail_rows = [_fit([line], width).split("\n") for line in tail]
    kept_tail = list(range(len(tail)))

    def total() -> int:
        return (len(head_rows) + sum(len(rows) for _, rows in context)
                + sum(len(tail_rows[i]) for i in kept_tail))

    for index in definitions:  # tail indexes of the definition lines, counted from the separator
        if total() <= budget:
            break
        kept_tail.remove(index - len(head))
    for kind in ("before", "after"):
        if total() > budget:
            context = [(k, rows) for k, rows in context if k != kind]
    if total() > budget:
        others = total() - sum(len(rows) for k, rows in context if k == "segment")
        room = max(1, budget - others)
        context = [(k, rows if k != "segment" or len(rows) <= room else
                    [*rows[:room - 1], rows[room - 1][: max(1, width - 1)].rstrip() + "…"]) for k, rows in context]
    body = [row for _, rows in context for row in rows]
    return "\n".join(head_rows + body + [row for i in kept_tail for row in tail_rows[i]])


def _terminal_height() -> int | None:
    """Rows of the terminal the review is drawn in, or None when stdout is not a terminal."""
    import os
    import sys

    try:
        return max(10, os.get_terminal_size(sys.stdout.fileno()).lines)
    except (OSError, ValueError):
        return None


def _terminal_width() -> int:
    """Columns of the terminal the review is drawn in (at least 40, at most 120)."""
    import os
    import shutil
    import sys

    try:  # the terminal itself first: a COLUMNS inherited from a parent shell may be stale
        columns = os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError):
        columns = shutil.get_terminal_size((100, 24)).columns
    return max(40, min(120, columns))
