"""Code-by-attribute matrices and participant tables (the shape of the paper's Tables 4 and 5).

:func:`matrix` counts, for each code, the distinct cases (default), passages or
documents coded with it among the cases with each value of an attribute.
Domains (codes with children) get rows that roll up their themes: a case
counts once in a domain however many of its themes it was coded with.

>>> import pandas as pd
>>> from qcode.project.sample import sample_codebook
>>> passages = pd.DataFrame({"code_id": ["funding", "staffing", "funding"], "case": ["P1", "P1", "P2"],
...     "doc_id": ["a", "a", "b"], "doc_version": [1, 1, 1], "start": [0, 9, 0], "end": [5, 15, 5],
...     "role": ["nurse", "nurse", "GP"]})
>>> m = code_matrix(passages, sample_codebook(), "role", values=["GP", "nurse"])
>>> m.set_index("code_id").loc[["resources", "funding", "staffing"], ["GP", "nurse", "total"]].values.tolist()
[[1, 1, 2], [1, 1, 2], [0, 1, 1]]
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..codebook.model import Codebook
from ..errors import AnalysisError
from ..project.caseinput import MANY_VALUES, ManyValuesWarning
from .passages import NO_VALUE, attributes, check_attribute, coded_passages, load_cases
from .selection import PASSAGE, as_project, select_codings

if TYPE_CHECKING:
    from ..project import Project

COUNTS = ("cases", "passages", "documents")
#: above this many values an attribute's matrix is refused (a free-text column, an id)
MAX_VALUES = MANY_VALUES
#: above this many values a warning says the matrix will be hard to read
WARN_VALUES = 50


def code_order(codebook: Codebook | None, extra: Sequence[str] = ()) -> list[str]:
    """Code ids in the codebook's tree order (each domain, then its themes), then ``extra`` codes it lacks."""
    order: list[str] = []
    if codebook is not None:
        def walk(parent: str | None) -> None:
            for code in codebook.children(parent):
                order.append(code.id)
                walk(code.id)
        walk(None)
    seen = set(order)
    return order + sorted(c for c in dict.fromkeys(extra) if c not in seen)


def rollup_map(codebook: Codebook | None, codes: Sequence[str]) -> pd.DataFrame:
    """Pairs (``code_id``, ``row_id``): each applied code counts in its own row and in every ancestor's."""
    pairs = []
    for code in dict.fromkeys(codes):
        pairs.append((code, code))
        if codebook is not None and code in codebook:
            pairs.extend((code, parent.id) for parent in codebook.ancestors(code))
    return pd.DataFrame(pairs, columns=["code_id", "row_id"])


def code_name(codebook: Codebook | None, code_id: str) -> str:
    code = codebook.get(code_id) if codebook is not None else None
    return code.name if code is not None else code_id


def _count_key(passages: pd.DataFrame, count: str) -> pd.Series:
    if count == "cases":
        return passages["case"]
    if count == "documents":
        return passages["doc_id"]
    keys = passages.groupby(PASSAGE, sort=False, dropna=False).ngroup()
    return keys


def check_values(values: Sequence[str], attribute: str, max_values: int = MAX_VALUES) -> None:
    """Refuse an attribute with more than ``max_values`` values; warn above :data:`WARN_VALUES`."""
    if len(values) > max_values:
        raise AnalysisError(f"attribute {attribute!r} has {len(values)} values (more than {max_values}): a matrix "
                            "over it would have a column per value; choose an attribute that groups cases")
    if len(values) > WARN_VALUES:
        warnings.warn(f"attribute {attribute!r} has {len(values)} values: its matrix has a column per value",
                      ManyValuesWarning, stacklevel=3)


def code_matrix(passages: pd.DataFrame, codebook: Codebook | None, by: str, count: str = "cases",
                values: Sequence[str] | None = None, max_values: int = MAX_VALUES) -> pd.DataFrame:
    """The matrix of :func:`matrix` from coded passages (a pure function; see the module docstring).

    ``passages`` has ``code_id``, ``case``, ``doc_id`` and the passage columns and
    ``by``; ``values`` are the attribute's values in column order (default: those
    found, sorted). Passages of no case are not counted with ``count="cases"``.
    """
    if count not in COUNTS:
        raise AnalysisError(f"--count {count!r}: choose one of {', '.join(COUNTS)}")
    value = passages[by].astype(object).where(passages[by].notna(), NO_VALUE).astype(str) \
        if len(passages) else pd.Series([], dtype=str)
    columns = [str(v) for v in (values if values is not None else sorted(set(value)))]
    if len(passages) and (value == NO_VALUE).any() and NO_VALUE not in columns:
        columns.append(NO_VALUE)
    check_values(columns, by, max_values)
    order = code_order(codebook, passages["code_id"].tolist() if len(passages) else [])
    frame = pd.DataFrame({"code_id": passages["code_id"].to_numpy() if len(passages) else [],
                          "_key": _count_key(passages, count).to_numpy() if len(passages) else [],
                          "_value": value.to_numpy()})
    frame = frame[frame["_key"].notna()]
    expanded = frame.merge(rollup_map(codebook, frame["code_id"].unique().tolist()), on="code_id")
    cells = expanded.groupby(["row_id", "_value"])["_key"].nunique().unstack(fill_value=0) \
        if len(expanded) else pd.DataFrame()
    cells = cells.reindex(index=order, columns=columns, fill_value=0).fillna(0).astype(np.int64)
    totals = expanded.groupby("row_id")["_key"].nunique().reindex(order, fill_value=0).astype(np.int64) \
        if len(expanded) else pd.Series(0, index=order, dtype=np.int64)
    out = pd.DataFrame({"code_id": order, "code_name": [code_name(codebook, c) for c in order]})
    for column in columns:
        out[column] = cells[column].to_numpy()
    out["total"] = totals.to_numpy()
    out.columns = pd.Index([str(c) for c in out.columns])
    return out


