"""One-line errors in plain words (issue 22, item 15): libxml2's "try XML_PARSE_HUGE" advice, and the
CSV cell limit, which was csv's fixed, unnamed 131,072 characters."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from qcode import limits
from qcode.errors import InputError
from qcode.formats import FormatError, read_table
from qcode.ingest import read_document


def test_a_huge_docx_attribute_is_said_in_plain_words(tmp_path: Path) -> None:
    import docx

    plain = tmp_path / "plain.docx"
    word = docx.Document()
    word.add_paragraph("Interviewer: hi")
    word.save(plain)
    with zipfile.ZipFile(plain) as zin:
        parts = {name: zin.read(name) for name in zin.namelist()}
    body = parts["word/document.xml"].decode()
    parts["word/document.xml"] = body.replace(
        "<w:body>", '<w:body><w:p w:rsidR="' + "A" * 10_500_000 + '"><w:r><w:t>x</w:t></w:r></w:p>', 1).encode()
    huge = tmp_path / "huge.docx"
    with zipfile.ZipFile(huge, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in parts.items():
            zout.writestr(name, data)
    with limits.override(zip_ratio=1e9), pytest.raises(InputError) as info:
        read_document(huge)
    assert "XML_PARSE_HUGE" not in str(info.value) and "over 10 MB" in str(info.value)


def test_the_csv_cell_limit_is_named_and_can_be_raised(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text("id,text\n1,short\n2," + "w" * 2000 + "\n", encoding="utf-8")
    with limits.override(cell_chars=1000):
        with pytest.raises(InputError, match=r"answers\.csv:3: a cell longer than 1000 characters.*QCODE_MAX_CELL_CHARS"):
            read_document(path)
        with pytest.raises(FormatError, match="cell_chars"):
            read_table(path)
    assert len(read_document(path)) == 2  # within the default limit
