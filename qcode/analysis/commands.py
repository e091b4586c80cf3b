"""What each ``qcode`` analysis command does, one function each: open, compute, write, say what was counted.

The command line parses its options and calls one of these; each checks the
output's suffix before any work and publishes the file atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .cooccur import cooccurrence
from .matrix import matrix
from .output import check_out, write_table
from .quotes import quotes
from .saturation import saturation
from .selection import ADJUDICATOR

if TYPE_CHECKING:
    from ..embed import Embedder
    from ..project import Project


def _open(project: Project | str | Path) -> Project:
    from ..project import open_project

    return open_project(project) if isinstance(project, (str, Path)) else project


def export_matrix(project: Project | str | Path, out: str | Path, by: str, count: str = "cases",
                  coders: Sequence[str] | None = None, adjudicator: str = ADJUDICATOR) -> pd.DataFrame:
    """``qcode matrix``: :func:`qcode.analysis.matrix` written to ``out`` (.csv, .xlsx, .md)."""
    path = check_out(out, (".csv", ".xlsx", ".md"))
    frame = matrix(_open(project), by, count, coders, adjudicator=adjudicator)
    write_table(frame, path, frame.attrs["codings"])
    return frame


def export_cooccurrence(project: Project | str | Path, out: str | Path, level: str = "segment",
                        coders: Sequence[str] | None = None, adjudicator: str = ADJUDICATOR) -> pd.DataFrame:
    """``qcode cooccur``: :func:`qcode.analysis.cooccurrence` written to ``out`` (.csv, .xlsx, .md)."""
    path = check_out(out, (".csv", ".xlsx", ".md"))
    frame = cooccurrence(_open(project), level, coders, adjudicator=adjudicator)
    write_table(frame, path, f"{frame.attrs['codings']}; unit: {level}")
    return frame


def export_quotes(project: Project | str | Path, out: str | Path, codes: Sequence[str] | None = None,
                  per_code: int = 3, coders: Sequence[str] | None = None,
                  embedder: Embedder | None = None, adjudicator: str = ADJUDICATOR) -> pd.DataFrame:
    """``qcode quotes``: :func:`qcode.analysis.quotes` written to ``out`` (.csv, .xlsx, .docx, .md)."""
    path = check_out(out)
    frame = quotes(_open(project), codes or None, per_code, coders, embedder=embedder, adjudicator=adjudicator)
    model = frame.attrs.get("model", {}).get("name", "")
    write_table(frame, path, f"{frame.attrs['codings']}; quotes picked with {model}")
    return frame


def export_saturation(project: Project | str | Path, out: str | Path,
                      coders: Sequence[str] | None = None, adjudicator: str = ADJUDICATOR) -> pd.DataFrame:
    """``qcode saturation``: :func:`qcode.analysis.saturation` written to ``out`` (.csv, .xlsx, .md)."""
    path = check_out(out, (".csv", ".xlsx", ".md"))
    frame = saturation(_open(project), coders, adjudicator=adjudicator)
    write_table(frame, path, f"{frame.attrs['codings']}; documents {frame.attrs['order']}")
    return frame


__all__ = ["export_cooccurrence", "export_matrix", "export_quotes", "export_saturation"]
