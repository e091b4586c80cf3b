"""A .qdpx whose elements share a GUID is refused (issue 22, item 4): before, two sources with one
GUID put every coding on the other source's text, and two users with one GUID merged two coders."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from qcode.errors import InterchangeError
from qcode.interchange.qdpx import read_qdpx

USER_A = "11111111-1111-4111-8111-111111111111"
USER_B = "11111111-1111-4111-8111-11111111111b"
CODE = "22222222-2222-4222-8222-222222222222"
SRC_A = "33333333-3333-4333-8333-333333333333"
SRC_B = "33333333-3333-4333-8333-33333333333b"


def _source(guid: str, name: str, sel: str, coding: str, user: str) -> str:
    return f"""
    <TextSource guid="{guid}" name="{name}" plainTextPath="internal://{name}.txt">
      <PlainTextSelection guid="{sel}" startPosition="0" endPosition="5" creatingUser="{user}">
        <Coding guid="{coding}" creatingUser="{user}"><CodeRef targetGUID="{CODE}"/></Coding>
      </PlainTextSelection>
    </TextSource>"""


def _qdpx(path: Path, *, user_b: str = USER_B, src_b: str = SRC_B,
          sel_b: str = "44444444-4444-4444-8444-44444444444b",
          coding_b: str = "55555555-5555-4555-8555-55555555555b") -> Path:
    qde = f"""<?xml version="1.0" encoding="UTF-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Two" origin="hand-made">
  <Users><User guid="{USER_A}" name="ana"/>
    <User guid="{user_b}" name="ben"/></Users>
  <CodeBook><Codes><Code guid="{CODE}" name="Access" isCodable="true"/></Codes></CodeBook>
  <Sources>{_source(SRC_A, "one", "44444444-4444-4444-8444-444444444444",
                   "55555555-5555-4555-8555-555555555555", USER_A)}{_source(src_b, "two", sel_b, coding_b, user_b)}
  </Sources>
</Project>
"""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("project.qde", qde)
        zf.writestr("sources/one.txt", "Hello there")
        zf.writestr("sources/two.txt", "Other words")
    return path


def test_distinct_guids_read(tmp_path: Path) -> None:
    proj = read_qdpx(_qdpx(tmp_path / "ok.qdpx"))
    assert [s.name for s in proj.sources] == ["one", "two"] and len(proj.codings) == 2


@pytest.mark.parametrize(("change", "element", "first_line"), [
    ({"src_b": SRC_A}, "<TextSource guid=" + SRC_A, 7),
    ({"src_b": SRC_A.upper()}, "<TextSource guid=" + SRC_A.upper(), 7),
    ({"user_b": USER_A}, "<User guid=" + USER_A, 3),
    ({"sel_b": "44444444-4444-4444-8444-444444444444"}, "<PlainTextSelection", 8),
    ({"coding_b": "55555555-5555-4555-8555-555555555555"}, "<Coding", 9),
    ({"sel_b": CODE}, "<PlainTextSelection", 5),  # one GUID on two kinds of element
])
def test_a_guid_used_twice_is_refused_with_both_lines(tmp_path: Path, change: dict, element: str,
                                                       first_line: int) -> None:
    path = _qdpx(tmp_path / "dup.qdpx", **change)
    with pytest.raises(InterchangeError) as err:
        read_qdpx(path)
    message = str(err.value)
    assert "\n" not in message and str(path) in message
    assert element in message and "repeats the GUID" in message and f"on line {first_line}" in message
