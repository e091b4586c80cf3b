"""Build an agreement report from long-form codings.

>>> import pandas as pd
>>> from qcode.agreement import report
>>> codings = pd.DataFrame({
...     "unit":  ["s1", "s1", "s2", "s2", "s3", "s4"],
...     "coder": ["A",  "B",  "A",  "B",  "A",  "B"],
...     "code":  ["x",  "x",  "y",  "y",  "x",  "y"]})
>>> r = report(codings, n_boot=200)
>>> r.per_code["code"].tolist()
['x', 'y', '(pooled)']
>>> float(round(r.per_code.loc[0, "percent_agreement"], 2))
0.75
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from ..errors import AgreementError
from .bands import ALPHA_BANDS, BANDS_TEXT, KAPPA_BANDS, POOLED, UNITS, band, sample_caution
from .characters import coverage_mask
from .coding import (
    binary_histograms,
    binary_stats,
    bootstrap_alpha,
    map_spans_to_segments,
    normalize_codings,
    normalize_universe,
    percentile_interval,
    presence,
    undefined_reason,
)
from .metrics import UndefinedAgreement
from .result import AgreementReport
from .unitized import unitized_alpha

__all__ = ["ALPHA_BANDS", "BANDS_TEXT", "KAPPA_BANDS", "POOLED", "UNITS", "AgreementReport", "band", "report"]


# --------------------------------------------------------------------------- selection helpers


def _select_coders(frame: pd.DataFrame, coders: Sequence[str] | str | None) -> list[str]:
    present = sorted(frame["coder"].unique())
    if coders is None:
        chosen = present
    else:
        chosen = [c.strip() for c in coders.split(",")] if isinstance(coders, str) else [str(c) for c in coders]
        chosen = [c for c in chosen if c]
        unknown = [c for c in chosen if c not in present]
        if unknown:
            raise AgreementError(
                f"unknown coder{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                f"coders in the codings: {', '.join(present) or 'none'}")
        if len(set(chosen)) != len(chosen):
            raise AgreementError(f"coders listed twice: {', '.join(chosen)}")
    if len(chosen) < 2:
        raise AgreementError(
            f"agreement needs at least two coders; the codings have {len(chosen)}"
            + (f" ({', '.join(chosen)})" if chosen else ""))
    return chosen


def _shared_documents(frame: pd.DataFrame, coders: list[str]) -> tuple[set | None, list[str]]:
    """Documents that every compared coder coded at least once (None when documents are unknown)."""
    if frame["doc_id"].isna().all():
        return None, []
    per_coder = [set(frame.loc[frame["coder"] == c, "doc_id"].dropna().astype(str)) for c in coders]
    shared = set.intersection(*per_coder)
    everything = set.union(*per_coder)
    return shared, sorted(everything - shared)


# --------------------------------------------------------------------------- the report


def report(codings: Any, coders: Sequence[str] | str | None = None, unit: str = "segment",
           include_uncoded: bool | None = None, n_boot: int = 1000, seed: int = 0,
           universe: Any = None, codes: Sequence[str] | None = None, overlap: str = "documents",
           doc_lengths: Mapping[str, int] | None = None, max_disagreements: int | None = None,
           doc_texts: Mapping[str, str] | None = None) -> AgreementReport:
    """Per-code and pooled agreement between coders on multi-label codings.

    Parameters
    ----------
    codings : DataFrame
        Long form, one row per (unit, coder, code): columns ``coder``, ``code``
        (or ``code_id``/``code_name``) and ``unit`` or ``segment_id`` or
        ``doc_id``+``start``+``end``; optional ``text``. ``Project.codings()`` fits.
    coders : list of str, "A,B", or None
        Coders to compare (two, or more); None = every coder in ``codings``.
    unit : "segment", "document" or "character"
        Unit of analysis. "character" follows NVivo's coding comparison.
    include_uncoded : bool or None
        Whether units no compared coder coded count (as agreement on absence).
        Needs ``universe`` for segments/documents. None: False for segments and
        documents, True at character level (NVivo counts every character).
    n_boot, seed : int
        Bootstrap resamples over units for alpha's 95% interval (0 = none), and its seed.
    universe : DataFrame, list of Segment, or list of ids
        All units that could have been coded (e.g. ``Project.segments()``).
        At character level: a DataFrame with ``doc_id`` and ``chars`` or ``text``.
    codes : list of str, optional
        Codes to report (default: every code a compared coder applied).
    overlap : "documents" or "all"
        "documents": compare only documents that every compared coder coded at
        least once (a second coder who double-coded a subsample is not counted as
        leaving the rest uncoded). "all": assume every coder read every unit.
    doc_lengths : mapping doc_id -> number of characters, optional
        Character level: source lengths (else taken from ``universe``).
    max_disagreements : int, optional
        Keep at most this many rows in the disagreement list.
    doc_texts : mapping doc_id -> text, optional
        Character level: source texts, to quote the disputed stretches (and give source lengths).

    Returns
    -------
    AgreementReport
    """
    if unit not in UNITS:
        raise AgreementError(f"unit must be one of {', '.join(UNITS)}; got {unit!r}")
    if overlap not in ("documents", "all"):
        raise AgreementError(f"overlap must be 'documents' or 'all'; got {overlap!r}")
    if n_boot < 0:
        raise AgreementError(f"n_boot must be >= 0; got {n_boot}")
    frame = normalize_codings(codings)
    if frame.empty:
        raise AgreementError("codings: no codings to compare")
    chosen = _select_coders(frame, coders)
    frame = frame[frame["coder"].isin(chosen)]
    if include_uncoded is None:
        include_uncoded = unit == "character"
    notes: list[str] = []
    shared_docs: set[str] | None = None
    excluded: list[str] = []
    if overlap == "documents":
        shared_docs, excluded = _shared_documents(frame, chosen)
        if shared_docs is None:
            notes.append("the codings name no documents: every compared coder is taken to have read every unit")
        else:
            if not shared_docs:
                raise AgreementError(
                    f"no overlapping units: coders {', '.join(chosen)} have no document that all of them coded")
            if excluded:
                notes.append(f"{len(excluded)} document(s) coded by only some of the compared coders were left out "
                             f"(overlap='documents'): {', '.join(excluded[:5])}{' ...' if len(excluded) > 5 else ''}")
            frame = frame[frame["doc_id"].isna() | frame["doc_id"].astype(str).isin(shared_docs)]
    code_list = sorted(frame["code"].unique()) if codes is None else [str(c) for c in codes]
    labels: dict[str, str] = {}
    for code, label in zip(frame["code"], frame["code_label"]):
        if code not in labels or labels[code] == code:  # a real name beats a bare id
            labels[code] = label
    if unit == "character":
        if doc_texts is not None and doc_lengths is None:
            doc_lengths = {str(d): len(t) for d, t in doc_texts.items()}
        return _character_report(frame, chosen, code_list, labels, include_uncoded, universe, doc_lengths,
                                 shared_docs, notes, doc_texts or {}, max_disagreements)
    uni = None
    if universe is not None:
        uni = normalize_universe(universe)
        if unit == "segment":
            frame = map_spans_to_segments(frame, uni)
    elif include_uncoded:
        raise AgreementError("include_uncoded needs a universe of all units (e.g. a project's segments); "
                             "without one only coded units can be compared")
    if unit == "document":
        if frame["doc_id"].isna().any():
            raise AgreementError("unit='document' needs a 'doc_id' for every coding")
        frame = frame.assign(unit=frame["doc_id"].astype(str), start=None, end=None, text=None)
        if uni is not None:
            uni = pd.DataFrame({"unit": uni["doc_id"].dropna().astype(str).unique()}).assign(
                doc_id=lambda d: d["unit"], start=None, end=None, text=None)
    units = _unit_table(frame, uni, include_uncoded, shared_docs)
    if len(units) == 0:
        raise AgreementError("no overlapping units to compare")
    tensor, n_coders = presence(frame, chosen, units["unit"].tolist(), code_list)
    hists = binary_histograms(tensor, n_coders)
    per_code = _per_code_table(tensor, hists, chosen, code_list, labels, n_boot, seed)
    kappa_name = "Cohen's kappa" if n_coders == 2 else "Fleiss' kappa"
    disagreements = _disagreements(tensor, units, chosen, code_list, labels, max_disagreements)
    return AgreementReport(per_code=per_code, pairwise=_pairwise(tensor, chosen), disagreements=disagreements,
                           coders=chosen, unit=unit, include_uncoded=bool(include_uncoded), n_units=len(units),
                           kappa_name=kappa_name, n_boot=n_boot, seed=seed, notes=notes)


def _unit_table(frame: pd.DataFrame, uni: pd.DataFrame | None, include_uncoded: bool,
                shared_docs: set | None) -> pd.DataFrame:
    coded = frame.drop_duplicates("unit")[["unit", "doc_id", "start", "end", "text"]]
    if uni is None:
        table = coded
    else:
        meta = uni.set_index("unit")
        if include_uncoded:
            pool = uni if shared_docs is None else uni[uni["doc_id"].isna() | uni["doc_id"].astype(str).isin(shared_docs)]
            extra = coded[~coded["unit"].isin(set(pool["unit"]))]
            table = pd.concat([pool, extra], ignore_index=True)
        else:
            table = coded.copy()
        for column in ("doc_id", "start", "end", "text"):
            known = table["unit"].map(meta[column]) if column in meta.columns else None
            if known is not None:
                table[column] = table[column].where(table[column].notna(), known)
    table = table.reset_index(drop=True)
    order = table.assign(_doc=table["doc_id"].astype(str), _start=pd.to_numeric(table["start"], errors="coerce"))
    return table.loc[order.sort_values(["_doc", "_start", "unit"], na_position="last").index].reset_index(drop=True)


def _per_code_table(tensor: np.ndarray, hists: np.ndarray, coders: list[str], codes: list[str],
                    labels: dict, n_boot: int, seed: int) -> pd.DataFrame:
    n_coders = len(coders)
    rows = []
    for k, code in enumerate(codes):
        only = _only_split(tensor[:, :, k]) if n_coders == 2 else (None, None)
        rows.append(_row(code, labels.get(code, code), hists[k], n_coders, *only))
    pooled_only = _only_split(tensor.reshape(n_coders, -1)) if n_coders == 2 else (None, None)
    rows.append(_row(POOLED, POOLED, hists.sum(axis=0), n_coders, only_a=pooled_only[0], only_b=pooled_only[1],
                     units=tensor.shape[1]))
    table = pd.DataFrame(rows)
    table["alpha_low"] = np.nan
    table["alpha_high"] = np.nan
    if n_boot and tensor.shape[1] > 0:
        patterns = tensor.sum(axis=0)
        reps = bootstrap_alpha(patterns, n_coders, n_boot=n_boot, seed=seed)
        low, high = percentile_interval(reps)
        defined = table["alpha"].notna().to_numpy()
        table.loc[defined, "alpha_low"] = low[defined]
        table.loc[defined, "alpha_high"] = high[defined]
    table["alpha_band"] = [band(v) for v in table["alpha"]]
    table["kappa_band"] = [band(v, KAPPA_BANDS) for v in table["kappa"]]
    columns = ["code", "label", "n_units", "n_values", "n_applied", "percent_agreement", "kappa", "alpha",
               "alpha_low", "alpha_high", "ac1", "brennan_prediger", "alpha_band", "kappa_band", "caution", "note"]
    return table[columns]


def _only_split(matrix: np.ndarray) -> tuple[int, int]:
    a, b = matrix[0], matrix[1]
    return int(np.count_nonzero(a & ~b)), int(np.count_nonzero(b & ~a))


def _row(code: str, label: str, hist: np.ndarray, n_coders: int, only_a=None, only_b=None,
         units: int | None = None) -> dict:
    stats = binary_stats(hist, n_coders, only_a, only_b)
    reason = undefined_reason(hist, n_coders)
    note = f"kappa and alpha {reason}" if reason else ""
    n_units = int(np.sum(hist))
    n_values = n_units * n_coders  # every compared coder has a value (present/absent) for every unit
    present = int(np.dot(np.arange(len(hist)), hist))
    return {"code": code, "label": label, "n_units": n_units, "n_values": n_values,
            "n_applied": int(np.sum(hist[1:])), **stats,
            "caution": sample_caution(n_units if units is None else units, n_values, min(present, n_values - present)),
            "note": note}


def _pairwise(tensor: np.ndarray, coders: list[str]) -> dict[str, pd.DataFrame]:
    """Coder x coder pooled Cohen's kappa and alpha (all codes stacked)."""
    kappa = pd.DataFrame(np.eye(len(coders)), index=coders, columns=coders)
    alpha = kappa.copy()
    flat = tensor.reshape(len(coders), -1)
    for i, j in combinations(range(len(coders)), 2):
        pair = np.stack([flat[i], flat[j]])
        hist = np.bincount(pair.sum(axis=0), minlength=3)
        stats = binary_stats(hist, 2, *_only_split(pair))
        kappa.iloc[i, j] = kappa.iloc[j, i] = stats["kappa"]
        alpha.iloc[i, j] = alpha.iloc[j, i] = stats["alpha"]
    return {"kappa": kappa, "alpha": alpha}


