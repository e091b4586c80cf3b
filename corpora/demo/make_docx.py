"""Write ``interview_p03.docx``, the Word transcript of the qcode demo corpus.

The interview is fictional, written for qcode. The document looks like a
typical typed transcript: a title, a line of study details, then one paragraph
per speaker turn with the speaker label in bold (``Interviewer:`` / ``P03:``).
Apostrophes are typographic (’), as Word's autocorrect would make them.

Run from anywhere::

    python corpora/demo/make_docx.py

The .docx it makes is committed; rerunning gives the same paragraphs.
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.shared import Pt

OUT = Path(__file__).with_name("interview_p03.docx")

TITLE = "Northfield Children's Palliative Care Network evaluation: interview P03"
DETAILS = "Consultant in paediatric palliative medicine, hub organisation. Telephone interview, 31 minutes."

TURNS = [
    ("Interviewer", "Thanks for agreeing to talk to me. Could you start by saying a bit about your role?"),
    ("P03", "Of course. I'm one of the two consultants in paediatric palliative medicine for the region, "
            "based at Harbridge Children's. I also chair the clinical steering group for the network, so "
            "I've got two hats on, and I'll try to be clear which one I'm wearing."),
    ("Interviewer", "That's helpful, thank you. How did the network come about, from your point of view?"),
    ("P03", "So there'd been an informal group for, gosh, eight or nine years? Mostly hospice people and a "
            "few of us from the hospital. It was valuable, but it had no teeth. Nobody was accountable for "
            "anything. Then a couple of years ago there was a push, partly national guidance, partly a few "
            "of us banging the drum, to make it a proper managed network, and we got funding for a "
            "coordinator. And Ruth starting was the turning point, honestly. Before her, I was trying to "
            "organise meetings in between clinics and typing up minutes at eleven at night. Now there's "
            "somebody whose job it is."),
    ("Interviewer", "What does the structure look like now?"),
    ("P03", "There's an executive committee with a senior person from each hub and each of the big spokes, "
            "and then two steering groups, a clinical one and an education one. The clinical group is "
            "where the guidelines get written. I think the structure works, actually. Having the hospices "
            "and the trusts formally round one table has changed relationships. I can pick up the phone to "
            "the head of care at Larkspur and we know each other, which sounds small, but it wasn't the "
            "case five years ago."),
    ("Interviewer", "What would you say the network has achieved so far?"),
    ("P03", "The guideline work is the most tangible. We've got a regional symptom management guideline, an "
            "end-of-life care plan, and we've just signed off one on rapid transfer home. Instead of each "
            "organisation writing its own, which is a huge duplication of effort, we write it once and "
            "everyone endorses it. Whether they then use it is another question."),
    ("Interviewer", "Why is that a question?"),
    ("P03", "Because there's no mechanism to check. We haven't got agreed outcome measures for children's "
            "palliative care nationally, let alone regionally. So what do we count? Place of death? That's "
            "crude, and it isn't even recorded consistently. Symptom scores? There isn't one validated tool "
            "that everyone uses. So when my chief executive asks what the network has delivered, I end up "
            "listing documents, not outcomes for children."),
    ("Interviewer", "And what about the hospital side? How does the network sit within the trust?"),
    ("P03", "(pause) It's complicated. The trust is supportive in principle, but it's under enormous "
            "pressure, elective backlogs, the emergency department, winter. Children needing palliative "
            "care are a tiny number of patients in a very big organisation. My job plan has two sessions a "
            "week for network work, on paper. In practice, if the ward's on fire, that's where I am."),
    ("Interviewer", "You mentioned there are two consultants. Is that enough?"),
    ("P03", "No. For a region this size, with the number of children with life-limiting conditions we've "
            "got, you'd want at least four, and a proper specialist nursing team. We can give telephone "
            "advice round the clock, just about, between the two of us and a very patient colleague in the "
            "neighbouring region, but that's not sustainable. If one of us goes off sick, the whole thing "
            "wobbles. Having said that, I don't think the answer is only more specialists. Most of the care "
            "is and should be delivered by community nurses, GPs, general paediatricians. What they need is "
            "quick access to advice and the confidence to use it."),
    ("Interviewer", "And do they have that confidence?"),
    ("P03", "Variably. A general paediatrician in a district hospital might look after two or three children "
            "a year at the end of life. It's not their world, and they'll tell you that. Some of them don't "
            "really see themselves as part of the network at all; they'd say that's for the palliative care "
            "people. Which I understand, but it's a loss, because they're exactly who we need to reach."),
    ("Interviewer", "When you give advice at night, how do you get information about the child?"),
    ("P03", "Mostly from whoever's ringing me. I can see our own hospital record, but anything the hospice "
            "or the community team has written is invisible to me. So I'm asking a tired parent at four in "
            "the morning what dose of midazolam they've got in the house. There's always a national shared "
            "record about to arrive, but in the meantime it's phone calls and goodwill."),
    ("Interviewer", "Is there anything in the way organisations think that helps or hinders?"),
    ("P03", "The language, sometimes. The word palliative. For some of my colleagues it still carries the "
            "sense of the very end, so they hold off referring until the last few days. Whereas the "
            "hospices use it for the whole course of a child's illness, sometimes over many years. We've "
            "spent more time than you'd believe in meetings arguing about who counts as a palliative "
            "patient."),
    ("Interviewer", "Last question. If the network had more money, what would you spend it on?"),
    ("P03", "A specialist nurse in each locality, and a shared record. In that order. And I'd make the "
            "coordinator post permanent, because at the moment it's renewed one year at a time and we "
            "spend every autumn wondering whether Ruth will still be here in April."),
    ("Interviewer", "Thank you, that's been really interesting."),
    ("P03", "My pleasure. Sorry about the bleep going off halfway through."),
]


def typographic(text: str) -> str:
    """Straight apostrophes to right single quotation marks, as Word's autocorrect does."""
    return text.replace("'", "\u2019")


def build(path: Path = OUT) -> Path:
    """Write the transcript to ``path`` and return it."""
    doc = Document()
    doc.styles["Normal"].font.name = "Calibri"
    doc.styles["Normal"].font.size = Pt(11)
    doc.add_heading(typographic(TITLE), level=1)
    doc.add_paragraph(typographic(DETAILS)).runs[0].italic = True
    for speaker, text in TURNS:
        paragraph = doc.add_paragraph()
        paragraph.add_run(f"{speaker}:").bold = True
        paragraph.add_run(" " + typographic(text))
    doc.core_properties.title = typographic(TITLE)
    doc.core_properties.author = "qcode demo corpus"
    doc.save(path)
    return path


if __name__ == "__main__":
    print(build())
