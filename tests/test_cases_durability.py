"""Memos and attributes under concurrent writers and SIGKILL: nothing returned is lost, nothing is half-written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from qcode.project import open_project
from qcode.project.integrity import check_project
from qcode.project.sample import build_sample_project

# Waits for the start file, then per step: a memo, its second version, an attribute of P1 (named after the
# writer); prints "memo-id step" after the three calls returned.
WRITER = textwrap.dedent("""
    import os, sys, time
    from qcode.project import open_project
    path, name, n, start_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    project = open_project(path)
    print("ready", flush=True)
    while not os.path.exists(start_file):
        time.sleep(0.005)
    i = 0
    while n < 0 or i < n:
        memo = project.add_memo("case", "P1", f"{name} {i}", name)
        project.edit_memo(memo, f"{name} {i} v2", name)
        project.set_case_attributes("P1", {name: str(i)}, author=name)
        print(memo, i, flush=True)
        i += 1
""")


def spawn(path, name, n, start):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), name, str(n), str(start)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    return proc


def study(tmp_path):
    project = build_sample_project(tmp_path / "study")
    project.set_case_attributes("P1", {"site": "a"})
    return project


@pytest.mark.slow
def test_two_writers_of_memos_and_attributes_lose_nothing(tmp_path):
    project, start, n = study(tmp_path), tmp_path / "go", 40
    writers = {name: spawn(project.path, name, n, start) for name in ("alice", "bob")}
    start.touch()
    returned = {}
    for name, proc in writers.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        returned[name] = [int(line.split()[0]) for line in out.splitlines()]
    reopened = open_project(project.path)
    memos = reopened.memos()
    assert sorted(memos["memo_id"]) == list(range(1, 2 * n + 1))  # no id given twice
    for name in ("alice", "bob"):
        mine = memos[memos["memo_id"].isin(returned[name])].sort_values("memo_id")
        assert mine["text"].tolist() == [f"{name} {i} v2" for i in range(n)]
        assert set(mine["version"]) == {2} and set(mine["author"]) == {name}
        history = reopened.case_history()
        assert history.loc[history["attribute"] == name, "value"].tolist() == [str(i) for i in range(n)]
    assert reopened.cases()[["alice", "bob"]].values.tolist() == [[str(n - 1), str(n - 1)]]
    assert check_project(project.path).ok


@pytest.mark.slow
def test_sigkill_keeps_every_returned_memo_and_attribute(tmp_path):
    project, start = study(tmp_path), tmp_path / "go"
    proc = spawn(project.path, "alice", -1, start)
    start.touch()
    lines = []
    while len(lines) < 15:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        lines.append(line.split())
    os.kill(proc.pid, signal.SIGKILL)
    rest, _ = proc.communicate(timeout=60)
    lines += [line.split() for line in rest.splitlines()]
    assert check_project(project.path).ok  # versions whole, triggers in place, text readable
    reopened = open_project(project.path)
    memos = reopened.memo_history()
    done = {int(memo) for memo, _ in lines}
    latest = reopened.memos().set_index("memo_id")
    assert all(latest.loc[m, "version"] == 2 for m in done)  # every returned step is whole
    assert len(latest) - len(done) <= 1  # at most the step under way when the kill came
    values = reopened.case_history().query("attribute == 'alice'")["value"].tolist()
    assert values[:len(lines)] == [step for _, step in lines] and len(values) - len(lines) <= 1
    assert memos["event_id"].tolist() == sorted(memos["event_id"])
    assert reopened.add_memo("project", None, "after the crash", "alice") == len(latest) + 1
