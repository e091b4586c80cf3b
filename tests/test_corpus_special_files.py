"""``qcode suggest FOLDER`` on special files (issue 22, item 6): a FIFO or a link to /dev/zero named
``*.txt`` hung the run (every file was hashed whole before any check), a huge file was hashed before
the size limit refused it, and a link to a file outside the folder was read into the output."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qcode.errors import InputError
from qcode.ingest import read_corpus
from qcode.suggest.pipeline import corpus_digest


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "study"
    root.mkdir()
    (root / "int01.txt").write_text("Interviewer: Hi?\nP1: Hello.\n", encoding="utf-8")
    os.mkfifo(root / "pipe.txt")
    (root / "zero.txt").symlink_to("/dev/zero")
    secret = tmp_path / "secret.txt"
    secret.write_text("not part of the study", encoding="utf-8")
    (root / "outside.txt").symlink_to(secret)
    (root / "inside.txt").symlink_to(root / "int01.txt")  # read once, under its own name
    (root / "big.txt").write_bytes(b"P1: " + b"x" * 5000)
    return root


def test_special_files_links_out_and_oversized_files_are_left_out_with_a_line(folder: Path) -> None:
    corpus = read_corpus(folder, max_bytes=4096)
    assert [p.name for p in corpus.files] == ["int01.txt"]
    why = {p.name: reason for p, reason in corpus.left_out}
    assert "FIFO" in why["pipe.txt"] and str(folder / "pipe.txt") in why["pipe.txt"]
    assert "outside the folder" in why["zero.txt"] and "outside the folder" in why["outside.txt"]
    assert "over the" in why["big.txt"] and "limit" in why["big.txt"]
    assert len(corpus_digest(corpus.root, corpus.files)) == 64  # only regular files are hashed
    assert "read under its own name" in why["inside.txt"]
    assert [doc.id for doc in corpus] == ["int01.txt"]


def test_a_fifo_named_directly_is_refused_at_once(folder: Path) -> None:
    with pytest.raises(InputError, match="FIFO"):
        read_corpus(folder / "pipe.txt")
