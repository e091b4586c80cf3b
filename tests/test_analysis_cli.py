"""`qcode matrix`, `cooccur`, `saturation`, `quotes` and `report` run as a user would: outputs that say
whose codings they count, formula cells neutralised, one-line errors that write nothing."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import openpyxl
import pandas as pd
import pytest

from analysis_support import demo_project
from qcode import analysis


def qcode(*args) -> subprocess.CompletedProcess:
    """A real process, as a user runs it (for the slow test that loads the model)."""
    return subprocess.run([sys.executable, "-c", "from qcode.cli import main; main()", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def run(capsys, monkeypatch):
    """``qcode ARGS`` through the CLI's entry point in this process (its error boundary included)."""
    from qcode.cli import main

    def invoke(*args):
        monkeypatch.setattr(sys, "argv", ["qcode", *map(str, args)])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
        out = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)
    return invoke


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "demo"
    demo_project(path, hostile=True)
    return path


def test_matrix_csv_states_the_codings_and_equals_the_library(run, study, tmp_path):
    out = tmp_path / "m.csv"
    done = run("matrix", study, "--by", "role", "--coder", "ana", "--out", out)
    assert done.returncode == 0, done.stderr
    first = out.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# codings counted: ana's; 107 codings on 91 passages"
    assert first[2:] in done.stdout
    frame = pd.read_csv(out, skiprows=1, dtype={"code_id": str})
    expected = analysis.matrix(study, "role", coders=["ana"])
    assert frame.drop(columns=["code_id", "code_name"]).values.tolist() == \
        expected.drop(columns=["code_id", "code_name"]).values.tolist()


def test_matrix_xlsx_and_md(run, study, tmp_path):
    xlsx, md = tmp_path / "m.xlsx", tmp_path / "m.md"
    assert run("matrix", study, "--by", "phase", "--count", "passages", "--out", xlsx).returncode == 0
    book = openpyxl.load_workbook(xlsx)
    assert book.sheetnames == ["table", "about"]
    assert book["about"]["A2"].value.startswith("codings counted: consensus of ana, ben")
    assert [c.value for c in book["table"][1]] == ["code_id", "code_name", "1", "2", "total"]
    assert run("matrix", study, "--by", "phase", "--out", md).returncode == 0
    lines = md.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("_codings counted: consensus") and lines[2].startswith("| code_id | code_name | 1 | 2")


def test_cooccur_and_saturation_csv(run, study, tmp_path):
    out = tmp_path / "c.csv"
    done = run("cooccur", study, "--level", "case", "--out", out)
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(out, skiprows=1)
    assert list(frame.columns) == ["code_a", "code_b", "count", "n_a", "n_b", "jaccard", "c_coefficient"]
    assert frame.values.tolist() == analysis.cooccurrence(study, level="case").values.tolist()
    sat = tmp_path / "s.csv"
    assert run("saturation", study, "--coder", "ben", "--out", sat).returncode == 0
    assert set(pd.read_csv(sat, skiprows=1)["coder"]) == {"ben"}


@pytest.mark.parametrize("args, message", [
    (["matrix", "{p}", "--by", "grade", "--out", "{o}.csv"],
     "error: unknown attribute 'grade' (attributes: org_type, organisation, phase, role, sector)"),
    (["matrix", "{p}", "--by", "role", "--coder", "zoe", "--out", "{o}.csv"], "unknown coder 'zoe'"),
    (["matrix", "{p}", "--by", "role", "--out", "{o}.txt"], "cannot write '.txt'; use one of .csv, .xlsx, .md"),
    (["cooccur", "{p}", "--level", "word", "--out", "{o}.csv"], "--level 'word': choose one of segment"),
    (["report", "{p}", "--out", "{o}.pdf"], "a report is written as .html, .htm, .docx"),
    (["quotes", "{p}", "--per-code", "0", "--out", "{o}.csv"], "--per-code 0"),
    (["matrix", "{p}/nowhere", "--by", "role", "--out", "{o}.csv"], "not a qcode project"),
])
def test_bad_input_is_one_line_and_writes_nothing(run, study, tmp_path, args, message):
    out = tmp_path / "out"
    done = run(*[a.format(p=study, o=out) for a in args])
    assert done.returncode == 2
    assert message in done.stderr and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_quotes_and_report_with_the_real_model(study, tmp_path):
    csv_out, docx_out, html = tmp_path / "q.csv", tmp_path / "q.docx", tmp_path / "r.html"
    done = qcode("quotes", study, "--code", "culture.funding-priority", "--code", "people", "--per-code", "2",
                 "--out", csv_out)
    assert done.returncode == 0, done.stderr
    lines = csv_out.read_text(encoding="utf-8").splitlines()
    assert lines[0].endswith("quotes picked with all-MiniLM-L6-v2")
    frame = pd.read_csv(csv_out, skiprows=1)
    assert set(frame["code_id"]) == {"culture.funding-priority", "people"}
    formula = frame[frame["text"].str.contains("HYPERLINK")]
    assert len(formula) == 1 and formula["text"].iloc[0].startswith("'=HYPERLINK")  # the formula guard
    assert qcode("quotes", study, "--per-code", "1", "--out", docx_out).returncode == 0
    done = qcode("report", study, "--by", "phase", "--by", "role", "--out", html)
    assert done.returncode == 0, done.stderr
    assert "codings counted: consensus of ana, ben" in done.stdout and html.stat().st_size > 10_000
