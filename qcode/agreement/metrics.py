"""Agreement coefficients as plain, vectorised functions.

Layouts
-------
reliability matrix
    ``matrix[c][u]`` is coder ``c``'s value for unit ``u``; shape (n_coders, n_units).
    Missing values are ``None`` or ``NaN``. Values may be numbers or strings.
    A :class:`pandas.DataFrame` is read the same way (one row per coder).
counts table
    ``counts[u][k]`` is how many coders put unit ``u`` in category ``k``;
    shape (n_units, n_categories) (Fleiss' layout; coders are not identified).
two rating vectors
    ``a[u]`` and ``b[u]``: two coders' values for the same units (Cohen, Scott).

Conventions follow the published definitions: Krippendorff (2011) for alpha,
Gwet (2014, irrCAC) for the multi-rater coefficients with missing ratings
(percent agreement, Fleiss, Conger, AC1, Brennan-Prediger over the units rated
at least twice), Cohen (1960) and Scott (1955) for two coders.

A coefficient whose chance agreement is 1 (a single category everywhere) is
undefined; the functions raise :class:`UndefinedAgreement` instead of
returning NaN, so that nobody prints a silent NaN.

>>> from qcode.agreement import krippendorff_alpha, cohen_kappa
>>> round(krippendorff_alpha([[1, 1, 0, 0], [1, 0, 0, 0]]), 3)
0.533
>>> round(cohen_kappa(["x", "y", "y"], ["x", "y", "x"]), 3)
0.4
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import AgreementError

LEVELS = ("nominal", "ordinal", "interval", "ratio")


class UndefinedAgreement(AgreementError):
    """A coefficient that is undefined for these data (e.g. only one category occurs)."""

    reason = "undefined"


class OneCategory(UndefinedAgreement):
    """Only one category occurs, so chance agreement is 1 and kappa/alpha are 0/0."""

    reason = "undefined (only one category)"


# --------------------------------------------------------------------------- encoding


def _is_missing_array(values: np.ndarray) -> np.ndarray:
    return np.asarray(pd.isna(values), dtype=bool)


def encode_matrix(data: Any, categories: Sequence | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Turn a reliability matrix into integer codes.

    Parameters
    ----------
    data : array-like, shape (n_coders, n_units)
        Lists, numpy arrays or a DataFrame (rows = coders). ``None``/NaN = missing.
    categories : sequence, optional
        The categories in their order. Default: the sorted distinct values
        (order of first appearance when values cannot be sorted).

    Returns
    -------
    codes : ndarray of int64, shape (n_coders, n_units)
        Index into ``categories``, ``-1`` where missing.
    categories : ndarray, shape (n_categories,)

    >>> codes, cats = encode_matrix([["a", None], ["b", "a"]])
    >>> codes.tolist(), cats.tolist()
    ([[0, -1], [1, 0]], ['a', 'b'])
    """
    if isinstance(data, pd.DataFrame):
        array = data.to_numpy()
    elif isinstance(data, pd.Series):
        array = data.to_numpy()[None, :]
    else:
        array = np.asarray(data) if isinstance(data, np.ndarray) else _ragged_safe_array(data)
    if array.ndim == 1:
        raise AgreementError(
            f"a reliability matrix needs two dimensions (coders x units); got one row of {array.shape[0]} values"
        )
    if array.ndim != 2:
        raise AgreementError(f"a reliability matrix needs two dimensions (coders x units); got shape {array.shape}")
    flat = array.ravel()
    if categories is not None:
        cats = pd.Index(list(categories))
        if cats.has_duplicates:
            raise AgreementError("categories contain duplicates")
        codes = cats.get_indexer(flat)
        missing = _is_missing_array(flat)
        unknown = (codes < 0) & ~missing
        if unknown.any():
            bad = flat[np.flatnonzero(unknown)[0]]
            raise AgreementError(f"value {bad!r} is not one of the given categories {list(cats)!r}")
        codes = np.where(missing, -1, codes)
        return codes.reshape(array.shape).astype(np.int64), np.asarray(list(cats), dtype=object)
    try:
        codes, uniques = pd.factorize(flat, sort=True, use_na_sentinel=True)
    except TypeError:  # mixed types that do not sort (e.g. 1 and "a")
        codes, uniques = pd.factorize(flat, sort=False, use_na_sentinel=True)
    uniques = np.asarray(uniques)
    if uniques.dtype.kind == "f" and uniques.size and np.all(np.mod(uniques, 1) == 0):
        uniques = uniques.astype(np.int64)
    return codes.reshape(array.shape).astype(np.int64), uniques


