"""Outputs of an :class:`~qcode.agreement.result.AgreementReport`: terminal, CSV, Markdown, self-contained HTML.

Undefined coefficients are spelled out ("undefined (only one category)"), never
printed as NaN, and the interpretation bands are part of every output. Every row shows
its number of units and pairable values, and a caution when they fall below
qcode's minimums (:data:`~qcode.agreement.bands.SAMPLE_TEXT`).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from .._io import atomic_write_text
from ..errors import AgreementError
from .bands import BANDS_TEXT, POOLED, SAMPLE_TEXT

if TYPE_CHECKING:
    from rich.console import Console

PathLike = str | Path


class AgreementReport(Protocol):
    """What rendering reads of a report: :class:`qcode.agreement.result.AgreementReport` has all of it.

    Rendering sits below the report type (the report's ``to_html`` and ``save`` call it), so it names
    the fields it needs instead of importing the report.
    """

    per_code: pd.DataFrame
    pairwise: dict[str, pd.DataFrame]
    disagreements: pd.DataFrame
    coders: list[str]
    unit: str
    include_uncoded: bool
    kappa_name: str
    notes: list[str]
    per_source: pd.DataFrame | None

    def describe(self) -> str: ...

    def provenance_line(self) -> str: ...

DISPLAY_COLUMNS = ("code", "n", "values", "applied", "% agree", "kappa", "alpha", "alpha 95% CI", "AC1", "B-P",
                   "alpha band", "kappa band", "caution")


def _reason(note: str) -> str:
    return note.replace("kappa and alpha ", "") if note else "undefined"


def _num(value: float, digits: int = 3) -> str | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return f"{value:.{digits}f}"


def formatted_table(report: AgreementReport, digits: int = 3) -> pd.DataFrame:
    """The per-code table as strings: undefined values carry their reason, alpha carries its interval."""
    rows = []
    for rec in report.per_code.to_dict("records"):
        why = _reason(rec["note"])
        alpha = _num(rec["alpha"], digits)
        interval = "-"
        if alpha is not None and _num(rec["alpha_low"], digits) is not None:
            interval = f"[{_num(rec['alpha_low'], digits)}, {_num(rec['alpha_high'], digits)}]"
        rows.append({
            "code": rec["label"] if rec["label"] == rec["code"] else f"{rec['label']} [{rec['code']}]",
            "n": str(rec["n_units"]),
            "values": str(rec["n_values"]),
            "applied": str(rec["n_applied"]),
            "% agree": _num(rec["percent_agreement"], digits) or why,
            "kappa": _num(rec["kappa"], digits) or why,
            "alpha": alpha or why,
            "alpha 95% CI": interval,
            "AC1": _num(rec["ac1"], digits) or why,
            "B-P": _num(rec["brennan_prediger"], digits) or why,
            "alpha band": rec["alpha_band"] or "-",
            "kappa band": rec["kappa_band"] or "-",
            "caution": rec["caution"] or "-",
        })
        if "unitized_alpha" in rec:
            rows[-1]["u-alpha"] = _num(rec["unitized_alpha"], digits) or (
                "undefined" if report.include_uncoded else "n/a (coded-only)")
    columns = list(DISPLAY_COLUMNS)
    if "unitized_alpha" in report.per_code.columns:
        columns.insert(columns.index("alpha band"), "u-alpha")
    return pd.DataFrame(rows, columns=columns)


def _out(text: str, path: PathLike | None) -> str:
    if path is not None:
        atomic_write_text(path, text)
    return text


# --------------------------------------------------------------------------- CSV


def to_csv(report: AgreementReport, path: PathLike | None = None) -> str:
    """Per-code table as CSV (numbers unrounded; undefined cells empty, with the reason in ``note``)."""
    table = report.per_code.copy()
    table.insert(0, "unit_of_analysis", report.unit)
    table.insert(1, "coders", "+".join(report.coders))
    table["kappa_type"] = report.kappa_name
    return _out(guarded_frame(table).to_csv(index=False, lineterminator="\n"), path)


def guarded_frame(table: Any) -> Any:
    """A copy whose text cells and column names cannot run as spreadsheet formulas (code ids and names
    such as ``=1+1`` or ``@cmd`` are user text)."""
    from ..safetext import neutralise_cell

    guarded = table.copy()
    for column in guarded.columns:
        if not pd.api.types.is_numeric_dtype(guarded[column]):
            guarded[column] = guarded[column].map(neutralise_cell)
    guarded.columns = [neutralise_cell(str(c)) for c in guarded.columns]
    return guarded


# --------------------------------------------------------------------------- Markdown


def _md_cell(value: Any) -> str:
    text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(frame: pd.DataFrame) -> str:
    head = "| " + " | ".join(_md_cell(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def _matrix_strings(matrix: pd.DataFrame) -> pd.DataFrame:
    shown = matrix.map(lambda v: _num(v) or "undefined")
    shown.insert(0, "coder", matrix.index)
    return shown


def to_markdown(report: AgreementReport, path: PathLike | None = None) -> str:
    """A Markdown report: settings, per-code table, bands, coder matrices, disagreements."""
    parts = ["# Inter-coder agreement", "", report.describe(), "", f"_{report.provenance_line()}_", ""]
    parts += [f"- {note}" for note in report.notes]
    parts += ["", _md_table(formatted_table(report)), "", f"**Interpretation.** {BANDS_TEXT}", "",
              f"**Sample size.** {SAMPLE_TEXT}", ""]
    if report.per_source is not None and len(report.per_source):
        src = report.per_source[["label", "doc_id", "chars", "percent_agreement", "kappa", "unitized_alpha",
                                 "note"]].copy()
        src["percent_agreement"] = src["percent_agreement"].map(lambda v: _num(v) or "")
        src["kappa"] = [_num(k) or _reason(n) for k, n in zip(src["kappa"], src["note"])]
        src["unitized_alpha"] = src["unitized_alpha"].map(lambda v: _num(v) or "n/a")
        parts += ["## Per code and source (NVivo)", "", _md_table(src.drop(columns=["note"])), ""]
    for name, title in (("kappa", "Pairwise Cohen's kappa (all codes pooled)"),
                        ("alpha", "Pairwise Krippendorff's alpha (all codes pooled)")):
        matrix = report.pairwise.get(name)
        if matrix is not None and len(matrix):
            parts += [f"## {title}", "", _md_table(_matrix_strings(matrix)), ""]
    parts += [f"## Disagreements ({len(report.disagreements)})", ""]
    if len(report.disagreements):
        parts += [_md_table(report.disagreements.drop(columns=["start", "end"])), ""]
    else:
        parts += ["None.", ""]
    return _out("\n".join(parts), path)


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#222;max-width:1200px}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.pooled td{font-weight:bold;background:#fafafa}
.bands{background:#fffbe6;border:1px solid #e6d690;padding:.6rem;border-radius:4px}
.undef{color:#8a1c1c;font-style:italic}
.note{color:#555}
"""


def _td(value: str, numeric: bool = True) -> str:
    cls = "undef" if value.startswith("undefined") else ("num" if numeric else "")
    return f'<td class="{cls}">{html.escape(value)}</td>'


def _svg_chart(report: AgreementReport) -> str:
    """Inline SVG: per-code alpha (dot) with its 95% interval (line) over the interpretation bands."""
    rows = report.per_code.to_dict("records")
    lo_axis = min([-0.2] + [v for r in rows for v in (r["alpha"], r["alpha_low"]) if np.isfinite(v)])
    lo_axis = math.floor(lo_axis * 10) / 10
    left, width, row_h, top = 260, 520, 22, 30
    height = top + row_h * len(rows) + 30

    def x(v: float) -> float:
        return left + (v - lo_axis) / (1.0 - lo_axis) * width

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 40}" height="{height}" '
           'role="img" aria-label="Krippendorff alpha per code with 95% interval" font-size="12">']
    for a, b, colour, label in ((lo_axis, 0.667, "#f8d7da", "unreliable"),
                                (0.667, 0.8, "#fff3cd", "tentative"), (0.8, 1.0, "#d4edda", "reliable")):
        out.append(f'<rect x="{x(a):.1f}" y="{top - 8}" width="{x(b) - x(a):.1f}" '
                   f'height="{row_h * len(rows) + 8}" fill="{colour}"/>')
        out.append(f'<text x="{(x(a) + x(b)) / 2:.1f}" y="{top - 12}" text-anchor="middle">{label}</text>')
    step = 0.2 if lo_axis < -0.5 else 0.1
    first = np.ceil(lo_axis / step - 1e-9) * step
    for tick in np.round(np.arange(first, 1.0001, step), 1) + 0.0:  # multiples of step; no "-0.0"
        out.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top - 8}" y2="{height - 25}" stroke="#ccc"/>')
        out.append(f'<text x="{x(tick):.1f}" y="{height - 10}" text-anchor="middle">{tick:.1f}</text>')
    for i, r in enumerate(rows):
        y = top + i * row_h + row_h / 2
        name = r["label"] if len(r["label"]) <= 36 else r["label"][:35] + "…"
        weight = ' font-weight="bold"' if r["code"] == POOLED else ""
        out.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end"{weight}>{html.escape(name)}</text>')
        if not np.isfinite(r["alpha"]):
            out.append(f'<text x="{left + 6}" y="{y + 4:.1f}" fill="#8a1c1c" font-style="italic">'
                       f'{html.escape(_reason(r["note"]))}</text>')
            continue
        if np.isfinite(r["alpha_low"]):
            out.append(f'<line x1="{x(r["alpha_low"]):.1f}" x2="{x(r["alpha_high"]):.1f}" y1="{y:.1f}" '
                       f'y2="{y:.1f}" stroke="#333" stroke-width="2"/>')
        out.append(f'<circle cx="{x(r["alpha"]):.1f}" cy="{y:.1f}" r="4" fill="#1f4e9c">'
                   f'<title>{html.escape(r["label"])}: alpha {r["alpha"]:.3f}</title></circle>')
    out.append("</svg>")
    return "".join(out)


