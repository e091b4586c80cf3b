"""`qcode agree` on a real project store and on CSV files, run as a user would."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from qcode import agreement as ag
from qcode.project.sample import build_sample_project


def qcode(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from qcode.cli import main; main()", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The sample project with two human coders who agree on some segments."""
    path = tmp_path_factory.mktemp("agree") / "study"
    project = build_sample_project(path)
    segs = project.segments()
    part = segs[segs["role"] == "participant"]["segment_id"].tolist()
    ann = ["funding", "staffing", "communication", "coordination", "communication", "funding"]
    bob = ["funding", "staffing", "coordination", "coordination", "communication", "staffing"]
    for seg, a, b in zip(part, ann, bob):
        project.decide("ann", seg, a, "accept")
        project.decide("bob", seg, b, "accept")
    project.decide("bob", part[0], "staffing", "accept")
    return path


def test_report_on_project_codings_matches_direct_metrics(study):
    project = ag_project(study)
    codings = project.codings()
    r = ag.report(codings, coders=["ann", "bob"], universe=project.segments(), n_boot=200)
    assert r.n_units == 6
    part = project.segments().query("role == 'participant'")["segment_id"].tolist()
    applied = set(zip(codings["coder"], codings["segment_id"], codings["code_id"]))
    ann = [int(("ann", s, "funding") in applied) for s in part]
    bob = [int(("bob", s, "funding") in applied) for s in part]
    row = r.per_code.set_index("code").loc["funding"]
    assert row["alpha"] == pytest.approx(ag.krippendorff_alpha([ann, bob]))
    assert row["label"] == "Funding"
    # with the interviewer turns (nobody coded them) agreement on absence goes up
    everything = ag.report(codings, coders=["ann", "bob"], universe=project.segments(), include_uncoded=True,
                           n_boot=0)
    assert everything.n_units == 9
    assert everything.pooled["percent_agreement"] > r.pooled["percent_agreement"]


def ag_project(path):
    from qcode.project import open_project

    return open_project(path)


@pytest.mark.slow
def test_cli_writes_html_md_csv_from_a_project(study, tmp_path):
    for suffix in ("html", "md", "csv"):
        out = tmp_path / f"agree.{suffix}"
        done = qcode("agree", study, "--coders", "ann,bob", "--out", out, "--n-boot", "100")
        assert done.returncode == 0, done.stderr
        assert out.is_file() and f"wrote {out}" in done.stdout
        assert f"3 unit(s) with disagreements (listed in {out})" in done.stdout  # not "write --out report.html"
    assert "Disagreements (3)" in (tmp_path / "agree.html").read_text()
    table = pd.read_csv(tmp_path / "agree.csv")
    assert table["code"].tolist()[-1] == "(pooled)"
    assert set(table["coders"]) == {"ann+bob"}


@pytest.mark.slow
def test_cli_compares_the_model_run_with_a_coder(study, tmp_path):
    done = qcode("agree", study, "--coders", "ann", "--model-run", "latest", "--out", tmp_path / "m.csv",
                 "--n-boot", "0")
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(tmp_path / "m.csv")
    assert set(table["coders"]) == {"ann+model"}
    assert table.set_index("code").loc["funding", "label"] == "Funding"
    # the sample run's top-1 codes equal ann's on 5 of the 6 participant turns
    pooled = table.set_index("code").loc["(pooled)"]
    assert pooled["n_units"] == 6 * 4


@pytest.mark.slow
def test_cli_character_level_on_a_project(study, tmp_path):
    done = qcode("agree", study, "--coders", "ann,bob", "--unit", "character", "--out", tmp_path / "c.md")
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "c.md").read_text()
    assert "Per code and source (NVivo)" in text and "site-a/interview-01.txt" in text
    # disputed stretches are quoted from the project's document text
    assert "## Disagreements (" in text and "Families tell us the café meetings" in text


@pytest.mark.slow
def test_cli_reads_a_csv_of_codings(tmp_path):
    path = tmp_path / "codings.csv"
    path.write_text("doc_id,start,end,coder,code,text\n"
                    "d,0,10,ann,x,first\nd,0,10,bob,x,first\nd,10,20,ann,y,second\nd,10,20,bob,x,second\n",
                    encoding="utf-8")
    done = qcode("agree", path, "--coders", "ann,bob", "--out", tmp_path / "r.csv", "--n-boot", "0")
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(tmp_path / "r.csv").set_index("code")
    assert table.loc["x", "percent_agreement"] == 0.5


@pytest.mark.slow
@pytest.mark.parametrize("content, args, message", [
    ("unit,coder,code\nu1,ann,x\nu1,bob,x\n", ["--coders", "ann,zed"], "unknown coder 'zed'"),
    ("unit,coder,code\nu1,ann,x\n", [], "at least two coders"),
    ("unit,coder,code\nu1,ann,x\nu1,,x\n", [], "line 3: empty 'coder'"),
    ("doc_id,start,end,coder,code\nd,5,x,ann,c\n", [], "line 2: 'end' must be a whole number"),
    ("doc_id,start,end,coder,code\nd,5,2,ann,c\n", [], "line 2: 'end' (2) is before 'start' (5)"),
    ("unit,who,code\nu1,ann,x\n", [], "no 'coder' column"),
    ("unit,coder,code\nu1,ann,x\nu1,bob,x\n", ["--include-uncoded"], "--include-uncoded needs a project"),
    ("unit,coder,code\nu1,ann,x\nu1,bob,x\n", ["--out", "r.pdf"], "unknown report format"),
])
def test_cli_errors_are_one_line_with_exit_2(tmp_path, content, args, message):
    path = tmp_path / "codings.csv"
    path.write_text(content, encoding="utf-8")
    done = qcode("agree", path, *args)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and message in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


@pytest.mark.slow
def test_cli_refuses_a_missing_source(tmp_path):
    done = qcode("agree", tmp_path / "nowhere")
    assert done.returncode == 2 and "no such project folder or CSV file" in done.stderr
