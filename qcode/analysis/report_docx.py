"""The study report as a Word document: the same tables, for a manuscript, and the charts as PNG pictures."""

from __future__ import annotations

import io

import pandas as pd

from .charts import to_png
from .output import add_docx_table, docx_text
from .report_data import StudyReport


def _quotes_table(report: StudyReport) -> pd.DataFrame:
    rows = []
    for domain in report.domains:
        for theme in domain.themes:
            quotes = [f"\u201c{q}\u201d ({s or d})" for q, s, d in
                      zip(theme.quotes["text"], theme.quotes["speaker"], theme.quotes["document"])]
            rows.append([domain.name, theme.name, theme.cases, theme.passages, "\n".join(quotes)])
    return pd.DataFrame(rows, columns=["Domain", "Theme", report.case_unit.capitalize(), "Passages",
                                       "Indicative quotes"])


def render_docx(report: StudyReport) -> bytes:
    """The report as .docx bytes, the charts as PNG pictures."""
    import docx
    from docx.shared import Inches

    document = docx.Document()
    document.add_heading(docx_text(report.title), level=0)
    document.add_paragraph(docx_text(report.codings))
    for key, value in report.provenance.items():
        document.add_paragraph(docx_text(f"{key}: {value}"), style="List Bullet")

    def picture(name: str) -> None:
        figure = report.figures.get(name)
        if figure is not None:
            document.add_picture(io.BytesIO(to_png(figure)), width=Inches(6.3))

    document.add_heading("Participants", level=1)
    for title, frame in report.participants:
        document.add_paragraph(docx_text(title))
        add_docx_table(document, frame)
    document.add_heading("Domains and themes", level=1)
    add_docx_table(document, _quotes_table(report))
    document.add_heading("Framework", level=1)
    picture("framework")
    document.add_heading("Codes by attribute", level=1)
    for by, frame in report.matrices:
        document.add_paragraph(docx_text(f"Codes by {by} (cases)"))
        add_docx_table(document, frame)
    document.add_heading("Co-occurrence", level=1)
    picture("heatmap")
    if len(report.cooccurrence):
        add_docx_table(document, report.cooccurrence)
    document.add_heading("Saturation", level=1)
    document.add_paragraph(docx_text(f"New codes per document, {report.saturation_order}."))
    picture("saturation")
    add_docx_table(document, report.saturation)
    document.add_heading("Agreement", level=1)
    document.add_paragraph(docx_text(report.agreement_note))
    if report.agreement is not None:
        add_docx_table(document, report.agreement)
    document.add_heading("Memos", level=1)
    if report.memos is not None:
        add_docx_table(document, report.memos)
    else:
        document.add_paragraph("No memos.")
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


__all__ = ["render_docx"]
