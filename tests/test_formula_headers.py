"""Formula-like code ids and names in CSV headers and the agreement CSV (issue 22, item 7): the wide
export's header and ``qcode agree --out report.csv`` wrote ``=…``, ``+…``, ``@…`` raw, without the guard
every other CSV cell has."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from qcode.agreement import report
from qcode.agreement.render import to_csv
from qcode.codebook.model import Code, Codebook
from qcode.formats import read_table
from qcode.interchange.spreadsheet import write_codings_table

EVIL = ["=1+1", "+SUM(A1)", "@cmd", "-2+3"]


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_wide_export_header_is_guarded_and_reads_back(tmp_path: Path) -> None:
    book = Codebook("x", [Code(code_id, f"name {code_id}") for code_id in EVIL])
    codings = pd.DataFrame([{"doc_id": "a.txt", "start": 0, "end": 4, "text": "Well", "code_id": code_id,
                             "coder": "ana"} for code_id in EVIL])
    path = write_codings_table(codings, tmp_path / "wide.csv", shape="wide", codebook=book)
    header = _cells(path.read_text(encoding="utf-8-sig"))[0]
    assert header[-4:] == ["'" + c for c in EVIL]
    assert read_table(path)[0][-4:] == EVIL  # qcode's own reader takes the guard off again


def test_agreement_csv_guards_code_ids_and_names() -> None:
    codings = pd.DataFrame({"unit": ["u1", "u1", "u2", "u2"], "coder": ["ana", "ben", "ana", "ben"],
                            "code": ["=1+1", "=1+1", "@cmd", "@cmd"]})
    rows = _cells(to_csv(report(codings, n_boot=0)))
    codes = {row[rows[0].index("code")] for row in rows[1:]}
    assert codes == {"'=1+1", "'@cmd", "(pooled)"}
    assert not any(cell[:1] in "=+@" for row in rows for cell in row if cell)
