"""Speaker detection: turn boundaries, labels and roles against hand-checked gold, now and before.

Material:

* every transcript in ``corpora/`` (.txt, .md, .docx, .vtt). Gold comes from how each file was
  written: one paragraph per turn opened by ``Name:`` (a ``[hh:mm:ss]`` before it in the .md), the
  .docx's turn list in ``corpora/demo/make_docx.py``, the .vtt's ``<v Name>`` voice tags;
* small transcripts written here in the styles researchers use: a focus group with role names
  used once, lower-case labels one turn a line, Otter's ``Speaker 1  0:03`` lines, ``Q:``/``A:``,
  bold Markdown labels with timestamps, answers of several paragraphs whose openings look like
  labels (``What I mean is: …``), labels pasted with zero-width or direction characters, and
  .vtt files whose interviewer is a named voice. Every turn of these is known exactly.

A turn is found when a detected turn starts with the same words (its first 40 characters) as a
gold turn; its label is right when the speaker matches too (case and spacing aside); its role is
right when interviewer/participant matches. "words right" is the share of gold characters in turns
found with the right speaker. "before" is the detector as it was before issue 22 (the strict label
rules alone, ``trusted_labels(find_labels(text))``, for .txt/.md; roles from the labels alone, no
questioner taken as the interviewer), run on the same text in the same process. Both share the
label patterns, so the timestamp-then-bold label this bench found missing counts in both.

Usage: ``python bench/bench_speakers.py [--json]`` (a few seconds; no model).
"""

from __future__ import annotations

import argparse
import html
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from qcode.document import INTERVIEWER, PARTICIPANT, UNKNOWN  # noqa: E402
from qcode.ingest import read_document  # noqa: E402
from qcode.ingest.speakers import assign_role, find_labels, name_key, trusted_labels, turns_from_labels  # noqa: E402

PREFIX = 40


@dataclass(frozen=True)
class Gold:
    speaker: str | None
    text: str
    role: str


