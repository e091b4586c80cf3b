"""Ingest: formats, speaker turns, roles, decoding, bad files and the streaming corpus."""

from __future__ import annotations

import shutil
import threading
import time
import warnings
from pathlib import Path

import pytest

from qcode.document import INTERVIEWER, PARTICIPANT, UNKNOWN
from qcode.errors import InputError
from qcode.ingest import IngestWarning, read_corpus, read_document
from qcode.ingest.normalize import decode_bytes, normalize_text, read_file_bytes
from qcode.ingest.speakers import (
    assign_role,
    detect_turns,
    looks_like_name,
    parse_timestamp,
    resolve_labels,
)

DATA = Path(__file__).parent / "data" / "ingest"
DEMO = Path(__file__).parent.parent / "corpora" / "demo"
GOOD = sorted(p for p in DATA.iterdir() if p.is_file() and p.suffix != ".py")
BAD = sorted((DATA / "bad").iterdir())


def speakers(doc):
    return [(t.speaker, t.role) for t in doc.turns]


def spoken(doc):
    return [doc.text[t.start:t.end] for t in doc.turns]


# ---------------------------------------------------------------- every good fixture


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_turns_are_ordered_trimmed_and_inside_the_text(path):
    for doc in read_document(path):
        previous_end = 0
        for turn in doc.turns:
            assert previous_end <= turn.start < turn.end <= len(doc.text)
            said = doc.text[turn.start:turn.end]
            assert said == said.strip() and said
            previous_end = turn.end
        assert "\r" not in doc.text and "\ufeff" not in doc.text


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_turn_spans_never_include_the_speaker_label(path):
    for doc in read_document(path):
        for turn in doc.turns:
            if turn.speaker:
                said = doc.text[turn.start:turn.end]
                assert not said.startswith(turn.speaker + ":"), said
                # the label sits before the span, on the same line or the line above
                before = doc.text[max(0, turn.start - 80):turn.start]
                assert turn.speaker in before


# ---------------------------------------------------------------- transcript styles


def test_colon_labels_with_header_and_false_positive_lines():
    [doc] = read_document(DATA / "interview_colon.txt")
    assert speakers(doc) == [(None, UNKNOWN)] + [("Interviewer", INTERVIEWER), ("P12", PARTICIPANT)] * 3
    assert spoken(doc)[0] == "Interview 3 – community nurse, site B\nDate: 14 March 2024"
    # "Note:" and "Well:" open lines inside P12's answer: they stay part of it
    assert spoken(doc)[2].startswith("Mostly by phone.")
    assert "Note: this is what worried me most" in spoken(doc)[2]
    assert spoken(doc)[2].endswith("Well: yes, we managed, but only because people stayed late.")


def test_prose_with_colons_has_no_speakers():
    [doc] = read_document(DATA / "prose_notes.txt")
    assert speakers(doc) == [(None, UNKNOWN)]
    assert doc.text[doc.turns[0].start:doc.turns[0].end] == doc.text.strip()


@pytest.mark.parametrize(
    "text",
    [
        "We met on Tuesday. Well: yes, that was the plan.\nIt went fine.",
        "Note: this is a draft.\nNote: this is still a draft.\nEnd.",
        "So I said to him: no.\nAnd he said to me: yes.",
        "Goals: fewer admissions.\nPeople: more nurses.\nTechnology: one record.",
        "See https://example.org: it explains.\n12:30: lunch.",
        "Programme\nWelcome 09:30\nKeynote 10:00\nLunch 12:30\nClose 16:00\nThe day was well attended.",
    ],
)
def test_sentences_with_colons_are_not_speakers(text):
    assert [t.speaker for t in detect_turns(normalize_text(text))] == [None]


def test_bracketed_timestamps_before_names():
    [doc] = read_document(DATA / "interview_brackets.txt", interviewers=["Anna Keller"])
    assert [t.speaker for t in doc.turns] == ["Anna Keller", "Tom Reid"] * 2
    assert [t.role for t in doc.turns] == [INTERVIEWER, PARTICIPANT] * 2
    assert [t.timestamp for t in doc.turns] == [5.0, 12.0, 62.0, 75.0]
    assert spoken(doc)[0] == "Thanks for joining. Could you describe your role?"


