"""Word transcripts (``.docx``), read with python-docx.

The document's text is its body paragraphs in order, separated by a blank line
(``"\\n\\n"``), so the ``paragraph`` unit follows Word's paragraphs. Speaker
labels are found with the same patterns as plain text; in addition a paragraph
that *opens with a bold name* (``**Anna** I think...``) is a trusted label, and
a table row of ``speaker | text`` (or ``time | speaker | text``) becomes a
``speaker: text`` line. Headers, footers, footnotes, comments and text boxes are
not read. Title and heading paragraphs (Word's Title, Subtitle and Heading styles,
or a short paragraph set wholly in bold) stay in the text but in no turn, so they
are never segmented, suggested or reviewed.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from ..document import Document, Turn
from ..errors import InputError
from ..limits import current as current_limits
from ..office import count_elements, main_part, open_office
from .normalize import normalize_text, read_file_bytes
from .roles import infer_interviewer
from .speakers import looks_like_name, resolve_labels, turns_from_labels
from .text import label_warnings

_TIME_CELL = re.compile(r"[\[(]?(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?[\])]?")
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_HEADER_NAMES = {"speaker", "name", "who", "person"}
_HEADER_TEXTS = {"text", "transcript", "utterance", "content", "speech", "dialogue", "what was said"}


def _bold_label(paragraph) -> tuple[str, str] | None:
    """``(name, rest)`` when a paragraph opens with a short bold name followed by more text."""
    bold, rest_start = [], 0
    runs = paragraph.runs
    for index, run in enumerate(runs):
        if run.bold and run.text:
            bold.append(run.text)
            rest_start = index + 1
        elif not run.text.strip() and bold:
            rest_start = index + 1
        else:
            break
    if not bold:
        return None
    name = "".join(bold).strip().rstrip(":").strip()
    rest = "".join(run.text for run in runs[rest_start:]).strip().lstrip(":").strip()
    if not name or not rest or not looks_like_name(name):
        return None
    return name, rest


def _row_lines(row_cells: list[str]) -> list[str]:
    cells = [c.strip() for c in row_cells]
    # merged cells repeat their text in python-docx: drop consecutive duplicates
    deduped = [c for i, c in enumerate(cells) if i == 0 or c != cells[i - 1]]
    if len(deduped) == 3 and _TIME_CELL.fullmatch(deduped[0]) and looks_like_name(deduped[1]) and deduped[2]:
        return [f"[{deduped[0].strip('[]()')}] {deduped[1]}: {deduped[2]}"]
    if len(deduped) == 2 and deduped[1]:
        if deduped[0].casefold() in _HEADER_NAMES and deduped[1].casefold() in _HEADER_TEXTS:
            return []
        if looks_like_name(deduped[0]):
            return [f"{deduped[0]}: {deduped[1]}"]
    return [c for c in deduped if c]


_HEADING_STYLES = ("title", "subtitle", "heading")


def _is_heading(paragraph) -> bool:
    """A title or heading: by its Word style, or a short paragraph wholly in bold that is no label."""
    try:
        style = (paragraph.style.name or "").casefold() if paragraph.style is not None else ""
    except (AttributeError, KeyError, ValueError):
        style = ""
    if style.startswith(_HEADING_STYLES):
        return True
    runs = [run for run in paragraph.runs if run.text.strip()]
    text = paragraph.text.strip()
    return (bool(runs) and all(run.bold for run in runs) and len(text.split()) <= 12
            and not text.endswith((":", ".", "?", "!")) and not looks_like_name(text))


def _blocks(container) -> Iterator[tuple[str, bool | None]]:
    """Yield ``(paragraph_text, is_bold_label)`` for the paragraphs and table rows of a body, in order;
    ``is_bold_label`` is None for a title or heading paragraph."""
    from docx.table import Table

    for item in container.iter_inner_content():
        if isinstance(item, Table):
            for row in item.rows:
                for line in _row_lines([cell.text for cell in row.cells]):
                    yield line, False
            continue
        if _is_heading(item):
            yield item.text, None
            continue
        label = _bold_label(item)
        if label is not None:
            yield f"{label[0]}: {label[1]}", True
        else:
            yield item.text, False


def read_docx(path: str | Path, *, doc_id: str, interviewers: Iterable[str] = (), max_bytes: int | None = None) -> Document:
    """Read a ``.docx`` transcript into a :class:`Document` with speaker turns."""
    import docx  # python-docx; imported here to keep `qcode --help` fast

    data = read_file_bytes(path, max_bytes=max_bytes)
    if not data:
        raise InputError(f"{path}: empty file")
    limits = current_limits()
    with open_office(data, path, "not a readable .docx file: not a zip archive", limits) as zf:
        body = main_part(zf, "word/document.xml")
        count_elements(zf, body, (f"{{{_W}}}p", f"{{{_W}}}tr"), limit=limits.paragraphs,
                       limit_name="paragraphs", what="paragraphs and table rows in its body")
    try:
        word = docx.Document(io.BytesIO(data))
        blocks = list(_blocks(word))
    except Exception as exc:  # python-docx raises zip, KeyError, lxml and its own errors
        raise InputError(f"{path}: not a readable .docx file ({type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else 'corrupt'})") from None
    parts: list[str] = []
    forced: list[int] = []
    headings: list[tuple[int, int]] = []
    offset = 0
    for text, is_label in blocks:
        text = normalize_text(text).strip()
        if not text:
            continue
        if parts:
            offset += 2  # the "\n\n" between paragraphs
        if is_label:
            forced.append(offset)
        elif is_label is None:
            headings.append((offset, offset + len(text)))
        parts.append(text)
        offset += len(text)
    text = "\n\n".join(parts)
    if not text.strip():
        raise InputError(f"{path}: empty document (no text in its paragraphs or tables)")
    interviewers = tuple(interviewers)
    labels, notes = resolve_labels(text, interviewers=interviewers, forced=forced)
    heading_starts = {start for start, _ in headings}
    labels = [lab for lab in labels if lab.line_start not in heading_starts]  # "Part two: services" is no speaker
    notes = [note for note in notes if note.offset not in heading_starts]
    turns = turns_without(text, turns_from_labels(text, labels, interviewers), headings)
    turns, role_notes = infer_interviewer(text, turns, interviewers, str(path))
    return Document(
        id=doc_id,
        text=text,
        turns=turns,
        source=str(path),
        metadata={"format": "docx", "paragraphs": len(parts)},
        warnings=label_warnings(text, notes, str(path), unit="paragraph") + role_notes,
    )


def turns_without(text: str, turns: list[Turn], spans: list[tuple[int, int]]) -> list[Turn]:
    """``turns`` with the ``spans`` (headings) cut out: a turn around a heading becomes the pieces before
    and after it, same speaker; pieces are trimmed and empty ones dropped."""
    if not spans:
        return turns
    out: list[Turn] = []
    for turn in turns:
        pieces = [(turn.start, turn.end)]
        for cut_start, cut_end in spans:
            if cut_end <= turn.start or cut_start >= turn.end:
                continue
            pieces = [part for start, end in pieces
                      for part in ((start, min(end, cut_start)), (max(start, cut_end), end)) if part[0] < part[1]]
        for index, (start, end) in enumerate(pieces):
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if end > start:
                out.append(replace(turn, start=start, end=end, timestamp=turn.timestamp if index == 0 else None))
    return out
