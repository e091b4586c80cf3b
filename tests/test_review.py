"""`qcode review` driven as a person would: keystrokes into a pseudo-terminal, screen text out,
then the decisions checked in the project database."""

from __future__ import annotations

import re
import subprocess
import sys

import pexpect
import pytest

from qcode.project import open_project
from qcode.project.sample import build_sample_project
from qcode.review.terminal import build_queue

QCODE = [sys.executable, "-c", "from qcode.cli import main; main()"]


@pytest.fixture
def project(tmp_path):
    return build_sample_project(tmp_path / "study")


def review(project, *args):
    child = pexpect.spawn(QCODE[0], [*QCODE[1:], "review", str(project.path), *args], encoding="utf-8",
                          timeout=15, dimensions=(60, 140))
    return child


def segment(project, doc_id, turn_index):
    segs = project.segments()
    return segs[(segs["doc_id"] == doc_id) & (segs["turn_index"] == turn_index)].iloc[0]


def quit_review(child):
    child.send("q")
    child.expect(r"saved (\d+) decisions this session")
    saved = int(child.match.group(1))
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    return saved


@pytest.mark.slow
def test_review_session_keys_record_decisions(project):
    a1 = segment(project, "site-a/interview-01.txt", 1)
    a3 = segment(project, "site-a/interview-01.txt", 3)
    a4 = segment(project, "site-a/interview-01.txt", 4)
    child = review(project, "--coder", "bob")
    # first screen: progress, document, speaker, neighbouring turns, suggestions with definitions and scores
    child.expect(r"0/6 reviewed")
    child.expect(r"document site-a/interview-01\.txt \| speaker P1 \(participant\)")
    child.expect(r"How is the service paid for\?")          # previous turn (interviewer) for context
    child.expect(r"We bid for the grant every year")          # the segment itself
    child.expect(r"And staffing\?")                           # next turn
    child.expect(r"1\. Funding \[funding\]  0\.71")
    child.expect(r"Budgets, grants and who pays for care\.")  # the code's definition
    child.expect(r"2\. Staffing \[staffing\]  0\.42")
    child.expect(r"\[\?\] help")

    child.send("2")                                           # accept the 2nd suggestion
    child.expect(r"1/6 reviewed")
    child.expect(r"Staff leave because the contracts are short")
    child.expect(r"accepted Staffing")

    child.send("r")                                           # reject all three suggestions of a3
    child.expect(r"2/6 reviewed")
    child.expect(r"rejected Staffing, Funding, Communication")

    child.send("n")                                           # a note, kept for the next decision
    child.expect(r"note: ")
    child.sendline("families value the café")
    child.expect(r"Note \(saved with your next decision\): families value the café")
    child.send("c")                                           # add a code from the codebook by name
    child.expect(r"code number, id or name")
    child.sendline("coordination")
    child.expect(r"Your decisions here: accept Coordination")
    child.expect(r"added Coordination")
    child.send("a")                                           # and accept the top suggestion too
    child.expect(r"3/6 reviewed")

    child.send("u")                                           # undo goes back to a4
    child.expect(r"3/6 reviewed")                            # a4 still has its Coordination coding
    child.expect(r"Families tell us the café meetings")
    child.expect(r"undid: accept Communication")

    child.send("?")
    child.expect(r"undo your last decision")
    child.send("x")                                           # any key leaves the help
    child.expect(r"\[a/1-9\] accept")
    child.send("z")
    child.expect(r"unknown key 'z': press \? for help")
    assert quit_review(child) == 6  # the undo is logged but is not a decision

    log = open_project(project.path).decisions()
    bob = log[log["coder"] == "bob"]
    assert bob[["segment_id", "code_id", "verdict"]].values.tolist() == [
        [a1.segment_id, "staffing", "accept"],
        [a3.segment_id, "staffing", "reject"],
        [a3.segment_id, "funding", "reject"],
        [a3.segment_id, "communication", "reject"],
        [a4.segment_id, "coordination", "accept"],
        [a4.segment_id, "communication", "accept"],
        [a4.segment_id, "communication", "undo"],
    ]
    assert bob["note"].tolist()[4] == "families value the café"
    assert bob["source"].tolist()[:2] == ["suggestion", "suggestion"]
    assert bob.iloc[0]["score"] == pytest.approx(0.42)
    codings = open_project(project.path).codings("bob")
    assert sorted(codings["code_id"]) == ["coordination", "staffing"]


@pytest.mark.slow
def test_review_resumes_where_the_coder_left_off(project):
    child = review(project, "--coder", "bob")
    child.expect(r"0/6 reviewed")
    child.send("a")
    child.expect(r"1/6 reviewed")
    child.send("s")
    child.expect(r"2/6 reviewed")
    quit_review(child)

    child = review(project, "--coder", "bob")
    child.expect(r"2/6 reviewed \(33%\)")
    child.expect(r"segment 3 of 6")
    child.expect(r"Families tell us the café meetings")
    quit_review(child)
    # another coder starts from the beginning
    child = review(project, "--coder", "carol")
    child.expect(r"0/6 reviewed")
    child.expect(r"segment 1 of 6")
    quit_review(child)


@pytest.mark.slow
def test_blind_mode_hides_other_coders_and_scores_can_be_hidden(project):
    a1 = segment(project, "site-a/interview-01.txt", 1)
    project.decide("alice", a1.segment_id, "coordination", "accept")

    child = review(project, "--coder", "bob", "--hide-scores")
    child.expect(r"\| blind")
    child.expect(r"\[a/1-9\] accept")
    screen = child.before
    assert "1. Funding [funding]" in screen
    assert "0.71" not in screen and "0.42" not in screen
    assert "alice" not in screen and "Other coders" not in screen
    quit_review(child)

    child = review(project, "--coder", "bob", "--no-blind")
    child.expect(r"Other coders: alice: Coordination")
    child.expect(r"\[a/1-9\] accept")
    quit_review(child)