def _key(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").replace("\u2018", "'").split())[:PREFIX]


def _role(speaker: str | None, interviewers: set[str]) -> str:
    if speaker is None:
        return UNKNOWN
    return INTERVIEWER if name_key(speaker) in interviewers else PARTICIPANT


# ---- transcripts written for this bench ----------------------------------------------------------

FOCUS_GROUP = [  # a moderator and role names, several used once
    ("Moderator", "Thanks for coming. Could each of you say how the network touches your work?"),
    ("Hospice lead", "The study days have been good for our nurses, and the on-call advice line is used most weeks."),
    ("GP1", "Honestly, I hear about it through the discharge letters and not much else."),
    ("Ward sister", "We ring the hospice team before a child goes home now, which we never used to."),
    ("Community nurse 2", "The shared care plan helps, when it is actually filled in."),
    ("Moderator", "What has not changed?"),
    ("Parent rep", "Out of hours is still a gamble. Some nights you get someone who knows the child."),
    ("Hospice lead", "That matches what families tell us at the bereavement groups."),
    ("Moderator", "And funding?"),
    ("Finance manager", "Year to year. Nobody can plan a post on a twelve-month grant."),
]
LOWER_CASE = [  # typed quickly, one turn a line
    ("interviewer", "how long have you worked with the network?"),
    ("sam", "about three years, since the coordinator started."),
    ("interviewer", "and before that?"),
    ("sam", "an informal group that met when it could."),
    ("jo", "can I add something? the informal group did a lot with no money."),
    ("interviewer", "please do."),
    ("jo", "we wrote the first symptom guideline on our own time."),
]
SPEAKER_N = [  # Otter-style export: the name and a time alone on a line, the turn below
    ("Speaker 1", "Can you hear me all right?"),
    ("Speaker 2", "Yes, loud and clear. I'm in the car park, so there may be some noise."),
    ("Speaker 1", "No problem. Tell me about the referral pathway."),
    ("Speaker 2", "It depends who spots the child first. The hospital refers most, we get a few from GPs."),
    ("Speaker 3", "Sorry I'm late, I'm the other nurse on the call."),
    ("Speaker 1", "Welcome. We were on referrals."),
]
QA = [
    ("Q", "What is the network for, in your words?"),
    ("A", "Making sure a child gets the same care wherever they live."),
    ("Q", "Does it?"),
    ("A", "Not yet. The moor villages still wait longest."),
    ("Q", "Why?"),
    ("A", "Distance, mostly, and one nurse covering a huge patch."),
]
MARKDOWN = [  # bold labels with timestamps, one participant label used once
    ("Interviewer", "Let's start with your role."),
    ("P4", "I'm a pharmacist at the children's hospital."),
    ("Interviewer", "How did the symptom guideline come about?"),
    ("P4", "We had three different dose tables in the region. That is how errors happen."),
    ("Observer", "Could I ask whether the hospice uses it too?"),
    ("P4", "They do, since the spring."),
]
PARAGRAPHS = [  # answers of several paragraphs; second paragraphs that look like labels stay in the turn
    ("Interviewer", "What would you change?"),
    ("P9", "Three things, really.\n\nFunding: it has to be recurrent, not year to year.\n\n"
           "What I mean is: a post needs five years to bed in.\n\nAnd the thing is: nobody owns the data."),
    ("Interviewer", "Who should own it?"),
    ("P9", "The coordinator, with a real analyst.\n\nAt 3:30 on a Friday there is nobody to ask."),
]
PASTED = [  # labels pasted from a chat tool, carrying invisible characters
    ("Interviewer", "Did the education days help?"),
    ("P2", "Yes, the ones on syringe drivers especially."),
    ("Ani\u200dta", "Can I come in there? I ran two of them."),
    ("\u202eInterviewer", "Of course."),
    ("Ani\u200dta", "We filled every place, and the evaluations were good."),
]


def _render(turns: list[tuple[str, str]], fmt: Callable[[int, str], str], sep: str,
            interviewers: set[str]) -> tuple[str, list[Gold]]:
    parts, gold = [], []
    for index, (speaker, text) in enumerate(turns):
        parts.append(fmt(index, speaker) + text)
        clean = re.sub("[\u200b-\u200f\u202a-\u202e]", "", speaker)
        gold.append(Gold(clean, text, _role(clean, interviewers)))
    return sep.join(parts) + "\n", gold


def written_transcripts() -> list[tuple[str, str, str, list[Gold], tuple[str, ...]]]:
    """(name, suffix, text, gold, interviewers passed) of each transcript written here."""
    mod = {"moderator"}
    out = [
        ("focus group, role names", ".txt", *_render(FOCUS_GROUP, lambda i, s: f"{s}: ", "\n\n", mod), ()),
        ("lower-case, a turn a line", ".txt", *_render(LOWER_CASE, lambda i, s: f"{s}: ", "\n", {"interviewer"}), ()),
        ("Speaker 1 (Otter)", ".txt",
         *_render(SPEAKER_N, lambda i, s: f"{s}  0:{i * 7 + 3:02d}\n", "\n\n", {"speaker 1"}), ("Speaker 1",)),
        ("Q: / A:", ".txt", *_render(QA, lambda i, s: f"{s}: ", "\n", {"q"}), ()),
        ("bold Markdown, timestamps", ".md",
         *_render(MARKDOWN, lambda i, s: f"[00:0{i}:1{i}] **{s}:** ", "\n\n", {"interviewer"}), ()),
        ("answers of several paragraphs", ".txt",
         *_render(PARAGRAPHS, lambda i, s: f"{s}: ", "\n\n", {"interviewer"}), ()),
        ("labels with invisible characters", ".txt",
         *_render(PASTED, lambda i, s: f"{s}: ", "\n\n", {"interviewer"}), ()),
    ]
    for name, turns, named in (("vtt, named interviewer", FOCUS_GROUP[:6], "Moderator"),):
        cues = ["WEBVTT", ""]
        for i, (speaker, text) in enumerate(turns):
            cues += [f"00:00:{i * 5:02d}.000 --> 00:00:{i * 5 + 4:02d}.000", f"<v {speaker}>{text}", ""]
        gold = [Gold(s, t, _role(s, {name_key(named)})) for s, t in turns]
        out.append((name, ".vtt", "\n".join(cues), gold, ()))
    vtt = [("Sam Reid", "How has the network changed your work?"), ("Priya", "The advice line, mostly."),
           ("Sam Reid", "Tell me more?"), ("Priya", "I ring it twice a week about symptoms."),
           ("Sam Reid", "And the families?"), ("Priya", "They like having one number to call.")]
    cues = ["WEBVTT", ""]
    for i, (speaker, text) in enumerate(vtt):
        cues += [f"00:00:{i * 5:02d}.000 --> 00:00:{i * 5 + 4:02d}.000", f"<v {speaker}>{text}", ""]
    out.append(("vtt, interviewer by name only", ".vtt", "\n".join(cues),
                [Gold(s, t, _role(s, {"sam reid"})) for s, t in vtt], ()))
    return out


# ---- gold of the corpora -------------------------------------------------------------------------

_PARA_LABEL = re.compile(r"^(?:\[[\d:.]+\]\s*)?(?:\*\*)?([^:\n*]{1,60}?)(?:\*\*)?:\s+(.*)$", re.S)
_ROLE_NAMES = {"interviewer", "facilitator", "moderator"}


def paragraph_gold(text: str) -> list[Gold]:
    """One turn per paragraph that opens with ``Name:``; other paragraphs continue the turn above."""
    gold: list[Gold] = []
    for para in (p.strip() for p in text.split("\n\n")):
        if not para:
            continue
        match = _PARA_LABEL.match(para)
        if match and len(match.group(1).split()) <= 3:
            speaker = match.group(1).strip()
            gold.append(Gold(speaker, match.group(2), _role(speaker, _ROLE_NAMES)))
        elif gold:
            last = gold[-1]
            gold[-1] = Gold(last.speaker, last.text + "\n\n" + para, last.role)
        else:
            gold.append(Gold(None, para, UNKNOWN))
    return gold


def vtt_gold(text: str) -> list[Gold]:
    gold: list[Gold] = []
    for speaker, body in re.findall(r"<v ([^>]+)>(.*)", text):
        body = html.unescape(re.sub(r"</?[a-z][^>]*>", "", body)).strip()
        if gold and gold[-1].speaker == speaker:
            gold[-1] = Gold(speaker, gold[-1].text + " " + body, gold[-1].role)
        else:
            gold.append(Gold(speaker, body, _role(speaker, _ROLE_NAMES)))
    return gold


def docx_gold(path: Path) -> list[Gold] | None:
    maker = path.with_name("make_docx.py")
    if path.name != "interview_p03.docx" or not maker.is_file():
        return None
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_docx", maker)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    head = [Gold(None, module.DETAILS, UNKNOWN)]  # the title is a heading: in no turn
    return head + [Gold(s, t, _role(s, _ROLE_NAMES)) for s, t in module.TURNS]


def corpus_material() -> list[tuple[str, Path, list[Gold]]]:
    found = []
    for path in sorted((ROOT / "corpora").rglob("*")):
        if path.name.lower() == "readme.md" or path.suffix.lower() not in (".txt", ".md", ".vtt", ".docx"):
            continue
        if path.suffix.lower() == ".docx":
            gold = docx_gold(path)
        elif path.suffix.lower() == ".vtt":
            gold = vtt_gold(path.read_text(encoding="utf-8"))
        else:
            gold = paragraph_gold(path.read_text(encoding="utf-8"))
        if gold:
            found.append((f"{path.parent.name}/{path.name}", path, gold))
    return found


# ---- scoring -------------------------------------------------------------------------------------

@dataclass
class Score:
    gold: int = 0
    found: int = 0
    predicted: int = 0
    labels: int = 0
    roles: int = 0
    chars: int = 0
    chars_right: int = 0

    def add(self, other: Score) -> None:
        for field in self.__dataclass_fields__:
            setattr(self, field, getattr(self, field) + getattr(other, field))

    def row(self) -> list[str]:
        def pct(a: int, b: int) -> str:
            return f"{100 * a / b:.1f}" if b else "—"
        return [str(self.gold), pct(self.found, self.predicted), pct(self.found, self.gold),
                pct(self.labels, self.predicted), pct(self.labels, self.gold), pct(self.roles, self.gold),
                pct(self.chars_right, self.chars)]


def score(gold: list[Gold], predicted: list[tuple[str | None, str, str]]) -> Score:
    """Match detected turns (speaker, text, role) to gold turns by their opening words."""
    result = Score(gold=len(gold), predicted=len(predicted), chars=sum(len(" ".join(g.text.split())) for g in gold))
    pool = Counter(_key(text) for _, text, _ in predicted)
    by_key: dict[str, list[tuple[str | None, str, str]]] = {}
    for item in predicted:
        by_key.setdefault(_key(item[1]), []).append(item)
    for g in gold:
        key = _key(g.text)
        if pool[key] <= 0:
            continue
        pool[key] -= 1
        speaker, text, role = by_key[key].pop(0)
        result.found += 1
        same = (speaker is None and g.speaker is None) or (
            speaker is not None and g.speaker is not None and name_key(speaker) == name_key(g.speaker))
        if same:
            result.labels += 1
            # a turn cut short loses its tail; one that swallowed the next keeps its own words
            result.chars_right += min(len(" ".join(g.text.split())), len(" ".join(text.split())))
        if role == g.role:
            result.roles += 1
    return result


def detect(path: Path, interviewers: tuple[str, ...], *, before: bool) -> list[tuple[str | None, str, str]]:
    [doc] = read_document(path, interviewers=interviewers)
    turns = doc.turns
    if before and path.suffix.lower() in (".txt", ".md"):
        labels = trusted_labels(find_labels(doc.text), interviewers=interviewers)
        turns = turns_from_labels(doc.text, labels, interviewers)
    if before:  # roles as labels alone gave them (no questioner taken as the interviewer)
        return [(t.speaker, doc.text[t.start:t.end], assign_role(t.speaker, interviewers)) for t in turns]
    return [(t.speaker, doc.text[t.start:t.end], t.role) for t in turns]


COLUMNS = ["material", "gold turns", "boundary P %", "boundary R %", "label P %", "label R %", "role %",
           "words right %"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="write bench/results/speakers.json")
    args = parser.parse_args()
    rows_now, rows_before = [], []
    totals = {"corpora": (Score(), Score()), "written": (Score(), Score())}
    material: list[tuple[str, str, Path, list[Gold], tuple[str, ...]]] = [
        ("corpora", name, path, gold, ()) for name, path, gold in corpus_material()]
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, suffix, text, gold, named) in enumerate(written_transcripts()):
            path = Path(tmp) / f"t{i}{suffix}"
            path.write_text(text, encoding="utf-8")
            material.append(("written", name, path, gold, named))
        for group, name, path, gold, named in material:
            now = score(gold, detect(path, named, before=False))
            was = score(gold, detect(path, named, before=True))
            totals[group][0].add(now)
            totals[group][1].add(was)
            rows_now.append([name, *now.row()])
            rows_before.append([name, *was.row()])
    for group in ("corpora", "written"):
        rows_now.append([f"**all {group}**", *totals[group][0].row()])
        rows_before.append([f"**all {group}**", *totals[group][1].row()])
    for title, rows in (("now", rows_now), ("before issue 22", rows_before)):
        print(f"\n{title}")
        print(" | ".join(COLUMNS))
        for row in rows:
            print(" | ".join(row))
    if args.json:
        from record import Results, machine_line

        results = Results("speakers", script=__file__, machine=machine_line(),
                          command="python bench/bench_speakers.py --json")
        notes = ("P: share of detected turns that are gold turns (boundary) or gold turns with the right "
                 "speaker (label); R: the same over gold turns. Gold: the corpora as written, and "
                 "transcripts written in the bench in researchers' styles (see the script). The one "
                 "miss left: a participant's second paragraph opening 'Funding:' is taken as a one-off "
                 "speaker (and warned with its line).")
        results.table("speakers_now", "Speaker detection now", COLUMNS, rows_now, align="lrrrrrrr", notes=notes)
        results.table("speakers_before", "Speaker detection before issue 22 (strict label rules alone), "
                      "same run", COLUMNS, rows_before, align="lrrrrrrr")
        print(f"wrote {results.save()}")


if __name__ == "__main__":
    main()