def _ragged_safe_array(data: Any) -> np.ndarray:
    rows = [list(row) if not isinstance(row, (str, bytes)) and hasattr(row, "__iter__") else row for row in data]
    if rows and all(isinstance(row, list) for row in rows):
        lengths = {len(row) for row in rows}
        if len(lengths) > 1:
            raise AgreementError(
                f"rows of the reliability matrix have different lengths {sorted(lengths)}: every coder needs one value "
                "(or None) per unit"
            )
        try:
            return np.array(rows, dtype=float) if _all_numeric(rows) else np.array(rows, dtype=object)
        except (TypeError, ValueError):
            return np.array(rows, dtype=object)
    return np.asarray(rows, dtype=object)


def _all_numeric(rows: list[list]) -> bool:
    for row in rows:
        for value in row:
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                return False
    return True


def _counts(codes: np.ndarray, n_categories: int) -> np.ndarray:
    """(n_coders, n_units) codes -> (n_units, n_categories) counts of coders per category."""
    n_units = codes.shape[1]
    coder_idx, unit_idx = np.nonzero(codes >= 0)
    flat = unit_idx * n_categories + codes[coder_idx, unit_idx]
    return np.bincount(flat, minlength=n_units * n_categories).reshape(n_units, n_categories)


def counts_from_matrix(matrix: Any, categories: Sequence | None = None) -> tuple[np.ndarray, list]:
    """Build Fleiss' units x categories counts table from a reliability matrix.

    Returns ``(counts, categories)``; ``counts`` has shape (n_units, n_categories).

    >>> counts, cats = counts_from_matrix([[1, 2, 2], [1, 2, None]])
    >>> counts.tolist(), cats
    ([[2, 0], [0, 2], [0, 1]], [1, 2])
    """
    codes, cats = encode_matrix(matrix, categories)
    return _counts(codes, len(cats)), cats.tolist()


def matrix_from_counts(counts: Any, categories: Sequence | None = None) -> np.ndarray:
    """Expand a counts table into a reliability matrix (coders are not identified).

    Row ``c`` of the result holds, for each unit, the ``c``-th rating of that
    unit (``None`` once the unit's ratings run out). Only for coefficients that
    ignore coder identity (Fleiss, Krippendorff, Gwet, Brennan-Prediger).

    >>> matrix_from_counts([[2, 0], [1, 1]], ["a", "b"]).tolist()
    [['a', 'a'], ['a', 'b']]
    """
    table = _as_counts(counts)
    n_units, n_cat = table.shape
    cats = list(range(n_cat)) if categories is None else list(categories)
    if len(cats) != n_cat:
        raise AgreementError(f"{len(cats)} categories given for a counts table with {n_cat} columns")
    n_rows = int(table.sum(axis=1).max(initial=0))
    out = np.full((n_rows, n_units), None, dtype=object)
    for u in range(n_units):
        values = np.repeat(np.arange(n_cat), table[u])
        out[: len(values), u] = [cats[k] for k in values]
    return out