@pytest.mark.slow
def test_uncertain_order_shows_smallest_margin_first(project):
    queue = build_queue(project.segments(), project.suggestions(), order="uncertain")
    margins = [item.margin for item in queue]
    assert margins == sorted(margins)
    first = queue[0]
    assert first.doc_id == "site-b/interview-02.txt"  # 0.49 vs 0.47 in the sample run

    refused = review(project, "--coder", "bob", "--order", "uncertain")
    refused.expect("tells a blind coder the model's confidence")
    child = review(project, "--coder", "bob", "--order", "uncertain", "--no-blind")
    child.expect(rf"characters {first.start}-{first.end}")
    child.expect(r"single phone number")
    child.send("a")
    child.expect(rf"characters {queue[1].start}-{queue[1].end}")
    quit_review(child)
    assert open_project(project.path).decisions()["segment_id"].tolist() == [first.segment_id]


@pytest.mark.slow
def test_ctrl_c_quits_with_decisions_saved(project):
    child = review(project, "--coder", "bob")
    child.expect(r"0/6 reviewed")
    child.send("1")
    child.expect(r"1/6 reviewed")
    child.sendcontrol("c")
    child.expect(r"saved 1 decisions this session")
    child.expect(pexpect.EOF)
    assert len(open_project(project.path).decisions()) == 1


@pytest.mark.slow
def test_review_reads_lines_when_stdin_is_not_a_terminal(project):
    keys = "\n".join(["a", "", "2", "c", "3", "q"]) + "\n"
    result = subprocess.run([*QCODE, "review", str(project.path), "--coder", "dan"], input=keys,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "\x1b[2J" not in result.stdout  # no screen clearing into a pipe
    log = open_project(project.path).decisions()
    # a on segment 1, Enter (next, nothing recorded), 2 on segment 3, c + code number 3 on segment 4
    assert log["code_id"].tolist() == ["funding", "coordination", "communication"]
    assert re.search(r"saved 3 decisions this session; 3/6 reviewed by dan", result.stdout)


@pytest.mark.slow
def test_review_of_an_empty_project_is_a_one_line_error(tmp_path):
    from qcode.project import init_project
    from qcode.project.sample import sample_codebook

    init_project(tmp_path / "empty", codebook=sample_codebook())
    result = subprocess.run([*QCODE, "review", str(tmp_path / "empty"), "--coder", "bob"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: {tmp_path / 'empty'}: nothing to review (no segments)"]


@pytest.mark.slow
def test_sigkill_during_review_keeps_every_decision_already_shown_as_made(project):
    import signal

    child = review(project, "--coder", "bob")
    child.expect(r"0/6 reviewed")
    for n, key in enumerate("a1s2", start=1):
        child.send(key)
        child.expect(rf"{n}/6 reviewed")     # the next screen is drawn only after the commit
    child.kill(signal.SIGKILL)
    child.expect(pexpect.EOF)
    child.close()
    assert child.signalstatus == signal.SIGKILL
    reopened = open_project(project.path)
    assert reopened.integrity_check() == "ok"
    log = reopened.decisions()
    assert log["verdict"].tolist() == ["accept", "accept", "skip", "accept"]
    child = review(project, "--coder", "bob")   # and the review resumes after them
    child.expect(r"4/6 reviewed")
    quit_review(child)


@pytest.mark.slow
def test_a_write_that_fails_is_shown_as_not_saved(project):
    project.close()
    project.db_path.chmod(0o444)
    try:
        child = review(project, "--coder", "bob")
        child.expect(r"0/6 reviewed")
        child.send("a")
        child.expect(r"NOT SAVED: .*read-only; nothing was written")
        assert quit_review(child) == 0
    finally:
        project.db_path.chmod(0o644)
    assert open_project(project.path).decisions().empty


@pytest.mark.slow
def test_review_without_a_run_queues_every_participant_segment(tmp_path):
    from qcode.project import init_project
    from qcode.project.sample import sample_codebook, sample_documents

    project = init_project(tmp_path / "bare", codebook=sample_codebook())
    docs, segments = sample_documents()
    project.add_documents(docs)
    project.add_segments(segments)
    child = review(project, "--coder", "bob")
    child.expect(r"0/6 reviewed")
    child.expect(r"No code suggested for this segment")
    child.send("c")
    child.expect(r"code number, id or name")
    child.sendline("Staffing")
    child.expect(r"added Staffing")
    child.send("\r")                             # Enter: on to the next segment
    child.expect(r"1/6 reviewed")
    child.expect(r"segment 2 of 6")
    quit_review(child)
    row = open_project(project.path).decisions().iloc[0]
    assert (row["code_id"], row["source"]) == ("staffing", "manual") and row["segment_id"] == segments[1].id


@pytest.mark.slow
def test_review_screen_fits_a_narrow_terminal(project):
    child = pexpect.spawn(QCODE[0], [*QCODE[1:], "review", str(project.path), "--coder", "bob"], encoding="utf-8",
                          timeout=15, dimensions=(40, 60))
    child.expect(r"\[\?\] help")
    screen = child.before
    lines = [re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", line) for line in screen.replace("\r", "").split("\n")]
    assert max(len(line) for line in lines) <= 60, max(lines, key=len)
    quit_review(child)
