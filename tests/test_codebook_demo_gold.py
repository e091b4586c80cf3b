"""The demo corpus and its gold codes (``corpora/demo/gold.csv``).

Gold quotes must be character-exact substrings of a participant turn in their
file (for the .docx, of one paragraph; for the .vtt, of one cue), name only
themes of the shipped ``mcn-sst`` codebook, and still sit inside a participant
turn after the real ingest has read the file, so that tests and benchmarks can
locate them by offset.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import re
from collections import Counter
from functools import cache
from pathlib import Path

import docx
import pytest

from qcode.codebook import load_codebook

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "corpora" / "demo"
GOLD = DEMO / "gold.csv"
DEV_QUOTES = ROOT.parent / "shared" / "eval" / "dev_quotes.json"
INTERVIEWER_LABELS = {"Interviewer", "Facilitator"}
# a speaker label at the start of a stored line: "P07:", "[00:01:05] Helen:", "<v Priya>"
LABEL = re.compile(r"^(?:\[\d{1,2}:\d{2}:\d{2}\]\s*)?(?:<v\s+([^>]+)>|([A-Z][A-Za-z0-9]*):)")


def read_gold() -> list[dict[str, str]]:
    with GOLD.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@cache
def stored_lines(name: str) -> tuple[str, ...]:
    """The file's text as stored, one entry per line (per paragraph for .docx)."""
    path = DEMO / name
    if path.suffix == ".docx":
        return tuple(p.text for p in docx.Document(path).paragraphs)
    return tuple(path.read_text(encoding="utf-8").splitlines())


def test_gold_has_the_expected_columns_and_enough_rows():
    with GOLD.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    assert header == ["doc", "quote", "codes"]
    rows = read_gold()
    assert len(rows) >= 40
    n_codes = Counter(len(r["codes"].split(";")) for r in rows)
    assert n_codes[1] > 0 and n_codes[2] > 0  # single- and double-coded passages
    assert len({(r["doc"], r["quote"]) for r in rows}) == len(rows)  # no passage coded twice


def test_gold_names_only_existing_themes_and_uses_all_of_them():
    themes = {c.id for c in load_codebook("mcn-sst").leaves()}
    used = Counter()
    for row in read_gold():
        codes = row["codes"].split(";")
        assert codes == [c.strip() for c in codes] and len(codes) == len(set(codes)), row
        for code in codes:
            assert code in themes, f"{row['doc']}: unknown theme {code!r}"
        used.update(codes)
    assert set(used) == themes


def test_every_gold_quote_is_an_exact_substring_of_one_line_of_its_file():
    for row in read_gold():
        assert (DEMO / row["doc"]).is_file(), row["doc"]
        quote = row["quote"]
        assert quote == quote.strip() and len(quote.split()) >= 4, quote
        hits = [line for line in stored_lines(row["doc"]) if quote in line]
        assert len(hits) == 1, f"{row['doc']}: {quote!r} found on {len(hits)} lines"


def test_every_gold_quote_is_spoken_by_a_participant():
    for row in read_gold():
        line = next(line for line in stored_lines(row["doc"]) if row["quote"] in line)
        match = LABEL.match(line)
        assert match, f"{row['doc']}: no speaker label on the line of {row['quote']!r}"
        speaker = match.group(1) or match.group(2)
        assert speaker not in INTERVIEWER_LABELS, f"{row['doc']}: {row['quote']!r} is the {speaker}'s"
        assert row["quote"] in line[match.end():], "a quote must not include the speaker label"


def test_corpus_has_the_promised_formats():
    files = {p.name for p in DEMO.iterdir()}
    docs = {row["doc"] for row in read_gold()}
    assert {".txt", ".md", ".docx", ".vtt"} <= {Path(d).suffix for d in docs}
    assert docs <= files
    vtt = (DEMO / "interview_p15.vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT") and "<v Priya>" in vtt and " --> " in vtt
    focus = (DEMO / "focus_group_steering.txt").read_text(encoding="utf-8")
    speakers = {m.group(1) for m in re.finditer(r"^([A-Z][a-z]+):", focus, flags=re.M)}
    assert "Facilitator" in speakers and len(speakers - {"Facilitator"}) >= 4


