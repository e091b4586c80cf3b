"""Project commands: ``qcode init``, ``decide``, ``undo``, ``review``, ``export``, ``status``,
``check`` and ``qcode codebook use``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..project.ref import ProjectRef, project_ref
from .app import app, codebook_app


def _resolve_code(project, code: str) -> str:
    """A code id from an id or a (case-insensitive) name of the project's codebook."""
    from ..errors import ProjectError

    cb = project.codebook
    found = cb.find(code)
    if found is None:
        raise ProjectError(f"codebook {cb.name!r} has no code {code!r} (see `qcode codebook show`)")
    return found.id


@app.command("init")
def init(
    project: ProjectRef = typer.Argument(..., parser=project_ref,
                                         help="Folder to create the project in, or a postgresql:// URL."),
    codebook: Optional[str] = typer.Option(None, "--codebook", "-c",
                                           help="Shipped codebook name or a .yaml/.json/.qdc file."),
    store: Optional[str] = typer.Option(None, "--store", help="Keep the data on this PostgreSQL server "
                                        "(postgresql:// URL); the folder's settings name it."),
    force: bool = typer.Option(False, "--force", help="Make a folder that already holds other files a project "
                               "(refused otherwise)."),
) -> None:
    """Create a project: a folder with one SQLite database of documents, suggestions and decisions.

    The folder must be new or empty (or pass --force).

    Example: qcode init my-study --codebook mcn-sst
    """
    from ..project import init_project

    proj = init_project(project.target, codebook=codebook, store=store, force=force)
    cb = proj.codebook_or_none()
    suffix = f" with codebook {cb.name} (version {cb.version})" if cb is not None else ""
    typer.echo(f"created project {proj.db_path if store is None and project.is_url else project}{suffix}")


@app.command("decide")
def decide(
    project: ProjectRef = typer.Argument(..., parser=project_ref, help="The project folder or its postgresql:// URL."),
    coder: str = typer.Option(..., "--coder", help="Who decides."),
    code: Optional[str] = typer.Option(None, "--code", help="Code id or name (optional with --skip)."),
    segment: Optional[str] = typer.Option(None, "--segment", help="Segment id (list them with `qcode export PROJECT --what segments --out s.csv`)."),
    doc: Optional[str] = typer.Option(None, "--doc", help="Instead of --segment: a document id, with --start/--end."),
    start: Optional[int] = typer.Option(None, "--start", help="With --doc: first character of the span."),
    end: Optional[int] = typer.Option(None, "--end", help="With --doc: character after the span."),
    accept: bool = typer.Option(False, "--accept", help="The code applies."),
    reject: bool = typer.Option(False, "--reject", help="The code does not apply."),
    skip: bool = typer.Option(False, "--skip", help="No decision now."),
    note: Optional[str] = typer.Option(None, "--note", help="A memo kept with the decision."),
    run: Optional[int] = typer.Option(None, "--run", help="The suggestion run this decision answers."),
    allow_partial: bool = typer.Option(False, "--allow-partial", help="With --doc: record a span that cuts a word, "
                                       "crosses turns or takes in a speaker label (refused otherwise)."),
) -> None:
    """Record one coding decision (durable when the command returns) and say what was recorded.

    Prints `recorded event N: accept CODE for "TEXT"`. A --doc span must be whole
    words inside one speaker turn unless --allow-partial is given.

    Example: qcode decide my-study --coder alice --segment s-1a2b3c4d5e6f --code funding --accept
    """
    from ..errors import ProjectError
    from ..project import open_project

    chosen = [name for name, flag in (("accept", accept), ("reject", reject), ("skip", skip)) if flag]
    if len(chosen) != 1:
        raise ProjectError("give exactly one of --accept, --reject, --skip")
    verdict = chosen[0]
    if (segment is None) == (doc is None):
        raise ProjectError("give either --segment ID, or --doc ID with --start and --end")
    proj = open_project(project.target)
    code_id = _resolve_code(proj, code) if code is not None else None
    if segment is not None:
        if start is not None or end is not None:
            raise ProjectError("--start/--end go with --doc, not with --segment")
        event = proj.decide(coder, segment, code_id, verdict, note=note, run_id=run)
    else:
        assert doc is not None
        if start is None or end is None:
            raise ProjectError(f"--doc {doc}: give both --start and --end")
        if code_id is None:
            raise ProjectError("a span decision needs --code")
        _check_span(proj, doc, start, end, allow_partial)
        event = proj.code_span(coder, doc, start, end, code_id, verdict=verdict, note=note)
    typer.echo(_recorded(proj.event(event)))


