"""Krippendorff's alpha for unitizing (u-alpha): coders who mark their own spans on a continuum.

Each coder cuts the continuum ``[begin, begin + length)`` into sections: the
units they marked with category k, and the gaps between them. Disagreement
between two coders is summed over every pair of overlapping sections, one from
each coder (Krippendorff 1995, 2004):

* two units of k that overlap: (difference of starts)^2 + (difference of ends)^2;
* a unit of k lying wholly inside the other coder's gap: (its length)^2;
* anything else: 0.

    D_o(k) = 2 * sum over coder pairs / (m (m - 1) L^2)

Expected disagreement considers every way the same units and gaps could be
placed on the continuum: for the N_k units of length l (over all coders) and
all coders' gaps of length >= l,

    D_e(k) = (2 / L) * sum_units [ (N_k - 1)(2 l^3 - 3 l^2 + l) / 3 + l^2 * sum_gaps>=l (gap - l + 1) ]
             / (m L (m L - 1) - sum_units l (l - 1))

and alpha_k = 1 - D_o(k) / D_e(k). Across categories, alpha = 1 - mean D_o / mean D_e.

>>> spans = [(0, 2, 4, "x"), (1, 2, 4, "x")]           # (coder, start, length, category)
>>> unitized_alpha(spans, begin=0, length=20, n_coders=2)
1.0
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import AgreementError
from .metrics import OneCategory


def _sections(units: list[tuple[int, int]], begin: int, end: int) -> list[tuple[int, int, bool]]:
    """Cover [begin, end) with the coder's units (True) and the gaps between them (False)."""
    out: list[tuple[int, int, bool]] = []
    pos = begin
    for start, stop in units:
        if start > pos:
            out.append((pos, start, False))
        out.append((start, stop, True))
        pos = stop
    if pos < end:
        out.append((pos, end, False))
    return out


def _pair_distance(first: list[tuple[int, int, bool]], second: list[tuple[int, int, bool]]) -> float:
    """Sum of squared distances over every overlapping pair of sections of two coders."""
    total = 0.0
    i = j = 0
    while i < len(first) and j < len(second):
        b1, e1, unit1 = first[i]
        b2, e2, unit2 = second[j]
        if unit1 and unit2:
            total += (b1 - b2) ** 2 + (e1 - e2) ** 2
        elif unit1 and b2 <= b1 and e1 <= e2:
            total += (e1 - b1) ** 2
        elif unit2 and b1 <= b2 and e2 <= e1:
            total += (e2 - b2) ** 2
        if e1 <= e2:
            i += 1
        if e2 <= e1:
            j += 1
    return total


def _by_coder(spans, category, begin: int, end: int, n_coders: int) -> list[list[tuple[int, int]]]:
    per_coder: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for coder, start, length, code in spans:
        if code == category:
            per_coder[coder].append((start, start + length))
    out = []
    for coder in range(n_coders):
        units = sorted(per_coder.get(coder, []))
        for (s1, e1), (s2, e2) in zip(units, units[1:]):
            if s2 < e1:
                raise AgreementError(f"coder {coder}: units [{s1}, {e1}) and [{s2}, {e2}) of category "
                                     f"{category!r} overlap; one coder's units of a category must not overlap")
        out.append(units)
    return out


def _validate(spans, begin: int, length: int, n_coders: int) -> list[tuple[int, int, int, object]]:
    if length <= 0:
        raise AgreementError(f"the continuum must have a positive length; got {length}")
    if n_coders < 2:
        raise AgreementError(f"agreement needs at least two coders; got {n_coders}")
    clean = []
    for i, item in enumerate(spans):
        try:
            coder, start, span_length, code = item
        except (TypeError, ValueError):
            raise AgreementError(f"span {i + 1}: expected (coder, start, length, category); got {item!r}") from None
        coder, start, span_length = int(coder), int(start), int(span_length)
        if not 0 <= coder < n_coders:
            raise AgreementError(f"span {i + 1}: coder {coder} is not in 0..{n_coders - 1}")
        if span_length <= 0:
            raise AgreementError(f"span {i + 1}: length must be positive; got {span_length}")
        if start < begin or start + span_length > begin + length:
            raise AgreementError(f"span {i + 1}: [{start}, {start + span_length}) lies outside the continuum "
                                 f"[{begin}, {begin + length})")
        clean.append((coder, start, span_length, code))
    return clean


def unitized_disagreements(spans: Iterable[Sequence], begin: int, length: int, n_coders: int,
                           category) -> tuple[float, float]:
    """Observed and expected disagreement ``(D_o, D_e)`` of one category."""
    spans = _validate(spans, begin, length, n_coders)
    end = begin + length
    units = _by_coder(spans, category, begin, end, n_coders)
    sections = [_sections(u, begin, end) for u in units]
    observed = sum(_pair_distance(sections[a], sections[b])
                   for a in range(n_coders) for b in range(a + 1, n_coders))
    observed *= 2.0 / (n_coders * (n_coders - 1) * float(length) ** 2)
    lengths = np.array([e - s for u in units for s, e in u], dtype=float)
    gaps = np.array([e - s for secs in sections for s, e, is_unit in secs if not is_unit], dtype=float)
    n_units = len(lengths)
    if n_units == 0:
        return observed, 0.0
    placement = (n_units - 1) * (2 * lengths**3 - 3 * lengths**2 + lengths) / 3.0
    fits = np.clip(gaps[None, :] - lengths[:, None] + 1.0, 0.0, None) * (gaps[None, :] >= lengths[:, None])
    inside = lengths**2 * fits.sum(axis=1)
    total = float(n_coders * length)
    denominator = total * (total - 1) - float((lengths * (lengths - 1)).sum())
    expected = (2.0 / length) * float((placement + inside).sum()) / denominator
    return observed, expected


def unitized_alpha(spans: Iterable[Sequence], begin: int, length: int, n_coders: int,
                   category=None) -> float:
    """Krippendorff's unitizing alpha for one category, or across all categories.

    Parameters
    ----------
    spans : iterable of (coder, start, length, category)
        Coders are numbered 0..n_coders-1. A coder's units of one category must not overlap.
    begin, length : int
        The continuum ``[begin, begin + length)`` (e.g. a document's characters).
    n_coders : int
        Number of coders (a coder may have marked nothing).
    category : optional
        Alpha for this category; None = across all categories (mean D_o over mean D_e).
    """
    spans = _validate(list(spans), begin, length, n_coders)
    categories = [category] if category is not None else sorted({s[3] for s in spans}, key=str)
    if not categories:
        raise AgreementError("no units marked, so unitizing alpha cannot be computed")
    pairs = [unitized_disagreements(spans, begin, length, n_coders, c) for c in categories]
    observed = float(np.mean([p[0] for p in pairs]))
    expected = float(np.mean([p[1] for p in pairs]))
    if expected <= 0:
        raise OneCategory("unitizing alpha is undefined: expected disagreement is 0 (no units of this category, "
                          "or units that could not be placed any differently)")
    return 1.0 - observed / expected
