"""Checks of what callers hand the store: coder names, documents, segments, event keys (pure).

>>> check_coder("  alice ")
'alice'
>>> check_event_key("req-1")
'req-1'
"""

from __future__ import annotations

import unicodedata
from typing import Any

from ..document import ROLES, Document, Segment
from ..errors import ProjectError

#: longest idempotency key a client may give a decision
MAX_EVENT_KEY = 200


def is_int(value: Any) -> bool:
    """An int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def _script(ch: str) -> str | None:
    if not ch.isalpha():
        return None
    try:
        return unicodedata.name(ch).split()[0]
    except ValueError:
        return None


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
    if any(ord(ch) < 32 or unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs", "Zl", "Zp") for ch in name):
        raise ProjectError(f"coder name {name.encode('ascii', 'backslashreplace').decode()!r} contains control "
                           "characters or invisible ones")
    scripts = {s for s in map(_script, name) if s is not None}
    if len(scripts) > 1:
        raise ProjectError(f"coder name {name.encode('ascii', 'backslashreplace').decode()!r} mixes alphabets "
                           f"({', '.join(sorted(scripts)).lower()}): it would look like another name")
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


_is_int = is_int
_check_coder = check_coder
_check_document = check_document
_check_segment = check_segment

__all__ = ["MAX_EVENT_KEY", "check_coder", "check_document", "check_event_key", "check_segment", "is_int"]