def _check_span(proj, doc: str, start: int, end: int, allow_partial: bool) -> None:
    from ..errors import ProjectError
    from ..project.validation import span_problems

    problems = span_problems(proj.document(doc), start, end)
    if not problems:
        return
    what = f"span {start}:{end} of {doc}: {'; '.join(problems)}"
    if not allow_partial:
        raise ProjectError(f"{what} (give --allow-partial to record it as it is)")
    typer.echo(f"warning: {what} (recorded as given: --allow-partial)", err=True)


def _recorded(event: dict, width: int = 60) -> str:
    """'recorded event 26: accept funding for "Money is tight..."' (the text on one line, shortened)."""
    from ..safetext import for_terminal

    text = " ".join(str(event.get("text") or "").split())
    if len(text) > width:
        text = text[:width - 1].rstrip() + "…"
    code = f" {event['code_id']}" if event.get("code_id") else ""
    return for_terminal(f'recorded event {event["event_id"]}: {event["verdict"]}{code} for "{text}"', one_line=True)


@app.command("undo")
def undo(
    project: ProjectRef = typer.Argument(..., parser=project_ref, help="The project folder or its postgresql:// URL."),
    coder: str = typer.Option(..., "--coder", help="Whose latest decision to undo."),
) -> None:
    """Undo a coder's latest decision (appends an undo event; nothing is deleted).

    Example: qcode undo my-study --coder alice
    """
    from ..project import open_project

    proj = open_project(project.target)
    proj.require_coder(coder.strip())
    typer.echo(str(proj.undo(coder)))


@app.command("review")
def review(
    project: ProjectRef = typer.Argument(..., parser=project_ref, help="The project folder or its postgresql:// URL."),
    coder: str = typer.Option(..., "--coder", help="Who is reviewing (a new name starts a new coder)."),
    order: str = typer.Option("document", "--order", help="document (reading order), uncertain (smallest "
                                                          "margin between the top two scores first) or active "
                                                          "(the decisions that teach the model most first); "
                                                          "uncertain and active only with --no-blind."),
    blind: bool = typer.Option(True, "--blind/--no-blind", help="Hide other coders' decisions (default: hidden)."),
    hide_scores: bool = typer.Option(False, "--hide-scores", help="Do not show suggestion scores."),
    run: Optional[int] = typer.Option(None, "--run", help="Suggestion run to review (default: the latest)."),
    top_k: int = typer.Option(5, "--top-k", min=1, max=9, help="Suggestions shown per segment."),
    include_interviewer: bool = typer.Option(False, "--include-interviewer",
                                             help="Also review interviewer turns."),
) -> None:
    """Review suggestions segment by segment in the terminal (keys: a 1-9 r s u c n ? q).

    Example: qcode review my-study --coder bob --hide-scores
    """
    from ..project import open_project
    from ..review.terminal import run_review

    proj = open_project(project.target)
    if not proj.readonly:  # read-only: the screen shows each decision as not saved
        proj.check_writable()  # a damaged project is refused before the screen opens
    run_review(proj, coder, order=order, blind=blind, hide_scores=hide_scores, run=run, top_k=top_k,
               include_interviewer=include_interviewer)


@app.command("export")
def export(
    project: ProjectRef = typer.Argument(..., parser=project_ref, help="The project folder or its postgresql:// URL."),
    out: Path = typer.Option(..., "--out", "-o", help="Output file: .csv, .jsonl, .parquet (or .qdpx)."),
    what: str = typer.Option("codings", "--what", help="decisions (the full log), codings (current codings), "
                             "segments (ids, offsets, text) or suggestions (the latest run)."),
    coder: Optional[str] = typer.Option(None, "--coder", help="Only this coder's rows."),
    shape: Optional[str] = typer.Option(None, "--shape", help="Codings as a spreadsheet: long (one row a coded "
                                        "passage) or wide (one 0/1 column per code); .xlsx defaults to long."),
) -> None:
    """Export the decision log or the current codings; the file is written atomically.

    Example: qcode export my-study --what codings --out codings.csv
    Example: qcode export my-study --out codings.xlsx --shape wide
    """
    from ..project import open_project
    from ..project.bridge import export_file

    summary = export_file(open_project(project.target), out, what=what, coder=coder, shape=shape)
    for warning in summary.get("warnings", []):
        typer.echo(f"warning: {warning}", err=True)
    if summary["kind"] == "qdpx":
        counts = ", ".join(f"{summary[k]} {k}" for k in ("sources", "codes", "users", "codings", "cases", "memos")
                           if k in summary and (summary[k] or k not in ("cases", "memos")))
        typer.echo(f"wrote {out}" + (f" ({counts})" if counts else ""))
    elif summary["kind"] == "spreadsheet":
        typer.echo(f"wrote the current codings ({summary['shape']} shape) to {out}")
    else:
        typer.echo(f"wrote {summary['rows']} {what} rows to {out}")


