"""The demo corpus as a coded project for the analysis tests: two coders, an adjudicator, a cases table.

``ana`` codes every gold passage of ``corpora/demo/gold.csv`` with its gold
codes; ``ben`` codes most of them the same way, differs on some (one code
swapped for another), leaves some out (never reviews them) and rejects one;
the ``adjudicator`` settles two of the differences.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

import qcode
from qcode.project import init_project

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "corpora" / "demo"


def demo_cases() -> pd.DataFrame:
    table = pd.read_csv(DEMO / "cases.csv", dtype=str)
    table.insert(1, "by", "speaker")
    return table


def gold_rows() -> list[dict[str, str]]:
    with (DEMO / "gold.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def demo_project(where, hostile: bool = False):
    """The coded demo project at a folder or a postgresql:// URL, its cases imported; returns (project, cases)."""
    project = init_project(where, codebook="mcn-sst")
    docs = list(qcode.read_corpus(DEMO))
    if hostile:
        from qcode.ingest.text import document_from_text
        text = ("Interviewer: Tell me more?\n\nP07: =HYPERLINK(\"http://evil\") <script>alert(1)</script> &amp; "
                "we never had the funding for nights.\n")
        docs.append(document_from_text(text, doc_id="hostile.txt"))
    segments = [s for d in docs for s in qcode.segment(d, unit="turn")]
    project.add_documents(docs)
    project.add_segments(segments)
    texts = {d.id: d.text for d in docs}
    codes = sorted({c for r in gold_rows() for c in r["codes"].split(";")})
    ana, ben = [], []
    for i, row in enumerate(gold_rows()):
        start = texts[row["doc"]].find(row["quote"])
        assert start >= 0, row
        span = {"doc_id": row["doc"], "start": start, "end": start + len(row["quote"]), "source": "import"}
        gold = row["codes"].split(";")
        ana += [{**span, "coder": "ana", "code_id": c, "verdict": "accept"} for c in gold]
        if i % 7 == 3:
            continue  # ben never reviewed this passage
        theirs = list(gold)
        if i % 5 == 1:
            theirs[-1] = codes[(codes.index(theirs[-1]) + 1) % len(codes)]
        ben += [{**span, "coder": "ben", "code_id": c, "verdict": "accept"} for c in theirs]
        if i % 11 == 2:
            ben.append({**span, "coder": "ben", "code_id": codes[0], "verdict": "reject"})
    project.record_many(ana + ben)
    if hostile:
        text = texts["hostile.txt"]
        start, formula = text.index("<script>"), text.index("=HYPERLINK")
        project.record_many([{"doc_id": "hostile.txt", "start": start, "end": len(text.rstrip("\n")),
                              "coder": c, "code_id": "infrastructure.funding", "verdict": "accept"}
                             for c in ("ana", "ben")]
                            + [{"doc_id": "hostile.txt", "start": formula, "end": len(text.rstrip("\n")),
                                "coder": c, "code_id": "culture.funding-priority", "verdict": "accept"}
                               for c in ("ana", "ben")])
    # the lead settles the first two passages where the coders differ
    settled = 0
    for i, row in enumerate(gold_rows()):
        if i % 5 == 1 and i % 7 != 3 and settled < 2:
            start = texts[row["doc"]].find(row["quote"])
            project.record_many([{"doc_id": row["doc"], "start": start, "end": start + len(row["quote"]),
                                  "coder": "adjudicator", "code_id": c, "verdict": "accept"}
                                 for c in row["codes"].split(";")])
            settled += 1
    project.import_cases(DEMO / "cases.csv", author="ana")
    return project, project.cases()
