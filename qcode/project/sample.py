"""A tiny, fully offline sample project for examples, docs and tests.

It holds two short interview transcripts (with accented letters and an
emoji, to exercise character offsets), one segment per speaker turn, a
five-code codebook with one parent, and one suggestion run with hand-made
scores — no model is needed.

>>> from qcode.project.sample import build_sample_project
>>> import tempfile
>>> project = build_sample_project(tempfile.mkdtemp() + "/demo")
>>> len(project.segments())
9
"""

from __future__ import annotations

from pathlib import Path

from ..codebook import Codebook, codebook_from_dict
from ..document import INTERVIEWER, PARTICIPANT, Document, Segment, Turn, segment_id

SAMPLE_CODEBOOK = {
    "name": "sample",
    "title": "Sample codebook (services for families)",
    "codes": [
        {"id": "resources", "name": "Resources", "definition": "Money, staff and time available to the service.",
         "children": [
             {"id": "funding", "name": "Funding", "definition": "Budgets, grants and who pays for care."},
             {"id": "staffing", "name": "Staffing", "definition": "Recruiting, keeping and training staff."},
         ]},
        {"id": "communication", "name": "Communication",
         "definition": "How professionals and families share information."},
        {"id": "coordination", "name": "Coordination", "definition": "Joining up services across settings."},
    ],
}

SAMPLE_TRANSCRIPTS = {
    "site-a/interview-01.txt": [
        ("I", INTERVIEWER, "How is the service paid for?"),
        ("P1", PARTICIPANT, "We bid for the grant every year, and the budget never covers night nurses."),
        ("I", INTERVIEWER, "And staffing?"),
        ("P1", PARTICIPANT, "Staff leave because the contracts are short; recruiting takes months."),
        ("P1", PARTICIPANT, "Families tell us the café meetings help them hear news early 😀."),
    ],
    "site-b/interview-02.txt": [
        ("I", INTERVIEWER, "What works well?"),
        ("P2", PARTICIPANT, "The hospital and the hospice share one care plan, so nobody repeats the story."),
        ("P2", PARTICIPANT, "Parents get a single phone number; Zoë, our coordinator, answers it."),
        ("P2", PARTICIPANT, "Money is tight, but the joined-up rota means we rarely miss a visit."),
    ],
}

# (doc, turn index) -> [(code, score)] best first
SAMPLE_SCORES = {
    ("site-a/interview-01.txt", 1): [("funding", 0.71), ("staffing", 0.42), ("coordination", 0.20)],
    ("site-a/interview-01.txt", 3): [("staffing", 0.66), ("funding", 0.61), ("communication", 0.18)],
    ("site-a/interview-01.txt", 4): [("communication", 0.58), ("coordination", 0.31), ("funding", 0.10)],
    ("site-b/interview-02.txt", 1): [("coordination", 0.64), ("communication", 0.52), ("staffing", 0.12)],
    ("site-b/interview-02.txt", 2): [("communication", 0.49), ("coordination", 0.47), ("staffing", 0.25)],
    ("site-b/interview-02.txt", 3): [("funding", 0.55), ("coordination", 0.38), ("staffing", 0.30)],
}


def sample_codebook() -> Codebook:
    """The sample codebook (``funding``, ``staffing`` under ``resources``; ``communication``; ``coordination``)."""
    return codebook_from_dict(SAMPLE_CODEBOOK, where="qcode.project.sample")


def sample_documents() -> tuple[list[Document], list[Segment]]:
    """The two sample transcripts and one ``turn`` segment per speaker turn."""
    docs, segments = [], []
    for doc_id, turns in SAMPLE_TRANSCRIPTS.items():
        text, spans = "", []
        for speaker, role, said in turns:
            prefix = f"{speaker}: "
            start = len(text) + len(prefix)
            text += prefix + said + "\n"
            spans.append(Turn(start, start + len(said), speaker, role))
        docs.append(Document(doc_id, text, spans, source=doc_id))
        for index, turn in enumerate(spans):
            segments.append(Segment(segment_id(doc_id, "turn", turn.start, turn.end), doc_id, turn.start, turn.end,
                                    text[turn.start:turn.end], "turn", turn.speaker, turn.role, index))
    return docs, segments


def sample_suggestions(segments: list[Segment]) -> list[tuple[str, str, float, int]]:
    """``(segment_id, code_id, score, rank)`` rows of the hand-made sample run."""
    rows = []
    for seg in segments:
        if seg.turn_index is None:
            continue
        for rank, (code, score) in enumerate(SAMPLE_SCORES.get((seg.doc_id, seg.turn_index), []), start=1):
            rows.append((seg.id, code, score, rank))
    return rows


def build_sample_project(path: str | Path):
    """Create the sample project at ``path`` (documents, segments, codebook, one run) and return it."""
    from .opening import init_project

    project = init_project(path, codebook=sample_codebook())
    docs, segments = sample_documents()
    project.add_documents(docs)
    project.add_segments(segments)
    project.add_run({"model": "hand-made", "note": "qcode.project.sample"}, sample_suggestions(segments))
    return project
