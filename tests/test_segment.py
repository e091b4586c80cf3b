"""Segmentation: exact offsets for every unit, token budgets, stable ids, speakers carried over."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qcode
from qcode.document import INTERVIEWER, PARTICIPANT, UNKNOWN, Document, segment_id
from qcode.errors import InputError
from qcode.ingest import read_corpus, read_document
from qcode.ingest.text import document_from_text
from qcode.segmentation import (
    DEFAULT_MAX_TOKENS,
    UNITS,
    TokenCounter,
    default_token_counter,
    fits,
    model_tokenizer_path,
    segment,
    segment_corpus,
    sentence_spans,
)

DATA = Path(__file__).parent / "data" / "ingest"
DEMO = Path(__file__).parent.parent / "corpora" / "demo"
GOOD = sorted(p for p in DATA.iterdir() if p.is_file() and p.suffix != ".py")


def words(text: str) -> int:
    """A simple, injectable counter: whitespace words, no special tokens."""
    return len(text.split())


def fixture_docs():
    docs = [doc for path in GOOD for doc in read_document(path)]
    if DEMO.is_dir():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # non-transcript files of the demo folder
            docs += [d for d in read_corpus(DEMO) if d.id.startswith(("interview", "focus"))]
    return docs


DOCS = fixture_docs()


def check_segments(doc: Document, segments, max_tokens: int, count) -> None:
    for seg in segments:
        assert doc.text[seg.start:seg.end] == seg.text
        assert seg.text and seg.text == seg.text.strip()
        assert seg.doc_id == doc.id
        assert seg.id == segment_id(doc.id, seg.unit, seg.start, seg.end)
        assert count(seg.text) <= max_tokens
    starts = [s.start for s in segments]
    assert starts == sorted(starts)
    assert len({s.id for s in segments}) == len(segments)


@pytest.mark.slow
@pytest.mark.parametrize("unit", UNITS)
def test_offsets_match_text_for_every_fixture_and_unit(unit):
    count = default_token_counter()
    for doc in DOCS:
        check_segments(doc, segment(doc, unit=unit), DEFAULT_MAX_TOKENS, count)


@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.slow
def test_small_budget_windows_every_fixture(unit):
    count = default_token_counter()
    for doc in DOCS:
        check_segments(doc, segment(doc, unit=unit, max_tokens=24), 24, count)


def test_turn_segments_carry_speaker_role_turn_and_timestamp():
    [doc] = read_document(DATA / "interview_brackets.txt", interviewers=["Anna Keller"])
    segs = segment(doc, unit="turn")
    assert [(s.speaker, s.role, s.turn_index, s.timestamp) for s in segs] == [
        ("Anna Keller", INTERVIEWER, 0, 5.0), ("Tom Reid", PARTICIPANT, 1, 12.0),
        ("Anna Keller", INTERVIEWER, 2, 62.0), ("Tom Reid", PARTICIPANT, 3, 75.0)]
    assert segs[1].text == "I coordinate the out-of-hours palliative rota for the region."


def test_sentences_stay_within_turns():
    [doc] = read_document(DATA / "voices.vtt")
    segs = segment(doc, unit="sentence")
    assert [s.text for s in segs if s.turn_index == 1] == [
        "It brings people together.", "We actually meet & talk.", "Before, we only met at funerals."]
    for seg in segs:
        turn = doc.turns[seg.turn_index]
        assert turn.start <= seg.start and seg.end <= turn.end


def test_paragraphs_follow_blank_lines_and_turns():
    [doc] = read_document(DATA / "interview_colon.txt")
    segs = segment(doc, unit="paragraph")
    assert segs[0].text == "Interview 3 – community nurse, site B\nDate: 14 March 2024" and segs[0].role == UNKNOWN
    assert len(segs) == len(doc.turns)  # each turn is one paragraph here
    text = "Interviewer: First block.\n\nStill the interviewer.\nP1: Answer one.\n \nAnswer two."
    segs = segment(document_from_text(text, doc_id="p.txt"), unit="paragraph")
    assert [(s.text, s.speaker) for s in segs] == [
        ("First block.", "Interviewer"), ("Still the interviewer.", "Interviewer"),
        ("Answer one.", "P1"), ("Answer two.", "P1")]


def test_document_unit_is_one_segment_when_short():
    [doc] = read_document(DATA / "q_and_a.txt")
    [seg] = segment(doc, unit="document")
    assert seg.text == doc.text.strip() and seg.speaker is None and seg.turn_index is None
    [single] = read_document(DATA / "prose_notes.txt")
    [seg] = segment(single, unit="document")
    assert seg.turn_index == 0 and seg.role == UNKNOWN


def long_turn_doc(n_sentences: int = 120) -> Document:
    sentences = [f"Sentence number {i} is about the network and its {i % 7} regional meetings." for i in range(n_sentences)]
    return document_from_text("Interviewer: Tell me everything.\nP1: " + " ".join(sentences), doc_id="long.txt")


def test_long_turns_become_sentence_windows_under_the_budget_and_lose_nothing():
    doc = long_turn_doc()
    count = default_token_counter()
    turn = doc.turns[1]
    assert count(doc.text[turn.start:turn.end]) > 256
    segs = [s for s in segment(doc, unit="turn", max_tokens=64) if s.turn_index == 1]
    assert len(segs) > 5
    check_segments(doc, segs, 64, count)
    # windows are whole sentences, consecutive, and cover the turn exactly (gaps are only spaces)
    assert segs[0].start == turn.start and segs[-1].end == turn.end
    for before, after in zip(segs, segs[1:]):
        assert doc.text[before.end:after.start].isspace()
        assert before.text.endswith(".") and after.text.startswith("Sentence number")
    # greedy packing: each window could not take the next sentence
    first_next = sentence_spans(doc.text, segs[1].start, segs[1].end)[0]
    assert count(doc.text[segs[0].start:first_next[1]]) > 64


def test_a_sentence_over_the_budget_is_cut_at_word_boundaries():
    words_list = [f"word{i}" for i in range(400)]
    doc = document_from_text("P1: " + " ".join(words_list), doc_id="run-on.txt")
    for unit in ("turn", "sentence"):
        segs = segment(doc, unit=unit, max_tokens=40)
        check_segments(doc, segs, 40, default_token_counter())
        assert " ".join(s.text for s in segs) == " ".join(words_list)
        for seg in segs:
            assert seg.start == doc.turns[0].start or doc.text[seg.start - 1] == " "


def test_a_word_longer_than_the_budget_is_cut_into_pieces():
    blob = "x9" * 2000  # no spaces at all, e.g. a pasted hash or URL
    doc = document_from_text(f"P1: See {blob} there.", doc_id="blob.txt")
    segs = segment(doc, unit="sentence", max_tokens=32)
    check_segments(doc, segs, 32, default_token_counter())
    assert "".join(s.text for s in segs).replace(" ", "") == f"See{blob}there."


def test_injected_counter_is_used():
    doc = long_turn_doc(30)
    segs = segment(doc, unit="turn", max_tokens=30, count_tokens=words)
    assert all(words(s.text) <= 30 for s in segs)
    assert len(segs) > len(segment(doc, unit="turn", max_tokens=300, count_tokens=words))


@pytest.mark.slow
def test_default_counter_matches_the_models_own_tokenizer():
    transformers = pytest.importorskip("transformers")
    reference = transformers.AutoTokenizer.from_pretrained(str(model_tokenizer_path().parent))
    count = TokenCounter()
    texts = ["Hello world.", "Children's palliative care — the network’s hospices, naïvely.", "x" * 700, "", "P12: 00:01:23 🙂",
             "한국어 텍스트입니다", "ﬁnance İstanbul ß"]
    assert [count(t) for t in texts] == [len(reference(t)["input_ids"]) for t in texts]
    assert count.many(texts) == [count(t) for t in texts]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), st.integers(10, 80))
def test_the_no_count_shortcut_never_lets_an_overlong_text_through(text, max_tokens):
    count = default_token_counter()
    if fits(count, text, max_tokens):
        assert count(text) <= max_tokens
    assert fits(count, text, max_tokens) == (count(text) <= max_tokens)


WEIRD_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from([*" \t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2003\u200b\u3000\ufffd.,;:!?'\"-()", "\u0301"]),
        st.characters(codec="utf-8"),
    ),
    max_size=80,
)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.lists(WEIRD_TEXT, min_size=1, max_size=4))
def test_word_cached_counts_equal_whole_text_counts(texts):
    count = TokenCounter()
    whole = [len(count.tokenizer.encode(t).ids) for t in texts]  # special tokens added by the tokenizer itself
    assert count.many(texts) == whole
    assert [count(t) for t in texts] == whole  # and again, from the cache


def test_word_cached_counts_on_every_fixture():
    count = TokenCounter()
    texts = [d.text[t.start:t.end] for d in DOCS for t in d.turns]
    assert count.many(texts) == [len(count.tokenizer.encode(t).ids) for t in texts]


def test_hangul_is_counted_not_assumed_short():
    count = default_token_counter()
    text = "한국어 텍스트입니다 " * 10  # 100 characters, about 220 word pieces
    assert len(text) < 256 - 2 and count(text) > 200
    assert not fits(count, text, 120)
    [doc] = [document_from_text("P1: " + text.strip(), doc_id="ko.txt")]
    check_segments(doc, segment(doc, unit="turn", max_tokens=120), 120, count)


def test_ids_are_stable_across_runs_and_differ_between_units():
    [doc] = read_document(DATA / "otter.txt")
    first = [s.id for s in segment(doc, unit="sentence")]
    [again] = read_document(DATA / "otter.txt")
    assert [s.id for s in segment(again, unit="sentence")] == first
    assert not set(first) & {s.id for s in segment(doc, unit="turn")}


def test_segment_corpus_streams_all_documents():
    corpus = read_corpus(DATA / "voices.vtt")
    segs = list(segment_corpus([*corpus, *read_document(DATA / "captions.srt")], unit="turn"))
    assert [s.doc_id for s in segs] == ["voices.vtt"] * 4 + ["captions.srt"] * 2
    gen = segment_corpus(iter([]), unit="sentence")
    assert list(gen) == []


def test_document_without_turns_is_one_speakerless_turn():
    doc = Document(id="bare", text="  One thing. Another thing.  ")
    segs = segment(doc, unit="sentence")
    assert [(s.text, s.turn_index, s.role) for s in segs] == [("One thing.", 0, UNKNOWN), ("Another thing.", 0, UNKNOWN)]


@pytest.mark.parametrize("kwargs, message", [
    ({"unit": "word"}, "unit='word': must be one of turn, sentence, paragraph, document"),
    ({"max_tokens": 5}, "max_tokens=5: must be at least 10"),
    ({"max_tokens": 12.5}, "max_tokens=12.5: must be a whole number"),
])
def test_bad_arguments_are_one_line_errors(kwargs, message):
    doc = document_from_text("P1: hi.", doc_id="a.txt")
    with pytest.raises(InputError, match=re.escape(message)):
        segment(doc, **kwargs)


def test_qcode_segment_is_the_function_however_it_was_imported():
    import qcode.segmentation as module

    doc = document_from_text("Interviewer: Hi.\nP1: Hello.", doc_id="c.txt")
    assert [s.text for s in module.segment(doc)] == ["Hi.", "Hello."]
    assert [s.text for s in qcode.segment(doc, unit="turn")] == ["Hi.", "Hello."]
    assert qcode.segment is module.segment and callable(qcode.segment)
    assert qcode.segment_corpus is segment_corpus


# ---------------------------------------------------------------- generated transcripts

LABELS = ["Interviewer", "P12", "Participant 3", "Facilitator", "Anna Smith", "R"]
SENTENCE = st.builds(
    lambda body, end: body.strip().capitalize() + end,
    st.text(alphabet=list("abcdefghij klmnop ÉéüßçøΩ中文🙂'\",;:-\t\u00a0"), min_size=1, max_size=40),
    st.sampled_from([".", "?", "!", "...", ""]),
)


@st.composite
def transcripts(draw):
    style = draw(st.sampled_from(["colon", "bracket", "paren", "zoom", "none"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = []
    if draw(st.booleans()):
        lines.append("Title line: study 4")
    for i in range(draw(st.integers(1, 8))):
        name = draw(st.sampled_from(LABELS))
        said = " ".join(draw(st.lists(SENTENCE, min_size=1, max_size=6)))
        if draw(st.booleans()):
            said += newline + newline + " ".join(draw(st.lists(SENTENCE, min_size=1, max_size=3)))
        ts = f"00:{i:02d}:{draw(st.integers(0, 59)):02d}"
        lines.append({"colon": f"{name}: {said}", "bracket": f"[{ts}] {name}: {said}", "paren": f"{name} ({ts}): {said}",
                      "zoom": f"{name}  {ts}{newline}{said}", "none": said}[style])
    return newline.join(lines) + draw(st.sampled_from(["", newline, "  "]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(transcripts(), st.sampled_from(UNITS), st.sampled_from([12, 40, 256]))
def test_generated_transcripts_keep_exact_offsets(raw, unit, max_tokens):
    doc = document_from_text(raw, doc_id="gen.txt")
    for turn in doc.turns:
        said = doc.text[turn.start:turn.end]
        assert said and said == said.strip()
    segs = segment(doc, unit=unit, max_tokens=max_tokens, count_tokens=words)
    check_segments(doc, segs, max_tokens, words)
    # nothing is lost: every word of every turn is inside some segment of that turn
    if unit != "document":
        covered = set()
        for seg in segs:
            covered.update(range(seg.start, seg.end))
        for turn in doc.turns:
            for match in re.finditer(r"\S", doc.text[turn.start:turn.end]):
                assert turn.start + match.start() in covered


@pytest.mark.slow
def test_sentence_splitting_does_not_import_torch_and_torch_still_imports_after():
    import subprocess
    import sys

    code = ("import sys\n"
            "from qcode.document import Document, Turn\n"
            "from qcode.segmentation import segment\n"
            "t = 'First sentence here. Second one follows! A third?'\n"
            "segs = segment(Document('d', t, turns=[Turn(0, len(t))]), unit='sentence')\n"
            "assert [s.text for s in segs] == ['First sentence here.', 'Second one follows!', 'A third?'], segs\n"
            "assert 'torch' not in sys.modules\n"
            "import torch\n"
            "assert torch.ones(2).sum().item() == 2\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
