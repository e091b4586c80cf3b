"""Fuzzing the readers (issue 13): random bytes and random structure give documents or one-line
QcodeErrors, never a traceback, a hang, or unbounded memory. Bounded time: a fixed number of examples
with a per-example deadline, derandomised so that CI runs are repeatable."""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from qcode import limits  # noqa: E402
from qcode.errors import QcodeError  # noqa: E402
from qcode.ingest import read_document  # noqa: E402

#: examples per test; QCODE_FUZZ_EXAMPLES=5000 for a long run (the default keeps the suite fast)
EXAMPLES = int(os.environ.get("QCODE_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=2000, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
OFFICE_FUZZ = settings(FUZZ, max_examples=max(EXAMPLES // 3, 10))

SUFFIXES = [".txt", ".md", ".vtt", ".srt", ".csv", ".tsv", ".docx", ".xlsx"]


def _read(suffix: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(data)
        with limits.override(file_bytes=1 << 20, xml_part_bytes=1 << 20, paragraphs=5000, rows=5000, cues=5000):
            try:
                docs = read_document(path)
            except QcodeError as exc:
                message = str(exc)
                assert message and "\n" not in message, message
                return
        for doc in docs:
            for turn in doc.turns:
                assert 0 <= turn.start <= turn.end <= len(doc.text)


@FUZZ
@given(suffix=st.sampled_from(SUFFIXES), data=st.binary(max_size=4096))
def test_random_bytes_under_every_suffix(suffix, data):
    _read(suffix, data)


_TIME = st.builds(lambda h, m, s, ms: f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}", st.integers(0, 99), st.integers(0, 70),
                  st.integers(0, 70), st.integers(0, 999))
_LINE = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60)


@FUZZ
@given(cues=st.lists(st.tuples(_TIME, _TIME, _LINE, st.booleans()), max_size=40), header=st.booleans(),
       srt=st.booleans())
def test_random_caption_structure(cues, header, srt):
    blocks = []
    for index, (start, end, text, voice) in enumerate(cues, start=1):
        stamp = f"{start} --> {end}".replace(".", ",") if srt else f"{start} --> {end}"
        body = f"<v {text[:10]}>{text}</v>" if voice else text
        blocks.append((f"{index}\n" if srt else "") + f"{stamp}\n{body}\n")
    text = ("" if srt or not header else "WEBVTT\n\n") + "\n".join(blocks)
    _read(".srt" if srt else ".vtt", text.encode("utf-8"))


@FUZZ
@given(rows=st.lists(st.lists(_LINE, max_size=5), max_size=30), delimiter=st.sampled_from([",", ";", "\t", "|"]))
def test_random_table_structure(rows, delimiter):
    text = "\n".join(delimiter.join(cell.replace("\n", " ") for cell in row) for row in rows)
    _read(".csv", text.encode("utf-8"))


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, blob in members.items():
            z.writestr(name, blob)
    return out.getvalue()


def _docx_members() -> dict[str, bytes]:
    import docx

    buf = io.BytesIO()
    word = docx.Document()
    word.add_paragraph("Interviewer: hello")
    word.save(buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def _xlsx_members() -> dict[str, bytes]:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["id", "text"])
    book.active.append([1, "hello"])
    buf = io.BytesIO()
    book.save(buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


_XML_BITS = st.sampled_from([b"<w:p>", b"</w:p>", b"<w:r><w:t>", b"</w:t></w:r>", b"<w:tbl><w:tr><w:tc>",
                             b"</w:tc></w:tr></w:tbl>", b"<row>", b"</row>", b'<c t="s"><v>0</v></c>', b"&amp;",
                             b"<!DOCTYPE x [<!ENTITY a 'b'>]>", b"&a;", b"\xff", b"text", b"<", b">"])


@OFFICE_FUZZ
@given(kind=st.sampled_from([".docx", ".xlsx"]), victim=st.integers(0, 20), mode=st.sampled_from(["drop", "mangle", "splice"]),
       bits=st.lists(_XML_BITS, max_size=30), cut=st.integers(0, 4000))
def test_random_office_structure(kind, victim, mode, bits, cut):
    members = _docx_members() if kind == ".docx" else _xlsx_members()
    names = sorted(members)
    name = names[victim % len(names)]
    if mode == "drop":
        members.pop(name)
    elif mode == "mangle":
        members[name] = members[name][: cut % (len(members[name]) + 1)] + b"".join(bits)
    else:
        blob = members[name]
        at = cut % (len(blob) + 1)
        members[name] = blob[:at] + b"".join(bits) + blob[at:]
    _read(kind, _zip(members))


@OFFICE_FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8))
@pytest.mark.slow
def test_flipped_bytes_in_a_real_docx(flips):
    blob = bytearray(_zip(_docx_members()))
    for at, value in flips:
        blob[at % len(blob)] = value
    _read(".docx", bytes(blob))
