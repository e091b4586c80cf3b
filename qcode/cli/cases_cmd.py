"""``qcode cases``: import a cases table, set attributes, list the cases and their history."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from ..project.ref import ProjectRef, project_ref
from .app import app

cases_app = typer.Typer(help="Cases (participants or documents) and their attributes: import, set, list, history.",
                        no_args_is_help=True)
app.add_typer(cases_app, name="cases")

_BY_HELP = "What the case column holds: speaker (labels as written in the transcripts) or document (document ids)."
_AUTHOR_HELP = "Who makes the change (recorded with each attribute event; on a team server, your login)."


def echo_frame(frame: Any, empty: str) -> None:
    """A DataFrame as a plain text table on stdout (user text made safe for the terminal), or ``empty``."""
    from ..safetext import for_terminal

    if frame.empty:
        typer.echo(empty)
        return
    shown = frame.astype(object).where(frame.notna(), "")
    shown = shown.map(lambda v: for_terminal(str(v), one_line=True)) if hasattr(shown, "map") else shown
    typer.echo(shown.to_string(index=False))


@cases_app.command("import")
def import_cases(
    project: ProjectRef = typer.Argument(..., parser=project_ref,
                                         help="The project folder (or its postgresql:// URL)."),
    file: Path = typer.Argument(..., help="The cases table (.csv in UTF-8, or .xlsx): first column 'case', the "
                                          "others attributes."),
    by: str = typer.Option("speaker", "--by", help=_BY_HELP),
    author: Optional[str] = typer.Option(None, "--author", "--coder", help=_AUTHOR_HELP),
) -> None:
    """Import cases and their attributes from a table; all of it or, on any bad row, nothing.

    An empty cell clears that attribute of that case; importing the same table again changes nothing.
    Every change is a new event: `qcode cases history` shows the earlier values.

    Example: qcode cases import my-study cases.csv --author alice
    """
    from ..project import open_project

    summary = open_project(project.target).import_cases(file, by=by, author=author)
    names = ", ".join(summary["attributes"]) or "none"
    typer.echo(f"imported {file}: {summary['cases']} {summary['by']} cases ({summary['new_cases']} new), "
               f"attributes {names}; {summary['changed']} values changed")


@cases_app.command("set")
def set_attributes(
    project: ProjectRef = typer.Argument(..., parser=project_ref,
                                         help="The project folder (or its postgresql:// URL)."),
    case: str = typer.Argument(..., help="The case: a speaker label, or a document id with --by document."),
    values: list[str] = typer.Argument(..., help="ATTRIBUTE=VALUE pairs; ATTRIBUTE= clears one."),
    by: str = typer.Option("speaker", "--by", help=_BY_HELP),
    author: Optional[str] = typer.Option(None, "--author", "--coder", help=_AUTHOR_HELP),
) -> None:
    """Set attributes of one case (a new event each; nothing is overwritten).

    Example: qcode cases set my-study P07 role="community nurse" phase=2 --author alice
    """
    from ..project import open_project
    from ..project.cases import parse_assignments

    changed = open_project(project.target).set_case_attributes(case, parse_assignments(values), by=by, author=author)
    typer.echo(f"case {case}: {changed} values changed")


@cases_app.command("list")
def list_cases(
    project: ProjectRef = typer.Argument(..., parser=project_ref,
                                         help="The project folder (or its postgresql:// URL)."),
    coder: Optional[str] = typer.Option(None, "--coder", help="Count the passages this coder coded (default: "
                                                              "any coder's)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Also write the table: .csv, .xlsx, .jsonl or "
                                                                 ".parquet."),
) -> None:
    """List the cases with their attributes and how many passages each has (and how many are coded).

    Example: qcode cases list my-study
    """
    from ..project import open_project

    summary = open_project(project.target, readonly=True).case_summary(coder=coder)
    if out is not None:
        from ..formats import open_table_writer

        writer = open_table_writer(out, [str(c) for c in summary.columns])  # published whole, formulas guarded
        writer.write_rows(summary.astype(object).where(summary.notna(), None).to_dict("records"))
        writer.commit()
    echo_frame(summary, "no cases yet (`qcode cases import PROJECT FILE` adds them)")


@cases_app.command("history")
def history(project: ProjectRef = typer.Argument(..., parser=project_ref,
                                         help="The project folder (or its postgresql:// URL).")) -> None:
    """Every attribute event, oldest first: who set what, when (cleared values show empty).

    Example: qcode cases history my-study
    """
    from ..project import open_project

    echo_frame(open_project(project.target, readonly=True).case_history(), "no cases yet")
