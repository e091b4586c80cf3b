"""`qcode suggest` end to end on real files, run as a user runs it (a subprocess)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DEMO

QCODE = [sys.executable, "-m", "qcode"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*QCODE, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env=dict(os.environ), timeout=600)


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("suggest") / "suggestions.csv"
    result = run("suggest", DEMO, "--codebook", "mcn-sst", "--unit", "turn", "--top-k", "3", "--out", out)
    assert result.returncode == 0, result.stderr
    return out, result


@pytest.mark.slow
def test_demo_corpus_suggestions_map_back_to_the_source(demo_run):
    from qcode.ingest import read_corpus

    out, result = demo_run
    rows = read_rows(out)
    docs = {d.id: d for d in read_corpus(DEMO)}
    assert {r["doc_id"] for r in rows} == set(docs)  # every demo document produced suggestions
    for row in rows:
        doc = docs[row["doc_id"]]
        assert doc.text[int(row["start"]):int(row["end"])] == row["text"]
        assert row["role"] != "interviewer"  # interviewer turns are left out by default
        assert row["model"].startswith("all-MiniLM-L6-v2@")
    per_segment = {}
    for row in rows:
        per_segment.setdefault(row["segment_id"], []).append(int(row["rank"]))
    assert all(sorted(r) == [1, 2, 3] for r in per_segment.values())
    assert "documents" in result.stdout and "Top codes" in result.stdout


@pytest.mark.slow
def test_run_record_names_model_weights_codebook_and_parameters(demo_run):
    out, _ = demo_run
    record = json.loads(Path(str(out) + ".run.json").read_text())
    assert len(record["model"]["weights_sha256"]) == 64
    assert record["codebook"]["name"] == "mcn-sst" and len(record["codebook"]["version"]) == 16
    assert record["parameters"]["unit"] == "turn" and record["parameters"]["top_k"] == 3
    assert record["run_id"] == read_rows(out)[0]["run_id"]


@pytest.mark.slow
def test_same_input_gives_the_same_output(demo_run, tmp_path):
    out, _ = demo_run
    again = tmp_path / "again.csv"
    assert run("suggest", DEMO, "--out", again, "-q").returncode == 0
    assert again.read_bytes() == out.read_bytes()


@pytest.mark.slow
def test_interviewer_turns_included_on_request_and_other_formats(tmp_path):
    jsonl = tmp_path / "s.jsonl"
    parquet = tmp_path / "s.parquet"
    assert run("suggest", DEMO, "--include-interviewer", "--top-k", "1", "--out", jsonl, "-q").returncode == 0
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert any(r["role"] == "interviewer" for r in rows)
    assert all(r["rank"] == 1 for r in rows)
    assert run("suggest", DEMO, "--unit", "sentence", "--out", parquet, "-q").returncode == 0
    import pandas as pd

    frame = pd.read_parquet(parquet)
    assert set(frame["unit"]) == {"sentence"} and len(frame) > 0


@pytest.mark.slow
def test_one_bad_file_is_skipped_and_counted(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(DEMO, corpus)
    (corpus / "broken.docx").write_bytes(b"this is not a zip file at all")
    (corpus / "empty.txt").write_text("")
    out = tmp_path / "s.csv"
    result = run("suggest", corpus, "--out", out)
    assert result.returncode == 0, result.stderr
    assert "broken.docx" in result.stderr and "empty.txt" in result.stderr
    assert result.stderr.count("broken.docx") == 1  # reported once, not once per layer
    assert "Traceback" not in result.stderr
    docs = {r["doc_id"] for r in read_rows(out)}
    assert "broken.docx" not in docs and len(docs) >= 5
    assert "files skipped" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("args, needle", [
    (["suggest", "no/such/folder", "--out", "x.csv"], "no/such/folder"),
    (["suggest", str(DEMO), "--codebook", "no-such-codebook", "--out", "x.csv"], "no-such-codebook"),
    (["suggest", str(DEMO), "--out", "x.txt"], "x.txt"),
    (["suggest", str(DEMO), "--unit", "chapter", "--out", "x.csv"], "chapter"),
    (["suggest", str(DEMO)], "--out"),
])
def test_bad_input_gets_one_line_and_a_nonzero_exit(tmp_path, args, needle):
    result = run(*args, cwd=tmp_path)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.csv").exists()


def test_empty_folder_is_an_error_and_the_old_output_survives(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "s.csv"
    out.write_text("previous results\n")
    result = run("suggest", empty, "--out", out)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert out.read_text() == "previous results\n"
    assert not list(tmp_path.glob(".s.csv.*"))  # no temporary left behind


@pytest.mark.slow
def test_suggest_records_the_run_in_a_project(tmp_path):
    from qcode import open_project

    project = tmp_path / "proj"
    assert run("init", project).returncode == 0
    result = run("suggest", DEMO, "--project", project, "--top-k", "2", "-q")
    assert result.returncode == 0, result.stderr
    p = open_project(project)
    runs = p.runs()
    assert len(runs) == 1
    sugg = p.suggestions()
    segs = p.segments()
    assert len(sugg) > 0 and set(sugg["segment_id"]) <= set(segs["segment_id"])
    assert sugg.groupby("segment_id")["rank"].max().max() == 2


@pytest.mark.slow
def test_named_interviewers_are_left_out(tmp_path):
    transcript = tmp_path / "t.txt"
    transcript.write_text("Anna: How is the funding for your post?\n"
                          "Ben: We bid for the money again every April and never know if it will come.\n"
                          "Anna: And the records?\n"
                          "Ben: The hospice cannot see the hospital notes at night.\n", encoding="utf-8")
    out = tmp_path / "s.csv"
    guessed = run("suggest", transcript, "--out", out, "-q")  # Anna asks the questions: taken as the interviewer
    assert guessed.returncode == 0 and "took 'Anna' as the interviewer" in guessed.stderr  # and said (issue 22)
    assert {r["speaker"] for r in read_rows(out)} == {"Ben"}
    assert run("suggest", transcript, "--interviewer", "Ben", "--out", out, "-q").returncode == 0
    assert {r["speaker"] for r in read_rows(out)} == {"Anna"}  # a name given wins over the guess
    assert run("suggest", transcript, "--interviewer", "Anna", "--out", out, "-q").returncode == 0
    rows = read_rows(out)
    assert {r["speaker"] for r in rows} == {"Ben"}
    assert json.loads(Path(str(out) + ".run.json").read_text())["parameters"]["interviewers"] == ["Anna"]


def test_a_lone_unreadable_file_gets_its_reason(tmp_path):
    binary = tmp_path / "notes.txt"
    binary.write_bytes(b"\x00\x01\x02binary\x00" * 50)
    result = run("suggest", binary, "--out", tmp_path / "s.csv")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "notes.txt" in lines[0] and "binary" in lines[0], result.stderr


@pytest.mark.slow
def test_multi_label_keeps_every_code_above_the_threshold(tmp_path):
    out = tmp_path / "s.csv"
    assert run("suggest", DEMO / "interview_p07.txt", "--top-k", "19", "--out", out, "-q").returncode == 0
    scores = {}
    for r in read_rows(out):
        scores.setdefault(r["segment_id"], []).append(float(r["score"]))
    cut = sorted(s for v in scores.values() for s in v)[-40]  # a threshold some segments pass with >3 codes
    multi = tmp_path / "m.csv"
    result = run("suggest", DEMO / "interview_p07.txt", "--threshold", cut, "--multi-label", "--out", multi)
    assert result.returncode == 0, result.stderr
    rows = read_rows(multi)
    expected = sum(1 for v in scores.values() for s in v if s >= cut)
    assert len(rows) == expected and all(float(r["score"]) >= cut for r in rows)
    silent = sum(1 for v in scores.values() if max(v) < cut)
    if silent:
        assert "no code above threshold" in result.stdout
    bad = run("suggest", DEMO, "--multi-label", "--out", multi)
    assert bad.returncode == 2 and "--threshold" in bad.stderr


def test_version_and_help_answer_without_heavy_imports():
    from qcode import __version__

    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"qcode {__version__}"
    probe = subprocess.run([sys.executable, "-c",
                            "import sys\nfrom qcode.cli import main\nsys.argv=['qcode','--help']\n"
                            "try:\n    main()\nexcept SystemExit:\n    pass\n"
                            "heavy=[m for m in ('torch','spacy','pandas','sklearn','onnxruntime') if m in sys.modules]\n"
                            "print('HEAVY', heavy)"], capture_output=True, text=True, timeout=120)
    assert "HEAVY []" in probe.stdout, probe.stdout + probe.stderr


@pytest.mark.slow
@pytest.mark.parametrize("args, needle", [
    ([], "Usage: qcode"),
    (["suggest"], "Missing argument"),
    (["suggest", str(DEMO), "--top-k", "0", "--out", "x.csv"], "--top-k"),
    (["nosuch"], "No such command"),
])
def test_usage_errors_show_usage_not_a_traceback(tmp_path, args, needle):
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert needle in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_on_a_terminal_the_bar_counts_segments_and_the_one_time_message_has_its_own_line(tmp_path):
    """First run on a machine, in a pty: the graph-build message is not glued onto the bar's line,
    and the bar ends at the number of segments embedded, not at the number of files read."""
    import re

    pexpect = pytest.importorskip("pexpect")
    out = tmp_path / "s.csv"
    env = dict(os.environ, QCODE_CACHE_DIR=str(tmp_path / "fresh-cache"), COLUMNS="120", TERM="xterm")
    # --no-tune: the one-time step under test is the base model's graph build (a cached codebook-tuned
    # model would need no graph of the base model); --no-abstain: every segment embedded is in the output
    child = pexpect.spawn(QCODE[0], [*QCODE[1:], "suggest", str(DEMO), "--no-tune", "--no-abstain", "--out", str(out)],
                          env=env,
                          encoding="utf-8", timeout=600, dimensions=(40, 120))
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before[-2000:]
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", child.before)  # drop cursor movement and colour codes
    at = screen.index("qcode: building the fp32 ONNX graph")
    assert at == 0 or screen[at - 1] in "\r\n", repr(screen[max(0, at - 60):at + 40])
    segments = len({row["segment_id"] for row in read_rows(out)})
    files = len(list(DEMO.glob("*.txt")))
    assert segments > files
    assert f"{segments}/{segments}" in screen
