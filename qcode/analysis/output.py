"""Analysis tables written to .csv, .xlsx, .md or .docx, each saying whose codings were counted.

- ``.csv``: a first line ``# codings counted: ...``, then the table (read it
  with ``pandas.read_csv(path, skiprows=1)`` or R's ``read.csv(path, skip = 1)``);
  text cells that a spreadsheet would run as a formula get a leading ``'``
  (:func:`qcode.safetext.neutralise_cell`, as every qcode export);
- ``.xlsx``: the table on the first sheet, the statement on a sheet ``about``;
  cells are never formulas;
- ``.md``: the statement, then a table; ``|``, ``<``, ``>`` and ``&`` escaped;
- ``.docx``: the statement and a Word table.

Each format is one entry of :data:`TABLE_WRITERS`; files are published atomically.

>>> import pandas as pd, tempfile, pathlib
>>> frame = pd.DataFrame({"code": ["=1+1"], "n": [2]})
>>> out = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
>>> _ = write_table(frame, out, "codings counted: ann's")
>>> out.read_text().splitlines()
["# codings counted: ann's", 'code,n', "'=1+1,2"]
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .._io import atomic_write_bytes
from ..errors import AnalysisError
from ..formats import frame_to_bytes, rows_to_bytes
from ..safetext import for_terminal, neutralise_cell


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _cell_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value)


def _csv(frame: pd.DataFrame, statement: str) -> bytes:
    guarded = frame.set_axis([neutralise_cell(str(c)) for c in frame.columns], axis=1)  # headers are user text too
    return ("# " + _one_line(statement) + "\n").encode("utf-8") + frame_to_bytes(guarded, ".csv")


def _xlsx(frame: pd.DataFrame, statement: str) -> bytes:
    from openpyxl import load_workbook

    clean = frame.astype(object).where(frame.notna(), None)
    data = rows_to_bytes([str(c) for c in clean.columns], clean.values.tolist(), ".xlsx", sheet="table")
    book = load_workbook(io.BytesIO(data))
    about = book.create_sheet("about")
    about.append(["codings counted"])
    cell = about.cell(row=2, column=1, value=_one_line(statement))
    cell.data_type = "s"
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def markdown_cell(value: Any) -> str:
    """A value as the text of one Markdown table cell: one line, ``|`` and HTML characters escaped.

    >>> markdown_cell("a|b <script>")
    'a\\\\|b &lt;script&gt;'
    """
    text = _one_line(_cell_text(value))
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|"))


def markdown_table(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(markdown_cell(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(markdown_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def _md(frame: pd.DataFrame, statement: str) -> bytes:
    return (f"_{markdown_cell(statement)}_\n\n" + markdown_table(frame) + "\n").encode("utf-8")


def docx_text(value: Any) -> str:
    """Text Word can hold: control characters shown as escapes (``\\x1b``) instead of breaking the file."""
    return for_terminal(_cell_text(value))


def add_docx_table(document: Any, frame: pd.DataFrame, style: str = "Table Grid") -> Any:
    """``frame`` appended to a python-docx ``document`` as a table with a header row."""
    table = document.add_table(rows=1, cols=len(frame.columns))
    table.style = style
    for cell, name in zip(table.rows[0].cells, frame.columns):
        cell.text = docx_text(name)
    for row in frame.itertuples(index=False):
        cells = table.add_row().cells
        for cell, value in zip(cells, row):
            cell.text = docx_text(value)
    return table


def _docx(frame: pd.DataFrame, statement: str) -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph(docx_text(_one_line(statement)))
    add_docx_table(document, frame)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


#: suffix -> encoder(frame, statement) -> file bytes
TABLE_WRITERS: dict[str, Callable[[pd.DataFrame, str], bytes]] = {
    ".csv": _csv, ".xlsx": _xlsx, ".md": _md, ".docx": _docx,
}


def check_out(path: str | Path, allowed: Sequence[str] = tuple(TABLE_WRITERS)) -> Path:
    """``path`` if its suffix is one of ``allowed``, else an AnalysisError listing them (before any work)."""
    path = Path(path)
    if path.suffix.lower() not in allowed:
        raise AnalysisError(f"{path}: cannot write {path.suffix or 'a file without a suffix'!r}; "
                            f"use one of {', '.join(allowed)}")
    return path


def write_table(frame: pd.DataFrame, path: str | Path, statement: str,
                allowed: Sequence[str] = tuple(TABLE_WRITERS)) -> Path:
    """Write ``frame`` to ``path`` in the format of its suffix, with ``statement`` (whose codings) in it."""
    path = check_out(path, allowed)
    atomic_write_bytes(path, TABLE_WRITERS[path.suffix.lower()](frame, statement))
    return path


__all__ = ["TABLE_WRITERS", "add_docx_table", "check_out", "docx_text", "markdown_cell", "markdown_table",
           "write_table"]
