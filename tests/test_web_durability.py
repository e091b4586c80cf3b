"""No decision lost, none twice: three coders in three browser contexts interleave 50 decisions each while
the `qcode serve` process is killed (kill -9) with requests in flight and started again on the same port."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("playwright", reason="playwright is part of the test extra")

from web_support import chromium_session, larger_project, live_events


@pytest.fixture(scope="module")
def browser():
    yield from chromium_session()

QCODE = [sys.executable, "-c", "from qcode.cli import main; main()"]
CODERS = ("ana", "ben", "chiara")
KEYS = ("1", "2", "Space", "3", "a")   # one event per press, each moving to the next segment


def serve(project_path, port):
    proc = subprocess.Popen([*QCODE, "serve", str(project_path), *[a for c in CODERS for a in ("--coder", c)],
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        out.append(line)
        if line.startswith("Each link is secret"):
            return proc, "".join(out)
    proc.kill()
    raise AssertionError("qcode serve did not start: " + "".join(out) + proc.stderr.read())


def acks(page) -> int:
    return int(page.get_attribute("body", "data-acks") or 0)


def expected(key, suggested):
    if key == "Space":
        return (None, "skip")
    return (suggested[0 if key == "a" else int(key) - 1], "accept")


@pytest.mark.slow
def test_three_coders_and_a_restart_lose_nothing_and_record_nothing_twice(browser, tmp_path):
    project = larger_project(tmp_path / "study", documents=3, turns=20)
    proc, out = serve(project.path, 0)
    port = int(re.search(r"on http://127\.0\.0\.1:(\d+)", out).group(1))
    links = dict(re.findall(r"^  coder (\S+) .*?: (http://\S+)$", out, re.M))
    pages = {}
    queue = {}
    from qcode.web.service import ReviewService

    service = ReviewService(project.path)
    suggestions = project.suggestions()
    for coder in CODERS:
        page = browser.new_context().new_page()
        page.goto(links[coder])
        page.wait_for_selector("#card")
        pages[coder] = page
        queue[coder] = [it.segment_id for it in service.queue(service.viewer(coder))]
    pressed = {c: [] for c in CODERS}
    restarted = False
    try:
        for i in range(50):
            for coder in CODERS:
                page = pages[coder]
                assert page.get_attribute("#card", "data-seg") == queue[coder][i]
                key = KEYS[(i + CODERS.index(coder)) % len(KEYS)]
                shown = suggestions[suggestions["segment_id"] == queue[coder][i]].sort_values("rank")
                pressed[coder].append((queue[coder][i], *expected(key, list(shown["code_id"]))))
                page.keyboard.press(key)
            if i == 25:   # kill the server with the three requests in flight, then start it again
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                time.sleep(0.5)
                proc, _ = serve(project.path, port)
                restarted = True
            for coder in CODERS:
                pages[coder].wait_for_function("(n) => Number(document.body.dataset.acks || 0) >= n", arg=i + 1,
                                               timeout=30_000)
        for coder in CODERS:
            assert acks(pages[coder]) == 50
            assert pages[coder].get_attribute("body", "data-pending") == "0"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=15)
    assert restarted
    log = project.decisions()
    assert not log["verdict"].eq("undo").any()
    for coder in CODERS:
        mine = live_events(project, coder)
        got = [(r.segment_id, r.code_id if isinstance(r.code_id, str) else None, r.verdict)
               for r in mine.itertuples()]
        assert got == pressed[coder], f"{coder}: the log is not exactly the 50 acknowledged decisions"
    assert len(log) == 150
