"""``qcode codebook list``, ``show``, ``tune``, and ``add`` (from discovered candidates), ``split``, ``history``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Optional

import typer

from ..project.ref import ProjectRef, project_ref
from .app import codebook_app


@codebook_app.command("list")
def list_codebooks() -> None:
    """List the codebooks shipped with qcode.

    Example: qcode codebook list
    """
    from ..codebook import builtin_codebook_names, load_codebook

    for name in builtin_codebook_names():
        cb = load_codebook(name)
        typer.echo(f"{name:20s} {len(cb.leaves()):3d} codes  {cb.title}")


@codebook_app.command("show")
def show_codebook(
    name: str = typer.Argument(..., help="A shipped codebook name or a .yaml/.json/.qdc file."),
    full: bool = typer.Option(False, "--full", help="Also print inclusion, exclusion and examples."),
) -> None:
    """Print a codebook as an indented tree with definitions.

    Example: qcode codebook show mcn-sst --full
    """
    from ..codebook import load_codebook

    cb = load_codebook(name)
    title = f": {cb.title} " if cb.title else ""
    typer.echo(f"{cb.name}{title} (version {cb.version}, {len(cb.leaves())} codable codes)")
    if cb.source:
        typer.echo(f"source: {cb.source}")

    def show(parent: str | None, depth: int) -> None:
        for code in cb.children(parent):
            pad = "  " * depth
            typer.echo(f"{pad}- {code.name} [{code.id}]")
            if code.definition:
                typer.echo(f"{pad}    {code.definition}")
            if full:
                for label, items in (("include", code.inclusion), ("exclude", code.exclusion),
                                     ("example", code.examples)):
                    for item in items:
                        typer.echo(f"{pad}    {label}: {item}")
            show(code.id, depth + 1)

    show(None, 0)


@codebook_app.command("tune")
def tune_codebook(
    names: list[str] = typer.Argument(None, help="Shipped codebook names or .yaml/.json/.qdc files.", show_default=False),
    shipped: bool = typer.Option(False, "--shipped", help="Every shipped codebook (what scripts/install.sh builds)."),
) -> None:
    """Build the codebook-tuned model qcode suggest uses, ahead of time (minutes once, then cached).

    Example: qcode codebook tune my-study.yaml
    """
    import sys
    import time

    from ..codebook import builtin_codebook_names
    from ..errors import InputError
    from ..suggest.tuning import build_tuned

    targets = [*(builtin_codebook_names() if shipped else []), *(names or [])]
    if not targets:
        raise InputError("name a codebook to tune (a shipped name or a file), or give --shipped")
    progress = None
    if sys.stderr.isatty():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            transient=True)
    logger = logging.getLogger("qcode.embed.tuning")
    handler = _EchoHandler(progress.console if progress is not None else None)
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        for name in dict.fromkeys(targets):
            started = time.perf_counter()
            task = None

            def on_step(done: int, total: int, name: str = name) -> None:
                nonlocal task
                if progress is None:
                    return
                if task is None:
                    task = progress.add_task(f"tuning to {name}", total=total)
                progress.update(task, completed=done)

            if progress is not None:
                with progress:
                    report = build_tuned(name, progress=on_step)
            else:
                report = build_tuned(name, progress=on_step)
            if report.folder is None:
                typer.echo(f"{name}: not tuned: {report.reason}")
            elif report.cached:
                typer.echo(f"{name}: already tuned ({report.folder})")
            else:
                typer.echo(f"{name}: tuned in {time.perf_counter() - started:.0f} s "
                           f"({len(report.used)} codes) -> {report.folder}")
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


class _EchoHandler(logging.Handler):
    """The tuning's up-front line (how long it takes) on stderr, above the bar when there is one."""

    def __init__(self, console: Any = None) -> None:
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        if self.console is not None:
            self.console.print(f"qcode: {record.getMessage()}", highlight=False, soft_wrap=True)
        else:
            typer.echo(f"qcode: {record.getMessage()}", err=True)


@codebook_app.command("add")
def add_from_candidates(
    project: ProjectRef = typer.Argument(..., parser=project_ref, help="The project folder or its postgresql:// URL."),
    from_file: Path = typer.Option(..., "--from", help="A candidates file written by `qcode discover` "
                                   "(edit labels, definitions and examples first; 'code_id' sets the id)."),
    pick: str = typer.Option(..., "--pick", help="Candidate ids to add, comma-separated (cand-01,cand-03)."),
    author: Optional[str] = typer.Option(None, "--author", help="Who made the change (kept in the history)."),
) -> None:
    """Add chosen candidates as new codes, in a new codebook version recorded in the history.

    Example: qcode codebook add my-study --from candidates.yaml --pick cand-01 --author lead
    """
    from ..discovery.adopt import add_candidates

    version, codes = add_candidates(project.target, from_file, [p.strip() for p in pick.split(",") if p.strip()],
                                    author=author)
    for code in codes:
        typer.echo(f"added {code.id}: {code.name}")
    typer.echo(f"project {project} now uses codebook version {version}")


@codebook_app.command("split")
def split_code_command(
    project: ProjectRef = typer.Argument(..., parser=project_ref, help="The project folder or its postgresql:// URL."),
    code: str = typer.Argument(..., help="The code to split."),
    into: str = typer.Option(..., "--into", help="FIRST=Name,SECOND=Name: the two codes (FIRST may keep "
                             "the old id)."),
    move: Path = typer.Option(..., "--move", help="A text file of segment ids (one a line) whose codings "
                              "go to SECOND; the others stay with FIRST."),
    author: Optional[str] = typer.Option(None, "--author", help="Who made the change (kept in the history)."),
) -> None:
    """Split a code into two; past decisions are mapped by appended decisions, never rewritten.

    Example: qcode codebook split my-study funding --into funding=Funding,bids=Funding bids --move bids.txt
    """
    from ..discovery.adopt import split_from_files

    version = split_from_files(project.target, code, into, move, author=author)
    typer.echo(f"project {project} now uses codebook version {version}")


@codebook_app.command("history")
def codebook_history_command(
    project: ProjectRef = typer.Argument(..., parser=project_ref, help="The project folder or its postgresql:// URL."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write it as .csv or .md (a methods appendix)."),
) -> None:
    """Print every codebook change with its time and who made it.

    Example: qcode codebook history my-study --out codebook-history.md
    """
    from ..discovery.adopt import write_history
    from ..safetext import for_terminal

    frame = write_history(project.target, out)
    for row in frame.itertuples(index=False):
        typer.echo(for_terminal(f"{row.time}  {row.author or '-':12s} {row.action:6s} {row.codebook_version}  "
                                f"{row.detail}", one_line=True))
