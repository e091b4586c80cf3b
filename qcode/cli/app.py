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


def _show_version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"qcode {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                       help="Print qcode's version and exit.")) -> None:
    """NLP-assisted qualitative coding: segment transcripts, suggest codes, review, measure agreement."""


def fail(message: str, code: int = 2) -> "typer.Exit":
    """Print a one-line error to stderr and return the Exit to raise."""
    from ..safetext import for_terminal

    typer.echo(f"error: {for_terminal(message, one_line=True)}", err=True)
    return typer.Exit(code)


def main() -> None:
    """Entry point: run the app, turning user errors into one line and a non-zero exit."""
    from ..errors import QcodeError

    try:
        app(standalone_mode=False, prog_name="qcode")
    except QcodeError as exc:
        from ..safetext import for_terminal

        typer.echo(f"error: {for_terminal(str(exc), one_line=True)}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except Exception as exc:  # usage errors of the click that typer bundles (bad option, missing argument)
        show, exit_code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(exit_code, int):
            show()
            sys.exit(exit_code)
        raise


# Register commands (each module only imports typer at import time).
from . import codebook_cmd, suggest_cmd, project_cmd, agree_cmd, interchange_cmd, serve_cmd, store_cmd  # noqa: E402,F401
