"""`qcode init/decide/undo/export/status/codebook use` run as real commands."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pandas as pd
import pytest

from qcode.project import open_project
from qcode.project.sample import build_sample_project, sample_codebook

QCODE = [sys.executable, "-c", "from qcode.cli import main; main()"]


def qcode(*args, cwd=None):
    return subprocess.run([*QCODE, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120)


def assert_one_line_error(result, pattern):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert pd.Series([lines[0]]).str.contains(pattern, regex=True).iloc[0], lines[0]


@pytest.fixture
def project(tmp_path):
    return build_sample_project(tmp_path / "study")


def first_participant(project):
    segs = project.segments()
    return segs[segs["role"] == "participant"].iloc[0]


def test_init_with_a_codebook_file(tmp_path):
    from qcode.codebook import save_codebook

    cb_file = save_codebook(sample_codebook(), tmp_path / "codes.yaml")
    result = qcode("init", tmp_path / "new", "--codebook", cb_file)
    assert result.returncode == 0, result.stderr
    assert "created project" in result.stdout and sample_codebook().version in result.stdout
    assert open_project(tmp_path / "new").codebook.version == sample_codebook().version
    assert_one_line_error(qcode("init", tmp_path / "new"), "already a qcode project")


def test_decide_accept_by_code_name_then_undo(project):
    seg = first_participant(project)
    result = qcode("decide", project.path, "--coder", "alice", "--segment", seg.segment_id, "--code", "Funding",
                   "--accept", "--note", "budget talk", "--run", "1")
    assert result.returncode == 0, result.stderr
    event = int(re.fullmatch(r'recorded event (\d+): accept funding for ".+"\n', result.stdout).group(1))
    row = open_project(project.path).decisions().set_index("event_id").loc[event]
    assert (row["code_id"], row["verdict"], row["note"], row["source"]) == ("funding", "accept", "budget talk",
                                                                             "suggestion")
    assert row["score"] == pytest.approx(0.71)
    result = qcode("undo", project.path, "--coder", "alice")
    assert result.returncode == 0, result.stderr
    assert open_project(project.path).codings().empty


def test_decide_a_span(project):
    text = project.document_text("site-b/interview-02.txt")
    start = text.index("Zoë")
    result = qcode("decide", project.path, "--coder", "bob", "--doc", "site-b/interview-02.txt",
                   "--start", start, "--end", start + 3, "--code", "coordination", "--accept")
    assert result.returncode == 0, result.stderr
    assert open_project(project.path).codings()["text"].tolist() == ["Zoë"]


@pytest.mark.slow
@pytest.mark.parametrize("extra, pattern", [
    (["--segment", "s-000000000000", "--code", "funding", "--accept"], "unknown segment 's-000000000000'"),
    (["--segment", "{seg}", "--code", "nonsense", "--accept"], "has no code 'nonsense'"),
    (["--segment", "{seg}", "--code", "funding"], "exactly one of --accept, --reject, --skip"),
    (["--segment", "{seg}", "--code", "funding", "--accept", "--reject"], "exactly one of"),
    (["--code", "funding", "--accept"], "either --segment ID, or --doc"),
    (["--doc", "site-a/interview-01.txt", "--start", "3", "--end", "1", "--code", "funding", "--accept"],
     r"span 3:1 is outside document"),
])
def test_decide_errors_are_one_line(project, extra, pattern):
    seg = first_participant(project).segment_id
    args = [a.replace("{seg}", seg) for a in extra]
    assert_one_line_error(qcode("decide", project.path, "--coder", "alice", *args), pattern)
    assert open_project(project.path).decisions().empty


def test_unknown_project_is_one_line(tmp_path):
    assert_one_line_error(qcode("status", tmp_path / "missing"), r"not a qcode project \(run `qcode init")


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_export_decisions_and_codings(project, tmp_path, suffix):
    segs = project.segments()
    project.decide("alice", segs.iloc[1]["segment_id"], "funding", "accept")
    project.decide("bob", segs.iloc[1]["segment_id"], "staffing", "accept")
    project.code_span("bob", "site-a/interview-01.txt", 0, 1, "communication")
    project.decide("bob", segs.iloc[1]["segment_id"], "staffing", "reject")
    for what, expected in (("decisions", project.decisions()), ("codings", project.codings())):
        out = tmp_path / f"{what}{suffix}"
        result = qcode("export", project.path, "--what", what, "--out", out)
        assert result.returncode == 0, result.stderr
        if suffix == ".csv":
            back = pd.read_csv(out, keep_default_na=False)
        elif suffix == ".jsonl":
            back = pd.DataFrame([json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()])
        else:
            back = pd.read_parquet(out)
        assert list(back.columns) == list(expected.columns)
        assert back["text"].tolist() == expected["text"].tolist()
        assert back["coder"].tolist() == expected["coder"].tolist()
        assert back["start"].astype(int).tolist() == expected["start"].astype(int).tolist()
        assert not list(tmp_path.glob(f".{what}*"))  # no temporary file left behind
    assert len(expected) == 2  # bob changed his mind about staffing


@pytest.mark.slow
def test_export_for_one_coder_and_unknown_coder(project, tmp_path):
    seg = first_participant(project).segment_id
    project.decide("alice", seg, "funding", "accept")
    project.decide("bob", seg, "staffing", "accept")
    out = tmp_path / "bob.csv"
    assert qcode("export", project.path, "--what", "codings", "--coder", "bob", "--out", out).returncode == 0
    assert pd.read_csv(out)["coder"].tolist() == ["bob"]
    out.write_text("previous export\n")
    assert_one_line_error(qcode("export", project.path, "--what", "codings", "--coder", "carol", "--out", out),
                          r"unknown coder 'carol' \(coders: alice, bob\)")
    assert out.read_text() == "previous export\n"  # nothing half-written over the old file
    assert_one_line_error(qcode("export", project.path, "--out", tmp_path / "x.txt"), "unknown export format '.txt'")
    assert_one_line_error(qcode("export", project.path, "--what", "everything", "--out", out), "--what must be one of")


@pytest.mark.slow
def test_status_lists_counts(project):
    seg = first_participant(project).segment_id
    project.decide("alice", seg, "funding", "accept")
    result = qcode("status", project.path)
    assert result.returncode == 0, result.stderr
    assert "documents  2" in result.stdout
    assert f"segments   {len(project.segments())}" in result.stdout
    assert "alice: 1 decisions, 0 undos, 1 current codings" in result.stdout


def test_codebook_use_refuses_then_migrates(project, tmp_path):
    seg = first_participant(project).segment_id
    project.decide("alice", seg, "staffing", "accept")
    data = sample_codebook().to_dict()
    data["codes"] = [c for c in data["codes"] if c["id"] != "staffing"] + [{"id": "workforce", "name": "Workforce"}]
    new_file = tmp_path / "v2.json"
    new_file.write_text(json.dumps(data))
    assert_one_line_error(qcode("codebook", "use", project.path, new_file),
                          r"drops codes that carry decisions: 'staffing' \(1 decisions\)")
    result = qcode("codebook", "use", project.path, new_file, "--migrate", "staffing=workforce")
    assert result.returncode == 0, result.stderr
    assert open_project(project.path).codings()["code_id"].tolist() == ["workforce"]


@pytest.mark.slow
def test_commands_have_examples_in_help():
    for command in (["init"], ["decide"], ["undo"], ["review"], ["export"], ["status"], ["codebook", "use"]):
        result = qcode(*command, "--help")
        assert result.returncode == 0 and "Example: qcode" in result.stdout, command


@pytest.mark.slow
def test_export_file_gets_the_usual_permissions(project, tmp_path):
    import os

    mask = os.umask(0)
    os.umask(mask)
    out = tmp_path / "codings.jsonl"
    assert qcode("export", project.path, "--out", out).returncode == 0
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask


@pytest.mark.slow
def test_export_qdpx_goes_through_the_interchange_writer(project, tmp_path):
    import zipfile

    seg = first_participant(project)
    project.decide("alice", seg.segment_id, "funding", "accept")
    out = tmp_path / "study.qdpx"
    result = qcode("export", project.path, "--out", out)
    assert result.returncode == 0, result.stderr
    assert "1 codings" in result.stdout
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        qde = archive.read("project.qde").decode("utf-8")
    assert "project.qde" in names and sum(n.startswith("sources/") for n in names) == 2
    assert 'name="alice"' in qde


@pytest.mark.slow
def test_export_codings_as_wide_and_long_spreadsheets(tmp_path):
    import subprocess
    import sys

    import pandas as pd

    from qcode.project.sample import build_sample_project

    project = build_sample_project(tmp_path / "p")
    segs = project.segments().segment_id.tolist()
    codes = [c.id for c in project.codebook.leaves()]
    project.decide("ana", segs[0], codes[0], "accept")
    project.decide("ana", segs[0], codes[1], "accept")
    project.decide("bob", segs[1], codes[0], "accept")
    wide, long = tmp_path / "wide.xlsx", tmp_path / "long.csv"
    for out, extra in ((wide, ["--shape", "wide"]), (long, ["--shape", "long"])):
        result = subprocess.run([sys.executable, "-m", "qcode", "export", str(project.path), "--out", str(out), *extra],
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
    codings = project.codings()
    assert len(codings) == 3
    table = pd.read_excel(wide)
    code_columns = [c for c in table.columns if c in codes]
    assert code_columns == codes
    assert set(table[code_columns].stack().unique()) <= {0, 1}
    assert int(table[code_columns].to_numpy().sum()) == len(codings)
    assert len(pd.read_csv(long)) == len(codings)
    bad = subprocess.run([sys.executable, "-m", "qcode", "export", str(project.path), "--out", str(wide),
                          "--what", "decisions"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "--what codings" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.slow
def test_export_segments_and_suggestions_give_ids_for_decide(tmp_path):
    project = build_sample_project(tmp_path / "p")
    segs, sugg = tmp_path / "segs.csv", tmp_path / "sugg.csv"
    assert qcode("export", project.path, "--what", "segments", "--out", segs).returncode == 0
    assert qcode("export", project.path, "--what", "suggestions", "--out", sugg).returncode == 0
    seg_table = pd.read_csv(segs)
    assert seg_table["segment_id"].tolist() == project.segments()["segment_id"].tolist()
    top = pd.read_csv(sugg).query("rank == 1").iloc[0]
    result = qcode("decide", project.path, "--coder", "zoe", "--segment", top.segment_id, "--code", top.code_id,
                   "--accept")
    assert result.returncode == 0, result.stderr
    assert open_project(project.path).codings("zoe")["segment_id"].tolist() == [top.segment_id]
    assert_one_line_error(qcode("export", project.path, "--what", "segments", "--coder", "zoe", "--out", segs),
                          "--coder filters decisions and codings")
