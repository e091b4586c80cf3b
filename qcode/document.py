"""Core data model: documents, speaker turns and segments.

Every object that points into a transcript carries *character offsets into the
document's normalised text*, so that for any segment ``seg`` of document ``doc``::

    doc.text[seg.start:seg.end] == seg.text

holds exactly. Offsets count Python ``str`` characters (Unicode code points),
which is also what REFI-QDA positions count.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

#: Speaker roles. Interviewer-side turns are excluded from suggestions by default.
INTERVIEWER = "interviewer"
PARTICIPANT = "participant"
UNKNOWN = "unknown"
ROLES = (INTERVIEWER, PARTICIPANT, UNKNOWN)


def text_sha256(text: str) -> str:
    """Hex sha256 of the UTF-8 bytes of ``text``."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Turn:
    """One speaker turn: ``doc.text[start:end]`` is what the speaker said.

    The speaker label itself (``"P12:"``) is *not* part of the turn span.
    ``timestamp`` is seconds from the start of the recording, when known.
    """

    start: int
    end: int
    speaker: str | None = None
    role: str = UNKNOWN
    timestamp: float | None = None
    end_timestamp: float | None = None


@dataclass
class Document:
    """A transcript or open-ended response, as normalised plain text.

    Attributes
    ----------
    id : str
        Stable identifier: the path relative to the corpus root using ``/``
        (``"site-a/interview-01.txt"``), or ``"file.csv#row-id"`` for rows of a
        spreadsheet of responses.
    text : str
        Normalised text (NFC, ``\\n`` line ends, no BOM). All offsets refer to it.
    turns : list of Turn
        Speaker turns in document order; a document with no detectable
        speakers has one turn spanning the whole text with ``speaker=None``.
    source : str or None
        The file it was read from.
    metadata : dict
        Format-specific extras (encoding used, spreadsheet columns, ...).
    warnings : list of str
        Non-fatal problems met while reading (e.g. a non-UTF-8 fallback).
    """

    id: str
    text: str
    turns: list[Turn] = field(default_factory=list)
    source: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        return text_sha256(self.text)

    def __repr__(self) -> str:  # keep reprs short: texts can be huge
        return f"Document(id={self.id!r}, chars={len(self.text)}, turns={len(self.turns)})"


@dataclass(frozen=True)
class Segment:
    """A unit of coding: a span of a document with its speaker.

    ``id`` is stable across runs: it is derived from the document id, the unit
    and the offsets, never from run order or randomness.
    """

    id: str
    doc_id: str
    start: int
    end: int
    text: str
    unit: str
    speaker: str | None = None
    role: str = UNKNOWN
    turn_index: int | None = None
    timestamp: float | None = None

    @property
    def is_interviewer(self) -> bool:
        return self.role == INTERVIEWER


def segment_id(doc_id: str, unit: str, start: int, end: int) -> str:
    """Stable segment id: a short hash of (document, unit, offsets).

    >>> segment_id("a.txt", "turn", 0, 10) == segment_id("a.txt", "turn", 0, 10)
    True
    """
    digest = hashlib.sha1(f"{doc_id}\x1f{unit}\x1f{start}\x1f{end}".encode()).hexdigest()
    return f"s-{digest[:12]}"
