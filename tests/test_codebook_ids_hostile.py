"""Code ids are held to what coder names are (issue 22, item 15): no escape sequences, newlines,
direction overrides or mixed alphabets, no NaN stored as 'nan'; a JSON integer of 100,000 digits is one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from qcode.codebook.io import read_codebook_file
from qcode.errors import CodebookError


@pytest.mark.parametrize(("raw_id", "why"), [
    ('"fund\\u001b[31mred"', "control characters or invisible ones"),
    ('"fund\\ning"', "control characters or invisible ones"),
    ('"fund\\u202eing"', "control characters or invisible ones"),
    ('"fundіng"', "mixes alphabets"),  # a Cyrillic і
    (".nan", "must be text or a whole number"),
    ("1.5", "must be text or a whole number"),
])
def test_code_ids_coder_names_would_refuse_are_refused(tmp_path: Path, raw_id: str, why: str) -> None:
    path = tmp_path / "book.yaml"
    path.write_text(f"codes:\n  - id: ok\n    name: Ok\n  - id: {raw_id}\n    name: Bad\n", encoding="utf-8")
    with pytest.raises(CodebookError) as info:
        read_codebook_file(path)
    assert "line 4" in str(info.value) and why in str(info.value) and "\n" not in str(info.value)


def test_whole_number_ids_still_read(tmp_path: Path) -> None:
    path = tmp_path / "book.yaml"
    path.write_text("codes:\n  - id: 12\n    name: Twelve\n", encoding="utf-8")
    assert read_codebook_file(path).codes[0].id == "12"


def test_a_json_integer_of_100000_digits_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "book.json"
    path.write_text('{"codes": [{"id": ' + "9" * 100_000 + ', "name": "Big"}]}', encoding="utf-8")
    with pytest.raises(CodebookError, match="number too long"):
        read_codebook_file(path)
    result = subprocess.run([sys.executable, "-m", "qcode", "codebook", "show", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
