"""``qcode suggest``: the main job."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Optional

import typer

from ..project.ref import ProjectRef, project_ref
from .app import app


@app.command("suggest")
def suggest(
    path: Path = typer.Argument(..., help="A folder of transcripts (read recursively) or one file."),
    codebook: Optional[str] = typer.Option(None, "--codebook", "-c", help="Shipped codebook name or a .yaml/.json/.qdc "
                                           "file (default: the project's codebook with --project, else mcn-sst)."),
    unit: str = typer.Option("turn", "--unit", "-u", help="Segment unit: turn, sentence, paragraph or document."),
    top_k: Optional[int] = typer.Option(None, "--top-k", "-k", min=1, help="Suggestions per segment (default 3; "
                                        "with --multi-label: no limit)."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Drop suggestions scoring below this. Scores "
                                              "are similarities, not probabilities: the run's summary shows their "
                                              "spread (see docs/concepts/suggesting.md; measured ranges on the "
                                              "benchmarks page)."),
    multi_label: bool = typer.Option(False, "--multi-label", help="With --threshold: keep every code above it (maybe none)."),
    include_interviewer: bool = typer.Option(False, "--include-interviewer", help="Also suggest codes for interviewer/facilitator turns."),
    interviewer: list[str] = typer.Option([], "--interviewer", help="A speaker name to treat as an interviewer (repeatable)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output file: .csv, .jsonl, .parquet or .xlsx."),
    project: Optional[ProjectRef] = typer.Option(None, "--project", "-p", parser=project_ref,
                                                 help="Record the run in this qcode project (a folder or a "
                                                      "postgresql:// URL)."),
    model: str = typer.Option("all-MiniLM-L6-v2", "--model", help="Embedding model from models/manifest.json."),
    backend: str = typer.Option("auto", "--backend", help="Embedding backend: auto, onnx, sentence-transformers, onnx-int8."),
    max_tokens: int = typer.Option(256, "--max-tokens", min=16, help="Token budget per segment; longer turns are split."),
    encoding: Optional[str] = typer.Option(None, "--encoding", help="Encoding of the text files (e.g. gbk, "
                                           "shift_jis, cp1252); default: UTF-8/UTF-16 detected, else cp1252 "
                                           "with a warning."),
    id_column: Optional[str] = typer.Option(None, "--id-column", help="For .csv/.xlsx responses: the id column."),
    text_column: Optional[str] = typer.Option(None, "--text-column", help="For .csv/.xlsx responses: the text column."),
    attribute_column: list[str] = typer.Option([], "--attribute-column", help="For .csv/.xlsx responses with "
                                               "--project: a column whose cells become attributes of each row's "
                                               "case (its document, FILE#ID); repeatable."),
    learn: bool = typer.Option(False, "--learn", help="With --project: learn from the decisions recorded there "
                               "first, one model per coder (each coder's blind review shows the run trained on "
                               "their own decisions only), plus a codebook-only run."),
    learn_from: Optional[str] = typer.Option(None, "--learn-from", help="With --project: ONE run trained on these "
                                             "coders' decisions (comma-separated; a first pass, not for blind "
                                             "coding)."),
    learning: str = typer.Option("auto", "--learning", help="How --learn uses decisions: auto (= few-shot), few-shot "
                                 "(a small head on the embeddings, the codebook as prior; seconds), blend (examples "
                                 "and a classifier per code) or fine-tune (the embedding model too, then the "
                                 "few-shot head; a minute or more, needs torch)."),
    tune: bool = typer.Option(True, "--tune/--no-tune", help="Use the model tuned once to the codebook's own text "
                              "where the codebook has enough of it (default; cached; torch needed the first time)."),
    context: bool = typer.Option(True, "--context/--no-context", help="Mix the interviewer's preceding question into "
                                 "each participant turn (default)."),
    abstain: bool = typer.Option(True, "--abstain/--no-abstain", help="Give no code to greetings, thanks, consent and "
                                 "procedural talk (default; turn off if your codebook codes such talk)."),
    min_probability: Optional[float] = typer.Option(None, "--min-probability", min=0.0, max=1.0,
                                                    help="Drop suggestions less likely than this, the best one "
                                                    "too (a segment may get no code). Calibrated on the coder's "
                                                    "decisions once there are 30 (--learn): 0.7 keeps suggestions "
                                                    "right about 70% of the time."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
    engine: str = typer.Option("local", "--engine", help="local (this process) or dask (a Dask cluster; "
                               "pip install 'qcode[dask]')."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="With --engine dask: the scheduler's "
                                            "address, tcp://HOST:PORT."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="With --engine dask: start a local "
                                          "cluster of this many worker processes (loopback only; default 1)."),
) -> None:
    """Suggest codes for every segment of a folder of transcripts.

    Example: qcode suggest corpora/demo --codebook mcn-sst --unit turn --top-k 3 --out suggestions.csv

    With --project the documents, segments, codebook version and the run (model
    name and weights hash, parameters) are recorded in the project; --learn first
    learns from the accept/reject decisions coders have made there (one model per
    coder, saved under PROJECT/models/, as `qcode learn` does).
    """
    import sys
    import time
    import warnings

    from ..errors import InputError

    began = time.perf_counter()
    from ..formats import TABLE_FORMATS
    from ..ingest import IngestWarning
    from ..suggest import SuggestOptions
    from ..suggest.learned import LEARNING_KINDS
    from ..suggest.tuning import tuning_progress

    warnings.simplefilter("ignore", IngestWarning)  # skipped files are reported once, below
    if learning not in LEARNING_KINDS:
        raise InputError(f"--learning must be one of {', '.join(LEARNING_KINDS)}, not {learning!r}")
    if multi_label and threshold is None:
        raise InputError("--multi-label needs --threshold SCORE (it keeps every code scoring at least that)")
    if out is None and project is None:
        raise InputError(f"nothing to write: give --out FILE ({', '.join(TABLE_FORMATS.suffixes())}) "
                         "and/or --project PROJECT")
    named = [c.strip() for c in (learn_from or "").split(",") if c.strip()]
    if (learn or named) and project is None:
        raise InputError("--learn needs --project PROJECT (the decisions to learn from live there)")
    if learn_from is not None and not named:
        raise InputError("--learn-from needs coder names, e.g. --learn-from ana,ben")
    options = SuggestOptions(
        unit=unit, top_k=top_k if top_k is not None else (None if multi_label else 3), threshold=threshold,
        multi_label=multi_label, include_interviewer=include_interviewer, interviewers=interviewer,
        max_tokens=max_tokens, id_column=id_column, text_column=text_column, min_probability=min_probability,
        attribute_columns=attribute_column,
        engine=engine, scheduler=scheduler, workers=workers, encoding=encoding,
    )
    proj = None
    if project is not None:
        from ..project import open_project

        proj = open_project(project.target)
    show = not quiet and sys.stderr.isatty()
    progress = _Progress(_progress() if show else None)
    before = _project_state(proj)
    try:
        with (progress.bar or _null()), tuning_progress(progress.on_tuning):
            outcome = _run(path, options, codebook, proj, out, model, backend, learn, named, learning, tune,
                           context, abstain, progress, quiet)
    except KeyboardInterrupt:
        typer.echo(_interrupted(proj, before, out, learn or bool(named)), err=True)
        raise typer.Exit(130) from None
    _report(outcome, quiet, project, learn or bool(named), began)


def _run(path, options, codebook, proj, out, model, backend, learn, named, learning, tune, context, abstain,
         progress, quiet) -> Any:
    from ..suggest.runner import run_suggest

    return run_suggest(path, options, codebook=codebook, project=proj, out=out, model=model, backend=backend,
                       learn=learn, learn_from=named, learning=learning, tuned="auto" if tune else False,
                       context="auto" if context else False, abstain="auto" if abstain else False,
                       on_start=progress.on_start, on_document=progress.on_document,
                       on_queued=progress.on_queued, on_embedded=progress.on_embedded,
                       on_shard=progress.on_shard, on_scope=None if quiet else _learning_line)


def _project_state(proj: Any) -> tuple[int | None, int]:
    """The latest run and the number of documents, before the command (to say what an interruption kept)."""
    if proj is None:
        return None, 0
    return proj.latest_run(), int(proj.status().get("documents", 0))


def _interrupted(proj: Any, before: tuple[int | None, int], out: Path | None, learned: bool) -> str:
    """One line: Ctrl-C stopped the command, and what it kept."""
    kept = []
    if out is not None:
        kept.append(f"no {out} written")
    if proj is not None:
        after = _project_state(proj)
        made = after[0] != before[0]
        runs = ("the runs of this --learn were removed (all or nothing)" if learned else
                "no suggestion run recorded") if not made else f"run {after[0]} recorded"
        docs = after[1] - before[1]
        kept.append(runs + (f"; {docs} document(s) read so far stay in {proj.path}" if docs else ""))
    return "interrupted: " + ("; ".join(kept) or "nothing written")


def _report(outcome: Any, quiet: bool, project: Any, learning_runs: bool, began: float) -> None:
    """Print what the run did: learned runs, files left out or skipped, warnings, the summary."""
    import time

    result = outcome.run
    if outcome.tuning_note and not quiet:
        typer.echo(f"note: {outcome.tuning_note}", err=True)
    for learned, run in outcome.learned:
        if learned is None:
            if run is not None and not quiet:
                typer.echo(f"run {run.project_run}: the codebook alone, for coders with no decisions yet",
                           err=True)
            continue
        for warning in learned.warnings:
            typer.echo(f"warning: {warning}", err=True)
        if run is not None and not quiet:
            typer.echo(f"run {run.project_run}: learned from {' + '.join(learned.scope.coders)} "
                       f"({learned.decisions} decisions, {learned.suggester.learning_used} model "
                       f"v{learned.version})", err=True)
    if learning_runs and not quiet:
        runs = [str(run.project_run) for _, run in outcome.learned if run is not None]
        typer.echo(f"qcode suggest --learn: {len(runs)} run(s) ({', '.join(runs)}) in "
                   f"{time.perf_counter() - began:.1f} s in all", err=True)
    _report_left_out(result.left_out_files)
    for file, reason in result.skipped_files:
        reason = str(reason)
        typer.echo(f"warning: skipped {reason if str(file) in reason else f'{file}: {reason}'}", err=True)
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    advice = result.threshold_warning()
    if advice is not None:
        typer.echo(f"warning: {advice}", err=True)
    if result.project_report is not None:
        changed = result.project_report.get("changed", [])
        for doc_id in changed:
            typer.echo(f"warning: {doc_id} changed since it was last added to {project}; "
                       "earlier decisions stay attached to the earlier text", err=True)
    if not quiet:
        _summary(result)


def _learning_line(who: str, decisions: int) -> None:
    """A plain line before each coder's learning: it shows when stderr is a file too (the bar does not)."""
    typer.echo(f"learning from {who} ({decisions} decisions)...", err=True)