def test_timestamps_in_parentheses_after_names():
    [doc] = read_document(DATA / "interview_paren.txt")
    assert speakers(doc) == [("Dr. Maria de la Cruz", PARTICIPANT), ("Interviewer", INTERVIEWER), ("Dr. Maria de la Cruz", PARTICIPANT)]
    assert [t.timestamp for t in doc.turns] == [130.0, 165.0, 171.0]


def test_zoom_otter_name_and_time_on_their_own_line():
    [doc] = read_document(DATA / "otter.txt", interviewers=["priya"])
    assert speakers(doc) == [("Priya Shah", INTERVIEWER), ("Jonas Berg", PARTICIPANT)] * 2
    assert [t.timestamp for t in doc.turns] == [0.0, 7.0, 3723.0, 3735.0]
    assert spoken(doc)[1] == "Through a colleague, really. She had been to one of the study days\nand came back full of ideas."


def test_zoom_labels_with_a_tab():
    turns = detect_turns("Anna Smith\t0:01\nHello.\nBen\t0:05\nHi.")
    assert [(t.speaker, t.timestamp) for t in turns] == [("Anna Smith", 1.0), ("Ben", 5.0)]


def test_markdown_bold_labels_and_one_off_focus_group_speaker():
    [doc] = read_document(DATA / "focus_group.md")
    assert speakers(doc) == [
        (None, UNKNOWN), ("Facilitator", INTERVIEWER), ("Participant 3", PARTICIPANT),
        ("Participant 1", PARTICIPANT), ("Sarah", PARTICIPANT), ("Participant 3", PARTICIPANT),
    ]
    assert spoken(doc)[-1] == "Agreed."


def test_q_and_a_labels_seen_as_a_pattern():
    [doc] = read_document(DATA / "q_and_a.txt")
    assert speakers(doc) == [("Q", INTERVIEWER), ("A", PARTICIPANT)] * 2


def test_named_interviewer_option_sets_roles():
    [plain] = read_document(DATA / "named_interviewer.txt")
    assert {t.role for t in plain.turns} == {PARTICIPANT}
    [named] = read_document(DATA / "named_interviewer.txt", interviewers=["ANNA"])
    assert [t.role for t in named.turns] == [INTERVIEWER, PARTICIPANT] * 2


def test_role_with_the_holders_name_in_parentheses():
    turns = detect_turns("Interviewer (Anna): Hello.\nParticipant (Ben): Hi.\nInterviewer (Anna): Bye.")
    assert [(t.speaker, t.role) for t in turns] == [
        ("Interviewer (Anna)", INTERVIEWER), ("Participant (Ben)", PARTICIPANT), ("Interviewer (Anna)", INTERVIEWER)]
    turns = detect_turns("Moderator (Kim): Go on.\nKim (aside): fine.\nLee: ok", interviewers=["Lee"])
    assert [t.role for t in turns] == [INTERVIEWER, PARTICIPANT, INTERVIEWER]
    assert assign_role("Speaker (Anna)", ["anna"]) == INTERVIEWER


def test_known_roles_typed_in_lower_case_but_not_bare_letters():
    assert [t.speaker for t in detect_turns("interviewer: hello.\np12: hi there.")] == ["interviewer", "p12"]
    assert [t.speaker for t in detect_turns("i: think so.\nr: maybe.")] == [None]


def test_single_unknown_name_label_is_not_trusted_but_known_roles_are():
    assert [t.speaker for t in detect_turns("Barbara: hello there.\nMore prose follows.")] == [None]
    assert [t.speaker for t in detect_turns("Interviewer: hello there.\nMore words.")] == ["Interviewer"]
    assert [t.speaker for t in detect_turns("Barbara (00:00:03): hello there.")] == ["Barbara"]


@pytest.mark.parametrize(
    "label, role",
    [("Interviewer", INTERVIEWER), ("INT.", INTERVIEWER), ("I", INTERVIEWER), ("Q", INTERVIEWER),
     ("Facilitator 2", INTERVIEWER), ("Moderator", INTERVIEWER), ("Researcher", INTERVIEWER),
     ("P12", PARTICIPANT), ("Participant 3", PARTICIPANT), ("R", PARTICIPANT), ("Respondent", PARTICIPANT),
     ("Helen", PARTICIPANT), ("Speaker 2", PARTICIPANT), (None, UNKNOWN), ("  ", UNKNOWN)],
)
def test_assign_role(label, role):
    assert assign_role(label) == role


