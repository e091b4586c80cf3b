"""Helpers of the `qcode serve` tests: a sample project with hostile text, a live server, Debian's chromium."""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from qcode.document import PARTICIPANT, Document, Segment, Turn, segment_id
from qcode.project.sample import build_sample_project

CHROMIUM = os.environ.get("QCODE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
HOSTILE_DOC = "site-c/hostile.txt"
HOSTILE_SAID = [
    'I typed <script>window.__pwned = 1</script> into the form, and it stayed there.',
    'The picture was <img src=x onerror="window.__pwned = 2"> broken & "quoted" \'too\'.',
]


def add_hostile_document(project) -> list[str]:
    """A transcript whose text holds a script tag and an onerror attribute; returns its segment ids."""
    text, turns = "", []
    for said in HOSTILE_SAID:
        start = len(text) + len("P3: ")
        text += f"P3: {said}\n"
        turns.append(Turn(start, start + len(said), "P3", PARTICIPANT))
    project.add_documents([Document(HOSTILE_DOC, text, turns, source=HOSTILE_DOC)])
    segments = [Segment(segment_id(HOSTILE_DOC, "turn", t.start, t.end), HOSTILE_DOC, t.start, t.end,
                        text[t.start:t.end], "turn", t.speaker, t.role, i) for i, t in enumerate(turns)]
    project.add_segments(segments)
    return [s.id for s in segments]


def sample_project(path: Path, hostile: bool = False):
    """The sample project (two transcripts, six suggested segments); with ``hostile``, a third document and a
    second run that also covers it."""
    project = build_sample_project(path)
    if hostile:
        ids = add_hostile_document(project)
        rows = [(s, c, sc, r) for s, c, sc, r in
                ((row.segment_id, row.code_id, row.score, row.rank) for row in project.suggestions().itertuples())]
        rows += [(ids[0], "communication", 0.57, 1), (ids[0], "funding", 0.21, 2),
                 (ids[1], "staffing", 0.44, 1), (ids[1], "coordination", 0.33, 2)]
        project.add_run({"model": "hand-made", "note": "with the hostile transcript"}, rows)
    return project


class LiveServer:
    """A `qcode serve` running in a thread of the test process, on a free loopback port."""

    def __init__(self, plan):
        import uvicorn

        from qcode.web.app import create_app

        self.plan = plan
        app = create_app(plan.service, plan.tokens, allowed_hosts=plan.allowed_hosts(), candidates=plan.candidates)
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [plan.sock]}, daemon=True)

    @property
    def base(self) -> str:
        return self.plan.base

    def url(self, access, **query) -> str:
        from qcode.web.app import link

        return link(self.base, access, **query)

    def coder(self, name: str):
        return next(a for a in self.plan.tokens.all() if a.coder == name and not a.is_lead)

    @property
    def lead(self):
        return self.plan.lead

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.plan.sock.close()


@contextlib.contextmanager
def live_server(project_path, coders=("ana", "ben"), **options) -> Iterator[LiveServer]:
    from qcode.web.server import prepare

    plan = prepare(project_path, coders=coders, port=0, **options)
    server = LiveServer(plan).start()
    try:
        yield server
    finally:
        server.stop()


def launch_chromium(playwright):
    """Debian's chromium driven by Playwright (never Playwright's own browser download)."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (scripts/install.sh does: "
                    "apt-get install -y chromium)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def chromium_session() -> Iterator:
    """Yield a running chromium for a module-scoped ``browser`` fixture of a test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


def live_events(project, coder: str | None = None):
    """The decisions in effect (not undone, no undo events), oldest first."""
    log = project.decisions(coder)
    return log[(~log["undone"]) & (log["verdict"] != "undo")].reset_index(drop=True)


CODES = ("funding", "staffing", "communication", "coordination")


def larger_project(path: Path, documents: int = 3, turns: int = 24):
    """A project on the sample codebook with ``documents`` × ``turns`` participant turns, each with three
    hand-made suggestions, for tests and benchmarks that need many segments."""
    from qcode.project import init_project
    from qcode.project.sample import sample_codebook

    project = init_project(path, codebook=sample_codebook())
    docs, segments, rows = [], [], []
    for d in range(documents):
        doc_id = f"site-{d}/interview-{d:02d}.txt"
        text, spans = "", []
        for t in range(turns):
            said = f"Turn {t} of interview {d}: the team talked about money, staff and who calls whom ({t * 7 % 11})."
            start = len(text) + len("P1: ")
            text += f"P1: {said}\n"
            spans.append(Turn(start, start + len(said), "P1", PARTICIPANT))
        docs.append(Document(doc_id, text, spans, source=doc_id))
        for i, turn in enumerate(spans):
            seg = Segment(segment_id(doc_id, "turn", turn.start, turn.end), doc_id, turn.start, turn.end,
                          text[turn.start:turn.end], "turn", turn.speaker, turn.role, i)
            segments.append(seg)
            for rank in range(3):
                rows.append((seg.id, CODES[(i + d + rank) % 4], round(0.9 - 0.2 * rank - 0.01 * (i % 5), 3), rank + 1))
    project.add_documents(docs)
    project.add_segments(segments)
    project.add_run({"model": "hand-made", "note": "larger test project"}, rows)
    return project