class _Progress:
    """The progress bar's callbacks: files read, segments queued and embedded, tuning, Dask shards."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self.task: Any = None
        self.queued = 0
        self.tuning_task: Any = None
        if bar is not None:  # one-time set-up steps (the ONNX graph build) say so, on their own line
            logging.getLogger("qcode.embed").addHandler(_ConsoleHandler(bar.console))
            logging.getLogger("qcode.embed").setLevel(logging.INFO)

    def on_start(self, files: int) -> None:
        if self.bar is not None:  # the bar counts segments embedded; their total grows as files are read
            self.task = self.bar.add_task(f"reading {files} file(s)", total=None)

    def on_document(self, doc: Any) -> None:
        if self.bar is not None:
            self.bar.update(self.task, description=f"{doc.id[:40]}")

    def on_queued(self, n: int) -> None:
        self.queued += n
        if self.bar is not None:
            self.bar.update(self.task, total=self.queued)

    def on_embedded(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, advance=n)

    def on_tuning(self, done: int, total: int) -> None:
        if self.bar is not None:  # training the codebook-tuned model, when it is not cached yet
            if self.tuning_task is None:
                self.tuning_task = self.bar.add_task("tuning the model to the codebook (once)", total=total)
            self.bar.update(self.tuning_task, completed=done, visible=done < total)

    def on_shard(self, done: int, total: int | None) -> None:
        if self.bar is not None:
            if self.task is None:
                self.task = self.bar.add_task("shards", total=None)
            self.bar.update(self.task, completed=done, total=total)


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


class _ConsoleHandler(logging.Handler):
    """Log records printed through the progress bar's console, so they land above the bar, not glued to it."""

    def __init__(self, console) -> None:
        super().__init__()
        self.console = console

    def emit(self, record) -> None:
        self.console.print(f"qcode: {record.getMessage()}", highlight=False, soft_wrap=True)


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    transient=True)


