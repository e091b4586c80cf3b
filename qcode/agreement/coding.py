"""Agreement on qualitative codings: multi-label codings -> per-code present/absent agreement.

A coding is a (unit, coder, code) triple; a unit can carry several codes or
none. For each code, each compared coder either applied it to a unit (1) or did
not (0), which gives a coders x units binary reliability matrix per code. The
coefficients below are computed from the histogram of "how many coders applied
the code" over units, which makes them exact, fast, and cheap to bootstrap.

Units
-----
``unit="segment"``  a ``unit`` column, else ``segment_id``, else the exact span ``doc_id``/``start``/``end``.
``unit="document"`` a coder applied the code anywhere in the document.
``unit="character"`` every character of a source is a unit (NVivo's coding comparison).

>>> import pandas as pd
>>> codings = pd.DataFrame({"unit": ["s1", "s1", "s2", "s3"], "coder": ["A", "B", "A", "B"],
...                         "code": ["x", "x", "x", "y"]})
>>> table = binary_histograms(*presence(codings, ["A", "B"], ["s1", "s2", "s3"], ["x", "y"]))
>>> table[0].tolist()  # code x: units with 0, 1, 2 coders applying it
[1, 1, 1]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import AgreementError

#: Metric columns of the per-code table, in display order.
METRIC_COLUMNS = ("percent_agreement", "kappa", "alpha", "alpha_low", "alpha_high", "ac1", "brennan_prediger")
ONE_CATEGORY = "undefined (only one category)"


# --------------------------------------------------------------------------- input normalisation


def _first_present(frame: pd.DataFrame, names: Sequence[str]) -> str | None:
    for name in names:
        if name in frame.columns and frame[name].notna().any():
            return name
    return None


def span_key(doc_id: Any, start: Any, end: Any) -> str:
    """The unit key of an exact span: ``"doc@start-end"``."""
    return f"{doc_id}@{int(start)}-{int(end)}"


_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", "", "nan", "none"}


def _as_flags(column: pd.Series, where: str, name: str) -> np.ndarray:
    """A boolean column read from CSV ('True'/'False', 1/0, yes/no, empty) as booleans."""
    if column.dtype == bool:
        return column.to_numpy()
    text = column.astype(object).where(column.notna(), "").astype(str).str.strip().str.lower()
    unknown = ~(text.isin(_TRUE) | text.isin(_FALSE))
    if unknown.any():
        raise AgreementError(f"{where}: column '{name}' must be true/false, got {column[unknown].iloc[0]!r}")
    return text.isin(_TRUE).to_numpy()


def normalize_codings(codings: Any, where: str = "codings", first_line: int | None = None) -> pd.DataFrame:
    """Validate long-form codings and return columns ``unit, doc_id, start, end, text, coder, code, code_label``.

    Accepts a DataFrame (or anything ``pd.DataFrame`` accepts) with columns
    ``coder``, ``code`` (or ``code_id``/``code_name``) and ``unit`` or
    ``segment_id`` or ``doc_id``+``start``+``end``. ``where`` names the source in errors;
    with ``first_line`` errors name file lines (row i is line i + first_line) instead of rows.
    """
    def at(i: int) -> str:
        return f"line {i + first_line}" if first_line is not None else f"row {i + 1}"

    frame = codings.copy() if isinstance(codings, pd.DataFrame) else pd.DataFrame(list(codings))
    if "coder" not in frame.columns:
        raise AgreementError(f"{where}: no 'coder' column (columns: {', '.join(map(str, frame.columns)) or 'none'})")
    code_cols = [c for c in ("code", "code_id", "code_name") if c in frame.columns]
    if not code_cols:
        raise AgreementError(f"{where}: no 'code' column (or 'code_id'/'code_name')")
    if "stale" in frame.columns:
        frame = frame[~_as_flags(frame["stale"], where, "stale")]
    out = pd.DataFrame(index=frame.index)
    out["coder"] = frame["coder"]
    code = frame[code_cols[0]].astype(object)
    for column in code_cols[1:]:  # rows from different sources may name the code in different columns
        code = code.where(code.notna(), frame[column])
    out["code"] = code
    for field in ("coder", "code"):
        values = out[field].astype(object)
        empty = values.isna().to_numpy() | (values.astype(str).str.strip() == "").to_numpy()
        if empty.any():
            raise AgreementError(f"{where}: {at(int(np.flatnonzero(empty)[0]))}: empty '{field}'")
        out[field] = values.astype(str).str.strip()
    if "code_name" in frame.columns:
        out["code_label"] = frame["code_name"].where(frame["code_name"].notna(), out["code"]).astype(str)
    else:
        out["code_label"] = out["code"]
    for column in ("doc_id", "start", "end", "text"):
        out[column] = frame[column] if column in frame.columns else None
    has_span = out["doc_id"].notna() & pd.to_numeric(out["start"], errors="coerce").notna() & \
        pd.to_numeric(out["end"], errors="coerce").notna()
    unit = pd.Series([None] * len(out), index=out.index, dtype=object)
    for column in ("segment_id", "unit"):  # a project's 'unit' column names the segmentation kind
        if column in frame.columns:
            unit = unit.where(unit.notna(), frame[column].astype(object).where(frame[column].notna(), None))
    spans = [span_key(d, s, e) if ok else None for d, s, e, ok in zip(out["doc_id"], out["start"], out["end"], has_span)]
    unit = unit.where(unit.notna(), pd.Series(spans, index=out.index, dtype=object))
    missing = unit.isna()
    if missing.any():
        row = int(np.flatnonzero(missing.to_numpy())[0])
        raise AgreementError(f"{where}: {at(row)}: no unit (give 'unit', 'segment_id', or 'doc_id'+'start'+'end')")
    out["unit"] = unit.astype(str)
    out["has_span"] = has_span
    return out.reset_index(drop=True)


def normalize_universe(universe: Any) -> pd.DataFrame:
    """All units that could have been coded: columns ``unit, doc_id, start, end, text``.

    Accepts a DataFrame (``unit`` or ``segment_id``, optional ``doc_id/start/end/text``),
    an iterable of :class:`qcode.Segment`, or an iterable of unit ids.
    """
    if isinstance(universe, pd.DataFrame):
        frame = universe
    else:
        items = list(universe)
        if items and hasattr(items[0], "doc_id") and hasattr(items[0], "start"):
            frame = pd.DataFrame({"unit": [s.id for s in items], "doc_id": [s.doc_id for s in items],
                                  "start": [s.start for s in items], "end": [s.end for s in items],
                                  "text": [s.text for s in items]})
        else:
            frame = pd.DataFrame({"unit": [str(i) for i in items]})
    out = pd.DataFrame(index=frame.index)
    unit_col = _first_present(frame, ("segment_id", "unit"))
    for column in ("doc_id", "start", "end", "text"):
        out[column] = frame[column] if column in frame.columns else None
    if unit_col is not None:
        out["unit"] = frame[unit_col].astype(str)
    elif {"doc_id", "start", "end"} <= set(frame.columns):
        out["unit"] = [span_key(d, s, e) for d, s, e in zip(frame["doc_id"], frame["start"], frame["end"])]
    else:
        raise AgreementError("universe: needs a 'unit' or 'segment_id' column (or 'doc_id'+'start'+'end')")
    return out.drop_duplicates("unit").reset_index(drop=True)


def map_spans_to_segments(codings: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """Re-key span codings (no segment id) to every universe segment their span overlaps.

    Codings whose unit already names a segment of ``segments`` are kept as they are.
    """
    known = set(segments["unit"])
    seg = segments.dropna(subset=["doc_id", "start", "end"])
    todo = codings[~codings["unit"].isin(known) & codings["has_span"]]
    if todo.empty or seg.empty:
        return codings
    merged = todo.drop(columns=["unit"]).reset_index().merge(
        seg[["unit", "doc_id", "start", "end", "text"]].rename(
            columns={"start": "seg_start", "end": "seg_end", "text": "seg_text"}), on="doc_id")
    overlap = (merged["start"].astype(int) < merged["seg_end"].astype(int)) & (
        merged["seg_start"].astype(int) < merged["end"].astype(int))
    merged = merged[overlap]
    mapped = merged.assign(start=merged["seg_start"], end=merged["seg_end"], text=merged["seg_text"])
    mapped = mapped[[*codings.columns.tolist(), "index"]].set_index("index")
    mapped_idx = set(mapped.index)
    keep = codings[[i not in mapped_idx for i in codings.index]]
    return pd.concat([keep, mapped], ignore_index=True)


# --------------------------------------------------------------------------- presence and histograms


def presence(codings: pd.DataFrame, coders: Sequence[str], units: Sequence[str],
             codes: Sequence[str]) -> tuple[np.ndarray, int]:
    """Boolean tensor ``P[c, u, k]``: coder c applied code k to unit u; shape (coders, units, codes).

    Returns ``(P, n_coders)``. Codings of other coders, units or codes are ignored.
    """
    coder_idx = pd.Index(list(coders)).get_indexer(codings["coder"])
    unit_idx = pd.Index(list(units)).get_indexer(codings["unit"])
    code_idx = pd.Index(list(codes)).get_indexer(codings["code"])
    ok = (coder_idx >= 0) & (unit_idx >= 0) & (code_idx >= 0)
    tensor = np.zeros((len(coders), len(units), len(codes)), dtype=bool)
    tensor[coder_idx[ok], unit_idx[ok], code_idx[ok]] = True
    return tensor, len(coders)


def binary_histograms(tensor: np.ndarray, n_coders: int) -> np.ndarray:
    """Per code, the number of units on which exactly j coders applied it; shape (codes, coders + 1)."""
    applied = tensor.sum(axis=0)  # (units, codes)
    n_codes = tensor.shape[2]
    flat = np.arange(n_codes)[None, :] * (n_coders + 1) + applied
    return np.bincount(flat.ravel(), minlength=n_codes * (n_coders + 1)).reshape(n_codes, n_coders + 1)


def binary_alpha(hist: np.ndarray, n_coders: int) -> np.ndarray:
    """Krippendorff's alpha for binary data with no missing values from histograms (..., coders + 1).

    NaN where only one value occurs (expected disagreement 0).
    """
    hist = np.asarray(hist, dtype=float)
    j = np.arange(n_coders + 1, dtype=float)
    m = float(n_coders)
    o01 = (hist * j * (m - j)).sum(axis=-1) / (m - 1)
    o11 = (hist * j * (j - 1)).sum(axis=-1) / (m - 1)
    o00 = (hist * (m - j) * (m - j - 1)).sum(axis=-1) / (m - 1)
    n1, n0 = o11 + o01, o00 + o01
    n = n0 + n1
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n0 * n1 > 0, 1.0 - (n - 1) * o01 / (n0 * n1), np.nan)


def binary_stats(hist: Sequence[float] | np.ndarray, n_coders: int, only_a: float | None = None,
                 only_b: float | None = None) -> dict[str, float]:
    """All coefficients for one code from its histogram (units by number of coders applying it).

    ``hist[j]`` = (weighted) number of units that exactly j of the ``n_coders``
    coders applied the code to. With two coders give ``only_a``/``only_b`` (the
    split of ``hist[1]``) for Cohen's kappa; with more coders kappa is Fleiss'.
    Undefined coefficients are NaN here; :func:`undefined_reason` explains them.

    >>> s = binary_stats([800, 150, 50], 2, only_a=100, only_b=50)
    >>> round(s["kappa"], 4), s["percent_agreement"]
    (0.3182, 0.85)
    """
    h = np.asarray(hist, dtype=float)
    c = n_coders
    j = np.arange(c + 1, dtype=float)
    total = h.sum()
    if total <= 0:
        return {name: float("nan") for name in ("percent_agreement", "kappa", "alpha", "ac1", "brennan_prediger")}
    percent = (h[0] + h[c]) / total
    pairwise = float((h * (j * (j - 1) + (c - j) * (c - j - 1))).sum() / (c * (c - 1)) / total)
    share = float((h * j).sum() / (c * total))  # pi for "applied"
    if c == 2 and only_a is not None and only_b is not None:
        p_a = (h[2] + only_a) / total
        p_b = (h[2] + only_b) / total
        pe_kappa = p_a * p_b + (1 - p_a) * (1 - p_b)
    else:
        pe_kappa = share**2 + (1 - share) ** 2
    kappa = (pairwise - pe_kappa) / (1 - pe_kappa) if pe_kappa < 1 - 1e-15 else float("nan")
    pe_ac1 = 2 * share * (1 - share)
    return {
        "percent_agreement": float(percent),
        "kappa": float(kappa),
        "alpha": float(binary_alpha(h, c)),
        "ac1": float((pairwise - pe_ac1) / (1 - pe_ac1)),
        "brennan_prediger": float(2 * pairwise - 1),
    }


def undefined_reason(hist: Sequence[float] | np.ndarray, n_coders: int) -> str | None:
    """Why kappa and alpha are undefined for this histogram, or None."""
    h = np.asarray(hist, dtype=float)
    if h.sum() <= 0:
        return "undefined (no units)"
    if h[1:].sum() == 0 or h[:-1].sum() == 0:
        return ONE_CATEGORY
    return None


def bootstrap_alpha(unit_patterns: np.ndarray, n_coders: int, n_boot: int = 1000, seed: int = 0,
                    chunk: int = 100) -> np.ndarray:
    """Bootstrap replicates of binary alpha per code and pooled, resampling units with replacement.

    Parameters
    ----------
    unit_patterns : int array, shape (units, codes)
        How many coders applied each code to each unit.

    Returns
    -------
    ndarray, shape (n_boot, codes + 1)
        Alpha per replicate; the last column is the pooled alpha (all codes stacked).

    Units with the same pattern are merged first; each replicate draws
    ``units`` units with replacement (a multinomial over the distinct patterns),
    so the replicates equal those of resampling the raw units.
    """
    n_units, n_codes = unit_patterns.shape
    patterns, inverse, counts = np.unique(unit_patterns, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    n_rows = len(patterns)
    # one-hot of "j coders applied code k" for j >= 1 (j = 0 is what is left of the units)
    onehot = np.zeros((n_rows, n_codes * n_coders), dtype=np.float32)
    r_idx, k_idx = np.nonzero(patterns > 0)
    onehot[r_idx, k_idx * n_coders + patterns[r_idx, k_idx] - 1] = 1.0
    rng = np.random.default_rng(seed)
    out = np.empty((n_boot, n_codes + 1))
    chunk = max(1, min(chunk, 20_000_000 // max(n_units, 1)))  # bound the (chunk x units) draw arrays
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        if n_rows * 4 <= n_units:
            weights = rng.multinomial(n_units, counts / n_units, size=b).astype(np.float32)
        else:
            draws = inverse[rng.integers(0, n_units, size=(b, n_units))]
            weights = np.bincount((draws + np.arange(b)[:, None] * n_rows).ravel(),
                                  minlength=b * n_rows).reshape(b, n_rows).astype(np.float32)
        applied = (weights @ onehot).astype(float).reshape(b, n_codes, n_coders)
        hists = np.concatenate([n_units - applied.sum(axis=2, keepdims=True), applied], axis=2)
        out[done:done + b, :n_codes] = binary_alpha(hists, n_coders)
        out[done:done + b, n_codes] = binary_alpha(hists.sum(axis=1), n_coders)
        done += b
    return out


def percentile_interval(replicates: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval per column, ignoring undefined (NaN) replicates."""
    tail = (1 - level) / 2 * 100
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            low = np.nanpercentile(replicates, tail, axis=0)
            high = np.nanpercentile(replicates, 100 - tail, axis=0)
    return low, high