def matrix(project: Project | str | Path, by: str, count: str = "cases", coders: Sequence[str] | None = None,
           cases: pd.DataFrame | None = None, max_values: int = MAX_VALUES) -> pd.DataFrame:
    """Codes by the values of attribute ``by``: how many cases (passages, documents) each code has.

    Columns ``code_id``, ``code_name``, one per value of the attribute (named by
    the value; ``(no value)`` for cases without one), ``total``. ``coders``
    chooses whose codings count (:func:`qcode.analysis.select_codings`);
    ``frame.attrs["codings"]`` says which were counted. ``cases`` replaces the
    project's cases table.

    >>> import tempfile
    >>> from qcode.project.sample import build_sample_project
    >>> project = build_sample_project(tempfile.mkdtemp() + "/study")
    >>> seg = project.segments().segment_id.iloc[1]
    >>> _ = project.decide("ann", seg, "funding", "accept")
    >>> cases = pd.DataFrame({"case": ["P1", "P2"], "by": "speaker", "site": ["A", "B"]})
    >>> m = matrix(project, "site", cases=cases)
    >>> m[m.code_id == "funding"][["A", "B", "total"]].values.tolist()
    [[1, 0, 1]]
    """
    project = as_project(project)
    if cases is None:
        cases = load_cases(project)
    check_attribute(cases, by)
    counted = select_codings(project, coders)
    passages = coded_passages(project, counted, cases)
    values = cases[by].dropna().astype(str).unique().tolist()
    check_values(values, by, max_values)
    values = sorted(values)
    codebook = project.codebook_or_none()
    out = code_matrix(passages, codebook, by, count, values, max_values)
    out.attrs.update({"codings": counted.label, "count": count, "by": by,
                      "domains": [c for c in out["code_id"] if codebook is not None and codebook.children(c)]})
    return out


def participants(cases: pd.DataFrame, rows: str | None = None, columns: str | None = None) -> pd.DataFrame:
    """How many cases have each value of ``columns`` (per value of ``rows`` when given), with totals (pure).

    The shape of the paper's Tables 4 and 5: ``participants(cases, "phase", "role")``.

    >>> cases = pd.DataFrame({"case": ["a", "b", "c"], "by": "speaker", "phase": ["1", "1", "2"],
    ...                       "role": ["GP", "nurse", "GP"]})
    >>> participants(cases, "phase", "role").values.tolist()
    [['1', 1, 1, 2], ['2', 1, 0, 1], ['Total', 2, 1, 3]]
    """
    for name in (rows, columns):
        if name is not None:
            check_attribute(cases, name)
    frame = cases.drop_duplicates("case")

    def values_of(name: str) -> pd.Series:
        return frame[name].astype(object).where(frame[name].notna(), NO_VALUE).astype(str)

    col = values_of(columns) if columns is not None else pd.Series("cases", index=frame.index)
    row = values_of(rows) if rows is not None else pd.Series("Total", index=frame.index)
    table = pd.crosstab(row, col)
    table.columns = [str(c) for c in table.columns]
    if columns is not None:
        table["Total"] = table.sum(axis=1)
    if rows is not None:
        table.loc["Total"] = table.sum(axis=0)
    table.index.name = rows or ""
    out = table.reset_index()
    out.columns = [rows or "", *table.columns]
    return out


def check_attributes(cases: pd.DataFrame, names: Sequence[str]) -> list[str]:
    """Each of ``names`` checked against the cases table (:func:`check_attribute`)."""
    return [check_attribute(cases, n) for n in names] if names else []


__all__ = ["COUNTS", "MAX_VALUES", "ManyValuesWarning", "attributes", "check_attributes", "code_matrix",
           "code_order", "matrix", "participants", "rollup_map"]
