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
from ..errors import InputError
from ..limits import current as current_limits
from .normalize import normalize_text, read_text_file
from .speakers import detect_turns


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
    return Document(
        id=doc_id,
        text=text,
        turns=detect_turns(text, interviewers=interviewers),
        source=source,
        metadata=dict(metadata or {}),
        warnings=list(warnings or []),
    )


def read_text(path: str | Path, *, doc_id: str, interviewers: Iterable[str] = (), max_bytes: int | None = None) -> Document:
    """Read a ``.txt``/``.md`` transcript (see :mod:`qcode.ingest.normalize` for decoding rules)."""
    decoded = read_text_file(path, max_bytes=max_bytes)
    limits = current_limits()
    if len(decoded.text) > limits.line_chars:
        for line_number, line in enumerate(decoded.text.split("\n"), start=1):  # only long texts pay for this
            if len(line) > limits.line_chars:
                raise InputError(f"{path}:{line_number}: a line of {len(line)} characters, longer than "
                                 f"{limits.line_chars} ({limits.hint('line_chars')})")
    return document_from_text(
        decoded.text,
        doc_id=doc_id,
        source=str(path),
        interviewers=interviewers,
        metadata={"format": Path(path).suffix.lower().lstrip("."), "encoding": decoded.encoding},
        warnings=decoded.warnings,
    )
