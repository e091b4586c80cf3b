"""``qcode matrix``, ``quotes``, ``cooccur``, ``saturation`` and ``report``: from codings to findings."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import app

_CODER_HELP = ("Count this coder's codings (repeat for the consensus of several). Default: the only coder's, "
               "or the consensus of all coders with the lead's adjudications.")


def _adjudicator_option():
    return typer.Option("adjudicator", "--adjudicator", help="The coder name the lead's adjudications are "
                        "recorded under (qcode serve's --adjudicator).")


def _said(frame_or_report_label: str, out: Path) -> None:
    from ..safetext import for_terminal

    typer.echo(for_terminal(frame_or_report_label, one_line=True))
    typer.echo(f"wrote {for_terminal(str(out), one_line=True)}")


@app.command("matrix")
def matrix_command(
    project: str = typer.Argument(..., help="The project folder (or its postgresql:// URL)."),
    by: str = typer.Option(..., "--by", help="The attribute whose values are the columns (e.g. role)."),
    count: str = typer.Option("cases", "--count", help="What a cell counts: cases, passages or documents."),
    coder: Optional[list[str]] = typer.Option(None, "--coder", help=_CODER_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write it: .csv, .xlsx or .md."),
    adjudicator: str = _adjudicator_option(),
) -> None:
    """Codes by the values of an attribute: how many cases (passages, documents) have each code.

    Example: qcode matrix my-study --by role --out matrix.csv
    """
    from ..analysis.commands import export_matrix

    frame = export_matrix(project, out, by, count, coder, adjudicator)
    _said(frame.attrs["codings"], out)


@app.command("cooccur")
def cooccur_command(
    project: str = typer.Argument(..., help="The project folder (or its postgresql:// URL)."),
    level: str = typer.Option("segment", "--level", help="The unit two codes share: segment, document or case."),
    coder: Optional[list[str]] = typer.Option(None, "--coder", help=_CODER_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write it: .csv, .xlsx or .md."),
    adjudicator: str = _adjudicator_option(),
) -> None:
    """Pairs of codes applied to the same unit: count, Jaccard index and ATLAS.ti's c-coefficient.

    Example: qcode cooccur my-study --level case --out pairs.csv
    """
    from ..analysis.commands import export_cooccurrence

    frame = export_cooccurrence(project, out, level, coder, adjudicator)
    _said(frame.attrs["codings"], out)


@app.command("quotes")
def quotes_command(
    project: str = typer.Argument(..., help="The project folder (or its postgresql:// URL)."),
    code: Optional[list[str]] = typer.Option(None, "--code", help="A code (or domain) to quote; repeatable. "
                                             "Default: every code with codings."),
    per_code: int = typer.Option(3, "--per-code", help="Quotes per code."),
    coder: Optional[list[str]] = typer.Option(None, "--coder", help=_CODER_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write them: .csv, .xlsx, .docx or .md."),
    adjudicator: str = _adjudicator_option(),
) -> None:
    """Indicative quotes per code: central, readable passages spread across cases, with their question.

    Example: qcode quotes my-study --per-code 3 --out quotes.docx
    """
    from ..analysis.commands import export_quotes

    frame = export_quotes(project, out, code, per_code, coder, adjudicator=adjudicator)
    _said(frame.attrs["codings"], out)


@app.command("saturation")
def saturation_command(
    project: str = typer.Argument(..., help="The project folder (or its postgresql:// URL)."),
    coder: Optional[list[str]] = typer.Option(None, "--coder", help=_CODER_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write it: .csv, .xlsx or .md."),
    adjudicator: str = _adjudicator_option(),
) -> None:
    """New codes each document brought, in interview order (a date attribute, else order added), per coder.

    Example: qcode saturation my-study --out saturation.csv
    """
    from ..analysis.commands import export_saturation

    frame = export_saturation(project, out, coder, adjudicator)
    _said(frame.attrs["codings"], out)


@app.command("report")
def report_command(
    project: str = typer.Argument(..., help="The project folder (or its postgresql:// URL)."),
    out: Path = typer.Option(..., "--out", "-o", help="The report: .html (one self-contained file) or .docx."),
    coder: Optional[list[str]] = typer.Option(None, "--coder", help=_CODER_HELP),
    by: Optional[list[str]] = typer.Option(None, "--by", help="An attribute for the participant tables and a "
                                           "code matrix; repeatable (the first is the rows of each table)."),
    per_code: int = typer.Option(3, "--per-code", help="Indicative quotes per theme."),
    adjudicator: str = _adjudicator_option(),
) -> None:
    """The study report: participants, themes with cases and quotes, framework, matrices, co-occurrence,
    saturation, agreement and memos, in one file.

    Example: qcode report my-study --by phase --by role --out report.html
    """
    from ..analysis.report import write_report

    report = write_report(project, out, coder, by or (), per_code, adjudicator=adjudicator)
    _said(report.codings, out)
