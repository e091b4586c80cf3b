"""Plain-text transcripts: ``.txt`` and ``.md``.

>>> from qcode.ingest.text import document_from_text
>>> doc = document_from_text("Interviewer: Why?\\nP3: Because.", doc_id="a.txt")
>>> [doc.text[t.start:t.end] for t in doc.turns]
['Why?', 'Because.']
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..document import Document
from .normalize import check_line_lengths, normalize_text, read_text_file
from .roles import infer_interviewer
from .speakers import LabelNote, detect_turns_noted


def document_from_text(
    text: str,
    *,
    doc_id: str,
    source: str | None = None,
    interviewers: Iterable[str] = (),
    metadata: dict | None = None,
    warnings: list[str] | None = None,
) -> Document:
    """Build a :class:`Document` from text: normalise it and detect speaker turns."""
    text = normalize_text(text)
    interviewers = tuple(interviewers)
    turns, notes = detect_turns_noted(text, interviewers=interviewers)
    turns, role_notes = infer_interviewer(text, turns, interviewers, source or doc_id)
    return Document(
        id=doc_id,
        text=text,
        turns=turns,
        source=source,
        metadata=dict(metadata or {}),
        warnings=list(warnings or []) + label_warnings(text, notes, source or doc_id) + role_notes,
    )


def label_warnings(text: str, notes: list[LabelNote], where: str, *, unit: str = "line") -> list[str]:
    """``"where:LINE: message"`` for each note on an uncertain speaker label (``unit="paragraph"``: the
    blank-line separated paragraph instead, as a .docx is joined)."""
    lines = []
    sep = "\n\n" if unit == "paragraph" else "\n"
    number, position = 1, 0
    for note in sorted(notes, key=lambda item: item.offset):  # counted once through the text, not per note
        number += text.count(sep, position, note.offset)
        position = note.offset
        lines.append(f"{where}: paragraph {number}: {note.message}" if unit == "paragraph"
                     else f"{where}:{number}: {note.message}")
    return lines


def read_text(path: str | Path, *, doc_id: str, interviewers: Iterable[str] = (), max_bytes: int | None = None,
              encoding: str | None = None) -> Document:
    """Read a ``.txt``/``.md`` transcript (see :mod:`qcode.ingest.normalize` for decoding rules)."""
    decoded = read_text_file(path, max_bytes=max_bytes, encoding=encoding)
    check_line_lengths(decoded.text, path)
    return document_from_text(
        decoded.text,
        doc_id=doc_id,
        source=str(path),
        interviewers=interviewers,
        metadata={"format": Path(path).suffix.lower().lstrip("."), "encoding": decoded.encoding},
        warnings=decoded.warnings,
    )
