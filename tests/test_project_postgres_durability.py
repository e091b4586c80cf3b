"""Durability on a real PostgreSQL server with real processes: concurrent writers, a SIGKILLed writer, and
the server itself stopped (``pg_ctl stop -m immediate``) and restarted mid-run. Every acknowledged decision
is stored exactly once; a decision whose acknowledgement was lost with a dead writer is there at most once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from qcode.project import init_project, open_project
from qcode.project.sample import sample_codebook, sample_documents, sample_suggestions

pytestmark = pytest.mark.slow

# A writer: waits for the start file, then records N decisions as its own role, each with an idempotency
# key; a failure (the server gone) is retried with the same key until it succeeds, and the event id is
# printed (flushed) only after decide() has returned.
WRITER = textwrap.dedent("""
    import os, sys, time
    from qcode.errors import ProjectError
    from qcode.project import open_project
    url, coder, n, start_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    deadline = time.monotonic() + 240
    def retry(call):
        while True:
            try:
                return call()
            except ProjectError as exc:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    project = retry(lambda: open_project(url))
    segments = project.segments()
    segments = segments[segments["role"] == "participant"]["segment_id"].tolist()
    codes = ["funding", "staffing", "communication", "coordination"]
    print("ready", flush=True)
    while not os.path.exists(start_file):
        time.sleep(0.005)
    i = 0
    while n < 0 or i < n:
        verdict = "accept" if i % 3 else "reject"
        event = retry(lambda: project.decide(coder, segments[i % len(segments)], codes[i % len(codes)], verdict,
                                             note=f"{coder} #{i}", event_key=f"{coder}-{i}"))
        print(event, flush=True)
        i += 1
""")


def team_project(pg_server, pg_url, coders):
    project = init_project(pg_url, codebook=sample_codebook())
    docs, segments = sample_documents()
    project.add_documents(docs)
    project.add_segments(segments)
    project.add_run({"model": "hand-made"}, sample_suggestions(segments))
    dbname = pg_url.split("@/")[1].split("?")[0]
    urls = {}
    for coder in coders:
        try:
            pg_server.create_role(coder, f"{coder}-pw")
        except Exception:
            pass  # made by an earlier test of this session
        project.grant_coder(coder)
        urls[coder] = pg_server.url(coder, f"{coder}-pw", dbname)
    return project, urls


class Writer:
    def __init__(self, url, coder, n, start_file):
        self.coder = coder
        self.proc = subprocess.Popen([sys.executable, "-c", WRITER, url, coder, str(n), str(start_file)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready", self.proc.stderr.read()
        self.acked: list[int] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.acked.append(int(line))

    def finish(self, timeout=300):
        err = self.proc.stderr.read()
        self.proc.wait(timeout=timeout)
        self.reader.join(timeout=10)
        return self.proc.returncode, err


def check_exactly_acknowledged(pg_url, writers, n, killed=()):
    log = open_project(pg_url).decisions()
    assert log["event_id"].is_unique
    for writer in writers:
        mine = log[log["coder"] == writer.coder]
        stored = mine["event_id"].tolist()
        notes = mine["note"].tolist()
        assert len(set(notes)) == len(notes), f"{writer.coder}: a decision stored twice"
        if writer.coder in killed:
            assert set(writer.acked) <= set(stored)
            assert len(stored) - len(writer.acked) <= 1  # the one in flight when the kill came, at most
            assert notes == [f"{writer.coder} #{i}" for i in range(len(stored))]
        else:
            assert stored == writer.acked
            assert notes == [f"{writer.coder} #{i}" for i in range(n)]
    return log


def test_four_writers_500_decisions_each_at_once(tmp_path, pg_server, pg_url):
    coders = [f"coder{i}" for i in range(4)]
    _, urls = team_project(pg_server, pg_url, coders)
    start = tmp_path / "go"
    n = 500
    writers = [Writer(urls[c], c, n, start) for c in coders]
    start.touch()
    for writer in writers:
        rc, err = writer.finish()
        assert rc == 0, err
    log = check_exactly_acknowledged(pg_url, writers, n)
    assert len(log) == 4 * n
    order = log["coder"].tolist()
    assert sum(1 for a, b in zip(order, order[1:]) if a != b) > 20  # they really interleaved


def test_sigkilled_writer_and_server_crash_mid_run(tmp_path, pg_server, pg_url):
    coders = [f"crash{i}" for i in range(3)]
    _, urls = team_project(pg_server, pg_url, coders)
    start = tmp_path / "go"
    n = 300
    writers = [Writer(urls[c], c, n, start) for c in coders[:2]]
    victim = Writer(urls[coders[2]], coders[2], -1, start)
    start.touch()
    deadline = time.monotonic() + 120
    while len(victim.acked) < 40 or min(len(w.acked) for w in writers) < 50:
        assert time.monotonic() < deadline, "writers made no progress"
        time.sleep(0.01)
    os.kill(victim.proc.pid, signal.SIGKILL)
    rc, _ = victim.finish()
    assert rc == -signal.SIGKILL
    while min(len(w.acked) for w in writers) < 120:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    pg_server.stop("immediate")  # the server dies with writers mid-transaction
    time.sleep(0.5)
    pg_server.start()
    for writer in writers:
        rc, err = writer.finish()
        assert rc == 0, err
    check_exactly_acknowledged(pg_url, [*writers, victim], n, killed={victim.coder})
    project = open_project(pg_url)
    assert project.integrity_check() == "ok"
    seg = project.segments().iloc[1]["segment_id"]
    assert project.decide("postgres", seg, "funding", "accept") > 0
