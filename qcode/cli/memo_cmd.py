"""``qcode memo``: write, edit and read memos on the project, a document, a code, a case or a passage."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..project.ref import ProjectRef, project_ref
from .app import app
from .cases_cmd import echo_frame

memo_app = typer.Typer(help="Memos on the project, a document, a code, a case or a passage; every edit is kept.",
                       no_args_is_help=True)
app.add_typer(memo_app, name="memo")

_ON_HELP = ("What the memo is about: project, or KIND:ID with KIND document, code, case or passage "
            "(a segment id), e.g. code:funding.")
_TEXT_HELP = "The memo's text."
_FILE_HELP = "Read the memo's text from this UTF-8 file instead."
_AUTHOR_HELP = "Who writes (on a team server, your login)."


def _text(text: Optional[str], file: Optional[Path]) -> str:
    from ..errors import InputError

    if (text is None) == (file is None):
        raise InputError("give the memo's text with --text or --file (one of them)")
    if file is None:
        return str(text)
    try:
        return file.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{file}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise InputError(f"{file}: cannot read ({exc.strerror or exc})") from None


@memo_app.command("add")
def add(
    project: ProjectRef = typer.Argument(..., parser=project_ref,
                                         help="The project folder (or its postgresql:// URL)."),
    on: str = typer.Option(..., "--on", help=_ON_HELP),
    text: Optional[str] = typer.Option(None, "--text", help=_TEXT_HELP),
    file: Optional[Path] = typer.Option(None, "--file", help=_FILE_HELP),
    author: Optional[str] = typer.Option(None, "--author", "--coder", help=_AUTHOR_HELP),
) -> None:
    """Write a new memo; prints its id.

    Example: qcode memo add my-study --on code:funding --text "Grants vs budgets?" --author alice
    """
    from ..project import open_project
    from ..project.memos import parse_target

    kind, target = parse_target(on)
    memo = open_project(project.target).add_memo(kind, target, _text(text, file), author)
    typer.echo(f"memo {memo} on {on}")


@memo_app.command("edit")
def edit(
    project: ProjectRef = typer.Argument(..., parser=project_ref,
                                         help="The project folder (or its postgresql:// URL)."),
    memo: int = typer.Argument(..., help="The memo's id (`qcode memo list` shows them)."),
    text: Optional[str] = typer.Option(None, "--text", help="The memo's new text."),
    file: Optional[Path] = typer.Option(None, "--file", help=_FILE_HELP),
    author: Optional[str] = typer.Option(None, "--author", "--coder", help=_AUTHOR_HELP),
) -> None:
    """Write a new version of a memo (the earlier versions are kept: `qcode memo history`).

    Example: qcode memo edit my-study 3 --text "Grants and budgets: one code." --author alice
    """
    from ..project import open_project

    version = open_project(project.target).edit_memo(memo, _text(text, file), author)
    typer.echo(f"memo {memo} is now at version {version}")


@memo_app.command("list")
def list_memos(
    project: ProjectRef = typer.Argument(..., parser=project_ref,
                                         help="The project folder (or its postgresql:// URL)."),
    on: Optional[str] = typer.Option(None, "--on", help="Only memos on this: project, a KIND (e.g. code) or "
                                                        "KIND:ID (e.g. code:funding)."),
) -> None:
    """List the memos (the latest version of each).

    Example: qcode memo list my-study --on code
    """
    from ..project import open_project
    from ..project.memos import MEMO_TARGETS, parse_target

    kind, target = (None, None)
    if on is not None:
        kind, target = (on.strip().lower(), None) if on.strip().lower() in MEMO_TARGETS else parse_target(on)
    memos = open_project(project.target, readonly=True).memos(kind, target)
    echo_frame(memos[["memo_id", "target_kind", "target_id", "version", "author", "time", "text"]], "no memos")


@memo_app.command("history")
def history(
    project: ProjectRef = typer.Argument(..., parser=project_ref,
                                         help="The project folder (or its postgresql:// URL)."),
    memo: int = typer.Argument(..., help="The memo's id."),
) -> None:
    """Every version of a memo, oldest first.

    Example: qcode memo history my-study 3
    """
    from ..project import open_project

    versions = open_project(project.target, readonly=True).memo_history(memo)
    echo_frame(versions[["version", "author", "time", "text"]], "no versions")
