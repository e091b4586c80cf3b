"""``qcode learn``: train the suggester on a project's decisions and keep the model in the project."""

from __future__ import annotations

from typing import Optional

import typer

from ..project.ref import ProjectRef, project_ref
from .app import app


@app.command("learn")
def learn(
    project: ProjectRef = typer.Argument(..., parser=project_ref, help="The project folder or its postgresql:// URL."),
    coder: list[str] = typer.Option([], "--coder", help="Learn from this coder's decisions only: the model this "
                                    "coder's blind suggestions use (repeatable: one model each). Default: each "
                                    "coder of the project, one model each."),
    learn_from: Optional[str] = typer.Option(None, "--learn-from", help="Comma-separated coders whose decisions "
                                             "train ONE shared model (a first pass, not blind)."),
    learning: str = typer.Option("auto", "--learning", help="auto (= few-shot: a small head on the embeddings "
                                 "with the codebook as prior, seconds), blend (examples + a classifier per code) or "
                                 "fine-tune (the embedding model itself, SetFit-style, then the few-shot head; a "
                                 "minute or more, needs torch)."),
    seed: int = typer.Option(0, "--seed", help="Training seed: the same decisions and seed give the same model."),
    model: str = typer.Option("all-MiniLM-L6-v2", "--model", help="Base embedding model from models/manifest.json."),
    backend: str = typer.Option("auto", "--backend", help="Embedding backend: auto, onnx, sentence-transformers."),
    tune: bool = typer.Option(True, "--tune/--no-tune", help="Start from the codebook-tuned model where the "
                              "codebook has enough text (default)."),
    prune: bool = typer.Option(False, "--prune", help="Train nothing: remove the saved versions no run names, "
                               "beyond the --keep newest per coder, and the fine-tuned bodies none uses."),
    keep: int = typer.Option(1, "--keep", help="With --prune: versions kept per coder besides those runs name."),
) -> None:
    """Learn from the accept/reject decisions that stand in a project.

    Example: qcode learn my-study --coder ana

    Each model is saved under PROJECT/models/, numbered, with what made it
    (coders, base weights sha256, last event id, parameters, seed); the next
    `qcode suggest --project PROJECT --learn` uses it.
    """
    from ..project import open_project
    from ..suggest.learning import learn_project

    proj = open_project(project.target)
    if prune:
        from ..suggest.retention import prune_models

        report = prune_models(proj, keep=keep)
        typer.echo(f"pruned {len(report.removed)} saved model folder(s), {report.freed_bytes / 1e6:.1f} MB freed; "
                   f"{len(report.kept)} version(s) kept (named by runs, or the newest {keep} per coder)")
        return
    named = [c.strip() for c in (learn_from or "").split(",") if c.strip()]
    outcomes = learn_project(proj, coders=coder, learn_from=named, learning=learning, seed=seed, model=model,
                             backend=backend, tuned="auto" if tune else False, retrain=True)
    for outcome in outcomes:
        for warning in outcome.warnings:
            typer.echo(f"warning: {warning}", err=True)
        who = " + ".join(outcome.scope.coders)
        if outcome.fallback:
            typer.echo(f"{who}: nothing saved")
            continue
        state = "unchanged, kept" if outcome.reused else "saved"
        typer.echo(f"{who}: {outcome.decisions} decisions, {outcome.suggester.learning_used} model v{outcome.version} {state} "
                   f"({outcome.folder}, {outcome.seconds:.1f} s)")
        if outcome.more_needed:
            short = sorted(outcome.more_needed.items())
            typer.echo(f"  {len(short)} code(s) need more accepted passages before they shape the model: "
                       + ", ".join(f"{code} {n} more" for code, n in short[:8])
                       + (" ..." if len(short) > 8 else ""))
