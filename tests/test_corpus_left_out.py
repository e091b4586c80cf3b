"""A folder run never reads qcode's own outputs, and says which files it left out and why (issue 11, defects 1-2)."""

from __future__ import annotations

import shutil
import warnings

import pytest

from conftest import DEMO
from qcode.ingest import IngestWarning, read_corpus


def _demo_copy(tmp_path):
    root = tmp_path / "mine"
    shutil.copytree(DEMO, root)
    return root


def _reasons(corpus_or_run) -> dict[str, str]:
    pairs = getattr(corpus_or_run, "left_out", None)
    if pairs is None:
        pairs = corpus_or_run.left_out_files
    return {str(p).rsplit("/", 1)[-1]: reason for p, reason in pairs}


def test_a_second_run_does_not_read_the_first_runs_output(tmp_path, fake_suggester):
    from qcode.suggest import suggest_corpus

    root = _demo_copy(tmp_path)
    out = root / "sugg.csv"
    first = suggest_corpus(root, fake_suggester, out=out)
    second = suggest_corpus(root, fake_suggester, out=out)
    assert second.documents == first.documents == 5
    assert second.segments == first.segments
    reasons = _reasons(second)
    assert "qcode" in reasons["sugg.csv"] and "qcode" in reasons["sugg.csv.run.json"]
    assert {f["file"].rsplit("/", 1)[-1] for f in second.record["left_out_files"]} >= {"sugg.csv", "sugg.csv.run.json"}


@pytest.mark.parametrize("header, kind", [
    ("run_id,doc_id,segment_id,start,end,speaker,role,unit,text,code_id,code_name,parent_id,parent_name,score,rank,model",
     "suggestions"),
    ("doc_id,doc_version,segment_id,start,end,text,code_id,code_name,coder,time,event_id,source,note,stale", "codings"),
    ("segment_id,doc_id,doc_version,start,end,text,unit,speaker,role,turn_index,timestamp", "segments"),
    ("run_id,segment_id,doc_id,doc_version,start,end,text,code_id,score,rank", "suggestions"),
    ("\ufeffdocument,start,end,text,coder,goals,goals.shared-vision", "codings"),
    ("document,start,end,text,code,code_name,coder", "codings"),
])
def test_tables_with_qcodes_header_are_left_out_by_header(tmp_path, header, kind):
    root = _demo_copy(tmp_path)
    (root / "renamed.csv").write_text(header + "\nx,y,z\n", encoding="utf-8")
    corpus = read_corpus(root)
    assert "renamed.csv" not in {p.name for p in corpus.files}
    reason = _reasons(corpus)["renamed.csv"]
    assert "qcode" in reason and kind in reason


def test_an_agreement_report_and_a_project_folder_are_left_out(tmp_path):
    root = _demo_copy(tmp_path)
    (root / "agreement.md").write_text("# Inter-coder agreement\n\nCoders: a, b\n", encoding="utf-8")
    (root / "proj").mkdir()
    (root / "proj" / "qcode.sqlite").write_bytes(b"SQLite format 3\x00")
    (root / "proj" / "notes.txt").write_text("Interviewer: hello\n", encoding="utf-8")
    corpus = read_corpus(root)
    names = {p.relative_to(root).as_posix() for p in corpus.files}
    assert "agreement.md" not in names and not any(n.startswith("proj/") for n in names)
    reasons = {p.relative_to(root).as_posix(): r for p, r in corpus.left_out}
    assert "agreement report" in reasons["agreement.md"]
    assert "project" in reasons["proj"] and len([p for p in reasons if p.startswith("proj")]) == 1


def test_a_users_own_csv_is_still_read(tmp_path):
    root = tmp_path / "survey"
    root.mkdir()
    (root / "answers.csv").write_text("id,text\nr1,We never had the funding to start.\n", encoding="utf-8")
    corpus = read_corpus(root)
    assert [d.id for d in corpus] == ["answers.csv#r1"] and corpus.left_out == []


def test_unsupported_files_are_left_out_by_reason(tmp_path):
    root = _demo_copy(tmp_path)
    (root / "notes.pdf").write_bytes(b"%PDF-1.4")
    (root / "README").write_text("about\n")
    corpus = read_corpus(root)
    reasons = _reasons(corpus)
    assert "unsupported file type '.pdf'" in reasons["notes.pdf"]
    assert "no extension" in reasons["README"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", IngestWarning)  # left out at listing time, not a read failure
        assert len(list(corpus)) == 5
    assert corpus.skipped == []


def test_the_run_counts_left_out_files_under_files_skipped(tmp_path, fake_suggester):
    from qcode.suggest import suggest_corpus

    root = _demo_copy(tmp_path)
    (root / "notes.pdf").write_bytes(b"%PDF-1.4")
    run = suggest_corpus(root, fake_suggester, out=tmp_path / "s.csv")
    assert list(_reasons(run)) == ["notes.pdf"] and "unsupported file type '.pdf'" in _reasons(run)["notes.pdf"]
    assert [f["file"] for f in run.record["left_out_files"]] == [str(root / "notes.pdf")]


def test_the_summary_lists_files_skipped_by_reason(tmp_path, fake_suggester):
    import io

    from rich.console import Console

    from qcode.cli.suggest_cmd import _summary
    from qcode.suggest import suggest_corpus

    root = _demo_copy(tmp_path)
    (root / "notes.pdf").write_bytes(b"%PDF-1.4")
    (root / "broken.docx").write_bytes(b"not a zip")
    out = root / "sugg.csv"
    suggest_corpus(root, fake_suggester, out=out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IngestWarning)
        run = suggest_corpus(root, fake_suggester, out=out)
    buffer = io.StringIO()
    _summary(run, console=Console(file=buffer, width=200))
    text = buffer.getvalue()
    line = next(line for line in text.splitlines() if "files skipped" in line)
    assert "4" in line and "unreadable 1" in line and "unsupported type 1" in line and "qcode output 2" in line


def test_the_header_signatures_match_the_writers_columns():
    from qcode.ingest.own_outputs import header_kind
    from qcode.interchange.spreadsheet import LONG_COLUMNS
    from qcode.suggest.pipeline import SUGGESTION_COLUMNS

    assert header_kind(SUGGESTION_COLUMNS) == "suggestions table"
    assert header_kind(LONG_COLUMNS) == "codings spreadsheet"
