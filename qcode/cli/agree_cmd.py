"""``qcode agree``: inter-coder agreement report on a project or a CSV of codings."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import app


@app.command("agree")
def agree(
    source: Path = typer.Argument(..., help="A project folder, or a CSV of codings "
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
    from ..agreement import report
    from ..agreement.coding import read_codings_csv, suggestions_to_codings
    from ..errors import AgreementError

    if out is not None and out.suffix.lower() not in (".html", ".htm", ".md", ".markdown", ".csv"):
        raise AgreementError(f"{out}: unknown report format {out.suffix or '(none)'!r}; use .html, .md or .csv")
    universe = None
    doc_texts = None
    if source.is_dir():
        import pandas as pd

        from ..project import open_project

        project = open_project(source)
        codings = project.codings()
        if codings.empty and model_run is None and as_of is None:
            raise AgreementError(f"{source}: the project has no codings yet (accept some suggestions first)")
        if unit == "character":
            universe = project.documents()[["doc_id", "chars"]]
            doc_texts = {doc: project.document_text(doc) for doc in universe["doc_id"]}
        else:
            universe = project.segments()
        if model_run is not None:
            run = None if model_run == "latest" else _run_id(model_run)
            suggestions = project.suggestions(run=run)
            if len(suggestions) == 0:
                raise AgreementError(f"{source}: suggestion run {model_run} has no suggestions")
            chosen_top = top if top is not None else (None if threshold is not None else 1)
            model = suggestions_to_codings(suggestions, top=chosen_top, threshold=threshold)
            codings = pd.concat([codings, model], ignore_index=True)
            if coders is not None and "model" not in [c.strip() for c in coders.split(",")]:
                coders = f"{coders},model"
        if as_of is not None:
            coder, _, when = as_of.partition("@")
            if not coder or not when:
                raise AgreementError(f"--as-of: expected CODER@WHEN (an event id or ISO time), got {as_of!r}")
            earlier = project.codings(coder, as_of=when)
            earlier["coder"] = as_of
            codings = pd.concat([codings, earlier], ignore_index=True)
            if coders is not None and as_of not in [c.strip() for c in coders.split(",")]:
                coders = f"{coders},{as_of}"
    elif source.suffix.lower() == ".csv":
        if model_run is not None or as_of is not None:
            raise AgreementError("--model-run and --as-of need a project folder as SOURCE, not a CSV")
        if include_uncoded and unit != "character":
            raise AgreementError(f"{source}: --include-uncoded needs a project (a CSV of codings does not list "
                                 "the units nobody coded)")
        codings = read_codings_csv(source)
    elif not source.exists():
        raise AgreementError(f"{source}: no such project folder or CSV file")
    else:
        raise AgreementError(f"{source}: not a project folder or a .csv file of codings")
    result = report(codings, coders=coders, unit=unit, include_uncoded=include_uncoded, n_boot=n_boot,
                    seed=seed, universe=universe, overlap=overlap, doc_texts=doc_texts)
    result.provenance["source"] = str(source)
    if source.is_dir():
        from ..errors import ProjectError

        try:
            cb = project.codebook
            result.provenance["codebook"] = f"{cb.name} {cb.version}"
        except ProjectError:  # a project without a codebook yet
            pass
    result.print()
    if out is not None:
        result.save(out)
        typer.echo(f"wrote {out}")


def _run_id(text: str) -> int:
    from ..errors import AgreementError

    try:
        return int(text)
    except ValueError:
        raise AgreementError(f"--model-run: expected a run id (a number) or 'latest'; got {text!r}") from None