def matrix_from_table(table: Any, categories: Sequence | None = None) -> np.ndarray:
    """Expand a two-coder contingency table into a 2 x n_units reliability matrix.

    ``table[i][j]`` = number of units coder 1 put in category i and coder 2 in j.

    >>> matrix_from_table([[1, 1], [0, 2]], ["x", "y"]).tolist()
    [['x', 'x', 'y', 'y'], ['x', 'y', 'y', 'y']]
    """
    tab = np.asarray(table)
    if tab.ndim != 2 or tab.shape[0] != tab.shape[1]:
        raise AgreementError(f"a contingency table must be square; got shape {tab.shape}")
    if (tab < 0).any() or not np.allclose(tab, np.round(tab)):
        raise AgreementError("a contingency table must hold non-negative whole counts")
    tab = np.round(tab).astype(np.int64)
    cats = list(range(tab.shape[0])) if categories is None else list(categories)
    if len(cats) != tab.shape[0]:
        raise AgreementError(f"{len(cats)} categories given for a {tab.shape[0]}x{tab.shape[0]} table")
    i, j = np.nonzero(tab)
    reps = tab[i, j]
    first = np.repeat(i, reps)
    second = np.repeat(j, reps)
    cat_arr = np.empty(len(cats), dtype=object)
    cat_arr[:] = cats
    return np.vstack([cat_arr[first], cat_arr[second]])


def _as_counts(counts: Any) -> np.ndarray:
    table = counts.to_numpy() if isinstance(counts, (pd.DataFrame, pd.Series)) else np.asarray(counts)
    if table.ndim != 2:
        raise AgreementError(f"a counts table needs shape (units, categories); got shape {table.shape}")
    if table.size and ((table < 0).any() or not np.allclose(table, np.round(table))):
        raise AgreementError("a counts table must hold non-negative whole numbers of coders")
    return np.round(table).astype(np.int64)


def _check_coders(codes: np.ndarray) -> None:
    if codes.shape[0] < 2:
        raise AgreementError(f"agreement needs at least two coders; got {codes.shape[0]}")


# --------------------------------------------------------------------------- percent agreement


def percent_agreement(matrix: Any) -> float:
    """Share of units on which every coder who rated the unit gave the same value.

    Units rated by fewer than two coders are left out. With two coders this is
    the usual observed agreement.

    >>> percent_agreement([[1, 2, 3, None], [1, 2, 1, 4]])
    0.6666666666666666
    """
    codes, cats = encode_matrix(matrix)
    _check_coders(codes)
    counts = _counts(codes, len(cats))
    rated = counts.sum(axis=1)
    keep = rated >= 2
    if not keep.any():
        raise AgreementError("no unit was rated by two or more coders, so there is nothing to compare")
    return float(np.mean(counts[keep].max(axis=1) == rated[keep]))


def _pairwise_pa(counts: np.ndarray) -> tuple[float, np.ndarray]:
    """Gwet's observed agreement over units with >= 2 ratings; also returns that mask."""
    rated = counts.sum(axis=1)
    keep = rated >= 2
    if not keep.any():
        raise AgreementError("no unit was rated by two or more coders, so there is nothing to compare")
    c = counts[keep].astype(float)
    r = rated[keep].astype(float)
    per_unit = (c * (c - 1)).sum(axis=1) / (r * (r - 1))
    return float(per_unit.mean()), keep


def pairwise_agreement(matrix: Any) -> float:
    """Gwet's percent agreement: mean over units (rated >= 2 times) of the share of agreeing coder pairs.

    >>> round(pairwise_agreement([[1, 1], [1, 2], [1, 2]]), 4)
    0.6667
    """
    codes, cats = encode_matrix(matrix)
    _check_coders(codes)
    return _pairwise_pa(_counts(codes, len(cats)))[0]


# --------------------------------------------------------------------------- two coders


