"""``qcode agree``: inter-coder agreement report on a project or a CSV of codings."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..project.ref import ProjectRef, project_ref
from .app import app


@app.command("agree")
def agree(
    source: ProjectRef = typer.Argument(..., parser=project_ref, help="A project folder or postgresql:// URL, or a "
                                        "CSV of codings "
                                  "(columns: unit or doc_id/start/end, coder, code[, text])."),
    coders: Optional[str] = typer.Option(None, "--coders", help="Comma-separated coders to compare "
                                         "(two or more); default: all."),
    unit: str = typer.Option("segment", "--unit", help="Unit of analysis: segment, document or character "
                             "(character = NVivo coding comparison)."),
    include_uncoded: Optional[bool] = typer.Option(
        None, "--include-uncoded/--coded-only",
        help="Count units no compared coder coded (needs a project). Default: coded-only, "
             "except at character level (NVivo counts every character)."),
    overlap: str = typer.Option("documents", "--overlap", help="documents: compare only documents every "
                                "compared coder coded; all: assume every coder read everything."),
    model_run: Optional[str] = typer.Option(None, "--model-run", help="Add a suggestion run of the project "
                                            "as the pseudo-coder 'model' (a run id, or 'latest')."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="With --model-run: keep suggestions "
                                              "scoring at least this (default: top-1 only)."),
    top: Optional[int] = typer.Option(None, "--top", help="With --model-run: keep suggestions of rank <= N "
                                      "(default 1 unless --threshold is given)."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Add CODER as their codings stood at WHEN "
                                        "(CODER@WHEN: an event id or ISO time) as the pseudo-coder "
                                        "'CODER@WHEN', e.g. to compare a coder before and after review."),
    n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap resamples for alpha's 95% interval (0 = none)."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed (fixed for reproducibility)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the report: .html, .md or .csv."),
) -> None:
    """Report inter-coder agreement per code and pooled: percent agreement, kappa, alpha with 95% interval, AC1.

    Example: qcode agree my-study --coders alice,bob --unit segment --out agreement.html

    Before and after review: qcode agree my-study --coders alice --as-of alice@2026-11-20T17:00:00
    """
    from ..agreement import source_report
    from ..agreement.render import check_report_path

    if out is not None:
        check_report_path(out)
    result = source_report(source.target, coders=coders, unit=unit, include_uncoded=include_uncoded, overlap=overlap,
                           model_run=model_run, threshold=threshold, top=top, as_of=as_of, n_boot=n_boot,
                           seed=seed)
    result.print(written_to=out)
    if out is not None:
        result.save(out)
        typer.echo(f"wrote {out}")
