"""`qcode decide --doc --start --end` checks a hand-made span and says what it recorded (issue 11, defect 3)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from qcode.document import Document, Turn
from qcode.project import open_project
from qcode.project.sample import build_sample_project
from qcode.project.validation import span_problems

QCODE = [sys.executable, "-c", "from qcode.cli import main; main()"]
DOC = "site-b/interview-02.txt"


def qcode(*args):
    return subprocess.run([*QCODE, *map(str, args)], capture_output=True, text=True, timeout=120)


@pytest.fixture
def project(tmp_path):
    return build_sample_project(tmp_path / "study")


def _doc() -> Document:
    text = "I: What works well?\nP2: Money is tight, but the rota helps.\n"
    first = text.index("What")
    second = text.index("Money")
    return Document(id="a.txt", text=text, turns=[
        Turn(start=first, end=text.index("\n"), speaker="I", role="interviewer"),
        Turn(start=second, end=len(text) - 1, speaker="P2", role="participant")])


def test_a_span_of_whole_words_inside_one_turn_has_no_problems():
    doc = _doc()
    start = doc.text.index("Money")
    assert span_problems(doc, start, start + len("Money is tight")) == []


def test_a_span_that_cuts_words_says_where_they_begin_and_end():
    doc = _doc()
    start = doc.text.index("oney")
    end = doc.text.index("tight") + 2
    problems = span_problems(doc, start, end)
    assert any('starts inside the word "Money"' in p and str(start - 1) in p for p in problems), problems
    assert any('ends inside the word "tight"' in p and str(end + 3) in p for p in problems), problems


def test_a_span_across_two_turns_names_both_speakers():
    doc = _doc()
    problems = span_problems(doc, doc.text.index("works"), doc.text.index("tight"))
    assert any("crosses" in p and "I's turn" in p and "P2's turn" in p for p in problems), problems


def test_a_span_that_takes_in_a_speaker_label_is_flagged():
    doc = _doc()
    problems = span_problems(doc, doc.text.index("P2:"), doc.text.index(" is tight"))
    assert any("speaker label" in p for p in problems), problems


def _event_id(stdout: str) -> int:
    match = re.fullmatch(r'recorded event (\d+): accept coordination for "(.*)"\n', stdout)
    assert match, stdout
    return int(match.group(1))


def test_decide_refuses_a_span_that_cuts_a_word_or_crosses_turns(project):
    text = project.document_text(DOC)
    start = text.index("oë, our")  # mid-word
    result = qcode("decide", project.path, "--coder", "bob", "--doc", DOC, "--start", start, "--end", start + 6,
                   "--code", "coordination", "--accept")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert 'starts inside the word "Zoë"' in result.stderr and "--allow-partial" in result.stderr
    crossing = qcode("decide", project.path, "--coder", "bob", "--doc", DOC, "--start", text.index("The hospital"),
                     "--end", text.index(" a single"), "--code", "coordination", "--accept")
    assert crossing.returncode == 2 and "crosses" in crossing.stderr
    assert open_project(project.path).decisions().empty


def test_allow_partial_records_it_with_a_warning_and_says_what_was_recorded(project):
    text = project.document_text(DOC)
    start = text.index("oë, our")
    result = qcode("decide", project.path, "--coder", "bob", "--doc", DOC, "--start", start, "--end", start + 6,
                   "--code", "coordination", "--accept", "--allow-partial")
    assert result.returncode == 0, result.stderr
    assert "warning:" in result.stderr and "inside the word" in result.stderr
    event = _event_id(result.stdout)
    assert open_project(project.path).codings()["text"].tolist() == [text[start:start + 6]]
    assert open_project(project.path).decisions()["event_id"].tolist() == [event]


def test_decide_prints_the_event_code_and_text(project):
    text = project.document_text(DOC)
    start = text.index("Parents")
    end = text.index("answers it.") + len("answers it.")
    result = qcode("decide", project.path, "--coder", "bob", "--doc", DOC, "--start", start, "--end", end,
                   "--code", "coordination", "--accept")
    assert result.returncode == 0, result.stderr
    assert _event_id(result.stdout) >= 1
    shown = re.search(r'for "(.*)"', result.stdout).group(1)
    assert shown.startswith("Parents get a single phone number") and len(shown) <= 61
    assert shown.endswith("…") and "\n" not in shown
