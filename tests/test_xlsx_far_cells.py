"""An .xlsx with one cell in the last column (XFD) of each row (issue 22, item 5).

openpyxl pads every row out to its last cell, so 30,000 rows with a cell in column XFD became
30,000 tuples of 16,384 values (84 s, 3.8 GB). The readers now keep only the header's named
columns. Asserted as work (cells handed back) and traced memory, not time.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from qcode.ingest import read_document
from qcode.interchange.spreadsheet import read_rows
from qcode.office import read_xlsx_rows

ROWS = 300
LAST_COLUMN = 16_384  # XFD


@pytest.fixture(scope="module")
def far_right(tmp_path_factory) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.append(["id", "response"])
    for r in range(2, ROWS + 2):
        ws.cell(row=r, column=1, value=f"r{r}")
        ws.cell(row=r, column=2, value=f"The nurse came on day {r}.")
        ws.cell(row=r, column=LAST_COLUMN, value="x")
    path = tmp_path_factory.mktemp("xlsx") / "far.xlsx"
    book.save(path)
    return path


def test_rows_hold_only_the_named_columns(far_right: Path) -> None:
    title, rows = read_xlsx_rows(far_right, far_right)
    assert rows[0] == ("id", "response") and len(rows) == ROWS + 1
    assert sum(len(row) for row in rows) == 2 * (ROWS + 1)  # was 16,384 cells a row


def test_reading_the_responses_stays_small(far_right: Path) -> None:
    tracemalloc.start()
    try:
        docs = read_document(far_right)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(docs) == ROWS and docs[0].text == "The nurse came on day 2."
    assert peak < 20 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB"  # 16,384-wide rows needed over 40 MiB


def test_the_codings_import_reads_the_same_way(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.append(["document", "start", "end", "code", "coder"])
    ws.append(["a.txt", 0, 4, "funding", "ana"])
    ws.cell(row=2, column=LAST_COLUMN, value="stray")
    ws.cell(row=1, column=8, value="note")  # a named column after a gap keeps its place (column H)
    path = tmp_path / "codings.xlsx"
    book.save(path)
    header, rows = read_rows(path)
    assert header == ["document", "start", "end", "code", "coder", "", "", "note"]
    assert rows == [["a.txt", 0, 4, "funding", "ana", None, None, None]]


def test_a_header_named_in_column_xfd_keeps_only_its_named_columns(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.append(["id", "response"])
    ws.cell(row=1, column=LAST_COLUMN, value="far")
    for r in range(2, 50):
        ws.append([f"r{r}", "text"])
    path = tmp_path / "wide.xlsx"
    book.save(path)
    _, rows = read_xlsx_rows(path, path)
    assert rows[0] == ("id", "response", "far") and max(len(row) for row in rows) == 3