@pytest.mark.parametrize(
    "name, ok",
    [("Dr. Anna van Dijk", True), ("P12", True), ("Mary-Jane O'Neil", True), ("Note", False), ("Well", False),
     ("Date", False), ("So I said", False), ("lowercase", False), ("A Very Long Name Made Of Far Too Many Words", False)],
)
def test_looks_like_name(name, ok):
    assert looks_like_name(name) is ok


def test_parse_timestamp_formats():
    assert parse_timestamp("00:01:23") == 83.0
    assert parse_timestamp("1:23") == 83.0
    assert parse_timestamp("01:02:03,250") == 3723.25


# ---------------------------------------------------------------- normalisation and encodings


def test_crlf_cr_and_bom_are_normalised():
    [doc] = read_document(DATA / "crlf_bom.txt")
    assert doc.text == "Interviewer: Hello.\nP1: Hi,\nthanks.\nP1: Bye.\n"
    assert doc.metadata["encoding"] == "utf-8-sig"
    assert spoken(doc) == ["Hello.", "Hi,\nthanks.", "Bye."]


def test_latin1_falls_back_to_cp1252_with_a_warning_naming_the_file():
    [doc] = read_document(DATA / "latin1.txt")
    assert spoken(doc) == ["Was the café open?", "Yes – and the “quiet room” too."]
    assert doc.metadata["encoding"] == "cp1252"
    [warning] = doc.warnings
    assert "latin1.txt" in warning and "cp1252" in warning and "UTF-8" in warning


def test_utf16_with_bom_is_read():
    [doc] = read_document(DATA / "utf16.txt")
    assert spoken(doc) == ["Grüße?", "Danke."]
    assert doc.warnings == []


def test_utf16_without_bom_is_recognised_by_its_nul_pattern_with_a_warning():
    for codec in ("utf-16-le", "utf-16-be"):
        decoded = decode_bytes("Interviewer: Grüße aus Köln?\nP3: Danke.\n".encode(codec), "x.txt")
        assert decoded.text == "Interviewer: Grüße aus Köln?\nP3: Danke.\n" and decoded.encoding == codec
        assert decoded.warnings == [f"x.txt: no byte-order mark; decoded as {codec} from its byte pattern"]


def test_decomposed_accents_become_nfc():
    [doc] = read_document(DATA / "nfd.txt")
    assert "José said café." in doc.text and "\u0301" not in doc.text


def test_bytes_that_are_not_cp1252_fall_back_to_latin1():
    decoded = decode_bytes(b"Interviewer: caf\xe9 \x81ok", "x.txt")
    assert decoded.encoding == "latin-1" and decoded.text == "Interviewer: café \x81ok"


# ---------------------------------------------------------------- captions, Word, spreadsheets


def test_vtt_voices_are_merged_into_turns_with_timestamps():
    [doc] = read_document(DATA / "voices.vtt")
    assert speakers(doc) == [("Interviewer", INTERVIEWER), ("P4", PARTICIPANT)] * 2
    assert spoken(doc)[1] == "It brings people together. We actually meet & talk. Before, we only met at funerals."
    assert spoken(doc)[3] == "Data. Nobody can tell you how many children we actually support."
    assert [(t.timestamp, t.end_timestamp) for t in doc.turns] == [(1.0, 4.0), (4.5, 11.0), (11.5, 13.0), (13.5, 18.25)]
    assert doc.text.startswith("Interviewer: What does the network do well?\n\nP4: It brings")


def test_vtt_cue_speakers_carry_over_to_unlabelled_cues():
    [doc] = read_document(DATA / "cue_speakers.vtt")
    assert speakers(doc) == [("Moderator", INTERVIEWER), ("Lena Fischer", PARTICIPANT)] * 2
    assert spoken(doc)[1] == "Yes. I went to four of them. They were the best part of the year."
    assert doc.turns[1].end_timestamp == 9.5


def test_srt_cues_and_speakers():
    [doc] = read_document(DATA / "captions.srt")
    assert speakers(doc) == [("Interviewer", INTERVIEWER), ("P9", PARTICIPANT)]
    assert spoken(doc) == ["How many families are on your caseload?", "Around forty at any time. Some for years."]
    assert doc.turns[1].timestamp == 4.0


def test_vtt_with_a_malformed_cue_keeps_the_rest_and_warns():
    [doc] = read_document(DATA / "partly_broken.vtt")
    assert spoken(doc) == ["First question?", "This one is fine."]
    assert any("1 cue(s) with malformed timings" in w for w in doc.warnings)


