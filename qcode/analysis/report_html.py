"""The study report as one self-contained HTML file: styles inline, charts as ``data:`` images, no script.

Every piece of user text (transcripts, code names, attribute values, memos) is
escaped with :func:`html.escape`; a Content-Security-Policy forbids loading
anything but inline styles and ``data:`` images, so the file opens the same
offline and can never reach out.

>>> html_table(__import__("pandas").DataFrame({"a": ["<script>"]}))
'<table><thead><tr><th>a</th></tr></thead><tbody><tr><td>&lt;script&gt;</td></tr></tbody></table>'
"""

from __future__ import annotations

from html import escape
from typing import Any

import pandas as pd

from .charts import svg_data_uri, to_svg
from .passages import CASE_COLUMNS
from .report_data import StudyReport, Theme

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

STYLE = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2630; max-width: 76rem;
       margin: 2rem auto; padding: 0 1.2rem; }
h1 { font-size: 1.7rem; margin-bottom: .2rem; } h2 { border-bottom: 2px solid #2b5d8a; padding-bottom: .2rem;
margin-top: 2.4rem; } h3 { margin-bottom: .3rem; }
p.counted { background: #eef4fa; border-left: 4px solid #2b5d8a; padding: .5rem .8rem; }
table { border-collapse: collapse; margin: .6rem 0 1.2rem; font-size: .9rem; }
th, td { border: 1px solid #c9d3dd; padding: .25rem .5rem; vertical-align: top; text-align: left; }
th { background: #f1f5f9; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.domain td { font-weight: 600; background: #f7f9fb; }
blockquote { margin: .2rem 0 .6rem; padding: .1rem .7rem; border-left: 3px solid #9db6cf; white-space: pre-wrap; }
.who { color: #4a5a6a; font-size: .85rem; } .question { color: #4a5a6a; font-style: italic; font-size: .85rem; }
img.chart { max-width: 100%; height: auto; } nav a { margin-right: .8rem; }
dl.provenance { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; font-size: .85rem; }
dl.provenance dt { font-weight: 600; }
"""


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return escape(str(value), quote=True)


def _cell(value: Any) -> str:
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    return f'<td class="n">{_text(value)}</td>' if numeric else f"<td>{_text(value)}</td>"


def html_table(frame: pd.DataFrame, row_classes: list[str] | None = None) -> str:
    """A DataFrame as an HTML table, every header and cell escaped."""
    head = "".join(f"<th>{_text(c)}</th>" for c in frame.columns)
    rows = []
    for i, row in enumerate(frame.itertuples(index=False)):
        cls = f' class="{_text(row_classes[i])}"' if row_classes and row_classes[i] else ""
        rows.append(f"<tr{cls}>" + "".join(_cell(v) for v in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _chart(figure: Any, alt: str) -> str:
    if figure is None:
        return "<p>Nothing to draw yet.</p>"
    return f'<img class="chart" alt="{_text(alt)}" src="{svg_data_uri(to_svg(figure))}">'


def _quote(row: pd.Series, attrs: list[str]) -> str:
    who = [str(row["speaker"]) if isinstance(row["speaker"], str) else "", str(row["document"])]
    who += [f"{a}: {row[a]}" for a in attrs if isinstance(row.get(a), str) and row.get(a)]
    question = f'<div class="question">Q: {_text(row["question"])}</div>' if isinstance(row["question"], str) else ""
    return (f"{question}<blockquote>{_text(row['text'])}</blockquote>"
            f'<div class="who">{_text(" · ".join(w for w in who if w))}</div>')


def _theme_row(theme: Theme, attrs: list[str]) -> str:
    quotes = "".join(_quote(row, attrs) for _, row in theme.quotes.iterrows()) or "<em>no passage coded</em>"
    return (f"<tr><td>{_text(theme.name)}<div class='who'>{_text(theme.code_id)}</div></td>"
            f'<td class="n">{theme.cases}</td><td class="n">{theme.passages}</td><td>{quotes}</td></tr>')


def _themes(report: StudyReport) -> str:
    parts = []
    for domain in report.domains:
        attrs = [c for c in (domain.themes[0].quotes.columns if domain.themes else [])
                 if c not in ("code_id", "code_name", "rank", "text", "document", "speaker", "start", "end",
                              "question", *CASE_COLUMNS)]
        rows = "".join(_theme_row(t, attrs) for t in domain.themes)
        parts.append(f"<h3>{_text(domain.name)}</h3><p class='who'>{domain.cases} {_text(report.case_unit)}, "
                     f"{domain.passages} passages</p><table><thead><tr><th>Theme</th><th>{_text(report.case_unit.capitalize())}"
                     f"</th><th>Passages</th><th>Indicative quotes</th></tr></thead><tbody>{rows}</tbody></table>")
    return "".join(parts)


def _matrix(by: str, frame: pd.DataFrame, domains: set[str]) -> str:
    classes = ["domain" if c in domains else "" for c in frame["code_id"]]
    return f"<h3>Codes by {_text(by)} ({_text(frame.attrs.get('count', 'cases'))})</h3>" + html_table(frame, classes)


def render_html(report: StudyReport) -> str:
    """The report as one HTML document (a string)."""
    domains = {d.code_id for d in report.domains}
    sections = [
        ("participants", "Participants", "".join(f"<h3>{_text(t)}</h3>{html_table(f)}"
                                                 for t, f in report.participants)),
        ("themes", "Domains and themes", f"<p>{report.n_cases} {_text(report.case_unit)} with coded passages.</p>"
         + _themes(report)),
        ("framework", "Framework", "<p>The codebook's domains and their themes, each with its number of "
         f"{_text(report.case_unit)}.</p>" + _chart(report.figures.get("framework"), "framework figure")),
        ("matrices", "Codes by attribute", "".join(_matrix(b, f, domains) for b, f in report.matrices)
         or "<p>No attribute asked for (qcode report --by ATTRIBUTE).</p>"),
        ("cooccurrence", "Co-occurrence", _chart(report.figures.get("heatmap"), "co-occurrence heatmap")
         + (html_table(report.cooccurrence) if len(report.cooccurrence) else "<p>No two codes share a unit.</p>")),
        ("saturation", "Saturation", f"<p>New codes per document, {_text(report.saturation_order)}.</p>"
         + _chart(report.figures.get("saturation"), "saturation chart") + html_table(report.saturation)),
        ("agreement", "Agreement", f"<p>{_text(report.agreement_note)}</p>"
         + (html_table(report.agreement) if report.agreement is not None else "")),
        ("memos", "Memos", html_table(report.memos) if report.memos is not None else "<p>No memos.</p>"),
    ]
    nav = "".join(f'<a href="#{key}">{_text(title)}</a>' for key, title, _ in sections)
    body = "".join(f'<section id="{key}"><h2>{_text(title)}</h2>{content}</section>' for key, title, content in sections)
    provenance = "".join(f"<dt>{_text(k)}</dt><dd>{_text(v)}</dd>" for k, v in report.provenance.items())
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_text(report.title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{_text(report.title)}</h1><p class=\"counted\">{_text(report.codings)}</p>"
            f'<dl class="provenance">{provenance}</dl><nav>{nav}</nav>{body}</body></html>\n')


__all__ = ["CSP", "html_table", "render_html"]