def _two_vectors(a: Any, b: Any, categories: Sequence | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a_arr = a.to_numpy() if isinstance(a, (pd.Series, pd.Index)) else np.asarray(a, dtype=object)
    b_arr = b.to_numpy() if isinstance(b, (pd.Series, pd.Index)) else np.asarray(b, dtype=object)
    if a_arr.ndim != 1 or b_arr.ndim != 1:
        raise AgreementError("the two coders' ratings must be one-dimensional sequences")
    if len(a_arr) != len(b_arr):
        raise AgreementError(
            f"the two coders rated different numbers of units ({len(a_arr)} and {len(b_arr)}); "
            "give one value (or None) per unit for each"
        )
    stacked = np.empty((2, len(a_arr)), dtype=object)
    stacked[0], stacked[1] = a_arr, b_arr
    codes, cats = encode_matrix(stacked, categories)
    both = (codes >= 0).all(axis=0)
    if not both.any():
        raise AgreementError("the two coders have no unit that both of them rated")
    return codes[0, both], codes[1, both], cats


def _contingency(x: np.ndarray, y: np.ndarray, q: int) -> np.ndarray:
    return np.bincount(x * q + y, minlength=q * q).reshape(q, q).astype(float)


def _disagreement_weights(q: int, weights: str | None) -> np.ndarray:
    idx = np.arange(q)
    dist = np.abs(idx[:, None] - idx[None, :]).astype(float)
    if weights is None:
        return (dist > 0).astype(float)
    if q < 2:
        return np.zeros((q, q))
    if weights == "linear":
        return dist / (q - 1)
    if weights == "quadratic":
        return (dist / (q - 1)) ** 2
    raise AgreementError(f"weights must be None, 'linear' or 'quadratic'; got {weights!r}")


def cohen_kappa(a: Any, b: Any, weights: str | None = None, categories: Sequence | None = None) -> float:
    """Cohen's kappa for two coders (optionally weighted for ordered categories).

    Parameters
    ----------
    a, b : sequence of length n_units
        The two coders' values; units where either is missing are left out.
    weights : None, "linear" or "quadratic"
        Disagreement weights over the category order (sorted values, or ``categories``).
    categories : sequence, optional
        Category order for weighted kappa.

    >>> round(cohen_kappa([1, 1, 2, 2], [1, 2, 2, 2]), 3)
    0.5
    """
    x, y, cats = _two_vectors(a, b, categories)
    q = len(cats)
    table = _contingency(x, y, q)
    n = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    w = _disagreement_weights(q, weights)
    expected_dis = float((w * expected).sum())
    if expected_dis <= 0:
        raise OneCategory("Cohen's kappa is undefined: only one category occurs, so chance agreement is 1")
    return 1.0 - float((w * table).sum()) / expected_dis


def scott_pi(a: Any, b: Any) -> float:
    """Scott's pi for two coders: chance agreement from the pooled category distribution.

    >>> round(scott_pi([1, 1, 2, 2], [1, 2, 2, 2]), 3)
    0.467
    """
    x, y, cats = _two_vectors(a, b, None)
    q = len(cats)
    pooled = (np.bincount(x, minlength=q) + np.bincount(y, minlength=q)) / (2.0 * len(x))
    pe = float((pooled**2).sum())
    if pe >= 1.0:
        raise OneCategory("Scott's pi is undefined: only one category occurs, so chance agreement is 1")
    pa = float(np.mean(x == y))
    return (pa - pe) / (1.0 - pe)


# --------------------------------------------------------------------------- many coders


def _category_shares(counts: np.ndarray) -> np.ndarray:
    """Mean over units rated at least once of each unit's share of ratings per category (Gwet's pi_k)."""
    rated = counts.sum(axis=1)
    seen = rated >= 1
    return (counts[seen] / rated[seen, None]).mean(axis=0)


def fleiss_kappa(counts: Any) -> float:
    """Fleiss' kappa from a units x categories counts table.

    Units may have different numbers of ratings (Gwet's generalisation:
    observed agreement over units rated at least twice, category shares over
    units rated at least once). Build ``counts`` from a reliability matrix with
    :func:`counts_from_matrix`.

    >>> round(fleiss_kappa([[2, 0], [0, 2], [1, 1]]), 3)
    0.333
    """
    table = _as_counts(counts)
    pa, _ = _pairwise_pa(table)
    pi = _category_shares(table)
    pe = float((pi**2).sum())
    if pe >= 1.0 - 1e-15:
        raise OneCategory("Fleiss' kappa is undefined: only one category occurs, so chance agreement is 1")
    return (pa - pe) / (1.0 - pe)


def conger_kappa(matrix: Any) -> float:
    """Conger's (1980) kappa: Cohen's kappa generalised to many coders (coder-specific marginals).

    >>> round(conger_kappa([[1, 1, 2, 2], [1, 2, 2, 2], [1, 1, 2, 2]]), 3)
    0.667
    """
    codes, cats = encode_matrix(matrix)
    _check_coders(codes)
    q = len(cats)
    counts = _counts(codes, q)
    pa, keep = _pairwise_pa(counts)
    r = codes.shape[0]
    per_coder = np.zeros((r, q))
    for g in range(r):
        row = codes[g]
        per_coder[g] = np.bincount(row[row >= 0], minlength=q)
    rated = per_coder.sum(axis=1, keepdims=True)
    shares = np.divide(per_coder, rated, out=np.zeros_like(per_coder), where=rated > 0)
    mean_share = shares.mean(axis=0)
    s2 = (shares.T @ shares - r * np.outer(mean_share, mean_share)) / (r - 1)
    pe = float(np.trace(np.outer(mean_share, mean_share) - s2 / r))
    if pe >= 1.0 - 1e-15:
        raise OneCategory("Conger's kappa is undefined: only one category occurs, so chance agreement is 1")
    return (pa - pe) / (1.0 - pe)


def gwet_ac1(matrix: Any, categories: Sequence | None = None) -> float:
    """Gwet's AC1 (nominal) for any number of coders with missing ratings.

    ``categories`` fixes the number of possible categories q (default: those observed).

    >>> round(gwet_ac1([[1, 1, 2, 2], [1, 2, 2, 2]]), 3)
    0.529
    """
    codes, cats = encode_matrix(matrix, categories)
    _check_coders(codes)
    q = len(cats)
    counts = _counts(codes, q)
    pa, _ = _pairwise_pa(counts)
    if q < 2:
        raise OneCategory("Gwet's AC1 is undefined with a single possible category (pass categories= to name "
                          "the others)")
    pi = _category_shares(counts)
    pe = float((pi * (1 - pi)).sum()) / (q - 1)
    return (pa - pe) / (1.0 - pe)


def brennan_prediger(matrix: Any, categories: Sequence | None = None) -> float:
    """Brennan & Prediger's (1981) coefficient: chance agreement 1/q.

    ``categories`` fixes q, the number of possible categories (default: those observed).

    >>> brennan_prediger([[1, 1, 2, 2], [1, 2, 2, 2]])
    0.5
    """
    codes, cats = encode_matrix(matrix, categories)
    _check_coders(codes)
    q = len(cats)
    pa, _ = _pairwise_pa(_counts(codes, q))
    if q < 2:
        raise OneCategory("Brennan-Prediger is undefined with a single possible category (chance agreement 1)")
    pe = 1.0 / q
    return (pa - pe) / (1.0 - pe)


# --------------------------------------------------------------------------- Krippendorff's alpha


def coincidence_matrix(codes: np.ndarray, n_categories: int) -> np.ndarray:
    """Krippendorff's coincidence matrix o[c, k] from integer codes (n_coders, n_units), -1 missing.

    Only units with two or more values (pairable values) contribute; each unit
    adds its ordered value pairs from different coders weighted by 1/(m_u - 1).
    Uses one bincount per coder pair when there are few coders (or many categories),
    a units x categories counts table otherwise; both are O(units).
    """
    n_coders, n_units = codes.shape
    q = n_categories
    present = codes >= 0
    m = present.sum(axis=0)
    n_pairs = n_coders * (n_coders - 1) // 2
    if n_pairs <= max(10, q) or q * q > 4_000_000:
        weight = np.zeros(n_units)
        ok = m >= 2
        weight[ok] = 1.0 / (m[ok] - 1)
        o = np.zeros(q * q)
        for i in range(n_coders):
            for j in range(i + 1, n_coders):  # (j, i) pairs are the transpose, added below
                both = present[i] & present[j]
                pair = np.where(both, codes[i] * q + codes[j], 0)
                o += np.bincount(pair, weights=np.where(both, weight, 0.0), minlength=q * q)
        square = o.reshape(q, q)
        return square + square.T
    counts = _counts(codes, q).astype(float)
    ok = m >= 2
    counts = counts[ok]
    scaled = counts / (m[ok] - 1)[:, None]
    return scaled.T @ counts - np.diag(scaled.sum(axis=0))


def _delta(level: str, values: np.ndarray, marginals: np.ndarray) -> np.ndarray:
    q = len(values)
    if level == "nominal":
        return 1.0 - np.eye(q)
    if level == "ordinal":
        cum = np.cumsum(marginals)
        idx = np.arange(q)
        lo = np.minimum(idx[:, None], idx[None, :])
        hi = np.maximum(idx[:, None], idx[None, :])
        between = cum[hi] - cum[lo] + marginals[lo]
        return (between - (marginals[lo] + marginals[hi]) / 2.0) ** 2
    try:
        v = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise AgreementError(f"level {level!r} needs numeric values; got categories such as {values[0]!r}") from None
    diff = v[:, None] - v[None, :]
    if level == "interval":
        return diff**2
    if level == "ratio":
        total = v[:, None] + v[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(total == 0, 0.0, (diff / np.where(total == 0, 1, total)) ** 2)
        return out
    raise AgreementError(f"level must be one of {', '.join(LEVELS)}; got {level!r}")


def alpha_from_coincidences(o: np.ndarray, level: str = "nominal",
                            values: Sequence[Any] | np.ndarray | None = None) -> float:
    """Krippendorff's alpha from a coincidence matrix (q x q) and the category values."""
    o = np.asarray(o, dtype=float)
    marginals = o.sum(axis=1)
    n = marginals.sum()
    if n <= 1:
        raise AgreementError("no unit has two or more values (no pairable values), so alpha cannot be computed")
    vals = np.arange(len(o)) if values is None else np.asarray(values)
    delta = _delta(level, vals, marginals)
    observed = float((o * delta).sum()) / n
    expected = float((np.outer(marginals, marginals) * delta).sum()) / (n * (n - 1))
    if expected <= 0:
        raise OneCategory("Krippendorff's alpha is undefined: only one value occurs, so expected disagreement is 0")
    return float(1.0 - observed / expected)


def krippendorff_alpha(matrix: Any, level: str = "nominal", categories: Sequence | None = None) -> float:
    """Krippendorff's alpha for any number of coders, with missing values.

    Parameters
    ----------
    matrix : array-like, shape (n_coders, n_units)
        ``None``/NaN = missing. Numbers or strings.
    level : "nominal", "ordinal", "interval" or "ratio"
        Metric of the values (Krippendorff 2011). Ordinal, interval and ratio
        use the numeric order of the values (or the order of ``categories``
        for ordinal string values).
    categories : sequence, optional
        Category order (ordinal) or restriction of allowed values.

    Returns
    -------
    float
        ``1 - D_o / D_e``.

    >>> round(krippendorff_alpha([[1, 2, 3, 3], [1, 2, 3, 4], [None, 2, 3, 4]], level="interval"), 3)
    0.915
    """
    if level not in LEVELS:
        raise AgreementError(f"level must be one of {', '.join(LEVELS)}; got {level!r}")
    codes, cats = encode_matrix(matrix, categories)
    _check_coders(codes)
    if level in ("interval", "ratio"):
        try:
            cats_num = np.asarray(cats, dtype=float)
        except (TypeError, ValueError):
            raise AgreementError(f"level {level!r} needs numeric values; got categories such as {cats[0]!r}") from None
        if level == "ratio" and (cats_num < 0).any():
            raise AgreementError("level 'ratio' needs non-negative values")
        cats = cats_num
    o = coincidence_matrix(codes, len(cats))
    return alpha_from_coincidences(o, level, cats)