def test_docx_bold_speakers_paragraphs_and_table_rows():
    [doc] = read_document(DATA / "interview_bold.docx")
    # the heading "Interview 5, hospice nurse" is in no turn (issue 22: headings get no code)
    assert speakers(doc) == [("Interviewer", INTERVIEWER), ("Grace", PARTICIPANT)] * 3
    assert spoken(doc)[0] == "How did you first hear about the network?"
    assert spoken(doc)[-1] == "Now I chair the education group."
    assert "Speaker" not in doc.text  # the table's header row is not text
    assert "\n\n" in doc.text  # Word paragraphs are separated by a blank line


def test_csv_rows_become_documents():
    docs = read_document(DATA / "responses.csv")
    assert [d.id for d in docs] == ["responses.csv#r01", "responses.csv#r02", "responses.csv#r04"]
    assert docs[2].text == "We felt listened to.\nThe nurses came to the house."
    assert docs[0].metadata["columns"] == {"site": "A"} and docs[0].metadata["row"] == 2
    assert all("1 row(s) with empty text skipped (lines 4)" in d.warnings[0] for d in docs)


def test_csv_columns_chosen_by_option():
    docs = read_document(DATA / "responses.csv", id_column="RESPONDENT_ID", text_column="site")
    assert [(d.id, d.text) for d in docs] == [
        ("responses.csv#r01", "A"), ("responses.csv#r02", "B"), ("responses.csv#r03", "A"), ("responses.csv#r04", "C")]
    with pytest.raises(InputError, match=r"responses\.csv:4: duplicate id 'A' \(first on line 2\)"):
        read_document(DATA / "responses.csv", id_column="site")


def test_csv_duplicate_ids_name_the_line():
    with pytest.raises(InputError, match=r"dup_ids\.csv:4: duplicate id '1' \(first on line 2\)"):
        read_document(DATA / "bad" / "dup_ids.csv")


def test_unknown_column_lists_the_columns():
    with pytest.raises(InputError, match=r"responses\.csv: no text column named 'answer' \(columns: respondent_id, site, response\)"):
        read_document(DATA / "responses.csv", text_column="answer")


def test_semicolon_csv_is_sniffed():
    docs = read_document(DATA / "responses_semicolon.csv")
    assert [d.id for d in docs] == ["responses_semicolon.csv#7", "responses_semicolon.csv#8"]
    assert docs[0].text == "Die Pflege war sehr gut – danke!"
    assert docs[0].metadata["columns"] == {"Age": "41"}


def test_xlsx_rows_with_integer_ids():
    docs = read_document(DATA / "responses.xlsx")
    assert [d.id for d in docs] == ["responses.xlsx#1", "responses.xlsx#3"]
    assert docs[1].text.startswith("Communication between teams")
    assert docs[0].metadata["columns"] == {"Group": "parents"}


# ---------------------------------------------------------------- bad files


BAD_MESSAGES = {
    "ambiguous.csv": "cannot tell which column holds the text",
    "binary.txt": "binary file",
    "blank.md": "empty file",
    "broken.vtt": "no readable cues",
    "controls.txt": "binary file",
    "corrupt.docx": "not a readable .docx file",
    "corrupt.xlsx": "not a readable .xlsx workbook",
    "dup_ids.csv": "duplicate id",
    "empty.docx": "empty document",
    "empty.txt": "empty file",
    "not_vtt.vtt": "not a valid .vtt caption file",
}


