"""Speaker labels a participant's words must not vanish behind (issue 22, item 2).

Each case failed before: the label was taken for text and its words joined the turn above.
"""

from __future__ import annotations

import pytest

from qcode.ingest import read_document
from qcode.ingest.speakers import detect_turns, detect_turns_noted


def _said(text: str) -> list[tuple[str | None, str]]:
    return [(t.speaker, text[t.start:t.end]) for t in detect_turns(text)]


FOCUS_GROUP = ("Moderator: What has the network changed for you?\n\n"
               "GP1: Not much, honestly.\n\n"
               "Hospice lead: The study days have been good for our nurses.\n\n"
               "Moderator: And for families?\n")


def test_role_name_used_once_after_a_blank_line_opens_its_own_turn() -> None:
    said = _said(FOCUS_GROUP)
    assert ("Hospice lead", "The study days have been good for our nurses.") in said
    assert ("GP1", "Not much, honestly.") in said


def test_lower_case_labels_are_turns() -> None:
    text = "interviewer: how did it go?\n\nanna: we waited.\n\ninterviewer: and then?\n\nanna: nothing.\n"
    assert _said(text) == [("interviewer", "how did it go?"), ("anna", "we waited."),
                           ("interviewer", "and then?"), ("anna", "nothing.")]


def test_lower_case_labels_one_turn_per_line() -> None:
    text = "anna: hi there?\nben: we waited.\nanna: and then?\nben: nothing.\ncarol: me too\n"
    assert [s for s, _ in _said(text)] == ["anna", "ben", "anna", "ben", "carol"]


@pytest.mark.parametrize("text", [
    "Speaker 1: how did it go?\n\nSpeaker 2: we waited.\n\nSpeaker 1: and?\n",
    "Q: how did it go?\nA: we waited.\nQ: and?\nA: nothing.\n",
])
def test_numbered_and_question_answer_labels(text: str) -> None:
    said = _said(text)
    assert len(said) >= 3 and said[1][1] == "we waited."


@pytest.mark.parametrize("invisible", ["\u200d", "\u202e", "\u200b", "\u2066"])
def test_labels_with_invisible_characters_are_turns_named_without_them(invisible: str) -> None:
    text = f"Interviewer: hi?\n\nP1: yes.\n\nAn{invisible}na: we waited a year.\n\nInterviewer: ok\n"
    turns, notes = detect_turns_noted(text)
    assert [(t.speaker, text[t.start:t.end]) for t in turns][2] == ("Anna", "we waited a year.")
    assert any("invisible characters" in n.message for n in notes)


def test_a_10000_character_label_opens_a_turn_with_no_speaker_and_a_note() -> None:
    text = "Interviewer: hi?\n\nP1: yes.\n\n" + "A" * 10_000 + ": we waited.\n\nInterviewer: ok\n"
    turns, notes = detect_turns_noted(text)
    assert [t.speaker for t in turns] == ["Interviewer", "P1", None, "Interviewer"]
    assert text[turns[1].start:turns[1].end] == "yes."
    assert any("too long" in n.message for n in notes)


def test_prose_that_looks_like_a_label_stays_in_its_turn() -> None:
    text = ("Interviewer: what happened?\n\nP1: It was slow.\n\nWhat I said was: go home.\n\n"
            "And the thing is: nobody rang.\n\nNote: the recording paused.\n\nInterviewer: ok\n")
    assert [s for s, _ in _said(text)] == ["Interviewer", "P1", "Interviewer"]


def test_uncertain_labels_are_warned_with_their_line_number(tmp_path) -> None:
    path = tmp_path / "fg.txt"
    path.write_text(FOCUS_GROUP + "\nP2: Yes.\nward sister: Same here.\n", encoding="utf-8")
    [doc] = read_document(path)
    assert f"{path}:5: 'Hospice lead' taken as a speaker (a label used once)" in "\n".join(doc.warnings)
    kept = [w for w in doc.warnings if w.startswith(f"{path}:10:")]
    assert kept and "no blank line" in kept[0] and "P2's turn" in kept[0]


def test_two_turn_document_keeps_an_unsure_label_but_says_so() -> None:
    text = "Interviewer: What about training?\n\nhospice lead: The study days have been good.\n"
    turns, notes = detect_turns_noted(text)
    assert len(turns) == 1
    assert notes and notes[0].offset == text.index("hospice") and "too few labels" in notes[0].message


def test_timestamp_then_bold_markdown_label() -> None:
    text = "[00:00:10] **Interviewer:** Your role?\n\n[00:01:11] **P4:** Pharmacist.\n\n[00:02:12] **Interviewer:** Ok.\n"
    assert _said(text) == [("Interviewer", "Your role?"), ("P4", "Pharmacist."), ("Interviewer", "Ok.")]
