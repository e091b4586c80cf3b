"""``qcode codebook list`` and ``qcode codebook show``."""

from __future__ import annotations

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