def _html_table(frame: pd.DataFrame, numeric_from: int = 1, pooled_col: str | None = None) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = "".join(_td("" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v), i >= numeric_from)
                        for i, v in enumerate(row))
        cls = ' class="pooled"' if pooled_col is not None and str(row[0]).startswith(POOLED) else ""
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def to_html(report: AgreementReport, path: PathLike | None = None) -> str:
    """A self-contained HTML report (inline CSS and SVG; no scripts, no external files)."""
    parts = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
             "<title>qcode inter-coder agreement</title>", f"<style>{_CSS}</style></head><body>",
             "<h1>Inter-coder agreement</h1>", f"<p>{html.escape(report.describe())}</p>",
             f"<p class=\"note\">{html.escape(report.provenance_line())}</p>"]
    if report.notes:
        parts.append("<ul class=\"note\">" + "".join(f"<li>{html.escape(n)}</li>" for n in report.notes) + "</ul>")
    parts.append(f'<div class="bands"><strong>Interpretation.</strong> {html.escape(BANDS_TEXT)}<br>'
                 f'<strong>Sample size.</strong> {html.escape(SAMPLE_TEXT)}</div>')
    parts.append("<h2>Per code</h2>")
    parts.append(_html_table(formatted_table(report), numeric_from=1, pooled_col="code"))
    parts.append("<h2>Krippendorff's alpha per code, with 95% interval</h2>")
    parts.append(_svg_chart(report))
    if report.per_source is not None and len(report.per_source):
        src = report.per_source
        shown = pd.DataFrame({"code": src["label"], "source": src["doc_id"], "characters": src["chars"],
                              "% agree": [(_num(v) or "") for v in src["percent_agreement"]],
                              "kappa": [_num(k) or _reason(n) for k, n in zip(src["kappa"], src["note"])],
                              "u-alpha": [_num(v) or "n/a" for v in src["unitized_alpha"]]})
        parts += ["<h2>Per code and source (NVivo coding comparison)</h2>", _html_table(shown, numeric_from=2)]
    for name, title in (("kappa", "Coder × coder: Cohen's kappa (all codes pooled)"),
                        ("alpha", "Coder × coder: Krippendorff's alpha (all codes pooled)")):
        matrix = report.pairwise.get(name)
        if matrix is not None and len(matrix):
            parts += [f"<h2>{html.escape(title)}</h2>", _html_table(_matrix_strings(matrix))]
    parts.append(f"<h2>Disagreements ({len(report.disagreements)})</h2>")
    if len(report.disagreements):
        parts.append(_html_table(report.disagreements.drop(columns=["start", "end"]), numeric_from=99))
    else:
        parts.append("<p>None.</p>")
    parts.append("</body></html>")
    return _out("\n".join(parts), path)


