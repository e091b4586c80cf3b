"""A .docx title or heading paragraph is no speech (issue 22, item 9): before, "Interview 12 – community
nurse" was a turn with no speaker, so it was suggested codes and put in the review queue."""

from __future__ import annotations

from pathlib import Path

from qcode.ingest import read_document
from qcode.segmentation import segment


def _docx(path: Path) -> Path:
    import docx

    doc = docx.Document()
    doc.add_heading("Interview 12 – community nurse", level=0)  # the Title style
    doc.add_paragraph("Recorded at the hospice, 40 minutes.")
    doc.add_paragraph().add_run("Site visit notes").bold = True  # a typed heading: the whole line bold
    doc.add_paragraph("Interviewer: How did the referral go?")
    doc.add_paragraph("P12: Slowly. We waited weeks.")
    doc.add_heading("Part two: services", level=1)
    doc.add_paragraph("Even then the letters went astray.")  # still P12, after the heading
    doc.add_paragraph("Interviewer: And now?")
    doc.save(path)
    return path


def test_headings_are_in_no_turn_and_no_segment(tmp_path: Path) -> None:
    [doc] = read_document(_docx(tmp_path / "int12.docx"))
    said = [(t.speaker, doc.text[t.start:t.end]) for t in doc.turns]
    assert said == [(None, "Recorded at the hospice, 40 minutes."),
                    ("Interviewer", "How did the referral go?"),
                    ("P12", "Slowly. We waited weeks."),
                    ("P12", "Even then the letters went astray."),
                    ("Interviewer", "And now?")]
    texts = " | ".join(seg.text for seg in segment(doc))
    assert "Interview 12" not in texts and "Site visit notes" not in texts and "Part two" not in texts
    assert "Interview 12 – community nurse" in doc.text  # the text and its offsets stay whole
