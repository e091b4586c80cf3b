"""The table-format registry: one place that knows .csv, .jsonl, .parquet and .xlsx."""

from __future__ import annotations

import pytest

from qcode.errors import InputError, QcodeError
from qcode.formats import (
    TABLE_FORMATS,
    FormatError,
    TableFormat,
    frame_to_bytes,
    open_table_writer,
    read_table,
    register_table_format,
    rows_to_bytes,
    table_format,
)

HEADER = ["doc", "n", "text"]
ROWS = [["a.txt", 1, "x, \"quoted\""], ["b.txt", 2, "ü 😀\nsecond line"]]


def test_every_format_is_found_by_suffix_or_path():
    assert [f.name for f in TABLE_FORMATS] == ["csv", "jsonl", "parquet", "xlsx"]
    assert table_format(".CSV").name == "csv"
    assert table_format("out/x.parquet").name == "parquet"
    assert table_format("book.xlsm", reading=True).name == "xlsx"


def test_unknown_suffix_is_one_line_naming_the_file_and_the_known_suffixes():
    with pytest.raises(FormatError) as info:
        table_format("results/out.txt")
    message = str(info.value)
    assert "\n" not in message and message.startswith("results/out.txt: unknown table format '.txt'")
    assert message.endswith(".csv, .jsonl, .parquet, .xlsx")
    assert isinstance(info.value, InputError) and isinstance(info.value, QcodeError)
    with pytest.raises(FormatError, match="'.xlsm'"):
        table_format("book.xlsm")  # read, never written (Excel refuses macro files without macros)
    with pytest.raises(FormatError, match=r"'\(none\)'"):
        table_format("noextension")


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet", ".xlsx"])
def test_rows_round_trip_through_bytes_and_streaming_writers(tmp_path, suffix):
    path = tmp_path / f"t{suffix}"
    path.write_bytes(rows_to_bytes(HEADER, ROWS, suffix))
    header, rows = read_table(path)
    assert header == HEADER
    assert [[str(v) for v in row] for row in rows] == [[str(v) for v in row] for row in ROWS]

    streamed = tmp_path / f"s{suffix}"
    writer = open_table_writer(streamed, HEADER)
    writer.write_rows([dict(zip(HEADER, row)) for row in ROWS])
    assert not streamed.exists()
    writer.commit()
    header, rows = read_table(streamed)
    assert header == HEADER and [row[2] for row in rows] == [r[2] for r in ROWS]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet", ".xlsx"])
def test_frames_round_trip_with_missing_values(tmp_path, suffix):
    import pandas as pd

    frame = pd.DataFrame({"doc": ["a", "b"], "score": [0.5, None]})
    path = tmp_path / f"f{suffix}"
    path.write_bytes(frame_to_bytes(frame, path))
    header, rows = read_table(path)
    assert header == ["doc", "score"]
    assert rows[0][0] == "a" and float(rows[0][1]) == 0.5
    assert rows[1][1] in (None, "")


def test_csv_bytes_keep_their_two_flavours():
    import pandas as pd

    assert rows_to_bytes(["a"], [["é"]], ".csv") == "\ufeffa\r\né\r\n".encode("utf-8")
    assert frame_to_bytes(pd.DataFrame({"a": ["é"]}), ".csv") == "a\né\n".encode()


def test_xlsx_refuses_what_excel_cannot_hold_and_keeps_formulas_as_text(tmp_path):
    from openpyxl import load_workbook

    with pytest.raises(FormatError, match=r"row 2, column 'text': text holds control characters"):
        rows_to_bytes(["text"], [["bad\x01"]], ".xlsx")
    with pytest.raises(FormatError, match="over Excel's 32767"):
        rows_to_bytes(["text"], [["x" * 40000]], ".xlsx")
    path = tmp_path / "f.xlsx"
    path.write_bytes(rows_to_bytes(["text"], [["=SUM(A1:A2)"]], ".xlsx", sheet="codings"))
    ws = load_workbook(path)["codings"]
    assert ws["A2"].value == "=SUM(A1:A2)" and ws["A2"].data_type == "s"


def test_unreadable_files_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": 1}\nnot json\n')
    with pytest.raises(FormatError, match=r"bad\.jsonl: line 2: not JSON"):
        read_table(bad)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("a\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(FormatError, match=r"latin\.csv: row 2: not UTF-8"):
        read_table(latin)
    with pytest.raises(FormatError, match="no such file"):
        read_table(tmp_path / "missing.csv")


def test_a_registered_format_works_everywhere(tmp_path):
    from qcode.formats import CsvWriter

    tsv_like = TableFormat("csv2", (".csv2",), CsvWriter, lambda h, r, s: b"x", lambda f: b"y",
                           lambda p, s: (["x"], []))
    try:
        register_table_format(tsv_like)
        assert rows_to_bytes(["a"], [], "t.csv2") == b"x"
        assert ".csv2" in TABLE_FORMATS
    finally:
        TABLE_FORMATS._formats.pop("csv2")
        TABLE_FORMATS._by_suffix.pop(".csv2")
    assert ".csv2" not in TABLE_FORMATS


def test_streaming_xlsx_refusal_aborts_cleanly(tmp_path):
    target = tmp_path / "s.xlsx"
    writer = open_table_writer(target, ["text"])
    writer.write_rows([{"text": "fine"}])
    with pytest.raises(FormatError, match="row 3, column 'text'"):
        writer.write_rows([{"text": "bad\x02"}])
    writer.abort()
    assert list(tmp_path.iterdir()) == []
