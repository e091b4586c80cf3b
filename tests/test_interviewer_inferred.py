"""An interviewer named only by a voice or a name (issue 22, item 8): before, ``<v Sam Reid>`` was taken
for a participant without a word unless --interviewer was given."""

from __future__ import annotations

from pathlib import Path

from qcode.ingest import read_document

DIALOGUE = [("Sam Reid", "How has the network changed your work?"), ("Priya", "The advice line, mostly."),
            ("Sam Reid", "Can you tell me more?"), ("Priya", "I ring it twice a week about symptoms."),
            ("Sam Reid", "And the families, what do they say?"), ("Priya", "They like one number to call.")]


def _vtt(path: Path, turns: list[tuple[str, str]]) -> Path:
    lines = ["WEBVTT", ""]
    for i, (speaker, text) in enumerate(turns):
        lines += [f"00:00:{i * 5:02d}.000 --> 00:00:{i * 5 + 4:02d}.000", f"<v {speaker}>{text}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_the_speaker_who_asks_the_questions_is_the_interviewer_and_it_is_said(tmp_path: Path) -> None:
    [doc] = read_document(_vtt(tmp_path / "p1.vtt", DIALOGUE))
    assert {(t.speaker, t.role) for t in doc.turns} == {("Sam Reid", "interviewer"), ("Priya", "participant")}
    [note] = [w for w in doc.warnings if "interviewer" in w]
    assert "'Sam Reid'" in note and "--interviewer" in note


def test_plain_text_gets_the_same_rule(tmp_path: Path) -> None:
    path = tmp_path / "p2.txt"
    path.write_text("".join(f"{s}: {t}\n\n" for s, t in DIALOGUE), encoding="utf-8")
    [doc] = read_document(path)
    assert [t.role for t in doc.turns][:2] == ["interviewer", "participant"]


def test_given_interviewer_wins_and_no_guess_is_made(tmp_path: Path) -> None:
    [doc] = read_document(_vtt(tmp_path / "p3.vtt", DIALOGUE), interviewers=["Priya"])
    assert [t.role for t in doc.turns][:2] == ["participant", "interviewer"]
    assert not any("asks" in w for w in doc.warnings)


def test_no_clear_questioner_is_warned_not_guessed(tmp_path: Path) -> None:
    turns = [("Ana", "We met on Tuesday?"), ("Ben", "Yes, was it Tuesday?"), ("Ana", "I think so."),
             ("Ben", "Fine.")]
    [doc] = read_document(_vtt(tmp_path / "p4.vtt", turns))
    assert {t.role for t in doc.turns} == {"participant"}
    assert any("no speaker" in w and "--interviewer" in w for w in doc.warnings)
