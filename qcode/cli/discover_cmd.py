"""``qcode discover``: candidate codes in what the codebook does not explain."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import app


@app.command("discover")
def discover_command(
    source: Optional[Path] = typer.Argument(None, help="A folder of transcripts, a file or a .csv/.xlsx table "
                                            "(leave out with --project)."),
    out: Path = typer.Option(..., "--out", help="Where to write the candidates: .json or .yaml."),
    codebook: Optional[str] = typer.Option(None, "--codebook", help="A shipped codebook name or a file; "
                                           "with --project, the project's codebook by default."),
    project: Optional[Path] = typer.Option(None, "--project", help="Discover in a project's passages "
                                           "(coders' accepts explain a passage, rejects count in the residue)."),
    from_: str = typer.Option("residue", "--from", help="residue: only what the codebook explains poorly; "
                              "all: every passage (a first codebook; the default without a codebook)."),
    min_size: int = typer.Option(5, "--min-size", min=2, help="Fewest passages in a candidate."),
    max_candidates: int = typer.Option(20, "--max-candidates", min=1, help="Most candidates proposed."),
    id_column: Optional[str] = typer.Option(None, "--id-column", help="For .csv/.xlsx responses: the id column."),
    text_column: Optional[str] = typer.Option(None, "--text-column", help="For .csv/.xlsx responses: the text column."),
    seed: int = typer.Option(0, "--seed", help="Seed of the clustering (same input and seed, same output)."),
) -> None:
    """Propose candidate codes, with labels, keywords, quotes and members, for a researcher to edit.

    Example: qcode discover corpora/demo --codebook mcn-sst --min-size 3 --out candidates.yaml
    """
    from ..discovery.sources import discover_to_file

    result = discover_to_file(source, out, codebook=codebook, project=project, from_=from_, min_size=min_size,
                              max_candidates=max_candidates, id_column=id_column, text_column=text_column, seed=seed)
    for cand in result.candidates:
        typer.echo(f"{cand.id}  {cand.size:4d}  {cand.label}")
    for note in result.notes:
        typer.echo(f"note: {note.size} passages ({note.label}) look like {note.looks_like}")
    typer.echo(f"{len(result.candidates)} candidates from {result.pool_size} of {result.passages} passages -> {out}")
