"""Outputs under attack (issue 13): formula injection in exported spreadsheets, and temp files of a killed run."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import zipfile

from qcode import formats
from qcode.ingest import list_files
from qcode.safetext import FORMULA_PREFIXES, neutralise_cell, restore_cell

HOSTILE = ["=HYPERLINK(\"http://x\",\"click\")", "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", "plain", "'kept"]


def test_csv_exports_neutralise_formula_cells_and_qcode_reads_them_back_raw(tmp_path):
    path = tmp_path / "out.csv"
    writer = formats.open_table_writer(path, ["coder", "note"])
    writer.write_rows([{"coder": v, "note": v} for v in HOSTILE])
    writer.commit()
    with open(path, encoding="utf-8", newline="") as handle:
        cells = [row[0] for row in csv.reader(handle)][1:]
    for raw, written in zip(HOSTILE, cells):
        assert written[:1] not in FORMULA_PREFIXES, written
        assert restore_cell(written) == raw
    header, rows = formats._read_csv(path, None)
    assert [r[0] for r in rows] == HOSTILE
    data = formats.rows_to_bytes(["coder"], [[v] for v in HOSTILE], "x.csv").decode("utf-8-sig")
    assert "\r\n=HYPERLINK" not in data and "'=HYPERLINK" in data


def test_xlsx_exports_keep_text_as_text(tmp_path):
    data = formats.rows_to_bytes(["coder"], [[v] for v in HOSTILE], "x.xlsx")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet  # no cell is a formula


def test_neutralise_leaves_numbers_and_plain_text_alone():
    assert neutralise_cell(-3.5) == -3.5 and neutralise_cell("") == "" and neutralise_cell("ok") == "ok"


_KILLED_WRITER = """
import sys, time
from qcode import formats
w = formats.open_table_writer(__import__("pathlib").Path(sys.argv[1]), ["a"])
w.write_rows([{"a": 1}])
print("writing", flush=True)
time.sleep(60)
"""


def test_a_killed_runs_part_file_is_cleaned_next_run_and_never_read_as_input(tmp_path):
    out = tmp_path / "X.csv"
    child = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(out)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "writing"
    live = list(tmp_path.glob(".X.csv.*.part"))
    assert len(live) == 1
    other = formats.open_table_writer(out, ["a"])  # a run while the first is alive leaves its file alone
    assert live[0].exists()
    other.abort()
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    (tmp_path / "a.txt").write_text("Interviewer: hi\nP1: there\n")
    assert [p.name for p in list_files(tmp_path)] == ["a.txt"]  # never mistaken for input
    writer = formats.open_table_writer(out, ["a"])
    writer.write_rows([{"a": 2}])
    writer.commit()
    assert not live[0].exists()
    assert list(tmp_path.glob(".X.csv.*.part")) == []
    assert out.read_text().splitlines() == ["a", "2"]


def test_the_qdpx_writer_and_reader_agree_on_the_limits(tmp_path):
    import pytest

    from qcode import limits
    from qcode.codebook.model import Codebook
    from qcode.errors import InterchangeError
    from qcode.interchange.model import RefiProject, RefiSource
    from qcode.interchange.qdpx import read_qdpx, write_qdpx

    sources = [RefiSource(guid=f"00000000-0000-4000-8000-{i:012d}", name=f"d{i}.txt", text=f"text {i}") for i in range(30)]
    proj = RefiProject(name="p", users=[], codebook=Codebook("c", []), sources=sources, codings=[])
    with limits.override(documents=20):
        with pytest.raises(InterchangeError, match=r"30 documents, more than a \.qdpx qcode can read back holds \(limit documents=20"):
            write_qdpx(proj, tmp_path / "p.qdpx")
    write_qdpx(proj, tmp_path / "p.qdpx")
    with limits.override(documents=30, zip_members=31):
        assert len(read_qdpx(tmp_path / "p.qdpx").sources) == 30  # exactly at the limits: writer and reader agree
    with limits.override(documents=29):
        with pytest.raises(InterchangeError, match=r"30 text sources, more than 29"):
            read_qdpx(tmp_path / "p.qdpx")
