"""Atomic writes and streaming writers: whole files or nothing, with ordinary permissions."""

from __future__ import annotations

import json
import os
import stat

import pytest

from qcode._io import atomic_write_text, default_file_mode
from qcode.errors import InputError
from qcode.formats import open_table_writer as open_writer


def test_atomic_write_replaces_whole_file_with_usual_mode(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    atomic_write_text(target, "new text")
    assert target.read_text() == "new text"
    assert stat.S_IMODE(os.stat(target).st_mode) == default_file_mode()
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_writer_publishes_only_on_commit(tmp_path, suffix):
    target = tmp_path / f"out{suffix}"
    writer = open_writer(target, ["a", "b"])
    writer.write_rows([{"a": 1, "b": "x, \"quoted\""}, {"a": 2, "b": "ü 😀"}])
    assert not target.exists()  # nothing visible until the run succeeds
    writer.commit()
    assert stat.S_IMODE(os.stat(target).st_mode) == default_file_mode()
    import pandas as pd

    frame = {".csv": pd.read_csv, ".jsonl": lambda p: pd.read_json(p, lines=True),
             ".parquet": pd.read_parquet}[suffix](target)
    assert frame["b"].tolist() == ["x, \"quoted\"", "ü 😀"]
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_aborted_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.jsonl"
    target.write_text(json.dumps({"a": "previous"}) + "\n")
    writer = open_writer(target, ["a"])
    writer.write_rows([{"a": "half"}])
    writer.abort()
    assert target.read_text() == json.dumps({"a": "previous"}) + "\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_unknown_output_format_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match=r"out\.txt.*\.csv, \.jsonl, \.parquet"):
        open_writer(tmp_path / "out.txt", ["a"])


def test_parquet_with_no_rows_is_still_a_valid_file_with_the_columns(tmp_path):
    import pandas as pd

    target = tmp_path / "empty.parquet"
    open_writer(target, ["doc_id", "score"]).commit()
    assert pd.read_parquet(target).columns.tolist() == ["doc_id", "score"]
