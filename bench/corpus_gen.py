"""Generate a synthetic interview study for speed benchmarks (fixed seed, no real data).

Each transcript alternates short interviewer questions with participant answers
of two to nine sentences built from templates and vocabulary about a regional
children's palliative care network: staffing, funding, records, training,
families, out-of-hours cover. Spoken-style fillers, asides and a spread of
sentence lengths make the token-length distribution resemble real transcripts
(mean ~30-40 word pieces per sentence, a long tail).

    python bench/corpus_gen.py OUT_DIR --docs 100 --words 5000

>>> from bench.corpus_gen import make_transcript
>>> text = make_transcript(0, words=300)
>>> text.startswith("Interviewer:") or text.startswith("[00:00:")
True
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

ROLES = ["community nurse", "consultant paediatrician", "hospice manager", "ward sister", "GP", "social worker",
         "play specialist", "network coordinator", "pharmacist", "bereavement lead", "commissioner", "registrar",
         "occupational therapist", "school nurse", "chaplain", "dietitian"]
PLACES = ["the hospice", "the district general", "the tertiary centre", "the children's ward", "the community team base",
          "the family home", "the respite unit", "the special school", "the GP surgery", "the neonatal unit",
          "the outpatient clinic", "the local authority office"]
TOWNS = ["Kelsmoor", "Ashby Vale", "Northfield", "Carrow", "Linthorpe", "Bramwell", "Oakhurst", "Denby Cross",
         "Whitlow", "Marsden Bay", "Eastholme", "Felling"]
SYSTEMS = ["the shared care record", "the electronic prescribing system", "the referral portal", "the paper folder",
           "the advance care plan template", "the hospice database", "the out-of-hours notes", "the symptom chart",
           "the video-call platform", "the network's shared drive"]
PROBLEMS = ["nobody knew who held the plan", "the referral sat in a queue for weeks", "the night team had no access",
            "the family had to repeat everything", "the drugs were not in the house", "the funding was only for a year",
            "the post was left vacant", "two teams booked the same visit", "the discharge happened on a Friday",
            "the training clashed with clinics", "the consultant was on leave", "the letter went to the wrong address",
            "the equipment took a month to arrive", "the school did not know the child was end of life"]
GOOD = ["the coordinator rang round everyone", "the monthly meeting sorted it out", "we wrote a joint protocol",
        "the hospice nurse came out the same evening", "the family had one number to call",
        "the teaching day changed how people talked", "the shared plan travelled with the child",
        "we finally got a named lead in every trust", "the audit showed we were reaching more families"]
FEELINGS = ["frustrating", "reassuring", "exhausting", "encouraging", "a bit chaotic", "really positive", "worrying",
            "surprisingly easy", "quite isolating", "a relief"]
TIMES = ["last winter", "in the first year", "before the network started", "a couple of months ago", "at the weekend",
         "during the night", "over Christmas", "when the old forum ran", "since the reorganisation", "every so often"]
FILLERS = ["um,", "you know,", "I mean,", "sort of", "to be honest,", "honestly,", "like,", "basically,", "I suppose"]
ASIDES = ["and I know that sounds harsh", "which nobody likes to admit", "and that's not a criticism of anyone",
          "if that makes sense", "and I've said this before", "and it still happens now", "and the families notice"]

SENTENCES = [
    "I work as a {role} based at {place} in {town}.",
    "{time} {problem}, and it was {feeling} for everyone involved.",
    "What helped was that {good}.",
    "The trouble is {problem}, {aside}.",
    "We rely on {system}, but half the time {problem}.",
    "I think {good}, which made a real difference to the {role}.",
    "If I'm honest it felt {feeling}, because {problem} and then {problem2}.",
    "So {time} we had a child at {place} and {problem}.",
    "There are maybe {n} of us covering the whole of {town} and {town2}.",
    "The {role} and the {role2} don't always see the same notes in {system}.",
    "It's {feeling} when {problem}.",
    "The network gave us {good2}, and {aside}.",
    "{filler} I'd like to see {system} open to the {role} as well.",
    "We did {n} home visits {time}, and in {n2} of them {problem}.",
    "Families tell us that {good}, and that matters more than any target.",
    "My worry is that {problem} and nobody picks it up until {time2}.",
    "When it works, {good}, and the {role} knows exactly what to do.",
    "I went to the study day at {place} {time} and found it {feeling}.",
    "Funding is the big one, {aside}, because posts like the {role} are never secure.",
    "{filler} the thing with {system} is that it was designed for adults, not children.",
]
CLAUSES = [
    ", which meant the {role} was ringing {town} at {hour} o'clock to find out what had been agreed",
    ", and by the time {system} was updated the {role} had already visited twice",
    ", so in the end the family drove the {n}-mile round trip to {place} themselves",
    ", although the {role2} in {town2} had been saying for {n2} months that this would happen",
    " because the only copy of the plan was in {system}, which the {role} could not open",
    ", and we only found out when the {role2} mentioned it at the meeting {time2}",
    " while the child's symptoms were getting harder to manage at home",
    ", even though everyone on the steering group had signed up to the pathway {time2}",
]
QUESTIONS = [
    "Could you tell me a little about your role?",
    "How did you first hear about the network?",
    "What happens when a child is discharged home for end of life care?",
    "Can you give me an example of that?",
    "How do you share information with the other teams?",
    "What has the network changed for you, if anything?",
    "And how did that feel at the time?",
    "Who would you call out of hours?",
    "What would you change if you could?",
    "How is the training organised?",
    "Is there anything we haven't covered?",
    "You mentioned funding; could you say more?",
]


def _fill(template: str, rng: random.Random) -> str:
    pick = rng.choice
    text = template.format(
        role=pick(ROLES), role2=pick(ROLES), place=pick(PLACES), town=pick(TOWNS), town2=pick(TOWNS),
        system=pick(SYSTEMS), problem=pick(PROBLEMS), problem2=pick(PROBLEMS), good=pick(GOOD), good2=pick(GOOD),
        feeling=pick(FEELINGS), time=pick(TIMES), time2=pick(TIMES), aside=pick(ASIDES), filler=pick(FILLERS),
        n=rng.randint(2, 40), n2=rng.randint(1, 9),
    )
    if rng.random() < 0.55:
        clause = pick(CLAUSES).format(
            role=pick(ROLES), role2=pick(ROLES), town=pick(TOWNS), town2=pick(TOWNS), hour=rng.randint(1, 12),
            system=pick(SYSTEMS), place=pick(PLACES), n=rng.randint(5, 90), n2=rng.randint(2, 18), time2=pick(TIMES),
        )
        text = text.rstrip(".") + clause + "."
    if rng.random() < 0.3:
        words = text.split(" ")
        at = rng.randrange(1, max(2, len(words)))
        words.insert(at, pick(FILLERS))
        text = " ".join(words)
    return text[0].upper() + text[1:]


def _answer(rng: random.Random) -> str:
    n = rng.choices(range(1, 10), weights=[2, 4, 5, 5, 4, 3, 2, 1, 1])[0]
    sentences = [_fill(rng.choice(SENTENCES), rng) for _ in range(n)]
    if rng.random() < 0.15:  # a long run-on sentence, as people speak
        sentences.append(" and ".join(_fill(rng.choice(SENTENCES), rng).rstrip(".") for _ in range(4)) + ".")
    return " ".join(sentences)


def make_transcript(index: int, words: int = 5000, seed: int = 20240611) -> str:
    """One transcript of about ``words`` words; the same (index, seed) gives the same text."""
    rng = random.Random(seed * 1009 + index)
    speaker = f"P{index + 1:02d}"
    timestamped = index % 4 == 3  # a quarter use "[hh:mm:ss] Name:" turns
    turns, count, seconds = [], 0, 0
    while count < words:
        question = rng.choice(QUESTIONS)
        answer = _answer(rng)
        for who, text in (("Interviewer", question), (speaker, answer)):
            if timestamped:
                stamp = f"[{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}]"
                turns.append(f"{stamp} {who}: {text}")
            else:
                turns.append(f"{who}: {text}")
            seconds += len(text.split()) // 2 + 3
            count += len(text.split())
    return "\n\n".join(turns) + "\n"


def write_corpus(folder: str | Path, docs: int = 100, words: int = 5000, seed: int = 20240611) -> list[Path]:
    """Write ``docs`` transcripts as ``interview_NNN.txt`` into ``folder``; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(docs):
        path = folder / f"interview_{index + 1:03d}.txt"
        path.write_text(make_transcript(index, words, seed), encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--docs", type=int, default=100)
    parser.add_argument("--words", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=20240611)
    args = parser.parse_args()
    written = write_corpus(args.out, args.docs, args.words, args.seed)
    print(f"wrote {len(written)} transcripts to {args.out}")
