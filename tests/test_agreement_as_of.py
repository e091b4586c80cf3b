"""A coder's codings before and after review: the log as it stood at an event id or time."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from qcode.document import Document, Segment, Turn, segment_id
from qcode.errors import ProjectError
from qcode.project import init_project


@pytest.fixture()
def project(tmp_path):
    text = "P1: first passage about money.\nP2: second passage about records.\nP3: third about training."
    spans = [(4, 30), (35, 65), (70, len(text))]
    doc = Document("d.txt", text, turns=[Turn(a, b, f"P{i}", "participant") for i, (a, b) in enumerate(spans, 1)])
    p = init_project(tmp_path / "p", codebook="mcn-sst")
    p.add_documents([doc])
    segs = [Segment(segment_id("d.txt", "turn", a, b), "d.txt", a, b, text[a:b], "turn") for a, b in spans]
    p.add_segments(segs)
    first = [p.decide("ana", segs[0].id, "infrastructure.funding", "accept"),
             p.decide("ana", segs[1].id, "technology.data-sharing", "accept"),
             p.decide("ana", segs[2].id, "people.staff-shortage", "accept")]
    # review: ana changes her mind on the third passage and undoes nothing else
    p.decide("ana", segs[2].id, "people.staff-shortage", "reject")
    p.decide("ana", segs[2].id, "processes.training", "accept")
    p.decide("ana", segs[0].id, "goals.shared-vision", "accept")
    p.undo("ana")  # the shared-vision coding is taken back
    return p, segs, first


def test_codings_as_of_an_event_replay_the_log_up_to_it(project):
    p, segs, first = project
    before = p.codings("ana", as_of=first[-1])
    assert sorted(before["code_id"]) == ["infrastructure.funding", "people.staff-shortage", "technology.data-sharing"]
    # just after the shared-vision accept, before its undo, it still stood
    accept_event = int(p.decisions("ana").query("code_id == 'goals.shared-vision'")["event_id"].iloc[0])
    assert "goals.shared-vision" in set(p.codings("ana", as_of=accept_event)["code_id"])
    now = p.codings("ana")
    assert sorted(now["code_id"]) == ["infrastructure.funding", "processes.training", "technology.data-sharing"]
    assert p.codings("ana", as_of=10**9).equals(now)


def test_as_of_rejects_what_is_neither_id_nor_time(project):
    p, _, _ = project
    with pytest.raises(ProjectError, match="neither an event id nor an ISO time"):
        p.codings("ana", as_of="last tuesday")


@pytest.mark.slow
def test_agree_compares_a_coder_before_and_after_review(project):
    p, _, first = project
    result = subprocess.run([sys.executable, "-m", "qcode", "agree", str(p.path), "--coders", "ana",
                             "--as-of", f"ana@{first[-1]}", "--n-boot", "0"],
                            capture_output=True, text=True, env=dict(os.environ), timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"ana@{first[-1]}" in result.stdout
    assert "processes.training" in result.stdout or "Training" in result.stdout


@pytest.mark.slow
def test_the_stores_own_codings_export_feeds_agree(project, tmp_path):
    p, segs, _ = project
    p.decide("ben", segs[0].id, "infrastructure.funding", "accept")
    p.decide("ben", segs[1].id, "technology.recording-systems", "accept")
    out = tmp_path / "codings.csv"
    run = lambda *a: subprocess.run([sys.executable, "-m", "qcode", *map(str, a)], capture_output=True,
                                    text=True, env=dict(os.environ), timeout=300)
    assert run("export", p.path, "--what", "codings", "--out", out).returncode == 0
    result = run("agree", out, "--coders", "ana,ben", "--n-boot", "0")
    assert result.returncode == 0, result.stderr
    assert "pooled" in result.stdout.lower()


@pytest.mark.slow
def test_agree_on_a_project_without_codings_says_so(tmp_path):
    p = init_project(tmp_path / "empty", codebook="mcn-sst")
    result = subprocess.run([sys.executable, "-m", "qcode", "agree", str(p.path)], capture_output=True,
                            text=True, env=dict(os.environ), timeout=300)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {p.path}: the project has no codings yet (accept some suggestions first)"


@pytest.mark.slow
def test_terminal_table_keeps_numbers_whole_at_80_columns(project):
    p, segs, _ = project
    p.decide("ben", segs[0].id, "infrastructure.funding", "accept")
    p.decide("ben", segs[1].id, "technology.recording-systems", "accept")
    env = dict(os.environ, COLUMNS="80")
    result = subprocess.run([sys.executable, "-m", "qcode", "agree", str(p.path), "--coders", "ana,ben",
                             "--n-boot", "0"], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    from qcode.agreement.build import POOLED

    lines = result.stdout.splitlines()
    pooled = next(i for i, line in enumerate(lines) if line.startswith(POOLED))
    table = lines[: pooled + 1]
    assert "…" not in "\n".join(table)
    assert max(len(line) for line in table) <= 80
    import re

    assert len(re.findall(r"-?\d\.\d{3}", lines[pooled])) >= 4  # % agree, kappa, alpha, AC1 in full


@pytest.mark.slow
def test_written_reports_carry_provenance_usage_and_both_bands(project, tmp_path):
    p, segs, _ = project
    p.decide("ben", segs[0].id, "infrastructure.funding", "accept")
    p.decide("ben", segs[1].id, "technology.recording-systems", "accept")
    for suffix in (".html", ".md"):
        out = tmp_path / f"report{suffix}"
        result = subprocess.run([sys.executable, "-m", "qcode", "agree", str(p.path), "--coders", "ana,ben",
                                 "--n-boot", "50", "--out", str(out)], capture_output=True, text=True,
                                env=dict(os.environ), timeout=300)
        assert result.returncode == 0, result.stderr
        text = out.read_text()
        codebook = p.codebook
        assert f"codebook: {codebook.name} {codebook.version}" in text
        assert "qcode: " in text and "generated: " in text and str(p.path) in text
        assert "applied" in text and "kappa band" in text and "alpha band" in text