def test_every_bad_fixture_has_an_expected_message():
    assert sorted(BAD_MESSAGES) == sorted(p.name for p in BAD)


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_bad_files_raise_one_line_naming_the_file(path):
    with pytest.raises(InputError) as info:
        read_document(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert BAD_MESSAGES[path.name] in message


def test_unsupported_and_missing_files():
    with pytest.raises(InputError, match=r"unsupported file type '\.pdf'"):
        read_document(DATA / "report.pdf")
    with pytest.raises(InputError, match="no such file"):
        read_document(DATA / "missing.txt")


def test_size_limit_is_checked_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.txt"
    path.write_text("Interviewer: hello.\n" * 5000)
    with pytest.raises(InputError, match=r"big\.txt: file is 0\.1 MB, over the 0\.0 MB limit"):
        read_document(path, max_bytes=1000)
    monkeypatch.setenv("QCODE_MAX_FILE_MB", "0.01")
    with pytest.raises(InputError, match="over the 0.0 MB limit"):
        read_document(path)
    monkeypatch.setenv("QCODE_MAX_FILE_MB", "1")
    assert len(read_document(path)[0].turns) == 5000
    monkeypatch.setenv("QCODE_MAX_FILE_MB", "lots")
    with pytest.raises(InputError, match="QCODE_MAX_FILE_MB='lots': not a number"):
        read_document(path)


def test_a_file_whose_size_does_not_match_its_content_is_reported():
    # /proc files report size 0 but have content: exactly what a file changing under us looks like
    proc = Path("/proc/self/status")
    if not proc.exists():
        pytest.skip("needs Linux /proc")
    with pytest.raises(InputError, match="changed while being read"):
        read_file_bytes(proc)


def test_a_file_being_appended_to_is_reported_not_half_read(tmp_path):
    path = tmp_path / "growing.txt"
    chunk = b"P1: still talking about the network and its meetings.\n" * 2000
    path.write_bytes(chunk * 50)
    stop = threading.Event()

    def append():
        with open(path, "ab") as handle:
            for _ in range(2000):  # about 2 s of appends at most, 200 MB would be far off
                if stop.is_set():
                    break
                handle.write(chunk[:4096])
                handle.flush()
                time.sleep(0.001)

    writer = threading.Thread(target=append)
    writer.start()
    try:
        outcomes = []
        for _ in range(30):
            try:
                data = read_file_bytes(path)
                outcomes.append(("ok", len(data)))
            except InputError as exc:
                assert "growing.txt: file changed while being read" in str(exc)
                outcomes.append(("changed", 0))
    finally:
        stop.set()
        writer.join()
    assert ("changed", 0) in outcomes
    # and a read after the writer stopped returns the whole, final file
    assert len(read_file_bytes(path)) == path.stat().st_size


# ---------------------------------------------------------------- the corpus


def make_study(root: Path) -> Path:
    (root / "site-b").mkdir(parents=True)
    (root / ".hidden").mkdir()
    shutil.copy(DATA / "interview_colon.txt", root / "site-b" / "int01.txt")
    shutil.copy(DATA / "voices.vtt", root / "focus.vtt")
    shutil.copy(DATA / "responses.csv", root / "site-b" / "survey.csv")
    shutil.copy(DATA / "bad" / "binary.txt", root / "broken.txt")
    shutil.copy(DATA / "interview_bold.docx", root / "a-first.docx")
    shutil.copy(DATA / "bad" / "corrupt.docx", root / "~$a-first.docx")  # Word lock file: ignored
    shutil.copy(DATA / "otter.txt", root / ".hidden" / "secret.txt")
    (root / "notes.pdf").write_bytes(b"%PDF-1.4")
    return root


def test_corpus_streams_skips_bad_files_and_reports_them(tmp_path):
    root = make_study(tmp_path / "study")
    corpus = read_corpus(root)
    assert [p.relative_to(root).as_posix() for p in corpus.files] == [
        "a-first.docx", "broken.txt", "focus.vtt", "site-b/int01.txt", "site-b/survey.csv"]
    with pytest.warns(IngestWarning, match="broken.txt: binary file"):
        ids = [doc.id for doc in corpus]
    assert ids == ["a-first.docx", "focus.vtt", "site-b/int01.txt",
                   "site-b/survey.csv#r01", "site-b/survey.csv#r02", "site-b/survey.csv#r04"]
    assert [(p.name, "binary file" in why) for p, why in corpus.skipped] == [("broken.txt", True)]
    assert corpus.n_documents == 6
    assert any("1 row(s) with empty text" in w for w in corpus.warnings)
    # re-iterable, same ids, skipped list not doubled
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IngestWarning)
        assert [doc.id for doc in corpus] == ids
    assert len(corpus.skipped) == 1


def test_corpus_reads_one_file_at_a_time(tmp_path):
    root = make_study(tmp_path / "study")
    corpus = read_corpus(root)
    docs = iter(corpus)
    assert next(docs).id == "a-first.docx"
    (root / "focus.vtt").unlink()  # not read yet: the corpus must notice when it gets there
    with pytest.warns(IngestWarning):
        rest = [doc.id for doc in docs]
    assert "focus.vtt" not in rest and "site-b/int01.txt" in rest
    assert {p.name for p, _ in corpus.skipped} == {"broken.txt", "focus.vtt"}


