"""`qcode cases ...` and `qcode memo ...` run as real commands: one line per error, nothing changed on error."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from qcode.project import open_project
from qcode.project.sample import build_sample_project

QCODE = [sys.executable, "-c", "from qcode.cli import main; main()"]


def qcode(*args):
    return subprocess.run([*QCODE, *map(str, args)], capture_output=True, text=True, timeout=120)


def assert_one_line_error(result, fragment):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], result.stderr


@pytest.fixture
def study(tmp_path):
    return build_sample_project(tmp_path / "study").path


def test_cases_import_list_set_history(study, tmp_path):
    table = tmp_path / "cases.csv"
    table.write_text("case,phase,org_type\nP1,1,hub\nP2,2,spoke\n", encoding="utf-8")
    result = qcode("cases", "import", study, table, "--author", "alice")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (f"imported {table}: 2 speaker cases (2 new), attributes phase, org_type; "
                                     "4 values changed")
    assert qcode("cases", "set", study, "P2", "org_type=hub", "phase=", "--coder", "bob").stdout.strip() == (
        "case P2: 2 values changed")
    out = tmp_path / "cases.xlsx"
    listed = qcode("cases", "list", study, "--out", out)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["case", "by", "passages", "coded", "org_type", "phase"]
    assert lines[1].split() == ["P1", "speaker", "3", "0", "hub", "1"]
    assert lines[2].split() == ["P2", "speaker", "3", "0", "hub"]
    assert pd.read_excel(out)["case"].tolist() == ["P1", "P2"]
    history = qcode("cases", "history", study).stdout.splitlines()
    assert len(history) == 1 + 2 + 4 + 2 and "bob" in history[-1]


def test_cases_errors_are_one_line_and_change_nothing(study, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("case,phase\nP1,1\nP3,2\n", encoding="utf-8")
    assert_one_line_error(qcode("cases", "import", study, bad), "'P3' (closest: 'P2', 'P1')")
    bad.write_text("who,phase\nP1,1\n", encoding="utf-8")
    assert_one_line_error(qcode("cases", "import", study, bad), "first column must be named 'case'")
    bad.write_bytes("case,role\nP1,sage-femme\u00e9\n".encode("latin-1"))
    assert_one_line_error(qcode("cases", "import", study, bad), "not UTF-8")
    assert_one_line_error(qcode("cases", "import", study, bad, "--by", "group"), "a case is by 'speaker' or")
    assert_one_line_error(qcode("cases", "list", study, "--coder", "zed"), "unknown coder 'zed'")
    assert_one_line_error(qcode("cases", "set", study, "P1", "phase"), "expected ATTRIBUTE=VALUE")
    assert open_project(study).case_history().empty


@pytest.mark.slow
def test_memo_commands(study, tmp_path):
    seg = open_project(study).segments().segment_id.iloc[1]
    assert qcode("memo", "add", study, "--on", "project", "--text", "Start here.", "--author", "alice"
                 ).stdout.strip() == "memo 1 on project"
    note = tmp_path / "memo.md"
    note.write_text("Line one\nline two <script>", encoding="utf-8")
    assert qcode("memo", "add", study, "--on", f"passage:{seg}", "--file", note, "--author", "bob"
                 ).stdout.strip() == f"memo 2 on passage:{seg}"
    assert qcode("memo", "edit", study, "1", "--text", "Start here, then site B.", "--author", "bob"
                 ).stdout.strip() == "memo 1 is now at version 2"
    listed = qcode("memo", "list", study, "--on", "passage").stdout.splitlines()
    assert len(listed) == 2 and "Line one\\x0aline two <script>" in listed[1]
    history = qcode("memo", "history", study, "1").stdout.splitlines()
    assert [line.split()[:2] for line in history[1:]] == [["1", "alice"], ["2", "bob"]]
    assert_one_line_error(qcode("memo", "add", study, "--on", "code:nope", "--text", "x", "--author", "a"),
                          "no code 'nope'")
    assert_one_line_error(qcode("memo", "add", study, "--on", "code", "--text", "x", "--author", "a"),
                          "name the code after the colon")
    assert_one_line_error(qcode("memo", "add", study, "--on", "project", "--author", "a"), "--text or --file")
    assert_one_line_error(qcode("memo", "edit", study, "7", "--text", "x", "--author", "a"), "no memo 7")
    assert len(open_project(study).memo_history()) == 3


def test_status_counts_and_check_guards_the_new_tables(study):
    import sqlite3

    project = open_project(study)
    project.set_case_attributes("P1", {"site": "a"})
    project.add_memo("project", None, "note", "alice")
    project.close()
    assert "cases      1 (`qcode cases list`), memos 1" in qcode("status", study).stdout
    assert qcode("check", study).returncode == 0
    conn = sqlite3.connect(study / "qcode.sqlite")
    conn.execute("DROP TRIGGER memo_events_no_update")
    conn.commit()
    conn.close()
    result = qcode("check", study)
    assert result.returncode == 1
    assert "the append-only trigger 'memo_events_no_update' is missing or changed: the memo history" in result.stdout
