"""Code co-occurrence: how often two codes were applied to the same unit.

The unit is the **segment** a coded passage lies in (the segment its start falls
in; a passage outside every segment is its own unit), the **document**, or the
**case**. For each pair of codes applied together at least once:

- ``count``: units where both were applied;
- ``n_a``, ``n_b``: units where each was applied;
- ``jaccard``: ``count / (n_a + n_b - count)``, over units;
- ``c_coefficient``: ATLAS.ti's c-coefficient ``n12 / (n1 + n2 - n12)`` with
  ``n1``, ``n2`` the coded passages (quotations) of each code and ``n12`` =
  ``count``. At segment level with one coding per code and segment it equals
  the Jaccard index; at document or case level it weighs how often each code
  was applied.

The counts come from one sparse incidence matrix product (no Python loop per coding).

>>> import pandas as pd
>>> frame = pd.DataFrame({"unit": [1, 1, 2, 2, 3], "code_id": ["a", "b", "a", "b", "a"]})
>>> pairs_from_units(frame["unit"], frame["code_id"]).values.tolist()
[['a', 'b', 2, 3, 2, 0.6667, 0.6667]]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import AnalysisError
from .passages import coded_passages, load_cases, passage_keys
from .selection import ADJUDICATOR, PASSAGE, as_project, select_codings

if TYPE_CHECKING:
    from ..project import Project

LEVELS = ("segment", "document", "case")
COLUMNS = ["code_a", "code_b", "count", "n_a", "n_b", "jaccard", "c_coefficient"]


def pairs_from_units(units: pd.Series, codes: pd.Series, passages_per_code: pd.Series | None = None) -> pd.DataFrame:
    """Co-occurring pairs of codes over units (pure; see the module docstring).

    ``units`` and ``codes`` are parallel: one row per coding. ``passages_per_code``
    (code -> coded passages) feeds the c-coefficient; by default the units per code.
    """
    from scipy import sparse

    frame = pd.DataFrame({"unit": units.to_numpy(), "code": codes.astype(str).to_numpy()}).dropna()
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    frame = frame.drop_duplicates()
    unit_ix, _ = pd.factorize(frame["unit"])
    code_ix, code_names = pd.factorize(frame["code"], sort=True)
    incidence = sparse.csr_matrix((np.ones(len(frame), dtype=np.int64), (unit_ix, code_ix)),
                                  shape=(int(unit_ix.max()) + 1, len(code_names)))
    product = (incidence.T @ incidence).tocoo()
    per_code = np.asarray(incidence.sum(axis=0)).ravel()
    upper = product.row < product.col
    a, b, n12 = product.row[upper], product.col[upper], product.data[upper]
    names = np.asarray(code_names, dtype=object)
    out = pd.DataFrame({"code_a": names[a], "code_b": names[b], "count": n12.astype(np.int64),
                        "n_a": per_code[a].astype(np.int64), "n_b": per_code[b].astype(np.int64)})
    out["jaccard"] = (out["count"] / (out["n_a"] + out["n_b"] - out["count"])).round(4)
    if passages_per_code is None:
        p_a, p_b = out["n_a"], out["n_b"]
    else:
        p_a = out["code_a"].map(passages_per_code).astype(float)
        p_b = out["code_b"].map(passages_per_code).astype(float)
    out["c_coefficient"] = (out["count"] / (p_a + p_b - out["count"])).round(4)
    return out.sort_values(["code_a", "code_b"]).reset_index(drop=True)[COLUMNS]


def units_of(passages: pd.DataFrame, level: str, project: Project | None = None) -> pd.Series:
    """The unit each coded passage counts in at ``level`` (see the module docstring)."""
    if level not in LEVELS:
        raise AnalysisError(f"--level {level!r}: choose one of {', '.join(LEVELS)}")
    if level == "case":
        return passages["case"]
    if level == "document":
        return passages["doc_id"]
    if "segment_start" not in passages:
        return passage_keys(passages)
    start = passages["segment_start"].where(passages["segment_start"].notna(), passages["start"])
    keyed = pd.DataFrame({"d": passages["doc_id"], "v": passages["doc_version"], "s": start})
    return keyed.groupby(["d", "v", "s"], sort=False, dropna=False).ngroup()


def cooccurrence(project: Project | str | Path, level: str = "segment", coders: Sequence[str] | None = None,
                 cases: pd.DataFrame | None = None, adjudicator: str = ADJUDICATOR) -> pd.DataFrame:
    """Pairs of codes applied to the same segment, document or case (columns: :data:`COLUMNS`).

    ``frame.attrs["codings"]`` says whose codings were counted (see :func:`qcode.analysis.select_codings`).

    >>> import tempfile
    >>> from qcode.project.sample import build_sample_project
    >>> project = build_sample_project(tempfile.mkdtemp() + "/study")
    >>> seg = project.segments().segment_id.iloc[1]
    >>> for code in ("funding", "staffing"):
    ...     _ = project.decide("ann", seg, code, "accept")
    >>> cooccurrence(project)[["code_a", "code_b", "count"]].values.tolist()
    [['funding', 'staffing', 1]]
    """
    project = as_project(project)
    if level not in LEVELS:
        raise AnalysisError(f"--level {level!r}: choose one of {', '.join(LEVELS)}")
    counted = select_codings(project, coders, adjudicator)
    passages = coded_passages(project, counted, cases if cases is not None else load_cases(project))
    per_code = passages.drop_duplicates([*PASSAGE, "code_id"]).groupby("code_id").size() \
        if len(passages) else None
    out = pairs_from_units(units_of(passages, level), passages["code_id"], per_code) \
        if len(passages) else pd.DataFrame(columns=COLUMNS)
    out.attrs.update({"codings": counted.label, "level": level})
    return out


def square(pairs: pd.DataFrame, codes: Sequence[str], value: str = "count") -> pd.DataFrame:
    """The pairs as a symmetric code x code table of ``value`` (zeros where a pair never co-occurred)."""
    table = pd.DataFrame(0.0, index=list(codes), columns=list(codes))
    for a, b, v in zip(pairs["code_a"], pairs["code_b"], pairs[value]):
        if a in table.index and b in table.index:
            table.loc[a, b] = table.loc[b, a] = v
    return table


__all__ = ["COLUMNS", "LEVELS", "cooccurrence", "pairs_from_units", "square", "units_of"]