# --------------------------------------------------------------------------- the model as a coder


def suggestions_to_codings(suggestions: Any, top: int | None = 1, threshold: float | None = None,
                           coder: str = "model") -> pd.DataFrame:
    """Turn model suggestions into codings of a pseudo-coder.

    Parameters
    ----------
    suggestions : DataFrame or iterable of dicts
        Columns ``segment_id, code_id, score, rank`` (as ``Project.suggestions()``),
        optionally ``doc_id, start, end, text``.
    top : int or None
        Keep suggestions of rank <= top (default: the top-1 code per segment).
    threshold : float or None
        Keep suggestions with score >= threshold. With both, a suggestion must pass both.
    coder : str
        Name of the pseudo-coder.

    Returns
    -------
    DataFrame with ``unit, doc_id, start, end, text, coder, code``.

    >>> s = pd.DataFrame({"segment_id": ["a", "a", "b"], "code_id": ["x", "y", "y"],
    ...                   "score": [0.9, 0.5, 0.2], "rank": [1, 2, 1]})
    >>> suggestions_to_codings(s, top=None, threshold=0.4)["code"].tolist()
    ['x', 'y']
    """
    frame = suggestions.copy() if isinstance(suggestions, pd.DataFrame) else pd.DataFrame(list(suggestions))
    needed = {"segment_id", "code_id"}
    if not needed <= set(frame.columns):
        raise AgreementError(f"suggestions: need columns {sorted(needed)}; got {sorted(map(str, frame.columns))}")
    if top is None and threshold is None:
        raise AgreementError("suggestions: give top (e.g. 1) or a score threshold, or both")
    keep = pd.Series(True, index=frame.index)
    if top is not None:
        if "rank" not in frame.columns:
            frame["rank"] = frame.groupby("segment_id")["score"].rank(ascending=False, method="first")
        keep &= frame["rank"].astype(float) <= top
    if threshold is not None:
        if "score" not in frame.columns:
            raise AgreementError("suggestions: a threshold needs a 'score' column")
        keep &= frame["score"].astype(float) >= threshold
    chosen = frame[keep]
    out = pd.DataFrame({"unit": chosen["segment_id"].astype(str), "coder": coder,
                        "code": chosen["code_id"].astype(str)})
    for column in ("doc_id", "start", "end", "text"):
        out[column] = chosen[column].to_numpy() if column in chosen.columns else None
    return out.reset_index(drop=True)