def test_reading_the_demo_folder_gives_exactly_the_five_transcripts():
    """README.md and gold.csv are listed in .qcodeignore, so `qcode suggest corpora/demo` sees only transcripts."""
    import warnings

    from qcode.ingest import read_corpus

    corpus = read_corpus(DEMO)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no file may be skipped or read with a fallback
        ids = sorted(doc.id for doc in corpus)
    assert ids == sorted({row["doc"] for row in read_gold()})
    assert corpus.skipped == []


def test_make_docx_rebuilds_the_committed_docx(tmp_path):
    spec = importlib.util.spec_from_file_location("make_docx", DEMO / "make_docx.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rebuilt = module.build(tmp_path / "rebuilt.docx")
    paragraphs = [p.text for p in docx.Document(rebuilt).paragraphs]
    assert paragraphs == list(stored_lines("interview_p03.docx"))
    bold_labels = [p.runs[0].text for p in docx.Document(rebuilt).paragraphs[2:] if p.runs[0].bold]
    assert set(bold_labels) == {"Interviewer:", "P03:"}


def test_corpus_does_not_echo_the_papers_quotations():
    """The demo transcripts are invented: no 5-word run of a real quotation appears in them."""
    if not DEV_QUOTES.exists():
        pytest.skip(f"evaluation quotes not found at {DEV_QUOTES}")

    def shingles(text: str) -> set[tuple[str, ...]]:
        words = re.findall(r"[a-z0-9]+", text.lower().replace("\u2019", "").replace("'", ""))
        return {tuple(words[i:i + 5]) for i in range(len(words) - 4)}

    quoted = set().union(*(shingles(q["text"]) for q in json.loads(DEV_QUOTES.read_text(encoding="utf-8"))))
    for name in {row["doc"] for row in read_gold()}:
        overlap = shingles("\n".join(stored_lines(name))) & quoted
        assert not overlap, f"{name} echoes a quotation: {sorted(overlap)[:3]}"


def test_gold_quotes_land_in_participant_turns_after_ingest():
    """End to end with the real reader: the quote is in doc.text, inside a participant turn."""
    from qcode.document import PARTICIPANT
    from qcode.ingest import read_document

    by_doc: dict[str, list[str]] = {}
    for row in read_gold():
        by_doc.setdefault(row["doc"], []).append(row["quote"])
    for name, quotes in by_doc.items():
        (doc,) = read_document(DEMO / name, root=DEMO)
        assert not doc.warnings, doc.warnings
        for quote in quotes:
            start = doc.text.find(quote)
            assert start >= 0, f"{name}: {quote!r} not in the ingested text"
            end = start + len(quote)
            turns = [t for t in doc.turns if t.start <= start and end <= t.end]
            assert len(turns) == 1, f"{name}: {quote!r} is not inside exactly one turn"
            assert turns[0].role == PARTICIPANT, f"{name}: {quote!r} is in a {turns[0].role} turn"


def test_gold_quotes_do_not_echo_the_codebook_examples():
    """The demo gold must not flatter the ranker: no 7-word run is shared with the codebook's text."""

    def shingles(text: str) -> set[tuple[str, ...]]:
        words = re.findall(r"[a-z0-9]+", text.lower().replace("\u2019", "").replace("'", ""))
        return {tuple(words[i:i + 7]) for i in range(len(words) - 6)}

    codebook_text = set()
    for code in load_codebook("mcn-sst"):
        for text in (code.definition, *code.inclusion, *code.exclusion, *code.examples):
            codebook_text |= shingles(text)
    for row in read_gold():
        assert not (shingles(row["quote"]) & codebook_text), row["quote"]
