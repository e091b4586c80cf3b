"""`qcode review` brought up to the web review's standard, driven through a pseudo-terminal: the screen fits
80x24, a note survives undo, coder names differing in case are caught, back, skipped segments come back,
and a second code without `c`."""

from __future__ import annotations

import re
import sys

import pexpect
import pytest

from qcode.document import PARTICIPANT, Document, Segment, Turn, segment_id
from qcode.project import open_project
from qcode.project.sample import build_sample_project
from qcode.review.terminal import ReviewSession

QCODE = [sys.executable, "-c", "from qcode.cli import main; main()"]
CLEAR = "\x1b[2J\x1b[H"
LONG = " ".join(f"Sentence {i} says the budget, the staff and the rota all changed again that winter." for i in range(30))


@pytest.fixture
def project(tmp_path):
    return build_sample_project(tmp_path / "study")


def add_long_turn(project):
    text = "I: Tell me about that winter.\nP9: " + LONG + "\nI: Thanks.\n"
    start = text.index("P9: ") + 4
    turns = [Turn(3, 29, "I", "interviewer"), Turn(start, start + len(LONG), "P9", PARTICIPANT),
             Turn(text.index("Thanks"), text.index("Thanks") + 7, "I", "interviewer")]
    project.add_documents([Document("site-c/long.txt", text, turns)])
    segs = [Segment(segment_id("site-c/long.txt", "turn", t.start, t.end), "site-c/long.txt", t.start, t.end,
                    text[t.start:t.end], "turn", t.speaker, t.role, i) for i, t in enumerate(turns)]
    project.add_segments(segs)
    rows = [(r.segment_id, r.code_id, r.score, r.rank) for r in project.suggestions().itertuples()]
    rows += [(segs[1].id, "staffing", 0.5, 1), (segs[1].id, "funding", 0.4, 2), (segs[1].id, "coordination", 0.3, 3)]
    project.add_run({"model": "hand-made"}, rows)
    return segs[1]


def review(project, *args, rows=60, cols=140):
    return pexpect.spawn(QCODE[0], [*QCODE[1:], "review", str(project.path), *args], encoding="utf-8",
                         timeout=15, dimensions=(rows, cols))


