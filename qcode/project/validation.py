"""Checks of what callers hand the store: coder names, documents, segments, event keys (pure).

>>> check_coder("  alice ")
'alice'
>>> check_event_key("req-1")
'req-1'
"""

from __future__ import annotations

import unicodedata
from typing import Any, TypeGuard

from ..document import ROLES, Document, Segment, Turn
from ..errors import ProjectError
from ..safetext import name_problem

#: longest idempotency key a client may give a decision
MAX_EVENT_KEY = 200


def is_int(value: Any) -> TypeGuard[int]:
    """An int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_coder(name: Any) -> str:
    """A coder name, NFKC-normalised and stripped; ProjectError if it cannot name one person unambiguously.

    Refused: empty names, control characters, invisible or direction-changing
    characters (zero-width space, RTL override: Unicode categories Cc, Cf, Co,
    Cs, Zl, Zp) and names that mix alphabets (a Cyrillic ``а`` in a Latin
    ``ana``), which look the same as another coder's name on screen.

    >>> check_coder("ａｎａ")
    'ana'
    """
    if not isinstance(name, str) or not name.strip():
        raise ProjectError(f"coder name must be non-empty text, got {name!r}")
    name = unicodedata.normalize("NFKC", name).strip()
    problem = name_problem(name)
    if problem is not None:
        why = ": it would look like another name" if problem.startswith("mixes") else ""
        raise ProjectError(f"coder name {name.encode('ascii', 'backslashreplace').decode()!r} {problem}{why}")
    return name


def check_document(doc: Document) -> None:
    """ProjectError unless ``doc`` is a Document with a text id and turns inside its text."""
    if not isinstance(doc, Document):
        raise ProjectError(f"expected a Document, got {type(doc).__name__}")
    if not isinstance(doc.id, str) or not doc.id:
        raise ProjectError(f"document id must be non-empty text, got {doc.id!r}")
    if not isinstance(doc.text, str):
        raise ProjectError(f"document {doc.id!r}: text must be a str")
    for i, turn in enumerate(doc.turns):
        if not (is_int(turn.start) and is_int(turn.end) and 0 <= turn.start <= turn.end <= len(doc.text)):
            raise ProjectError(f"document {doc.id!r}: turn #{i + 1} offsets {turn.start}:{turn.end} are outside "
                               f"its text ({len(doc.text)} characters)")


def check_segment(seg: Segment, text: str, version: int) -> None:
    """ProjectError unless ``seg`` lies inside ``text`` (document version ``version``) and matches it."""
    if not isinstance(seg, Segment):
        raise ProjectError(f"expected a Segment, got {type(seg).__name__}")
    if not (is_int(seg.start) and is_int(seg.end) and 0 <= seg.start <= seg.end <= len(text)):
        raise ProjectError(f"segment {seg.id!r}: offsets {seg.start}:{seg.end} are outside document "
                           f"{seg.doc_id!r} version {version} ({len(text)} characters)")
    if text[seg.start:seg.end] != seg.text:
        raise ProjectError(f"segment {seg.id!r}: its text does not match document {seg.doc_id!r} version "
                           f"{version} at {seg.start}:{seg.end}")
    if seg.role not in ROLES:
        raise ProjectError(f"segment {seg.id!r}: role must be one of {', '.join(ROLES)}, got {seg.role!r}")


def check_event_key(key: Any) -> str | None:
    """A client-made idempotency key: None, or non-empty text of at most :data:`MAX_EVENT_KEY` printable characters."""
    if key is None:
        return None
    if not isinstance(key, str) or not key.strip():
        raise ProjectError(f"event_key must be non-empty text, got {key!r}")
    if len(key) > MAX_EVENT_KEY:
        raise ProjectError(f"event_key is {len(key)} characters, over the {MAX_EVENT_KEY} allowed")
    if any(ord(ch) < 32 for ch in key):
        raise ProjectError(f"event_key {key!r} contains control characters")
    return key


def _word_start(text: str, i: int) -> int:
    while i > 0 and text[i - 1].isalnum():
        i -= 1
    return i


def _word_end(text: str, i: int) -> int:
    while i < len(text) and text[i].isalnum():
        i += 1
    return i


def _turn_name(turn: Turn) -> str:
    return f"{turn.speaker}'s turn" if turn.speaker else f"the turn at {turn.start}"


def span_problems(doc: Document, start: int, end: int) -> list[str]:
    """What is odd about a hand-made span ``start:end`` of ``doc``: cut words, crossed turns, a speaker label.

    Empty for a span of whole words inside one turn, and for a span outside the
    text (the store refuses that one itself). Each problem says how to mend it.

    >>> doc = Document(id="a.txt", text="P1: Money is tight.", turns=[Turn(start=4, end=19, speaker="P1")])
    >>> span_problems(doc, 4, 9), span_problems(doc, 5, 9)
    ([], ['starts inside the word "Money" (it begins at 4)'])
    """
    text = doc.text
    if not (is_int(start) and is_int(end) and 0 <= start < end <= len(text)):
        return []
    problems = []
    if 0 < start < len(text) and text[start - 1].isalnum() and text[start].isalnum():
        begin = _word_start(text, start)
        problems.append(f'starts inside the word "{text[begin:_word_end(text, start)]}" (it begins at {begin})')
    if 0 < end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
        stop = _word_end(text, end)
        problems.append(f'ends inside the word "{text[_word_start(text, end - 1):stop]}" (it ends at {stop})')
    touched = [t for t in doc.turns if t.start < end and start < t.end]
    if len(touched) > 1:
        names = " into ".join(_turn_name(t) for t in touched[:3]) + (" ..." if len(touched) > 3 else "")
        problems.append(f"crosses from {names} (at {touched[1].start}); code each turn on its own")
    elif len(touched) == 1:
        turn = touched[0]
        outside = text[start:max(start, turn.start)] + text[min(end, turn.end):end]
        if outside.strip():
            problems.append(f"takes in text outside {_turn_name(turn)} ({outside.strip()[:20]!r}: a speaker label?); "
                            f"the turn's text is {turn.start}:{turn.end}")
    return problems


__all__ = ["MAX_EVENT_KEY", "check_coder", "check_document", "check_event_key", "check_segment", "is_int",
           "span_problems"]
