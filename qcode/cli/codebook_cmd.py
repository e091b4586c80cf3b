"""``qcode codebook list``, ``qcode codebook show`` and ``qcode codebook tune``."""

from __future__ import annotations

import logging
from typing import Any

import typer

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
