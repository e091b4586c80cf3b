"""Durability with real processes: concurrent writers lose nothing; SIGKILL loses nothing that was returned."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from qcode.project import open_project
from qcode.project.sample import build_sample_project

# A writer process: waits for the start file, then records N decisions (N<0: forever),
# printing each event id (flushed) only after decide() has returned.
WRITER = textwrap.dedent("""
    import os, sys, time
    from qcode.project import open_project
    path, coder, n, start_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    pause = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    project = open_project(path)
    segments = project.segments()
    segments = segments[segments["role"] == "participant"]["segment_id"].tolist()
    codes = ["funding", "staffing", "communication", "coordination"]
    print("ready", flush=True)
    while not os.path.exists(start_file):
        time.sleep(0.005)
    i = 0
    while n < 0 or i < n:
        verdict = "accept" if i % 3 else "reject"
        event = project.decide(coder, segments[i % len(segments)], codes[i % len(codes)], verdict,
                               note=f"{coder} #{i}")
        print(event, flush=True)
        i += 1
        if pause:
            time.sleep(pause)
""")


def spawn_writer(project_path, coder, n, start_file, pause=0.0):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(project_path), coder, str(n), str(start_file),
                             str(pause)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    return proc


@pytest.mark.slow
@pytest.mark.parametrize("pause", [0.0, 0.003], ids=["hammering", "paced"])
def test_two_concurrent_writers_lose_nothing(tmp_path, pause):
    """Two processes write at once; with no pause at all one may hold the lock for a long
    stretch (SQLite does not queue fairly), but neither fails and nothing is lost."""
    project = build_sample_project(tmp_path / "study")
    start = tmp_path / "go"
    n = 150
    writers = [spawn_writer(project.path, coder, n, start, pause) for coder in ("alice", "bob")]
    start.touch()
    printed = {}
    for coder, proc in zip(("alice", "bob"), writers):
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        printed[coder] = [int(line) for line in out.split()]
    log = open_project(project.path).decisions()
    assert len(log) == 2 * n
    for coder in ("alice", "bob"):
        mine = log[log["coder"] == coder]
        assert mine["event_id"].tolist() == printed[coder]
        assert mine["note"].tolist() == [f"{coder} #{i}" for i in range(n)]
    if pause:
        # paced like people: the two writers really interleave
        order = log["coder"].tolist()
        assert sum(1 for a, b in zip(order, order[1:]) if a != b) > 10
    assert open_project(project.path).integrity_check() == "ok"


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [1, 40])
def test_sigkill_mid_burst_keeps_every_returned_decision(tmp_path, kill_after):
    project = build_sample_project(tmp_path / "study")
    start = tmp_path / "go"
    proc = spawn_writer(project.path, "alice", -1, start)
    start.touch()
    returned = []
    while len(returned) < kill_after:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        returned.append(int(line))
    os.kill(proc.pid, signal.SIGKILL)
    rest, _ = proc.communicate(timeout=60)
    returned += [int(x) for x in rest.split()]
    assert proc.returncode == -signal.SIGKILL

    # check with plain sqlite first (recovers the WAL), then through qcode
    conn = sqlite3.connect(project.db_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    reopened = open_project(project.path)
    stored = reopened.decisions()["event_id"].tolist()
    assert set(returned) <= set(stored)
    # at most the decision being made when the kill came is there without having been reported
    assert len(stored) - len(returned) <= 1
    assert stored == sorted(stored) == list(range(1, len(stored) + 1))
    # the project is still writable after the crash
    seg = reopened.segments().iloc[1]["segment_id"]
    assert reopened.decide("alice", seg, "funding", "accept") == len(stored) + 1


def test_review_writer_and_scripted_writer_share_a_project(tmp_path):
    """A slow reader holding a snapshot open does not block writers (WAL), and sees its snapshot."""
    project = build_sample_project(tmp_path / "study")
    start = tmp_path / "go"
    reader = sqlite3.connect(project.db_path, isolation_level=None)
    reader.execute("BEGIN")
    before = reader.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    proc = spawn_writer(project.path, "bob", 20, start)
    start.touch()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert reader.execute("SELECT COUNT(*) FROM events").fetchone()[0] == before == 0
    reader.execute("COMMIT")
    assert reader.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 20
    reader.close()