def _disagreements(tensor: np.ndarray, units: pd.DataFrame, coders: list[str], codes: list[str],
                   labels: dict, limit: int | None) -> pd.DataFrame:
    applied = tensor.sum(axis=0)  # (units, codes)
    disputed = (applied > 0) & (applied < len(coders))
    rows = np.flatnonzero(disputed.any(axis=1))
    if limit is not None:
        rows = rows[:limit]
    names = np.array([labels.get(c, c) for c in codes], dtype=object)
    table = units.iloc[rows][["unit", "doc_id", "start", "end", "text"]].reset_index(drop=True)
    table["disputed"] = ["; ".join(names[disputed[u]]) for u in rows]
    for c, coder in enumerate(coders):
        table[coder] = ["; ".join(names[tensor[c, u]]) for u in rows]
    return table[["unit", "doc_id", "start", "end", "text", "disputed", *coders]]


# --------------------------------------------------------------------------- character level


def _doc_lengths(frame: pd.DataFrame, universe: Any, doc_lengths: Mapping[str, int] | None,
                 notes: list[str]) -> dict[str, int]:
    lengths: dict[str, int] = {}
    if doc_lengths is not None:
        lengths.update({str(k): int(v) for k, v in doc_lengths.items()})
    elif universe is not None:
        uni = universe if isinstance(universe, pd.DataFrame) else pd.DataFrame(list(universe))
        if "doc_id" not in uni.columns:
            raise AgreementError("unit='character': the universe needs a 'doc_id' column with 'chars' or 'text'")
        if "chars" in uni.columns:
            lengths.update({str(d): int(n) for d, n in zip(uni["doc_id"], uni["chars"])})
        elif "text" in uni.columns and "start" not in uni.columns:
            lengths.update({str(d): len(t) for d, t in zip(uni["doc_id"], uni["text"])})
        elif "end" in uni.columns:
            lengths.update({str(d): int(e) for d, e in uni.groupby("doc_id")["end"].max().items()})
    ends = frame.groupby(frame["doc_id"].astype(str))["end"].max()
    guessed = [d for d in ends.index if d not in lengths]
    for doc in guessed:
        lengths[doc] = int(ends[doc])
    if guessed:
        notes.append(f"length of {len(guessed)} source(s) unknown: each taken to end at its last coded character")
    for doc, end in ends.items():
        if int(end) > lengths[doc]:
            raise AgreementError(f"document {doc!r}: a coding ends at character {int(end)} but the source has "
                                 f"{lengths[doc]} characters")
    return lengths


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each stretch of True in a boolean mask."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def _disputed_stretches(doc: str, text: str | None, coder_masks: list[np.ndarray], coders: list[str],
                        label: str) -> list[dict]:
    """Stretches of one source where some but not all coders applied the code, split where who coded changes."""
    stack = np.stack(coder_masks)
    pattern = (stack.astype(np.int64) << np.arange(len(coders))[:, None]).sum(axis=0)
    full = (1 << len(coders)) - 1
    disputed = (pattern > 0) & (pattern < full)
    if not disputed.any():
        return []
    change = np.flatnonzero(np.diff(pattern) != 0) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(pattern)]])
    out = []
    for start, end in zip(starts.tolist(), ends.tolist()):
        if not disputed[start]:
            continue
        record = {"unit": f"{doc}@{start}-{end}", "doc_id": doc, "start": start, "end": end,
                  "text": text[start:end] if text is not None else None, "disputed": label}
        for c, coder in enumerate(coders):
            record[coder] = label if coder_masks[c][start] else ""
        out.append(record)
    return out


