"""The Typer application, its sub-groups, and the error boundary."""

from __future__ import annotations

import sys
import warnings

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

#: Metavars of options whose name alone does not say what to type.
_OPTION_METAVARS = {"out": "FILE", "threshold": "SCORE", "as-of": "WHEN", "run": "RUN", "model-run": "RUN"}


class _ReadableArgument(TyperArgument):
    """An argument shown as ``PROJECT`` in usage and help (typer shows ``{project}`` and ``project <path>``)."""

    def _usage_display_name(self) -> str:
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return name + ("..." if self.nargs != 1 else "")

    def display_type_rich(self, ctx):
        return None


def _option_metavar(option: TyperOption) -> str | None:
    """``N`` for numbers, ``PROJECT``/``PATH`` for paths, else the option's name (``--coders CODERS``)."""
    desc = option.type_descriptor
    if option.is_flag or option.count or desc.is_choice or desc.is_datetime or desc.is_tuple:
        return None
    long = max(option.opts, key=len).lstrip("-")
    if long in _OPTION_METAVARS:
        return _OPTION_METAVARS[long]
    annotation = desc.annotation
    if annotation is int or (desc.is_ranged and desc.ranged_type_name == "int"):
        return "N"
    if annotation is float or desc.is_ranged:
        return "NUMBER"
    if desc.is_path:
        return "PROJECT" if long == "project" else "PATH"
    return long.upper().replace("-", "_")


def readable_metavars(command) -> None:
    """Name what to type in every usage line and help of ``command`` and its subcommands, in place."""
    for param in command.params:
        if param.metavar is not None:
            continue
        if isinstance(param, TyperArgument):
            param.metavar = str(param.name).upper()
            param.__class__ = _ReadableArgument
        elif isinstance(param, TyperOption):
            param.metavar = _option_metavar(param)
    for sub in getattr(command, "commands", {}).values():
        readable_metavars(sub)


class _ReadableGroup(TyperGroup):
    """The root group: its commands (built before it) get readable metavars."""

    def __init__(self, **attrs) -> None:
        super().__init__(**attrs)
        readable_metavars(self)


app = typer.Typer(
    name="qcode",
    cls=_ReadableGroup,
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


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line error to stderr and return the Exit to raise."""
    from ..safetext import for_terminal

    typer.echo(f"error: {for_terminal(message, one_line=True)}", err=True)
    return typer.Exit(code)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """qcode's own warnings as one ``warning: ...`` line on stderr; others as Python shows them."""
    from ..errors import QcodeWarning
    from ..safetext import for_terminal

    if issubclass(category, QcodeWarning):
        typer.echo(f"warning: {for_terminal(str(message), one_line=True)}", err=True)
    else:
        _python_show_warning(message, category, filename, lineno, file, line)


_python_show_warning = warnings.showwarning


def main() -> None:
    """Entry point: run the app, turning user errors into one line and a non-zero exit.

    An :class:`OSError` that no command turned into a :class:`~qcode.errors.QcodeError`
    (disk full, read-only folder) is also one line (:func:`qcode.errors.describe_os_error`).
    """
    from ..errors import QcodeError

    warnings.showwarning = _show_warning
    try:
        code = app(standalone_mode=False, prog_name="qcode")  # without standalone mode, click returns Exit's code
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except QcodeError as exc:
        from ..safetext import for_terminal

        typer.echo(f"error: {for_terminal(str(exc), one_line=True)}", err=True)
        sys.exit(exc.exit_code)
    except OSError as exc:
        from ..errors import describe_os_error
        from ..safetext import for_terminal

        typer.echo(f"error: {for_terminal(describe_os_error(exc), one_line=True)}", err=True)
        sys.exit(2)
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
from . import (  # noqa: E402,F401
    agree_cmd,
    analysis_cmd,
    cases_cmd,
    codebook_cmd,
    discover_cmd,
    interchange_cmd,
    learn_cmd,
    memo_cmd,
    project_cmd,
    serve_cmd,
    store_cmd,
    suggest_cmd,
)
