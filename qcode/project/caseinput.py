"""Reading a cases table: one row per case, its first column ``case``, the others attributes (pure checks).

A cases table is what a study team keeps anyway: a spreadsheet with one row
per participant (or per document) and columns such as ``phase``, ``org_type``,
``sector`` and ``role``. :func:`read_cases_table` reads it through the
project's table readers (:func:`qcode.formats.read_table`: ``.csv`` in UTF-8,
``.xlsx``, ``.jsonl``, ``.parquet``) and checks it, so that the store writes
either all of it or nothing:

* the first column is named ``case`` (case-insensitive);
* attribute names are unique, non-empty and not ``case`` or ``by``;
* a value is text (numbers and dates are written as text); an empty cell is
  "no value"; a cell that a spreadsheet would run as a formula (``=``, ``+``,
  ``@`` and so on at its start) is refused, since an attribute is a short
  label and such a cell is either a formula's text or an attack;
* one case on several rows is merged when the rows agree, refused when they
  give one attribute two values.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "cases.csv"
>>> _ = path.write_text("case,phase,sector\\nP01,1,NHS\\nP02,2,\\n", encoding="utf-8")
>>> table = read_cases_table(path)
>>> table.attributes, table.values["P02"]
(['phase', 'sector'], {'phase': '2', 'sector': None})
"""

from __future__ import annotations

import datetime as _dt
import difflib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError, QcodeWarning
from ..formats import read_table
from ..safetext import FORMULA_PREFIXES, escape_name

#: names a cases table may not give an attribute (they are columns of :meth:`Project.cases`)
RESERVED = ("case", "by")
#: longest attribute value, in characters (an attribute is a label, not a passage)
MAX_VALUE_CHARS = 1000
#: longest attribute name
MAX_NAME_CHARS = 200
#: an attribute with more distinct values than this is warned about: a matrix by it would be unreadable
MANY_VALUES = 1000


class ManyValuesWarning(QcodeWarning):
    """An attribute has so many distinct values that tables by it will be unreadable (an id or free text?)."""


@dataclass
class CasesTable:
    """A checked cases table: ``values[case][attribute]`` (None: no value), in the file's order."""

    path: str
    attributes: list[str]
    values: dict[str, dict[str, str | None]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)  # case -> first row it is on (1 = header)


def _bad(text: str) -> bool:
    return any(ord(ch) < 32 and ch not in "\t\n" or unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\t\n"
               for ch in text)


def check_attribute_name(name: Any, where: str = "") -> str:
    """An attribute name, NFC-normalised and stripped; InputError when it cannot name a column.

    >>> check_attribute_name(" org_type ")
    'org_type'
    """
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"{where}an attribute needs a name (got {name!r})")
    name = unicodedata.normalize("NFC", name).strip()
    if name.lower() in RESERVED:
        raise InputError(f"{where}{name!r} cannot be an attribute name ({' and '.join(RESERVED)} are the "
                         "cases table's own columns)")
    if len(name) > MAX_NAME_CHARS or _bad(name):
        raise InputError(f"{where}attribute name {escape_name(name[:60])!r} is too long or holds control characters")
    return name