def _safe_unitized(spans: list, begin: int, length: int, n_coders: int) -> float:
    """Unitizing alpha across the categories in ``spans``; NaN when undefined."""
    if not spans or length <= 0:
        return float("nan")
    try:
        return unitized_alpha(spans, begin, length, n_coders)
    except UndefinedAgreement:
        return float("nan")


def _character_report(frame: pd.DataFrame, coders: list[str], codes: list[str], labels: dict,
                      include_uncoded: bool, universe: Any, doc_lengths, shared_docs, notes,
                      doc_texts: Mapping[str, str], max_disagreements: int | None) -> AgreementReport:
    if not frame["has_span"].all():
        raise AgreementError("unit='character' needs 'doc_id', 'start' and 'end' for every coding")
    frame = frame.assign(doc_id=frame["doc_id"].astype(str), start=frame["start"].astype(int),
                         end=frame["end"].astype(int))
    bad = frame[frame["end"] < frame["start"]]
    if len(bad):
        raise AgreementError(f"document {bad['doc_id'].iloc[0]!r}: a coding ends ({bad['end'].iloc[0]}) "
                             f"before it starts ({bad['start'].iloc[0]})")
    lengths = _doc_lengths(frame, universe, doc_lengths, notes)
    docs = sorted(set(frame["doc_id"]) if shared_docs is None else shared_docs & set(frame["doc_id"]))
    n_coders = len(coders)
    width = n_coders + 1
    source_rows = []
    totals = np.zeros((len(codes), width))
    splits = np.zeros((len(codes), 2))
    n_chars = 0
    unit_spans: dict[str, list] = {code: [] for code in codes}  # per code, all sources end to end
    disputes: list[dict] = []
    offset = 0
    for doc in docs:
        in_doc = frame[frame["doc_id"] == doc]
        length = lengths[doc]
        masks = {}
        for (coder, code), group in in_doc.groupby(["coder", "code"]):
            masks[(coder, code)] = coverage_mask(length, zip(group["start"], group["end"]))
        if include_uncoded:
            scope = np.ones(length, dtype=bool)
        else:
            scope = np.zeros(length, dtype=bool)
            for mask in masks.values():
                scope |= mask
        n_chars += int(scope.sum())
        empty = np.zeros(length, dtype=bool)
        for k, code in enumerate(codes):
            coder_masks = [masks.get((c, code), empty) for c in coders]
            runs = [_runs(m) for m in coder_masks]
            disputes.extend(_disputed_stretches(doc, doc_texts.get(doc), coder_masks, coders,
                                                labels.get(code, code)))
            unit_spans[code].extend((i, offset + a, b - a, code) for i, r in enumerate(runs) for a, b in r)
            stack = np.stack([masks.get((c, code), empty)[scope] for c in coders])
            hist = np.bincount(stack.sum(axis=0), minlength=width).astype(float)
            only = _only_split(stack) if n_coders == 2 else (None, None)
            totals[k] += hist
            if n_coders == 2:
                splits[k] += only
            if hist[1:].sum() > 0:  # NVivo lists the (code, source) pairs that someone coded
                row = _row(code, labels.get(code, code), hist, n_coders, *only)
                spans = [(i, a, b - a, code) for i, r in enumerate(runs) for a, b in r]
                row["unitized_alpha"] = _safe_unitized(spans, 0, length, n_coders) if include_uncoded else np.nan
                source_rows.append({"doc_id": doc, "chars": int(hist.sum()), **row})
        offset += length
    rows = []
    for k, code in enumerate(codes):
        only = tuple(splits[k]) if n_coders == 2 else (None, None)
        rows.append(_row(code, labels.get(code, code), totals[k], n_coders, *only))
    pooled_only = tuple(splits.sum(axis=0)) if n_coders == 2 else (None, None)
    rows.append(_row(POOLED, POOLED, totals.sum(axis=0), n_coders, *pooled_only))
    per_code = pd.DataFrame(rows)
    per_code["unitized_alpha"] = [
        _safe_unitized(unit_spans[code], 0, offset, n_coders) if include_uncoded and offset else np.nan
        for code in codes] + [_safe_unitized([s for c in codes for s in unit_spans[c]], 0, offset, n_coders)
                              if include_uncoded and offset else np.nan]
    per_code = per_code.assign(alpha_low=np.nan, alpha_high=np.nan,
                               alpha_band=[band(v) for v in per_code["alpha"]],
                               kappa_band=[band(v, KAPPA_BANDS) for v in per_code["kappa"]])
    per_code["caution"] = ""  # characters are not independent units: qcode's minimums do not apply
    per_code = per_code[["code", "label", "n_units", "n_values", "n_applied", "percent_agreement", "kappa",
                         "alpha", "alpha_low", "alpha_high", "ac1", "brennan_prediger", "unitized_alpha",
                         "alpha_band", "kappa_band", "caution", "note"]]
    per_source = pd.DataFrame(source_rows)
    notes.append("character level (NVivo coding comparison): n counts characters; per-code rows sum the sources, "
                 "so each source weighs by its length; characters are not independent, so no interval is given")
    if include_uncoded:
        notes.append("unitized alpha (Krippendorff 1995/2004) treats each coder's coded stretches of a code as units "
                     "on the continuum of the compared sources placed end to end; overlapping or touching stretches "
                     "of one coder are merged; the pooled row uses every code at once")
    empty_pair = {"kappa": pd.DataFrame(), "alpha": pd.DataFrame()}
    columns = ["unit", "doc_id", "start", "end", "text", "disputed", *coders]
    disputes.sort(key=lambda d: (d["doc_id"], d["start"], d["end"], d["disputed"]))
    if max_disagreements is not None:
        disputes = disputes[:max_disagreements]
    disagreements = pd.DataFrame(disputes, columns=columns)
    return AgreementReport(per_code=per_code, pairwise=empty_pair, disagreements=disagreements, coders=coders,
                           unit="character", include_uncoded=bool(include_uncoded), n_units=n_chars,
                           kappa_name="Cohen's kappa" if n_coders == 2 else "Fleiss' kappa", n_boot=0, seed=0,
                           notes=notes, per_source=per_source)
