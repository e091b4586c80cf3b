"""Smaller ingest defects of issue 22 (item 14): every format gets the line-length limit, an unclosed CSV
quote is an error naming its line, a NUL character is refused in every text format, and a file of only
invisible characters is refused rather than given codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from qcode import limits
from qcode.errors import InputError
from qcode.ingest import read_document


def _srt(text: str) -> str:
    return f"1\n00:00:01,000 --> 00:00:02,000\nAnna: {text}\n\n2\n00:00:03,000 --> 00:00:04,000\nBen: ok\n"


@pytest.mark.parametrize("suffix", [".vtt", ".srt", ".txt"])
def test_a_line_past_the_limit_is_refused_in_every_text_format(tmp_path: Path, suffix: str) -> None:
    long = "word " * 400
    text = ("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Anna>" + long + "\n") if suffix == ".vtt" else (
        _srt(long) if suffix == ".srt" else "Anna: " + long + "\n")
    path = tmp_path / f"long{suffix}"
    path.write_text(text, encoding="utf-8")
    with limits.override(line_chars=1000), pytest.raises(InputError, match=r"long\.\w+:\d+: a line of \d+ characters"):
        read_document(path)


def test_an_unclosed_csv_quote_names_the_line_where_it_opened(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text('id,text\n1,"we waited\n2,ok\n3,fine\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"answers\.csv:2: a quote that is never closed"):
        read_document(path)


@pytest.mark.parametrize("suffix", [".srt", ".txt", ".vtt"])
def test_a_nul_character_is_refused_whatever_the_format(tmp_path: Path, suffix: str) -> None:
    body = "we waited " * 200 + "\x00 and then"
    text = _srt(body) if suffix == ".srt" else (
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Anna>" + body + "\n" if suffix == ".vtt" else "Anna: " + body)
    path = tmp_path / f"nul{suffix}"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))  # a BOM skipped the binary check
    with pytest.raises(InputError, match="NUL"):
        read_document(path)


@pytest.mark.parametrize("suffix", [".txt", ".md"])
def test_only_invisible_characters_is_no_text(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"blank{suffix}"
    path.write_text("\u200b\u200d\n\u2060\u202e \ufeff\u00ad\n", encoding="utf-8")
    with pytest.raises(InputError, match="invisible"):
        read_document(path)
