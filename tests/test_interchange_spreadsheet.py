"""Coded spreadsheets: long and wide shapes, CSV and XLSX, import into and export from a project."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from qcode.codebook import Code, Codebook
from qcode.document import Document, Turn, segment_id
from qcode.errors import InterchangeError
from qcode.interchange.spreadsheet import codings_from_rows, detect_shape, read_codings_table
from qcode.project import init_project
from qcode.project.bridge import export_codings_table, import_codings_table

TEXT_1 = "P1: Café ☕ costs too much 😀.\nP2: We wait and wait; we wait.\nP1: =SUM(A1) is what I typed."
TEXT_2 = "Another transcript, naïve and short."
CB = Codebook("demo", [Code("access", "Access"), Code("access.cost", "Cost", parent="access"),
                       Code("wait", "Waiting"), Code("trust", "Trust")])
COLS = ["doc_id", "start", "end", "text", "code_id", "coder"]


def new_project(path: Path):
    project = init_project(path, codebook=CB)
    project.add_documents([Document("a.txt", TEXT_1, [Turn(0, len(TEXT_1))]),
                           Document("b.txt", TEXT_2, [Turn(0, len(TEXT_2))])])
    return project


def span(text: str, piece: str) -> tuple[int, int]:
    i = text.index(piece)
    return i, i + len(piece)


def coded_project(path: Path):
    project = new_project(path)
    for coder, doc, piece, code in [("alice", "a.txt", "Café ☕ costs too much 😀", "access.cost"),
                                    ("alice", "a.txt", "Café ☕ costs too much 😀", "access"),
                                    ("bob", "a.txt", "Café ☕ costs too much 😀", "access.cost"),
                                    ("bob", "a.txt", "=SUM(A1) is what I typed.", "trust"),
                                    ("alice", "b.txt", "naïve", "trust")]:
        text = TEXT_1 if doc == "a.txt" else TEXT_2
        project.code_span(coder, doc, *span(text, piece), code)
    return project


def write_csv(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


@pytest.mark.parametrize("shape", ["long", "wide"])
@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_then_import_reproduces_codings(tmp_path, shape, suffix):
    src = coded_project(tmp_path / "src")
    out = export_codings_table(src, tmp_path / f"codings{suffix}", shape=shape)
    dst = new_project(tmp_path / "dst")
    summary = import_codings_table(dst, out)
    assert summary["shape"] == shape and summary["codings"] == 5
    want = src.codings()[COLS].sort_values(COLS).reset_index(drop=True)
    got = dst.codings()[COLS].sort_values(COLS).reset_index(drop=True)
    assert got.equals(want)
    again = import_codings_table(dst, out)
    assert again["codings"] == 0 and again["already_present"] == 5


def test_xlsx_keeps_formula_looking_text_as_text(tmp_path):
    out = export_codings_table(coded_project(tmp_path / "p"), tmp_path / "c.xlsx")
    ws = load_workbook(out).active
    cells = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith("=SUM")]
    assert cells and all(c.data_type == "s" for c in cells)


def test_wide_export_has_one_column_per_code(tmp_path):
    out = export_codings_table(coded_project(tmp_path / "p"), tmp_path / "w.csv", shape="wide")
    header, *rows = out.read_text(encoding="utf-8-sig").splitlines()
    assert header.split(",")[-4:] == ["access", "access.cost", "wait", "trust"]
    alice_cafe = next(r for r in rows if r.startswith("a.txt") and r.split(",")[4] == "alice")
    assert alice_cafe.split(",")[-4:] == ["1", "1", "0", "0"]


def test_long_rows_with_text_only_are_located_and_names_accepted(tmp_path):
    project = new_project(tmp_path / "p")
    path = write_csv(tmp_path / "t.csv", ["Document,Quote,Theme,Coder",
                                          "a.txt,Café ☕ costs too much,cost,carol",
                                          'b.txt,"naïve ",Trust,carol'])
    summary = import_codings_table(project, path)
    got = project.codings()[["doc_id", "text", "code_id"]].values.tolist()
    assert sorted(got) == [["a.txt", "Café ☕ costs too much", "access.cost"], ["b.txt", "naïve", "trust"]]
    assert summary["coders"] == ["carol"]


def test_wide_rows_with_coder_given_once(tmp_path):
    project = new_project(tmp_path / "p")
    s, e = span(TEXT_1, "We wait and wait; we wait.")
    path = write_csv(tmp_path / "w.csv", ["document;start;end;Waiting;Trust;speaker",
                                          f"a.txt;{s};{e};1;yes;P2", "b.txt;0;7;0;;P1"])
    summary = import_codings_table(project, path, coder="dana")
    assert summary["shape"] == "wide"
    got = sorted(project.codings()[["start", "end", "code_id", "coder"]].values.tolist())
    assert got == [[s, e, "trust", "dana"], [s, e, "wait", "dana"]]


def test_segment_ids_place_codings(tmp_path):
    from qcode.document import Segment

    project = new_project(tmp_path / "p")
    s, e = span(TEXT_1, "We wait and wait; we wait.")
    seg = Segment(segment_id("a.txt", "turn", s, e), "a.txt", s, e, TEXT_1[s:e], "turn")
    project.add_segments([seg])
    path = write_csv(tmp_path / "s.csv", ["segment_id,code,coder", f"{seg.id},wait,erin"])
    import_codings_table(project, path)
    row = project.codings().iloc[0]
    assert (row["segment_id"], row["start"], row["end"]) == (seg.id, s, e)


@pytest.mark.parametrize("lines, coder, message", [
    (["document,start,end,code,coder", "a.txt,0,3,Acess,al"], None,
     "row 2, column 'code' (D): unknown code 'Acess'"),
    (["document,start,end,code,coder", "a.txt,0,3,wait,al", "a.txt,x,3,wait,al"], None,
     "row 3, column 'start' (B): expected a whole number of characters, got 'x'"),
    (["document,start,end,code,coder", "a.txt,5,3,wait,al"], None, "row 2, column 'start' (B): start 5 is not before end 3"),
    (["document,start,end,code,coder", "a.txt,0,999,wait,al"], None,
     "row 2: end 999 is past the end of document 'a.txt' (89 characters)"),
    (["document,text,code,coder", "a.txt,wait,wait,al"], None,
     "row 2: the text 'wait' occurs 3 times in document 'a.txt'; add start and end columns"),
    (["document,text,code,coder", "a.txt,not in it,wait,al"], None, "row 2: the text 'not in it' is not in document"),
    (["document,start,end,text,code,coder", "a.txt,0,3,XYZ,wait,al"], None,
     "row 2: the text does not match document 'a.txt' at 0:3"),
    (["document,start,end,code,coder", "zzz.txt,0,3,wait,al"], None, "row 2: unknown document 'zzz.txt'"),
    (["document,start,end,code", "a.txt,0,3,wait"], None, "no coder column (add one, or name the coder: --coder"),
    (["document,start,end,code,coder", "a.txt,0,3,wait,"], None, "row 2, column 'coder' (E): the coder is empty"),
    (["document,start,end,Waiting,Trsut", "a.txt,0,3,1,0"], "al",
     "column 'Trsut' (E) is neither a known column nor a code of codebook 'demo'"),
    (["document,start,end,Waiting", "a.txt,0,3,maybe"], "al", "row 2, column 'Waiting' (D): expected 0 or 1, got 'maybe'"),
    (["document,doc_id,start,end,code,coder", "a.txt,a.txt,0,3,wait,al"], None,
     "columns 'document' (A) and 'doc_id' (B) both give the document"),
    (["document,start,code,coder", "a.txt,,wait,al"], None, "give start and end, or the coded text"),
])
def test_bad_rows_are_refused_naming_row_and_column_and_nothing_is_recorded(tmp_path, lines, coder, message):
    project = coded_project(tmp_path / "p")
    before = len(project.decisions())
    path = write_csv(tmp_path / "bad.csv", lines)
    with pytest.raises(InterchangeError) as err:
        import_codings_table(project, path, coder=coder)
    assert str(path) in str(err.value) and message in str(err.value), str(err.value)
    assert "\n" not in str(err.value)
    assert len(project.decisions()) == before


def test_an_error_on_a_late_row_records_none_of_the_earlier_rows(tmp_path):
    project = new_project(tmp_path / "p")
    lines = ["document,start,end,code,coder"] + [f"a.txt,{i},{i + 2},wait,al" for i in range(20)] + \
            ["a.txt,0,3,nope,al"]
    with pytest.raises(InterchangeError, match="row 22"):
        import_codings_table(project, write_csv(tmp_path / "late.csv", lines))
    assert project.decisions().empty


def test_csv_that_is_not_utf8_is_refused_with_advice(tmp_path):
    project = new_project(tmp_path / "p")
    path = write_csv(tmp_path / "latin.csv", ["document,text,code,coder", "b.txt,naïve,trust,al"], "cp1252")
    with pytest.raises(InterchangeError, match=r"latin.csv: row 2: not UTF-8 \(byte 0xef\); save the sheet as 'CSV UTF-8'"):
        import_codings_table(project, path)


def test_xlsx_written_by_hand_with_numbers_and_booleans(tmp_path):
    project = new_project(tmp_path / "p")
    book = Workbook()
    ws = book.active
    ws.append(["Document", "Start", "End", "Coder", "Waiting", "Trust"])
    s, e = span(TEXT_1, "We wait and wait; we wait.")
    ws.append(["a.txt", float(s), e, "fay", True, 0])
    ws.append([None, None, None, None, None, None])  # blank rows are skipped
    book.create_sheet("notes").append(["ignore me"])
    book.save(tmp_path / "hand.xlsx")
    import_codings_table(project, tmp_path / "hand.xlsx")
    assert project.codings()[["start", "end", "code_id"]].values.tolist() == [[s, e, "wait"]]
    with pytest.raises(InterchangeError, match="no sheet 'Sheet9'"):
        import_codings_table(project, tmp_path / "hand.xlsx", sheet="Sheet9")


def test_shape_detection_and_pure_parsing():
    assert detect_shape(["doc", "text", "Code"]) == "long"
    assert detect_shape(["doc", "text", "Waiting"]) == "wide"
    table = codings_from_rows(["document", "text", "Waiting", "trust"], [["a", "x", "1", "1"], ["a", "y", "0", ""]],
                              CB, "mem.csv", coder="al")
    assert [(c.row, c.code_id, c.text) for c in table.codings] == [(2, "wait", "x"), (2, "trust", "x")]


def test_read_codings_table_rejects_unknown_formats(tmp_path):
    (tmp_path / "x.ods").write_bytes(b"")
    with pytest.raises(InterchangeError, match=r"unknown spreadsheet format '\.ods'"):
        read_codings_table(tmp_path / "x.ods", CB)


cell_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from('\n",;='),
                    min_size=1, max_size=60)


@settings(max_examples=80, deadline=None)
@given(pieces=st.lists(cell_text, min_size=1, max_size=5), shape=st.sampled_from(["long", "wide"]))
def test_csv_rows_round_trip_through_bytes(tmp_path_factory, pieces, shape):
    """Quotes, separators, newlines and '=' in the coded text survive CSV writing and reading."""
    import pandas as pd

    from qcode.interchange.spreadsheet import codings_to_rows, resolve_spans, rows_to_bytes

    text = "|".join(pieces)
    frame = pd.DataFrame([{"doc_id": "d.txt", "start": sum(len(p) + 1 for p in pieces[:i]),
                           "end": sum(len(p) + 1 for p in pieces[:i]) + len(piece), "text": piece,
                           "code_id": ("wait", "trust")[i % 2], "coder": "al"} for i, piece in enumerate(pieces)])
    header, rows = codings_to_rows(frame, shape, CB)
    path = tmp_path_factory.mktemp("csv") / "c.csv"
    path.write_bytes(rows_to_bytes(header, rows, ".csv"))
    table = read_codings_table(path, CB)
    placed = resolve_spans(table, {"d.txt": text})
    assert sorted((p["start"], p["end"], p["code_id"]) for p in placed) == \
        sorted(zip(frame["start"], frame["end"], frame["code_id"]))


@pytest.mark.parametrize("what", ["codings", "decisions"])
def test_the_project_stores_own_csv_export_imports_back(tmp_path, what):
    """`qcode export --what codings|decisions --out x.csv` is a long sheet this importer understands."""
    from qcode.project.bridge import export_table

    src = coded_project(tmp_path / "src")
    out = export_table(src, what, tmp_path / "store.csv")
    dst = new_project(tmp_path / "dst")
    if what == "decisions":
        with pytest.raises(InterchangeError, match=r"column 'verdict' \(K\) makes this a decision log"):
            import_codings_table(dst, out)
        return
    import_codings_table(dst, out)
    want = src.codings()[COLS].sort_values(COLS).reset_index(drop=True)
    assert dst.codings()[COLS].sort_values(COLS).reset_index(drop=True).equals(want)


def test_rows_marked_stale_are_skipped_with_a_warning():
    table = codings_from_rows(["document", "start", "end", "code", "coder", "stale"],
                              [["a", "0", "3", "wait", "al", "False"], ["a", "5", "9", "wait", "al", "True"]],
                              CB, "store.csv")
    assert [(c.row, c.start) for c in table.codings] == [(2, 0)]
    assert any("skipped 1 rows marked stale" in w for w in table.warnings)


def test_the_project_side_lives_only_in_the_bridge():
    import importlib

    import qcode.interchange.spreadsheet as spreadsheet

    assert not hasattr(spreadsheet, "import_codings_table") and not hasattr(spreadsheet, "export_codings_table")
    for old in ("qcode.project.export", "qcode.project.review"):
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(old)
