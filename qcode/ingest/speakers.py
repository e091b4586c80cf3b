"""Speaker-turn detection and role assignment for plain-text transcripts.

A *label* is a speaker name at the start of a line, in one of these styles::

    Interviewer: How did the referral go?          colon
    **P12:** It was slow.                           colon, Markdown bold
    [00:01:23] Anna Smith: Then the nurse came.     timestamp first
    [00:01:23] **Anna:** Then the nurse came.       timestamp first, Markdown bold
    Anna Smith (00:01:23): Then the nurse came.     timestamp after the name
    Anna Smith  0:01:23                             Zoom/Otter: name, 2+ spaces or a tab,
    Then the nurse came.                            time, alone on a line; the turn below it

False positives are avoided by three rules: a label must open a line; its name
must look like a name (at most five words, each capitalised or a number or a
name particle such as "van"; no sentence words such as "Note", "Well",
"Date"); and a label that is neither a known role (Interviewer, P12,
Participant 3, Facilitator, R, ...), nor timestamped, nor a named interviewer
is only trusted when it is *seen as a pattern*: the same name labels at least
two lines, or the document already has two or more trusted labels.

The turn span runs from just after the label to just before the next label,
trimmed of whitespace, so the label itself is never part of a turn. Text before
the first label (a title, a header) becomes a turn with no speaker.

>>> turns = detect_turns("Interviewer: Hi.\\nP1: Hello.\\n")
>>> [(t.speaker, t.role) for t in turns]
[('Interviewer', 'interviewer'), ('P1', 'participant')]
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from ..document import INTERVIEWER, PARTICIPANT, UNKNOWN, Turn

_TS = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
_WORD = r"[^\W_][\w'’.\-]*"
_NAME = rf"{_WORD}(?:[ \t]{_WORD}){{0,4}}"

# (style, pattern); tried in order on each line, first match wins.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # "[00:01:23] Anna: text" / "00:01:23 Anna: text"
    ("ts-first", re.compile(rf"[ \t]*[\[(]?(?P<ts>{_TS})[\])]?[ \t]+(?:\*\*)?(?P<name>{_NAME})[ \t]*(?::\*\*|\*\*:|:)"
                            rf"(?=\s|$)[ \t]*")),
    # "Anna (00:01:23): text" / "Anna [00:01:23] text" at line end
    ("ts-after", re.compile(rf"[ \t]*(?P<name>{_NAME})[ \t]*[\[(](?P<ts>{_TS})[\])][ \t]*(?::(?=\s|$)[ \t]*|$)")),
    # "Anna Smith  0:01:23" alone on its line (Zoom, Otter): two spaces or a tab before the time,
    # so that agenda lines such as "Lunch 12:30" are not speakers
    ("ts-line", re.compile(rf"[ \t]*(?P<name>{_NAME})(?:[ ]{{2,}}|[ ]*\t[ \t]*)(?P<ts>{_TS})[ \t]*$")),
    # "Interviewer: text" / "**P12:** text" / "**P12**: text"
    # also "Interviewer (Anna): text", the part in parentheses being who holds the role
    ("colon", re.compile(rf"[ \t]*(?:\*\*)?(?P<name>{_NAME}(?:[ \t]*\([^()\n:]{{1,30}}\))?)[ \t]*(?::\*\*|\*\*:|:)(?=\s|$)[ \t]*")),
)

#: Labels that are always speakers, and the role each one plays.
_INTERVIEWER_LABELS = {
    "interviewer", "int", "i", "q", "facilitator", "co-facilitator", "cofacilitator",
    "moderator", "researcher", "interviewer/facilitator",
}
_PARTICIPANT_LABELS = {"participant", "p", "r", "respondent", "interviewee", "speaker", "resp", "part"}
#: Labels that name a role but are trusted only as a pattern (they also open ordinary lines).
_WEAK_ROLE_LABELS = {"question": INTERVIEWER, "answer": PARTICIPANT, "a": PARTICIPANT}

#: Lowercase words allowed inside a name ("Ludwig van Beethoven", "Maria de la Cruz").
_PARTICLES = {"de", "van", "von", "der", "den", "da", "di", "du", "del", "della", "la", "le", "bin", "al", "el", "y", "ter", "ten"}

#: Line openers that look like labels but almost never are speakers.
_NOT_SPEAKERS = {
    "note", "notes", "nb", "n.b", "ps", "p.s", "pps", "well", "yes", "no", "so", "and", "but", "or", "ok", "okay",
    "oh", "um", "er", "hmm", "right", "sure", "example", "examples", "e.g", "eg", "i.e", "ie", "summary", "title",
    "subtitle", "date", "time", "location", "place", "venue", "setting", "duration", "length", "subject", "re",
    "fw", "fwd", "topic", "topics", "theme", "themes", "aside", "warning", "caution", "update", "important", "edit",
    "edited", "source", "sources", "transcript", "transcription", "transcribed by", "transcriber", "recording",
    "audio", "file", "filename", "project", "study", "site", "code", "codes", "comment", "comments", "key", "tip",
    "step", "figure", "fig", "table", "chapter", "section", "part", "day", "session", "interview", "meeting",
    "focus group", "group", "total", "purpose", "aim", "aims", "objective", "objectives", "background", "method",
    "methods", "results", "discussion", "conclusion", "conclusions", "abstract", "introduction", "references",
    "definition", "inclusion", "exclusion", "author", "authors", "version", "status", "name", "age", "gender",
    "sex", "role", "occupation", "profession", "ethnicity", "consent", "participants", "interviewers",
    "facilitators", "speakers", "attendees", "present", "absent", "apologies", "agenda", "action", "actions",
    "minutes", "keywords", "tel", "email", "phone", "url", "http", "https", "www", "then", "now", "also",
    "because", "however", "therefore", "first", "second", "third", "finally", "answer key", "see", "in", "on",
    "at", "to", "for", "from", "with", "the", "a note", "this", "that", "it", "he", "she", "we", "they", "you",
    "my", "our", "your", "his", "her", "their", "honestly", "basically", "actually", "anyway", "frankly",
    "obviously", "personally", "seriously", "similarly", "additionally", "firstly", "secondly", "thirdly",
    "lastly", "again", "yeah", "yep", "nope", "otherwise", "remember", "result", "reason", "problem",
    "point", "thing", "things", "idea", "issue", "issues", "lesson", "lessons", "advice", "quote",
    "translation", "context", "observation", "reflection", "memo", "todo", "to do", "fixme", "tags", "tag",
    "category", "categories", "type", "level", "room", "ward", "unit", "team", "chair",
}

_MAX_NAME_CHARS = 40

#: Invisible format characters: zero-width space/joiners, direction marks, embeddings, overrides and isolates,
#: word joiner, byte-order mark, soft hyphen. Dropped from speaker names (a name that reads "Anna" is Anna).
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


@dataclass(frozen=True)
class Label:
    """A speaker label found at the start of a line.

    ``line_start`` is the offset of the line, ``content_start`` the offset just
    after the label (and the spaces after it), ``timestamp`` seconds or None.
    """

    line_start: int
    content_start: int
    name: str
    style: str
    timestamp: float | None = None


def parse_timestamp(value: str) -> float:
    """Seconds from ``"h:mm:ss"``, ``"mm:ss"`` or either with ``.mmm``/``,mmm``.

    >>> parse_timestamp("01:02:03.5")
    3723.5
    >>> parse_timestamp("0:07")
    7.0
    """
    value = value.replace(",", ".")
    seconds = 0.0
    for part in value.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def name_key(name: str) -> str:
    """Case- and spacing-insensitive form of a speaker name: ``"Int. "`` -> ``"int"``.

    Invisible format characters (zero-width joiners, direction overrides) do not count.
    """
    return " ".join(_INVISIBLE.sub("", name).replace("*", " ").split()).casefold().rstrip(".")


def split_alias(name: str) -> tuple[str, str | None]:
    """``"Interviewer (Anna)"`` -> ``("Interviewer", "Anna")``; ``("P3", None)`` without parentheses."""
    match = re.fullmatch(r"(.*?)\s*\(([^()]+)\)", name.strip())
    if match is None or not match.group(1):
        return name.strip(), None
    return match.group(1), match.group(2).strip()


def _role_base(key: str) -> str:
    """``"participant 3"`` -> ``"participant"``, ``"p12"`` -> ``"p"``, ``"speaker_2"`` -> ``"speaker"``."""
    return re.sub(r"[\s_#-]*\d+[a-z]?$", "", key)


def _interviewer_keys(interviewers: Iterable[str]) -> set[str]:
    return {name_key(n) for n in interviewers if n and n.strip()}


def assign_role(speaker: str | None, interviewers: Iterable[str] = ()) -> str:
    """Role of a speaker label: interviewer, participant, or unknown when there is no speaker.

    Interviewer: Interviewer, Int, I, Q, Question, Facilitator, Moderator,
    Researcher (with or without a number), and any name in ``interviewers``
    (matched case-insensitively on the full name or its first word).
    Everyone else is a participant.

    >>> assign_role("Facilitator 2"), assign_role("P12"), assign_role("Anna", ["anna"]), assign_role(None)
    ('interviewer', 'participant', 'interviewer', 'unknown')
    """
    if speaker is None or not speaker.strip():
        return UNKNOWN
    main, alias = split_alias(speaker)
    key = name_key(main)
    named = _interviewer_keys(interviewers)
    if key in named or key.split(" ")[0] in named or name_key(speaker) in named:
        return INTERVIEWER
    if alias is not None and (name_key(alias) in named or name_key(alias).split(" ")[0] in named):
        return INTERVIEWER
    base = _role_base(key)
    if base in _INTERVIEWER_LABELS or _WEAK_ROLE_LABELS.get(base) == INTERVIEWER:
        return INTERVIEWER
    return PARTICIPANT


def is_known_label(name: str, interviewers: Iterable[str] = ()) -> bool:
    """True for labels that are speakers wherever they appear (Interviewer, P12, Participant 3, named interviewers)."""
    key = name_key(split_alias(name)[0])
    named = _interviewer_keys(interviewers)
    if key in named or key.split(" ")[0] in named:
        return True
    base = _role_base(key)
    return base in _INTERVIEWER_LABELS or base in _PARTICIPANT_LABELS


def looks_like_name(name: str) -> bool:
    """A plausible speaker name: short, capitalised words, not a sentence opener.

    >>> looks_like_name("Dr. Anna van Dijk"), looks_like_name("Note"), looks_like_name("So I said")
    (True, False, False)
    """
    clean = " ".join(split_alias(name.replace("*", " "))[0].split())
    if not clean or len(clean) > _MAX_NAME_CHARS:
        return False
    key = name_key(clean)
    if key in _NOT_SPEAKERS or _role_base(key) in _NOT_SPEAKERS:
        return False
    words = clean.split(" ")
    if not words[0][0].isupper():
        return False
    for word in words[1:]:
        first = word[0]
        if not (first.isupper() or first.isdigit() or word.casefold() in _PARTICLES):
            return False
    return True


def find_labels(text: str, *, start_only_at: Iterable[int] | None = None) -> list[Label]:
    """Every line that *could* open a turn (before the trust rules); names not yet checked.

    ``start_only_at`` restricts the search to lines starting at these offsets.
    """
    allowed = None if start_only_at is None else set(start_only_at)
    labels: list[Label] = []
    for line_start, line_end in _lines_of(text):
        if allowed is None or line_start in allowed:
            label = _match_line(text, line_start, line_end)
            if label is not None:
                labels.append(label)
    return labels


def _match_line(text: str, line_start: int, line_end: int) -> Label | None:
    line = text[line_start:line_end]
    if len(line) < 2 or (":" not in line[:80] and not any(c.isdigit() for c in line[:80])):
        return None
    for style, pattern in _PATTERNS:
        match = pattern.match(line)
        if match is None:
            continue
        name = " ".join(match.group("name").split())
        timestamp = match.groupdict().get("ts")
        return Label(
            line_start=line_start,
            content_start=line_start + match.end(),
            name=name,
            style=style,
            timestamp=parse_timestamp(timestamp) if timestamp else None,
        )
    return None


def _lowercase_role(name: str) -> bool:
    """``interviewer:``, ``p12:``: a known role typed in lower case (not a bare letter such as ``i:``)."""
    key = name_key(split_alias(name)[0])
    return is_known_label(name) and len(key) >= 2


def trusted_labels(labels: list[Label], *, interviewers: Iterable[str] = (), forced: Iterable[int] = ()) -> list[Label]:
    """Apply the trust rules of the module docstring; ``forced`` line offsets are always trusted."""
    interviewers = tuple(interviewers)
    forced = set(forced)
    plausible = [lab for lab in labels
                 if lab.line_start in forced or looks_like_name(lab.name) or _lowercase_role(lab.name)]
    counts = Counter(name_key(lab.name) for lab in plausible)

    def strong(lab: Label) -> bool:
        return (
            lab.line_start in forced
            or lab.timestamp is not None
            or is_known_label(lab.name, interviewers)
            or counts[name_key(lab.name)] >= 2
        )

    trusted = [lab for lab in plausible if strong(lab)]
    if len(trusted) >= 2:
        return plausible  # a transcript: one-off speakers of a focus group count too
    return trusted

# ---- labels that the strict patterns miss: role names in lower case, invisible characters, overlong ----

#: Words of a sentence rather than of a name or role: a prefix holding one is prose ("What I said was: ...").
_SENTENCE_WORDS = {
    "i", "i'm", "i've", "i'd", "me", "my", "we", "us", "our", "you", "your", "he", "him", "his", "she", "her",
    "they", "them", "their", "it", "its", "this", "that", "these", "those", "there", "here", "what", "which",
    "who", "whom", "when", "where", "why", "how", "is", "are", "was", "were", "be", "been", "being", "am",
    "do", "does", "did", "done", "have", "has", "had", "will", "would", "can", "could", "should", "shall",
    "may", "might", "must", "said", "says", "say", "told", "tell", "think", "thought", "know", "knew", "mean",
    "meant", "like", "just", "not", "no", "yes", "so", "and", "but", "or", "if", "then", "than", "because",
    "the", "an", "a", "of", "in", "on", "at", "to", "for", "from", "with", "by", "about", "as", "into", "all",
    "some", "any", "one", "thing", "things", "something", "anything", "everything", "nothing", "really",
    "very", "too", "also", "only", "even", "still", "well", "now", "again", "ever", "never", "always",
}
#: A one-off label longer than this is not a name; its line still opens a turn (with no speaker).
_MAX_LOOSE_NAME_CHARS = 60
_LOOSE_MAX_WORDS = 5
_NOT_IN_NAMES = set('?!,;"\u201c\u201d()[]{}<>=/\\|')


@dataclass(frozen=True)
class LabelNote:
    """A label qcode was unsure of: ``offset`` is where its line starts; ``message`` says what was done."""

    offset: int
    message: str


def _loose_label(text: str, line_start: int, line_end: int) -> Label | None:
    """``name: text`` whatever the name's case, with invisible characters, or too long for a name.

    The name (before the first colon) is at most five words with no sentence punctuation; an
    overlong one gives a label with an empty name (the line opens a turn with no speaker).
    """
    line = text[line_start:line_end]
    colon = line.find(":")
    if colon <= 0 or (colon + 1 < len(line) and not line[colon + 1].isspace()):
        return None
    raw = line[:colon]
    after = colon + 1
    if raw.endswith("**"):
        raw = raw[:-2]
    elif line.startswith("**", after):
        after += 2
    name = " ".join(_INVISIBLE.sub("", raw).replace("*", " ").split())
    words = name.split(" ")
    if not name or not name[0].isalnum() or len(words) > _LOOSE_MAX_WORDS or any(c in _NOT_IN_NAMES for c in name):
        return None
    if name.endswith(".") or any(w.casefold().strip(".'\u2019") in _SENTENCE_WORDS for w in words):
        return None
    key = name_key(name)
    if key in _NOT_SPEAKERS or _role_base(key) in _NOT_SPEAKERS or _role_base(key) == "":
        return None
    while after < len(line) and line[after] in " \t":
        after += 1
    if len(name) > _MAX_LOOSE_NAME_CHARS:
        return Label(line_start=line_start, content_start=line_start, name="", style="overlong")
    return Label(line_start=line_start, content_start=line_start + after, name=name, style="loose")


def _after_blank_line(text: str, line_start: int) -> bool:
    """The line opens the text or follows an empty (or whitespace-only) line."""
    if line_start == 0:
        return True
    previous_end = line_start - 1  # the "\n" ending the line before
    previous_start = text.rfind("\n", 0, previous_end) + 1
    return not text[previous_start:previous_end].strip()


def _lines_of(text: str) -> Iterable[tuple[int, int]]:
    line_start = 0
    length = len(text)
    while line_start < length:
        line_end = text.find("\n", line_start)
        if line_end < 0:
            line_end = length
        yield line_start, line_end
        line_start = line_end + 1


def _shown(name: str) -> str:
    return name if len(name) <= 40 else name[:37] + "..."


def resolve_labels(text: str, *, interviewers: Iterable[str] = (),
                   forced: Iterable[int] = ()) -> tuple[list[Label], list[LabelNote]]:
    """The labels that open turns, and notes on the ones that are uncertain.

    Besides :func:`trusted_labels`, in a document whose turns are labelled (two or more
    trusted labels, or lower-case names used twice) a line ``name: text`` whose name is
    label-shaped (at most five words, no sentence words or punctuation) opens a turn when
    it follows a blank line, or when the document puts one turn on each line: a focus
    group's ``Hospice lead:`` or ``anna:``. Such a label used once is noted (it may be
    prose); so is a label-shaped line that was left inside the turn above it, an
    overlong label (its line opens a turn with no speaker) and a name with invisible
    characters (they are dropped from the speaker).

    >>> labels, notes = resolve_labels("Moderator: Why?\\n\\nGP1: Time.\\n\\nHospice lead: Money.\\n")
    >>> [lab.name for lab in labels], [n.message[:28] for n in notes]
    (['Moderator', 'GP1', 'Hospice lead'], ["'Hospice lead' taken as a sp"])
    """
    interviewers = tuple(interviewers)
    forced = tuple(forced)
    strict = find_labels(text)
    plausible = [lab for lab in strict
                 if lab.line_start in forced or looks_like_name(lab.name) or _lowercase_role(lab.name)]
    plausible_counts = Counter(name_key(lab.name) for lab in plausible)
    strong = [lab for lab in plausible if lab.line_start in forced or lab.timestamp is not None
              or is_known_label(lab.name, interviewers) or plausible_counts[name_key(lab.name)] >= 2]
    taken = {lab.line_start for lab in plausible}
    loose = [lab for lab in (_loose_label(text, s, e) for s, e in _lines_of(text) if s not in taken
                             and ":" in text[s:e]) if lab is not None]
    loose_counts = Counter(name_key(lab.name) for lab in loose if lab.name)
    repeated = {key for key, n in loose_counts.items() if n >= 2}
    n_strong = len(strong) + sum(loose_counts[key] for key in repeated)
    labelled = n_strong >= 2 or (n_strong >= 1 and len(plausible) + len(loose) >= 3)
    if not labelled:
        labels = trusted_labels(strict, interviewers=interviewers, forced=forced)
        unsure = [lab for lab in loose if n_strong and _after_blank_line(text, lab.line_start)]
        return labels, _left_in_turn(text, labels, unsure, "the document has too few labels to be sure")
    labels = plausible
    notes = _one_off_notes(labels, interviewers, forced)
    opening = [lab for lab in labels + [lab for lab in loose if name_key(lab.name) in repeated] if lab.line_start > 0]
    blank_before = sum(_after_blank_line(text, lab.line_start) for lab in opening)
    one_per_line = bool(opening) and blank_before * 2 < len(opening)
    chosen = {lab.line_start: lab for lab in labels}
    inside = [lab for lab in loose if not (one_per_line or _after_blank_line(text, lab.line_start))]
    inside_starts = {lab.line_start for lab in inside}
    opened = [lab for lab in loose if lab.line_start not in inside_starts]
    chosen.update((lab.line_start, lab) for lab in opened)
    notes += _left_in_turn(text, list(chosen.values()), inside, "no blank line comes before it")
    for lab in opened:
        if lab.style == "overlong":
            notes.append(LabelNote(lab.line_start, "a label-like prefix too long for a speaker name; its line opens a "
                                                   "turn with no speaker"))
        elif name_key(lab.name) not in repeated and not is_known_label(lab.name, interviewers):
            notes.append(LabelNote(lab.line_start, f"'{_shown(lab.name)}' taken as a speaker (a label used once); "
                                                   "check it is not part of the turn above"))
        if _INVISIBLE.search(text, lab.line_start, lab.content_start):
            notes.append(LabelNote(lab.line_start, f"invisible characters dropped from the speaker label "
                                                   f"'{_shown(lab.name)}'"))
    return [chosen[k] for k in sorted(chosen)], sorted(notes, key=lambda note: note.offset)


def _left_in_turn(text: str, labels: list[Label], kept: list[Label], why: str) -> list[LabelNote]:
    """Notes on label-shaped lines left inside the turn above them, naming whose turn that is."""
    starts = sorted(lab.line_start for lab in labels)
    by_start = {lab.line_start: lab for lab in labels}
    notes = []
    for lab in kept:
        index = bisect.bisect_left(starts, lab.line_start) - 1
        holder = by_start[starts[index]].name if index >= 0 else ""
        whose = f"{_shown(holder)}'s turn" if holder else "the text above"
        shown = _shown(lab.name) if lab.name else "a long prefix"
        notes.append(LabelNote(lab.line_start, f"'{shown}:' looks like a speaker label but {why}; kept in {whose}"))
    return notes


def _one_off_notes(labels: list[Label], interviewers: tuple[str, ...], forced: tuple[int, ...]) -> list[LabelNote]:
    """Notes on trusted names used once that are no known role: taken as speakers because the document is labelled."""
    if len(labels) < 3:
        return []
    counts = Counter(name_key(lab.name) for lab in labels)
    return [LabelNote(lab.line_start, f"'{_shown(lab.name)}' taken as a speaker (a label used once); "
                                      "check it is not part of the turn above")
            for lab in labels
            if counts[name_key(lab.name)] == 1 and lab.timestamp is None and lab.line_start not in forced
            and not any(c.isdigit() for c in lab.name)
            and not is_known_label(lab.name, interviewers)]


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def turns_from_labels(text: str, labels: list[Label], interviewers: Iterable[str] = ()) -> list[Turn]:
    """Cut ``text`` into turns at trusted labels; text before the first label is a speaker-less turn."""
    interviewers = tuple(interviewers)
    turns: list[Turn] = []
    first_line = labels[0].line_start if labels else len(text)
    start, end = _trimmed(text, 0, first_line)
    if end > start:
        turns.append(Turn(start=start, end=end, speaker=None, role=UNKNOWN))
    for index, label in enumerate(labels):
        stop = labels[index + 1].line_start if index + 1 < len(labels) else len(text)
        start, end = _trimmed(text, label.content_start, stop)
        if end <= start:
            continue  # a label with nothing said
        speaker = label.name.replace("*", "").strip() or None
        turns.append(
            Turn(start=start, end=end, speaker=speaker, role=assign_role(speaker, interviewers), timestamp=label.timestamp)
        )
    if not turns:  # labels with nothing said: keep the text rather than lose it
        return _whole_text_turn(text)
    return turns


def detect_turns(text: str, *, interviewers: Iterable[str] = (), forced: Iterable[int] = ()) -> list[Turn]:
    """Speaker turns of a normalised transcript (see the module docstring for the styles).

    Returns one speaker-less turn over the whole (trimmed) text when no label
    is trusted, and an empty list for text that is only whitespace.

    >>> [t.speaker for t in detect_turns("Note: this is not a speaker.\\nIt is prose.")]
    [None]
    """
    return detect_turns_noted(text, interviewers=interviewers, forced=forced)[0]


def detect_turns_noted(text: str, *, interviewers: Iterable[str] = (),
                       forced: Iterable[int] = ()) -> tuple[list[Turn], list[LabelNote]]:
    """:func:`detect_turns` and the notes on labels it was unsure of (see :func:`resolve_labels`)."""
    interviewers = tuple(interviewers)
    labels, notes = resolve_labels(text, interviewers=interviewers, forced=forced)
    return turns_from_labels(text, labels, interviewers), notes


def _whole_text_turn(text: str) -> list[Turn]:
    start, end = _trimmed(text, 0, len(text))
    return [Turn(start=start, end=end, speaker=None, role=UNKNOWN)] if end > start else []


def split_cue_speaker(text: str) -> tuple[str | None, str]:
    """Split ``"Anna: text"`` into ``("Anna", "text")``; ``(None, text)`` when there is no plausible label.

    Used for caption cues, where a leading name with a colon names the speaker.
    A leading ``"- "`` or ``">> "`` speaker-change mark is dropped.

    >>> split_cue_speaker("Anna Smith: we waited"), split_cue_speaker("Well: yes")
    (('Anna Smith', 'we waited'), (None, 'Well: yes'))
    """
    body = re.sub(r"^(?:-|>>)\s*", "", text)
    match = _PATTERNS[3][1].match(body)
    if match is None:
        return None, text
    name = " ".join(match.group("name").split())
    if not looks_like_name(name):
        return None, text
    return name, body[match.end():]