@app.command("status")
def status(
    project: ProjectRef = typer.Argument(..., parser=project_ref, help="The project folder or its postgresql:// URL."),
) -> None:
    """Print what a project holds: documents, segments, runs, and decisions per coder.

    Example: qcode status my-study
    """
    from ..project import open_project

    info = open_project(project.target).status()
    cb = info["codebook"]
    typer.echo(f"project    {info['path']} (schema {info['schema_version']})")
    if cb:
        from ..errors import ProjectError

        try:
            codable = len(open_project(project.target).codebook.leaves())
            detail = f"{cb['codes']} codes, {codable} codable"
        except ProjectError:
            detail = f"{cb['codes']} codes"
        typer.echo(f"codebook   {cb['name']} version {cb['version']}, {detail}")
    else:
        typer.echo("codebook   none")
    versions = info["document_versions"] - info["documents"]
    typer.echo(f"documents  {info['documents']}" + (f" ({versions} older versions kept)" if versions else ""))
    typer.echo(f"segments   {info['segments']}")
    typer.echo(f"runs       {info['runs']} ({info['suggestions']} suggestions)")
    typer.echo(f"events     {info['events']}")
    if info.get("cases") or info.get("memos"):
        typer.echo(f"cases      {info['cases']} (`qcode cases list`), memos {info['memos']}")
    for name, counts in info["coders"].items():
        typer.echo(f"  {name}: {counts['decisions']} decisions, {counts['undos']} undos, "
                   f"{counts['codings']} current codings")


@app.command("check")
def check(
    project: ProjectRef = typer.Argument(..., parser=project_ref, help="The project folder or its postgresql:// URL."),
) -> None:
    """Check a project: SQLite's integrity_check plus the decision log's own rules; one line per problem.

    Exits 0 when the project is sound, 1 when it found damage (see the docs' "Damaged projects"
    for what to do then).

    Example: qcode check my-study
    """
    from ..project.integrity import check_project
    from ..safetext import for_terminal

    report = check_project(project.target)
    for problem in report.problems:
        typer.echo(for_terminal(f"{report.path}: {problem}", one_line=True))
    if report.problems:
        typer.echo(f"error: {report.path}: {len(report.problems)} problem(s) found; `qcode export` saves what can "
                   "still be read (docs: Hostile input, Damaged projects)", err=True)
        raise typer.Exit(1)
    counts = ", ".join(f"{n} {name}" for name, n in report.counts.items())
    typer.echo(f"{report.path}: ok ({counts}; checked in {report.seconds:.2f} s)")


@codebook_app.command("use")
def use_codebook(
    project: ProjectRef = typer.Argument(..., parser=project_ref, help="The project folder or its postgresql:// URL."),
    codebook: str = typer.Argument(..., help="Shipped codebook name or a .yaml/.json/.qdc file."),
    migrate: list[str] = typer.Option([], "--migrate", help="OLD=NEW moves decisions of a dropped code to NEW; "
                                                            "OLD= drops them from current codings. Repeatable."),
) -> None:
    """Make a codebook the project's current one; refuses to drop codes carrying decisions unless migrated.

    Example: qcode codebook use my-study new-codes.yaml --migrate funding=money
    """
    from ..errors import ProjectError
    from ..project import open_project

    mapping: dict[str, str | None] = {}
    for item in migrate:
        if "=" not in item or not item.split("=", 1)[0].strip():
            raise ProjectError(f"--migrate {item!r}: expected OLD=NEW or OLD=")
        old, new = (part.strip() for part in item.split("=", 1))
        mapping[old] = new or None
    version = open_project(project.target).set_codebook(codebook, migrate=mapping)
    typer.echo(f"project {project} now uses codebook version {version}")