def read_codings_csv(path) -> pd.DataFrame:
    """Read a CSV of codings (``unit`` or ``doc_id,start,end``; ``coder``; ``code``; optional ``text``).

    Errors name the file and line. Returns the normalised codings (see :func:`normalize_codings`).
    """
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise AgreementError(f"{path}: no such file")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise AgreementError(f"{path}: not UTF-8 text") from None
    except pd.errors.EmptyDataError:
        raise AgreementError(f"{path}: the file is empty") from None
    except pd.errors.ParserError as exc:
        raise AgreementError(f"{path}: not a readable CSV ({str(exc).strip().splitlines()[0]})") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    for column in ("start", "end"):
        if column in frame.columns:
            numbers = pd.to_numeric(frame[column], errors="coerce")
            bad = frame[column].notna() & (numbers.isna() | (numbers % 1 != 0) | (numbers < 0))
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise AgreementError(f"{path}: line {i + 2}: '{column}' must be a whole number >= 0; "
                                     f"got {frame[column].iloc[i]!r}")
            frame[column] = numbers.astype("Int64")
    if {"start", "end"} <= set(frame.columns):
        backwards = (frame["end"] < frame["start"]).fillna(False).to_numpy(dtype=bool)
        if backwards.any():
            i = int(np.flatnonzero(backwards)[0])
            raise AgreementError(f"{path}: line {i + 2}: 'end' ({frame['end'].iloc[i]}) is before "
                                 f"'start' ({frame['start'].iloc[i]})")
    return normalize_codings(frame, where=str(path), first_line=2)
