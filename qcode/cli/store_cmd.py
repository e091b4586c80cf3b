"""``qcode project copy`` (between SQLite and PostgreSQL stores) and ``qcode project grant``."""

from __future__ import annotations

import typer

from ..project.ref import ProjectRef, project_ref
from .app import app

project_app = typer.Typer(help="Copy a project between stores; let coders into a team project.",
                          no_args_is_help=True)
app.add_typer(project_app, name="project")


@project_app.command("copy")
def copy(
    source: ProjectRef = typer.Argument(..., parser=project_ref,
                                        help="The project to copy: a folder or a postgresql:// URL."),
    destination: ProjectRef = typer.Argument(..., parser=project_ref, help="Where to: a new folder, a postgresql:// URL of an empty "
                                                "database, or an empty project."),
) -> None:
    """Copy a project losslessly (same event ids, times, coders, notes); the copy is checked before it commits.

    Example: qcode project copy my-study postgresql://lead@db.example/study
    """
    from ..project.copy import copy_project

    summary = copy_project(source.target, destination.target)
    rows = summary["rows"]
    typer.echo(f"copied {summary['source']} to {summary['destination']}: {rows['documents']} document versions, "
               f"{rows['segments']} segments, {rows['runs']} runs, {rows['case_events']} case attribute events, "
               f"{rows['memo_events']} memo versions, {rows['events']} events (verified equal)")


@project_app.command("grant")
def grant(
    project: ProjectRef = typer.Argument(..., parser=project_ref,
                                         help="A PostgreSQL project: its folder or postgresql:// URL."),
    role: str = typer.Argument(..., help="The coder's database role (their login)."),
) -> None:
    """Let a coder's database role read a team project and record decisions as themselves (owner only).

    Example: qcode project grant postgresql://lead@db.example/study bob
    """
    from ..errors import ProjectError
    from ..project import open_project
    from ..project.postgres import PostgresProject

    proj = open_project(project.target)
    if not isinstance(proj, PostgresProject):
        raise ProjectError(f"{project}: a SQLite project has no database roles; share the folder instead")
    proj.grant_coder(role)
    typer.echo(f"role {role} may now read {proj.db_path} and record its own decisions")
