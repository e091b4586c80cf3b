"""Ctrl-C during `qcode suggest` (issue 22 item 12): a real subprocess gets SIGINT; it says in one line that
it was interrupted and what was kept, exits 130, and an interrupted --learn leaves no half set of runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from qcode.project import open_project
from qcode.project.sample import build_sample_project

# the CLI with a deterministic embedder that, once the test creates HANG, says so in HANGING and waits
# (so the signal comes while the command is at work, never during start-up or shut-down)
SLOW_QCODE = """
import os, sys, time
import qcode.embed as embed
from qcode.embed.fake import FakeEmbedder

class Slow(FakeEmbedder):
    def encode(self, texts, *, progress=None):
        time.sleep(0.2)
        if os.path.exists(os.environ["HANG"]):
            open(os.environ["HANGING"], "w").close()
            time.sleep(120)
        return super().encode(texts, progress=progress)

embed.load_embedder = lambda *a, **k: Slow()
from qcode.cli import main
main()
"""


def corpus(folder, n=40):
    folder.mkdir()
    for i in range(n):
        (folder / f"i{i:02d}.txt").write_text(
            f"I: How is the service paid for?\nP{i}: We bid for the grant every year, and the budget never "
            f"covers night nurses number {i}.\nI: And staffing?\nP{i}: Staff leave because contracts are short.\n",
            encoding="utf-8")
    return folder


def start(tmp_path, *args):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (os.getcwd(), os.environ.get("PYTHONPATH"))
                                                        if p),
           "HANG": str(tmp_path / "hang"), "HANGING": str(tmp_path / "hanging")}
    return subprocess.Popen([sys.executable, "-c", SLOW_QCODE, "suggest", *map(str, args), "--no-tune"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def wait_for(predicate, proc, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the condition never came"
        time.sleep(0.1)


@pytest.mark.slow
def test_ctrl_c_says_what_was_kept_and_exits_130(tmp_path):
    study = build_sample_project(tmp_path / "study")
    runs_before = study.latest_run()
    out = tmp_path / "s.csv"
    (tmp_path / "hang").touch()
    proc = start(tmp_path, corpus(tmp_path / "corpus"), "--project", study.path, "--out", out)
    wait_for((tmp_path / "hanging").exists, proc)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("interrupted: ") and f"no {out} written" in lines[-1]
    assert "no suggestion run recorded" in lines[-1]
    assert "Traceback" not in stderr
    assert not out.exists() and open_project(study.path).latest_run() == runs_before


@pytest.mark.slow
def test_an_interrupted_learn_keeps_no_half_set_of_runs(tmp_path):
    study = build_sample_project(tmp_path / "study")
    segs = study.segments()
    for seg, code in zip(segs.segment_id[1::2], ["funding", "staffing", "communication", "coordination"]):
        study.decide("ana", seg, code, "accept")
        study.decide("ben", seg, code, "accept")
    runs_before = study.latest_run()
    proc = start(tmp_path, corpus(tmp_path / "corpus", n=20), "--project", study.path, "--learn")
    # the codebook-only run lands first; interrupt while the coders' runs are still to come
    wait_for(lambda: (open_project(study.path, readonly=True).latest_run() or 0) > runs_before, proc)
    (tmp_path / "hang").touch()
    wait_for((tmp_path / "hanging").exists, proc)
    assert open_project(study.path, readonly=True).latest_run() == runs_before + 1  # half a set so far
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "the runs of this --learn were removed (all or nothing)" in stderr.splitlines()[-1]
    assert open_project(study.path).latest_run() == runs_before
    assert set(open_project(study.path).suggestions("all")["run_id"]) == {runs_before}