#: At most this many left-out files are named one by one (all are in the run record).
_LEFT_OUT_SHOWN = 10


def _report_left_out(left_out: list[tuple[str, str]]) -> None:
    for _, reason in left_out[:_LEFT_OUT_SHOWN]:
        typer.echo(f"note: left out {reason}", err=True)
    if len(left_out) > _LEFT_OUT_SHOWN:
        typer.echo(f"note: ... and {len(left_out) - _LEFT_OUT_SHOWN} more files left out "
                   "(listed under left_out_files in the run record)", err=True)


def _skipped_line(result) -> str:
    """'4 (unreadable 1, unsupported type 1, qcode output 2)': files not read, by reason."""
    kinds = {"unreadable": len(result.skipped_files), "unsupported type": 0, "qcode output": 0}
    for _, reason in result.left_out_files:
        kinds["unsupported type" if "unsupported file type" in reason else "qcode output"] += 1
    total = sum(kinds.values())
    detail = ", ".join(f"{kind} {n}" for kind, n in kinds.items() if n)
    return f"{total} ({detail})" if total else "0"


def _summary(result, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console(stderr=False, highlight=False)
    table = Table(title=f"qcode suggest: run {result.run_id}", show_header=False)
    table.add_row("documents", str(result.documents))
    table.add_row("files skipped", _skipped_line(result))
    table.add_row("segments", str(result.segments))
    coded = result.suggested_segments - result.without_suggestion - getattr(result, "abstained", 0)
    table.add_row("ranked (interviewer turns left out)", f"{result.suggested_segments} ({result.skipped_interviewer})")
    table.add_row("given at least one code", str(coded))
    if result.without_suggestion:
        table.add_row("no code above threshold", str(result.without_suggestion))
    if getattr(result, "abstained", 0):
        table.add_row("no code (greetings, thanks, procedure)", str(result.abstained))
    if result.best_scores.count:
        table.add_row("best score per segment", result.best_scores.describe())
    model = result.record["model"]
    table.add_row("model", f"{model.get('name')} [{model.get('backend')}] sha256 {str(model.get('weights_sha256'))[:12]}")
    table.add_row("codebook", f"{result.record['codebook']['name']} {result.record['codebook']['version']}")
    table.add_row("time", f"{result.seconds:.1f} s")
    if result.out is not None:
        table.add_row("written", f"{result.out} (+ .run.json)")
    if result.project_report is not None:
        rep = result.project_report
        table.add_row("project run", f"{result.project_run} (documents new {len(rep.get('new', []))}, "
                      f"changed {len(rep.get('changed', []))}, unchanged {len(rep.get('unchanged', []))})")
    console.print(table)
    if result.top_codes:
        top = Table(title="Top codes (rank 1)")
        top.add_column("code")
        top.add_column("segments", justify="right")
        for name, n in result.top_codes.most_common(8):
            top.add_row(name, str(n))
        console.print(top)
