"""``qcode serve``: the web review page for several coders at once."""

from __future__ import annotations

from typing import Optional

import typer

from ..project.ref import ProjectRef, project_ref
from .app import app


@app.command("serve")
def serve(
    project: ProjectRef = typer.Argument(..., parser=project_ref, help="The project folder (a team project: the "
                                         "folder whose settings name its server)."),
    coder: list[str] = typer.Option([], "--coder", help="Make a link for this coder (repeatable); links made "
                                    "earlier are printed again."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (default: this computer only). "
                             "Another address serves the lab network, with a warning."),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="Port (0: any free port)."),
    order: str = typer.Option("document", "--order", help="document (reading order), random (fixed per coder) or active (the "
                               "decisions that teach the model most first; only with --no-blind)."),
    blind: bool = typer.Option(True, "--blind/--no-blind", help="Coders see no scores and no other coder's "
                               "decisions (default). The lead's link is never blind."),
    lead: str = typer.Option("lead", "--lead", help="Name shown on the lead's link (made once per project)."),
    adjudicator: str = typer.Option("adjudicator", "--adjudicator", help="Coder name the lead's adjudications "
                                    "are recorded under."),
    run: Optional[int] = typer.Option(None, "--run", help="Suggestion run to review (default: the latest; "
                                      "blind coders get the latest that no other coder's decisions trained)."),
    top_k: int = typer.Option(5, "--top-k", min=1, max=9, help="Suggestions shown per segment."),
    include_interviewer: bool = typer.Option(False, "--include-interviewer", help="Also review interviewer turns."),
) -> None:
    """Serve the review page: one secret link per coder, and one for the project lead.

    Example: qcode serve my-study --coder ana --coder ben
    """
    from ..errors import InputError

    try:
        import jinja2  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401

        from ..web.server import prepare
        from ..web.server import run as run_server
    except ImportError as exc:
        raise InputError(f"qcode serve needs the web extra ({exc.name} is missing): "
                         "pip install 'qcode[web]'") from None
    folder = project.require_folder("qcode serve keeps each coder's secret link in the project's folder; serve the "
                                    "folder whose settings name this server (qcode init FOLDER --store URL makes one)")
    plan = prepare(folder, coders=coder, lead=lead, host=host, port=port, order=order, blind=blind, run=run,
                   top_k=top_k, include_interviewer=include_interviewer, adjudicator=adjudicator)
    run_server(plan)
