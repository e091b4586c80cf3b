"""The Typer application, its sub-groups, and the error boundary."""

from __future__ import annotations

import sys

import typer

app = typer.Typer(
    name="qcode",
    help="NLP-assisted qualitative coding: segment transcripts, suggest codes, review, measure agreement.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
codebook_app = typer.Typer(help="List, show, import and export codebooks.", no_args_is_help=True)
app.add_typer(codebook_app, name="codebook")


def fail(message: str, code: int = 2) -> "typer.Exit":
    """Print a one-line error to stderr and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def main() -> None:
    """Entry point: run the app, turning user errors into one line and a non-zero exit."""
    from ..errors import QcodeError

    try:
        app(standalone_mode=False)
    except QcodeError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except Exception as exc:  # click usage errors come through here in non-standalone mode
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise


# Register commands (each module only imports typer at import time).
from . import codebook_cmd, suggest_cmd, project_cmd, agree_cmd, interchange_cmd  # noqa: E402,F401
