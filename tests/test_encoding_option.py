"""Naming a transcript's encoding (issue 22, item 18): a GBK transcript was decoded as cp1252, garbled
and coded, with no option to say what it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from qcode.errors import InputError
from qcode.ingest import read_corpus, read_document
from qcode.suggest.options import SuggestOptions

TEXT = "访谈者: 网络对你的工作有什么改变?\n\n参与者: 咨询热线,每周两次。\n"


def test_a_named_encoding_reads_a_gbk_transcript(tmp_path: Path) -> None:
    path = tmp_path / "int01.txt"
    path.write_bytes(TEXT.encode("gbk"))
    [guessed] = read_document(path)
    assert guessed.text != TEXT.strip() + "\n" and any("cp1252" in w or "latin-1" in w for w in guessed.warnings)
    [doc] = read_document(path, encoding="GBK")
    assert doc.text == TEXT and doc.metadata["encoding"] == "gbk" and not doc.warnings
    assert [d.text for d in read_corpus(tmp_path, encoding="gbk")] == [TEXT]


def test_a_wrong_or_unknown_encoding_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "int01.txt"
    path.write_bytes(TEXT.encode("gbk"))
    with pytest.raises(InputError, match=r"int01\.txt: byte \d+ \(0x[0-9a-f]{2}\) is not utf-8"):
        read_document(path, encoding="utf-8")
    with pytest.raises(InputError, match="not an encoding Python knows"):
        read_corpus(tmp_path, encoding="klingon")


def test_the_run_records_a_named_encoding_only() -> None:
    assert "encoding" not in SuggestOptions().record()  # run ids of runs without it do not change
    assert SuggestOptions(encoding="gbk").record()["encoding"] == "gbk"
