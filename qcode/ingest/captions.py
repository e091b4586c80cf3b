"""Caption files (``.vtt`` WebVTT, ``.srt`` SubRip), parsed with webvtt-py.

The document text is rebuilt from the cues: consecutive cues of the same
speaker are merged into one turn (their lines joined by spaces), and each turn
is written on its own line as ``Speaker: text`` (just ``text`` when nobody is
named), turns separated by a blank line. ``doc.text[turn.start:turn.end]`` is
exactly the spoken text; the label is outside the span. ``Turn.timestamp`` and
``Turn.end_timestamp`` are the first cue's start and the last cue's end in seconds.

The speaker of a cue is its voice tag (``<v Anna>``, ``<v.loud Anna>``) or a
leading ``Name:`` in its text; a cue with neither keeps the previous speaker
(captions often name the speaker only when it changes).
"""

from __future__ import annotations

import html
import io
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..document import Document, Turn
from ..errors import InputError
from ..limits import current as current_limits
from .normalize import check_line_lengths, read_text_file
from .roles import infer_interviewer
from .speakers import assign_role, is_known_label, name_key, split_cue_speaker

_VOICE = re.compile(r"<v(?:\.[^\s>]+)*\s+([^>]+)>")
_TAG = re.compile(r"</?[a-zA-Z][^>]*>|<\d{1,2}:\d{2}(?::\d{2})?\.\d{3}>")


@dataclass
class Cue:
    """One caption cue, cleaned: speaker (or None), plain text, times in seconds."""

    speaker: str | None
    text: str
    start: float
    end: float


def clean_cue(raw_text: str) -> tuple[str | None, str]:
    """Voice speaker and plain text of a cue's raw text (tags removed, entities decoded, lines joined).

    >>> clean_cue("<v.loud Anna>We <i>waited</i> &amp; waited</v>")
    ('Anna', 'We waited & waited')
    """
    voice = _VOICE.search(raw_text)
    speaker = " ".join(voice.group(1).split()) if voice else None
    text = html.unescape(_TAG.sub("", raw_text)).replace("\u00a0", " ")
    text = unicodedata.normalize("NFC", " ".join(text.split()))
    return speaker, text


def parse_cues(text: str, fmt: str, source: str) -> list[Cue]:
    """Cues of a caption file's text (``fmt`` is ``"vtt"`` or ``"srt"``)."""
    import webvtt
    from webvtt.errors import MalformedCaptionError, MalformedFileError

    try:
        captions = webvtt.WebVTT.from_buffer(io.StringIO(text), format=fmt).captions
    except (MalformedFileError, MalformedCaptionError) as exc:
        raise InputError(f"{source}: not a valid .{fmt} caption file ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    except (ValueError, IndexError) as exc:
        raise InputError(f"{source}: not a valid .{fmt} caption file ({type(exc).__name__}: {exc})") from None
    cues = []
    for caption in captions:
        speaker, body = clean_cue(caption.raw_text)
        if speaker is None:
            speaker, body = split_cue_speaker(body)
        cues.append(Cue(speaker=speaker, text=body.strip(), start=caption.start_time.in_milliseconds() / 1000,
                        end=caption.end_time.in_milliseconds() / 1000))
    return cues


def count_timing_lines(text: str) -> int:
    """Lines that look like cue timings (``... --> ...``), to notice cues the parser left out."""
    return sum(1 for line in text.split("\n") if "-->" in line)


def _trust_cue_speakers(cues: list[Cue], interviewers: Iterable[str]) -> None:
    """Drop ``Name:`` speakers that are not seen as a pattern (as for plain text), in place."""
    counts = Counter(name_key(c.speaker) for c in cues if c.speaker)
    for cue in cues:
        if cue.speaker is None:
            continue
        key = name_key(cue.speaker)
        trusted = is_known_label(cue.speaker, interviewers) or counts[key] >= 2 or len(counts) >= 2
        if not trusted:
            cue.text = f"{cue.speaker}: {cue.text}"
            cue.speaker = None


def document_from_cues(cues: list[Cue], *, doc_id: str, source: str | None, interviewers: Iterable[str] = (), fmt: str = "vtt") -> Document:
    """Merge cues into turns and build the document text (see the module docstring)."""
    interviewers = tuple(interviewers)
    merged: list[Cue] = []
    pieces: list[list[str]] = []  # the texts of each merged turn, joined once at the end (linear time)
    speaker: str | None = None
    for cue in cues:
        speaker = cue.speaker if cue.speaker is not None else speaker
        if not cue.text:
            continue
        if merged and merged[-1].speaker == speaker:
            pieces[-1].append(cue.text)
            merged[-1].end = max(merged[-1].end, cue.end)
        else:
            merged.append(Cue(speaker=speaker, text=cue.text, start=cue.start, end=cue.end))
            pieces.append([cue.text])
    for cue, texts in zip(merged, pieces):
        cue.text = " ".join(texts)
    parts: list[str] = []
    turns: list[Turn] = []
    offset = 0
    for cue in merged:
        if parts:
            offset += 2
        label = f"{cue.speaker}: " if cue.speaker else ""
        start = offset + len(label)
        parts.append(label + cue.text)
        offset += len(label) + len(cue.text)
        turns.append(Turn(start=start, end=offset, speaker=cue.speaker, role=assign_role(cue.speaker, interviewers),
                          timestamp=cue.start, end_timestamp=cue.end))
    text = "\n\n".join(parts)
    if not text.strip():
        raise InputError(f"{source or doc_id}: no caption text (no cues, or only empty cues)")
    return Document(id=doc_id, text=text, turns=turns, source=source,
                    metadata={"format": fmt, "cues": len(cues)})


def read_captions(path: str | Path, *, doc_id: str, interviewers: Iterable[str] = (), max_bytes: int | None = None,
                  encoding: str | None = None) -> Document:
    """Read a ``.vtt`` or ``.srt`` file into a :class:`Document` (one turn per run of same-speaker cues)."""
    fmt = "srt" if Path(path).suffix.lower() == ".srt" else "vtt"
    decoded = read_text_file(path, max_bytes=max_bytes, encoding=encoding)
    check_line_lengths(decoded.text, path)  # before the caption parser, which is slow on one huge line
    timings = count_timing_lines(decoded.text)
    limits = current_limits()
    if timings > limits.cues:
        raise InputError(f"{path}: {timings} cue timings, more than {limits.cues} cues ({limits.hint('cues')})")
    cues = parse_cues(decoded.text, fmt, str(path))
    lost = timings - len(cues)
    if not cues:
        raise InputError(f"{path}: no readable cues ({lost} malformed cue timing line(s))" if lost > 0 else f"{path}: no cues")
    _trust_cue_speakers(cues, interviewers)
    doc = document_from_cues(cues, doc_id=doc_id, source=str(path), interviewers=interviewers, fmt=fmt)
    doc.metadata["encoding"] = decoded.encoding
    doc.warnings.extend(decoded.warnings)
    doc.turns, role_notes = infer_interviewer(doc.text, doc.turns, interviewers, str(path))
    doc.warnings.extend(role_notes)
    if lost > 0:
        doc.warnings.append(f"{path}: {lost} cue(s) with malformed timings were left out")
    return doc