# --------------------------------------------------------------------------- terminal


def wrap_label(text: str, width: int) -> str:
    """``text`` in lines of at most ``width``, broken after spaces, ``-``, ``_``, ``/`` or ``.``; only a
    piece longer than the width is cut.

    >>> print(wrap_label("communication_between_organisations", 16))
    communication_
    between_
    organisations
    """
    import re

    pieces = [p for p in re.split(r"(?<=[ \-_/.])", text) if p]
    lines: list[str] = []
    line = ""
    for piece in pieces:
        while len(piece) > width:  # a piece that cannot fit on any line
            if line:
                lines.append(line.rstrip())
                line = ""
            lines.append(piece[:width])
            piece = piece[width:]
        if len(line) + len(piece.rstrip()) > width and line:
            lines.append(line.rstrip())
            line = ""
        line += piece
    if line.strip():
        lines.append(line.rstrip())
    return "\n".join(lines)


def print_report(report: AgreementReport, console: Console | None = None, written_to: PathLike | None = None) -> None:
    """Print the per-code table, the bands and the notes with rich.

    ``written_to``: the report file being written, which the disagreement line then points to.
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title="Inter-coder agreement", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True,
                  show_edge=False)
    shown = formatted_table(report)
    shown["alpha band"] = shown["alpha band"].replace({"tentative conclusions only": "tentative"})
    shown = shown.rename(columns={"alpha 95% CI": "95% CI", "alpha band": "band"})
    shown["band"] = [f"{b}*" if c != "-" else b for b, c in zip(shown["band"], shown["caution"])]
    cautions = [(code, c) for code, c in zip(shown["code"], shown["caution"]) if c != "-"]
    shown = shown.drop(columns=["kappa band", "caution"])  # the written reports carry them; cautions follow
    if console.width < 110:  # so do these
        shown = shown.drop(columns=["B-P", "applied"])
    import re

    longest_word = max((len(w) for label in shown.iloc[:, 0] for w in re.split(r"[ \-_/.]", str(label))), default=0)
    widths = [max([len(str(c)), *(len(str(v)) for v in shown[c])]) for c in shown.columns[1:]]
    room = console.width - sum(widths) - 2 * len(widths)
    if room < min(longest_word, 28) and "values" in shown.columns:  # a word would break: give it the room
        shown = shown.drop(columns=["values"])
        widths = [max([len(str(c)), *(len(str(v)) for v in shown[c])]) for c in shown.columns[1:]]
        room = console.width - sum(widths) - 2 * len(widths)
    # labels give way on a narrow terminal, at spaces, '-', '_', '/' and '.' (never mid-word if it fits);
    # numbers never do
    label_width = max(12, min(28, room))
    for i, column in enumerate(shown.columns):
        if i == 0:
            table.add_column(column, justify="left", no_wrap=True, min_width=label_width, max_width=label_width)
            continue
        table.add_column(column, justify="left" if column == "band" else "right", no_wrap=True,
                         min_width=widths[i - 1])
    for row in shown.itertuples(index=False):
        style = "bold" if str(row[0]).startswith(POOLED) else None
        table.add_row(wrap_label(str(row[0]), label_width), *[str(v) for v in row[1:]], style=style)
    console.print(table)
    console.print(report.describe(), soft_wrap=True, highlight=False)
    console.print(f"Interpretation: {BANDS_TEXT}", soft_wrap=True, highlight=False)
    for code, why in cautions:
        console.print(f"* caution: {code}: {why}", soft_wrap=True, highlight=False)
    if cautions:
        console.print(SAMPLE_TEXT, soft_wrap=True, highlight=False)
    for note in report.notes:
        console.print(f"note: {note}", soft_wrap=True, highlight=False)
    if len(report.disagreements):
        where = f"listed in {written_to}" if written_to is not None else "write --out report.html to list them"
        console.print(f"{len(report.disagreements)} unit(s) with disagreements ({where})", soft_wrap=True, highlight=False)


#: Report formats by file suffix.
WRITERS: dict[str, Callable[[AgreementReport, PathLike | None], str]] = {
    ".html": to_html, ".htm": to_html, ".md": to_markdown, ".markdown": to_markdown, ".csv": to_csv}


def check_report_path(path: PathLike) -> Path:
    """``path`` as a Path, or AgreementError when its suffix names no report format."""
    path = Path(path)
    if path.suffix.lower() not in WRITERS:
        raise AgreementError(f"{path}: unknown report format {path.suffix or '(none)'!r}; use .html, .md or .csv")
    return path


def save(report: AgreementReport, path: PathLike) -> Path:
    """Write the report in the format its suffix names (.html/.htm, .md, .csv)."""
    path = check_report_path(path)
    WRITERS[path.suffix.lower()](report, path)
    return path