def frame(child) -> list[str]:
    """The last whole screen drawn (up to the key line), as plain lines."""
    child.expect(r"\[q\] quit")
    text = (child.before + child.after).split(CLEAR)[-1].replace("\r", "")
    return [re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", line) for line in text.split("\n")]


def quit_review(child):
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()


@pytest.mark.slow
def test_the_screen_fits_80x24_by_cutting_context_not_the_header(project):
    long_seg = add_long_turn(project)
    session = ReviewSession(project, "bob")
    session.index = session._position[long_seg.id]
    screen = session.render(width=80, height=24).split("\n")
    assert len(screen) <= 23
    assert screen[0].startswith("qcode review | coder bob")
    assert any(line.startswith("segment ") for line in screen[:3])
    assert any("1. Staffing [staffing]" in line for line in screen)
    assert screen[-1].endswith("[q] quit")
    assert any(line.endswith("…") for line in screen)
    assert max(len(line) for line in screen) <= 80
    # without a height limit the whole segment is there
    assert "Sentence 29" in session.render(width=80)

    child = review(project, "--coder", "bob", rows=24, cols=80)
    lines = frame(child)
    while not any("P9" in line or "Sentence 0 " in line for line in lines):
        child.send("\r")
        lines = frame(child)
    assert len(lines) <= 23
    assert lines[0].startswith("qcode review | coder bob")
    quit_review(child)


@pytest.mark.slow
def test_a_note_survives_undo_and_accepting_again(project):
    child = review(project, "--coder", "bob")
    frame(child)
    child.send("n")
    child.expect("note: ")
    child.sendline("grant money, not salaries")
    frame(child)
    child.send("a")
    frame(child)
    child.send("u")
    lines = frame(child)
    assert any("Note (saved with your next decision): grant money, not salaries" in line for line in lines)
    child.send("2")
    frame(child)
    quit_review(child)
    log = open_project(project.path).codings("bob")
    assert log[["code_id", "note"]].values.tolist() == [["staffing", "grant money, not salaries"]]


def test_a_coder_name_that_differs_only_in_case_asks_did_you_mean(project):
    project.decide("ana", project.segments()["segment_id"][1], "funding", "accept")
    child = review(project, "--coder", "Ana")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    assert "did you mean 'ana'" in child.before and "Traceback" not in child.before
    assert open_project(project.path).coders() == ["ana"]


@pytest.mark.slow
def test_back_goes_to_the_previous_segment_with_b_or_the_left_arrow(project):
    child = review(project, "--coder", "bob")
    assert any("segment 1 of 6" in line for line in frame(child))
    child.send("a")
    assert any("segment 2 of 6" in line for line in frame(child))
    child.send("b")
    lines = frame(child)
    assert any("segment 1 of 6" in line for line in lines) and any("back to the previous" in line for line in lines)
    child.send("\r")
    assert any("segment 2 of 6" in line for line in frame(child))
    child.send("\x1b[D")                                     # the left arrow
    assert any("segment 1 of 6" in line for line in frame(child))
    quit_review(child)


@pytest.mark.slow
def test_skipped_segments_come_back_after_the_others(project):
    child = review(project, "--coder", "bob")
    frame(child)
    child.send("s")
    assert any("1 skipped" in line for line in frame(child))
    for _ in range(5):
        child.send("a")
        lines = frame(child)
    assert any("segment 1 of 6" in line for line in lines), lines   # not "all reviewed": the skip comes back
    child.send("1")
    child.expect("All 6 segments reviewed")
    quit_review(child)
    verdicts = open_project(project.path).decisions("bob")["verdict"].tolist()
    assert verdicts == ["skip", "accept", "accept", "accept", "accept", "accept", "accept"]


@pytest.mark.slow
def test_shift_digit_accepts_a_second_code_and_stays(project):
    child = review(project, "--coder", "bob")
    frame(child)
    child.send("!")                                          # Shift+1
    lines = frame(child)
    assert any("segment 1 of 6" in line for line in lines)
    assert any("staying for another code" in line for line in lines)
    child.send("@")                                          # Shift+2
    lines = frame(child)
    assert any("Your decisions here: accept Funding; accept Staffing" in line for line in lines)
    child.send("?")
    child.expect("Shift\\+1-9")
    child.send("x")                                          # any key leaves the help
    frame(child)
    quit_review(child)
    codings = open_project(project.path).codings("bob")
    assert sorted(codings["code_id"]) == ["funding", "staffing"]
    assert codings["segment_id"].nunique() == 1


@pytest.mark.slow
def test_a_segment_with_no_suggestion_is_queued_and_0_says_no_code(project):
    """Issue 22 high 1 in a real terminal: the abstained segment is shown, 0 records "no code", u undoes it,
    and the c prompt takes a part of a code's name in any case."""
    segments = project.segments()
    silent = segments.segment_id.iloc[4]
    rows = [(r.segment_id, r.code_id, r.score, r.rank) for r in project.suggestions().itertuples()
            if r.segment_id != silent]
    project.add_run({"model": "hand-made", "abstained": 1}, rows)
    child = review(project, "--coder", "bob", "--no-blind")
    frame(child)
    child.send("1")
    frame(child)
    child.send("1")
    lines = frame(child)
    assert any("No code suggested for this segment" in line for line in lines)
    child.send("0")
    frame(child)
    child.send("u")
    lines = frame(child)
    assert any("undid: no_code" in line for line in lines)
    child.send("c")
    child.expect("code number, id or name")
    child.sendline("COORD")
    lines = frame(child)
    assert any("added Coordination" in line for line in lines)
    quit_review(child)
    log = open_project(project.path).decisions("bob")
    assert log[log["segment_id"] == silent][["verdict", "undone"]].values.tolist() == [
        ["no_code", True], ["undo", False], ["accept", False]]
    assert open_project(project.path).codings("bob").query("segment_id == @silent")["code_id"].tolist() == [
        "coordination"]
