"""Cases, attributes and memos in real projects: append-only history, all-or-nothing imports, bad input."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest
from openpyxl import Workbook

from qcode.errors import InputError, ProjectError
from qcode.project import case_of_codings, case_of_segments, open_project
from qcode.project.caseinput import ManyValuesWarning
from qcode.project.sample import build_sample_project


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def study(tmp_path):
    return build_sample_project(tmp_path / "study")


def test_import_sets_attributes_and_reimport_changes_nothing(study, tmp_path):
    table = write(tmp_path / "cases.csv", "case,phase,sector,role\nP1,1,NHS,nurse\nP2,2,non-NHS,\n")
    summary = study.import_cases(table, author="alice")
    assert summary == {"file": str(table), "by": "speaker", "cases": 2, "new_cases": 2,
                       "attributes": ["phase", "sector", "role"], "changed": 5}
    cases = study.cases()
    assert list(cases.columns) == ["case", "by", "phase", "role", "sector"]
    assert cases.values.tolist() == [["P1", "speaker", "1", "nurse", "NHS"], ["P2", "speaker", "2", None, "non-NHS"]]
    again = study.import_cases(table, author="alice")
    assert again["changed"] == 0 and again["new_cases"] == 0
    assert len(study.case_history()) == 7  # 2 registrations + 5 values, nothing more


def test_a_change_is_a_new_event_and_as_of_shows_the_old_value(study, tmp_path):
    study.set_case_attributes("P1", {"role": "nurse", "phase": "1"}, author="alice")
    first_last = int(study.case_history()["event_id"].max())
    assert study.set_case_attributes("P1", {"role": "manager", "phase": None}, author="bob") == 2
    assert study.cases().values.tolist() == [["P1", "speaker", None, "manager"]]
    assert study.cases(as_of=first_last).values.tolist() == [["P1", "speaker", "1", "nurse"]]
    history = study.case_history()
    assert history[["attribute", "value", "author"]].values.tolist()[-2:] == [["role", "manager", "bob"],
                                                                             ["phase", None, "bob"]]
    assert list(history.columns) == ["case", "by", "attribute", "value", "author", "time", "event_id", "source"]
    study.add_memo("project", None, "a memo", "alice")
    conn = sqlite3.connect(study.db_path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE case_events SET value = 'x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM memo_events")


def test_document_cases_and_the_case_of_each_passage(study):
    study.set_case_attributes("site-b/interview-02.txt", {"site": "b"}, by="document", author="alice")
    study.set_case_attributes("P1", {"site": "a"}, author="alice")
    cases = study.cases()
    assert cases[["case", "by", "site"]].values.tolist() == [["site-b/interview-02.txt", "document", "b"],
                                                              ["P1", "speaker", "a"]]
    segments = study.segments()
    owners = case_of_segments(segments, cases)
    got = dict(zip(zip(segments["speaker"], segments["doc_id"]), owners))
    assert got[("P1", "site-a/interview-01.txt")] == "P1"
    assert got[("I", "site-a/interview-01.txt")] is None  # the interviewer is no case
    assert got[("P2", "site-b/interview-02.txt")] == "site-b/interview-02.txt"  # the document's case
    text = study.document_text("site-a/interview-01.txt")
    start = text.index("budget")
    study.code_span("alice", "site-a/interview-01.txt", start, start + 6, "funding")
    study.decide("alice", segments.segment_id.iloc[-1], "funding", "accept")
    codings = study.codings()
    assert sorted(case_of_codings(codings, study.segments(all_versions=True), cases)) == [
        "P1", "site-b/interview-02.txt"]
    summary = study.case_summary()
    assert summary[["case", "passages", "coded"]].values.tolist() == [["site-b/interview-02.txt", 4, 1],
                                                                       ["P1", 3, 0]]


def test_bad_tables_are_refused_whole(study, tmp_path):
    study.import_cases(write(tmp_path / "ok.csv", "case,phase\nP1,1\n"), author="alice")
    before = study.case_history()
    bad = {
        "no-case.csv": ("participant,phase\nP1,1\n", "first column must be named 'case'"),
        "unknown.csv": ("case,phase\nP2,1\nP7,2\nP10,1\n", r"2 case\(s\) match no speaker.*'P7' \(closest: 'P2', 'P1'\), 'P10'"),
        "conflict.csv": ("case,phase\nP2,1\nP2,2\n", "row 3: case 'P2' is also on row 2 with phase '1', here '2'"),
        "formula.csv": ("case,phase\nP2,\"=HYPERLINK(\"\"http://x\"\")\"\n", "row 2: column 'phase'.*formula"),
        "twice.csv": ("case,phase,phase\nP2,1,1\n", "attribute 'phase' is named twice"),
        "reserved.csv": ("case,by\nP2,1\n", "'by' cannot be an attribute name"),
    }
    for name, (text, message) in bad.items():
        with pytest.raises(InputError, match=message):
            study.import_cases(write(tmp_path / name, text), author="alice")
    with pytest.raises(InputError, match="row 2: not UTF-8"):
        study.import_cases(write(tmp_path / "latin.csv", "case,role\nP2,infirmière\n", "latin-1"), author="alice")
    with pytest.raises(InputError, match="match no document id"):
        study.import_cases(write(tmp_path / "docs.csv", "case,site\nsite-c.txt,c\n"), by="document")
    with pytest.raises(ProjectError, match="coder name"):
        study.import_cases(tmp_path / "ok.csv", author="\u200balice")
    assert study.case_history().equals(before)


def test_xlsx_formula_cells_are_refused_and_values_read(study, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["case", "phase", "joined"])
    sheet.append(["P1", 1, "2024"])
    sheet.append(["P2", 2.0, None])
    book.save(tmp_path / "cases.xlsx")
    study.import_cases(tmp_path / "cases.xlsx")
    assert study.cases()[["case", "phase", "joined"]].values.tolist() == [["P1", "1", "2024"], ["P2", "2", None]]
    sheet["B3"] = "=1+1"
    book.save(tmp_path / "formula.xlsx")
    with pytest.raises(InputError, match="cell B3 is a formula"):
        study.import_cases(tmp_path / "formula.xlsx")


def test_many_distinct_values_warn(study, tmp_path, monkeypatch):
    monkeypatch.setattr("qcode.project.cases.MANY_VALUES", 1)
    with pytest.warns(ManyValuesWarning, match="'code' has 2 distinct values"):
        study.import_cases(write(tmp_path / "ids.csv", "case,code\nP1,x1\nP2,x2\n"))


def test_memos_are_versioned_and_targets_checked(study):
    seg = study.segments().segment_id.iloc[1]
    study.set_case_attributes("P1", {"site": "a"})
    ids = [study.add_memo("project", None, "Overall: funding dominates.", "alice"),
           study.add_memo("document", "site-a/interview-01.txt", "Noisy recording.", "alice"),
           study.add_memo("code", "funding", "Split grants from budgets?", "bob"),
           study.add_memo("case", "P1", "Came late.", "bob"),
           study.add_memo("passage", seg, "Key quote <b>here</b>.", "alice")]
    assert ids == [1, 2, 3, 4, 5]
    assert study.edit_memo(3, "Split grants from budgets: yes.", "alice") == 2
    assert study.edit_memo(3, "Split grants from budgets: yes.", "alice") == 2  # same text: no new version
    memos = study.memos()
    assert memos[["memo_id", "target_kind", "version"]].values.tolist() == [
        [1, "project", 1], [2, "document", 1], [3, "code", 2], [4, "case", 1], [5, "passage", 1]]
    assert study.memos("code", "funding")["text"].tolist() == ["Split grants from budgets: yes."]
    history = study.memo_history(3)
    assert history[["version", "author", "text"]].values.tolist() == [
        [1, "bob", "Split grants from budgets?"], [2, "alice", "Split grants from budgets: yes."]]
    assert history["guid"].nunique() == 1
    for args, message in ((("code", "nope", "x", "a"), "no code 'nope'"),
                          (("passage", "s-000", "x", "a"), "unknown segment"),
                          (("case", "P9", "x", "a"), "unknown case 'P9'"),
                          (("document", "nope.txt", "x", "a"), "unknown document"),
                          (("project", "x", "x", "a"), "names no target"),
                          (("folder", "x", "x", "a"), "a memo is on one of"),
                          (("project", None, "  ", "a"), "needs text"),
                          (("project", None, "x", None), "needs an author")):
        with pytest.raises(ProjectError, match=message):
            study.add_memo(*args)
    with pytest.raises(ProjectError, match="no memo 9"):
        study.edit_memo(9, "x", "alice")
    assert len(study.memo_history()) == 6


def test_an_older_project_upgrades_and_reads_without_cases(study):
    study.close()
    conn = sqlite3.connect(study.db_path)
    conn.execute("DROP TABLE case_events")
    conn.execute("DROP TABLE memo_events")
    conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    old = open_project(study.path, readonly=True)
    assert old.cases().empty and old.memos().empty
    old.close()
    upgraded = open_project(study.path)
    assert upgraded.schema_version == 3
    upgraded.set_case_attributes("P1", {"site": "a"})
    assert upgraded.cases().values.tolist() == [["P1", "speaker", "a"]]
    assert isinstance(upgraded.memos(), pd.DataFrame)


def test_the_demo_cases_file_matches_every_participant_of_the_demo(tmp_path):
    from pathlib import Path

    from qcode.ingest import read_corpus
    from qcode.project import init_project
    from qcode.segmentation import segment

    demo = Path(__file__).resolve().parents[1] / "corpora" / "demo"
    project = init_project(tmp_path / "demo", codebook="mcn-sst")
    docs = list(read_corpus(demo))
    project.add_documents(docs)
    project.add_segments(seg for doc in docs for seg in segment(doc, unit="turn"))
    summary = project.import_cases(demo / "cases.csv")
    assert summary["cases"] == 9 and summary["attributes"] == ["phase", "org_type", "sector", "organisation", "role"]
    cases = project.case_summary()
    assert set(cases["org_type"]) == {"hub", "spoke"} and set(cases["sector"]) == {"NHS", "non-NHS"}
    assert (cases["passages"] > 0).all()
    participants = {s for s in project.segments().loc[lambda f: f["role"] == "participant", "speaker"] if s}
    assert participants == set(cases["case"])  # every participant is a case, no interviewer is