def test_corpus_not_recursive(tmp_path):
    root = make_study(tmp_path / "study")
    corpus = read_corpus(root, recursive=False)
    assert [p.name for p in corpus.files] == ["a-first.docx", "broken.txt", "focus.vtt"]


def test_qcodeignore_leaves_files_and_folders_out(tmp_path):
    root = make_study(tmp_path / "study")
    (root / "README.md").write_text("# About this study\nNotes for the team.\n")
    (root / ".qcodeignore").write_text("# not transcripts\nREADME.md\nsite-b/\n*.vtt\n")
    corpus = read_corpus(root)
    assert [p.relative_to(root).as_posix() for p in corpus.files] == ["a-first.docx", "broken.txt"]
    (root / ".qcodeignore").write_text("*\n")
    with pytest.raises(InputError, match=r"no supported files \(or all are in \.qcodeignore\)"):
        read_corpus(root)


def test_corpus_of_a_single_file():
    corpus = read_corpus(DATA / "otter.txt")
    assert [d.id for d in corpus] == ["otter.txt"]


@pytest.mark.parametrize("setup, message", [
    (lambda p: p, "no such file or folder"),
    (lambda p: p.mkdir() or p, "empty folder"),
    (lambda p: (p.mkdir(), (p / "a.pdf").write_bytes(b"%PDF"))[0] or p, "no supported files"),
])
def test_corpus_path_errors_name_the_path(tmp_path, setup, message):
    path = setup(tmp_path / "study")
    with pytest.raises(InputError) as info:
        read_corpus(path)
    assert str(info.value).startswith(str(path)) and message in str(info.value)


def test_unsupported_single_file_is_an_error():
    with pytest.raises(InputError, match=r"unsupported file type '\.py'"):
        read_corpus(DATA / "make_fixtures.py")


def test_corpus_ids_are_nfc_relative_paths(tmp_path):
    root = tmp_path / "study"
    (root / "sub").mkdir(parents=True)
    name = "entrevista-jose\u0301.txt"  # decomposed, as macOS writes it
    shutil.copy(DATA / "interview_colon.txt", root / "sub" / name)
    [doc] = list(read_corpus(root))
    assert doc.id == "sub/entrevista-jos\u00e9.txt"


@pytest.mark.skipif(not DEMO.is_dir(), reason="demo corpus not written yet")
def test_demo_corpus_reads_with_interviewers_and_participants():
    corpus = read_corpus(DEMO)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IngestWarning)
        docs = [d for d in corpus if d.id.startswith(("interview", "focus"))]
    transcripts = (".txt", ".md", ".docx", ".vtt", ".srt")
    assert [p for p, _ in corpus.skipped if p.suffix in transcripts] == []
    assert {Path(f).suffix for f in corpus.files} >= {".txt", ".docx", ".vtt"}
    assert len(docs) >= 3
    for doc in docs:
        roles = {t.role for t in doc.turns}
        assert {INTERVIEWER, PARTICIPANT} <= roles, doc.id
        speaking = [t for t in doc.turns if t.speaker]
        assert len(speaking) >= 10, doc.id


# ---------------------------------------------------------------- any text at all

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

LINES = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["Interviewer: yes.", "P1: no", "[00:01:02] Anna: so", "Bob (1:02): hm", "Cy  0:03", "Note: x",
                     "**Q:** why", "Well: fine", "", "  ", "Interviewer (Anna):", "p3: ok"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(LINES, max_size=12), st.sampled_from(["\n", "\r\n", "\r"]))
def test_any_text_gives_ordered_trimmed_disjoint_turns(lines, newline):
    text = normalize_text(newline.join(lines))
    turns = detect_turns(text)
    end = 0
    for turn in turns:
        said = text[turn.start:turn.end]
        assert end <= turn.start < turn.end <= len(text)
        assert said == said.strip()
        assert (turn.speaker is None) == (turn.role == UNKNOWN)
        end = turn.end
    if text.strip():
        assert turns  # nothing said is lost as "no turn at all"
        # what is outside every turn is a speaker label, never speech
        inside = {i for t in turns for i in range(t.start, t.end)}
        labels, _ = resolve_labels(text)
        in_label = {i for lab in labels for i in range(lab.line_start, lab.content_start)}
        lost = [i for i, ch in enumerate(text) if not ch.isspace() and i not in inside and i not in in_label]
        assert lost == [], (text, [text[i] for i in lost])
