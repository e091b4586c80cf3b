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
from .passages import NO_VALUE, attributes, check_attribute, coded_passages, load_cases, passage_keys
from .selection import ADJUDICATOR, as_project, select_codings

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
    return passage_keys(passages)


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
    codes = passages["code_id"].astype(str) if len(passages) else pd.Series([], dtype=str)
    order = code_order(codebook, codes.unique().tolist())
    cells, totals = _distinct_counts(codes, _count_key(passages, count) if len(passages) else codes, value,
                                     codebook, order, columns)
    out = pd.DataFrame({"code_id": order, "code_name": [code_name(codebook, c) for c in order]})
    for j, column in enumerate(columns):
        out[column] = cells[:, j]
    out["total"] = totals
    out.columns = pd.Index([str(c) for c in out.columns])
    return out


def _distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of an integer array (a sort: numpy's hash-based unique took seconds on a
    million distinct values)."""
    ordered = np.sort(values, kind="stable")
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))] if len(ordered) else ordered


def _distinct_counts(codes: pd.Series, keys: pd.Series, values: pd.Series, codebook: Codebook | None,
                     order: Sequence[str], columns: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ``keys`` per (row of ``order``, column), and per row, each coding counted in its code's row
    and its ancestors' rows: distinct sorted integer codes instead of grouping text (a million codings
    in a fraction of a second)."""
    n_rows, n_cols = len(order), len(columns)
    known = keys.notna().to_numpy()
    row_of = {c: i for i, c in enumerate(order)}
    code_ix, code_names = pd.factorize(codes[known])
    key_ix, key_names = pd.factorize(keys[known])
    col = pd.Index(list(columns)).get_indexer(values[known])  # -1: a value outside the columns
    totals = np.zeros(n_rows, dtype=np.int64)
    if not len(code_ix):
        return np.zeros((n_rows, n_cols), dtype=np.int64), totals
    # distinct (code, column, key) first: far fewer than codings, so the roll-up below is cheap
    n_keys, width = max(len(key_names), 1), n_cols + 1
    triples = _distinct((code_ix.astype(np.int64) * width + (col + 1)) * n_keys + key_ix)
    t_key, rest = triples % n_keys, triples // n_keys
    t_code, t_col = rest // width, rest % width - 1
    lineage = [[row_of[c]] + ([row_of[a.id] for a in codebook.ancestors(c)] if codebook is not None and c in codebook
                              else []) for c in code_names]
    table = np.full((len(code_names), max(len(r) for r in lineage)), -1, dtype=np.int64)
    for i, rows_of_code in enumerate(lineage):
        table[i, :len(rows_of_code)] = rows_of_code
    rows = table[t_code].T.ravel()  # level by level: the code's own row, then each ancestor's
    keys_rep, cols_rep = np.tile(t_key, table.shape[1]), np.tile(t_col, table.shape[1])
    present = rows >= 0
    rows, keys_rep, cols_rep = rows[present], keys_rep[present], cols_rep[present]
    totals += np.bincount(_distinct(rows * n_keys + keys_rep) // n_keys, minlength=n_rows)
    in_col = cols_rep >= 0
    per_cell = _distinct((rows[in_col] * n_cols + cols_rep[in_col]) * n_keys + keys_rep[in_col]) // n_keys
    cells = np.bincount(per_cell, minlength=n_rows * n_cols).reshape(n_rows, n_cols)
    return cells.astype(np.int64), totals


def matrix(project: Project | str | Path, by: str, count: str = "cases", coders: Sequence[str] | None = None,
           cases: pd.DataFrame | None = None, max_values: int = MAX_VALUES,
           adjudicator: str = ADJUDICATOR) -> pd.DataFrame:
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
    counted = select_codings(project, coders, adjudicator)
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