def attribute_text(value: Any, where: str = "") -> str | None:
    """A cell as an attribute value: text, None for an empty cell; InputError for a formula or control text.

    >>> attribute_text(2.0), attribute_text("  hub "), attribute_text(""), attribute_text(-3)
    ('2', 'hub', None, '-3')
    >>> attribute_text("=HYPERLINK(\\"x\\")")
    Traceback (most recent call last):
    ...
    qcode.errors.InputError: '=HYPERLINK("x")' starts like a spreadsheet formula; an attribute value is a label: remove the leading '='
    """
    if value is None:
        return None
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        if value != value:  # NaN from a reader: an empty cell
            return None
        text = str(int(value)) if value.is_integer() else repr(value)
    elif isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        text = value.isoformat()
    elif isinstance(value, (int, str)):
        text = str(value)
    else:
        raise InputError(f"{where}a value of type {type(value).__name__} cannot be an attribute value")
    text = unicodedata.normalize("NFC", text).strip()
    if not text:
        return None
    if text[0] in FORMULA_PREFIXES and not _is_number(text) and text not in ("-", "+"):
        raise InputError(f"{where}{escape_name(text[:60])!r} starts like a spreadsheet formula; an attribute value "
                         f"is a label: remove the leading {text[0]!r}")
    if len(text) > MAX_VALUE_CHARS:
        raise InputError(f"{where}a value of {len(text)} characters is too long for an attribute "
                         f"(at most {MAX_VALUE_CHARS}; an attribute is a label, not a passage)")
    if _bad(text):
        raise InputError(f"{where}{escape_name(text[:60])!r} holds control characters")
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _xlsx_formulas(path: Path) -> list[tuple[int, str]]:
    """(row, column letter) of every formula cell of an ``.xlsx``'s first sheet (read as cached values elsewhere)."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        ws = book.worksheets[0]
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()
        found = []
        for number, row in enumerate(ws.iter_rows(), start=1):
            for cell in row:
                if getattr(cell, "data_type", None) == "f":
                    found.append((number, str(getattr(cell, "column_letter", "?"))))
        return found
    finally:
        book.close()


def read_cases_table(path: str | Path) -> CasesTable:
    """Read and check a cases table (see the module docstring); InputError naming the file and row if bad."""
    path = Path(path)
    header, rows = read_table(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        formulas = _xlsx_formulas(path)
        if formulas:
            at_row, column = formulas[0]
            raise InputError(f"{path}: cell {column}{at_row} is a formula; save the sheet with values only "
                             f"({len(formulas)} formula cell(s) in all)")
    names = [h if isinstance(h, str) else ("" if h is None else str(h)) for h in header]
    if not names or names[0].strip().lower() != "case":
        where = f" (column {names.index('case') + 1} is)" if "case" in [n.strip().lower() for n in names] else ""
        first = names[0] if names else ""
        raise InputError(f"{path}: the first column must be named 'case' (speaker labels as written in the "
                         f"transcripts, or document ids), found {escape_name(first[:60])!r}{where}")
    keep: list[int] = []
    attributes: list[str] = []
    for index, raw in enumerate(names[1:], start=1):
        if not raw.strip() and all(attribute_text_or_none(r, index) is None for r in rows):
            continue  # an empty, unnamed column (a spreadsheet's trailing cells)
        name = check_attribute_name(raw, f"{path}: column {index + 1}: ")
        if name in attributes:
            raise InputError(f"{path}: column {index + 1}: attribute {name!r} is named twice")
        attributes.append(name)
        keep.append(index)
    table = CasesTable(str(path), attributes)
    for number, row in enumerate(rows, start=2):
        where = f"{path}: row {number}: "
        cells = list(row) + [None] * (len(names) - len(row))
        case = attribute_text_or_none(cells, 0)
        values = {name: attribute_text(cells[i], f"{where}column {name!r}: ") for name, i in zip(attributes, keep)}
        if case is None:
            if any(v is not None for v in values.values()):
                raise InputError(f"{where}no case in the first column, but attribute values")
            continue
        case = check_case_name(cells[0], where)
        if case in table.values:
            _merge(table, case, values, number)
        else:
            table.values[case] = values
            table.rows[case] = number
    return table


def attribute_text_or_none(row: Sequence[Any], index: int) -> str | None:
    """The cell's text, or None when it is missing or empty (no formula or type checks)."""
    value = row[index] if index < len(row) else None
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def check_case_name(value: Any, where: str = "") -> str:
    """A case label or document id as text, stripped; InputError when empty or holding control characters."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value).strip():
        raise InputError(f"{where}a case needs a name (a speaker label or a document id), got {value!r}")
    text = unicodedata.normalize("NFC", str(value)).strip()
    if _bad(text) or len(text) > MAX_VALUE_CHARS:
        raise InputError(f"{where}case {escape_name(text[:60])!r} is too long or holds control characters")
    return text


def _merge(table: CasesTable, case: str, values: Mapping[str, str | None], number: int) -> None:
    held = table.values[case]
    for name, value in values.items():
        if value is None:
            continue
        if held.get(name) is not None and held[name] != value:
            raise InputError(f"{table.path}: row {number}: case {case!r} is also on row {table.rows[case]} with "
                             f"{name} {held[name]!r}, here {value!r}; keep one value")
        held[name] = value


def unmatched_message(where: str, unknown: Sequence[str], known: Iterable[str], by: str, shown: int = 8) -> str:
    """One line listing cases that match no speaker (or document), each with its closest known names.

    >>> unmatched_message("c.csv", ["P7"], ["P07", "P12"], "speaker")
    "c.csv: 1 case(s) match no speaker label in the project's transcripts: 'P7' (closest: 'P07'); check the labels, or give document ids with --by document"
    """
    pool = sorted(set(known))
    parts = []
    for name in list(unknown)[:shown]:
        close = difflib.get_close_matches(name, pool, n=3, cutoff=0.5)
        hint = f" (closest: {', '.join(repr(c) for c in close)})" if close else ""
        parts.append(f"{escape_name(name)!r}{hint}")
    more = f", and {len(unknown) - shown} more" if len(unknown) > shown else ""
    what = "speaker label in the project's transcripts" if by == "speaker" else "document id of the project"
    advice = ("check the labels, or give document ids with --by document" if by == "speaker"
              else "check the ids (`qcode status` lists the documents), or give speaker labels with --by speaker")
    return f"{where}: {len(unknown)} case(s) match no {what}: {', '.join(parts)}{more}; {advice}"


__all__ = ["CasesTable", "MANY_VALUES", "MAX_NAME_CHARS", "MAX_VALUE_CHARS", "ManyValuesWarning", "RESERVED",
           "attribute_text", "check_attribute_name", "check_case_name", "read_cases_table", "unmatched_message"]
