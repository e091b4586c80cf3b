"""Coefficients against reference packages on random data, plus input handling and errors."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from qcode import agreement as ag
from qcode.errors import AgreementError

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def reliability_matrices(draw, min_coders=2, max_coders=5, max_units=40, missing=True):
    n_coders = draw(st.integers(min_coders, max_coders))
    n_units = draw(st.integers(2, max_units))
    n_values = draw(st.integers(2, 5))
    values = st.integers(1, n_values)
    cell = st.one_of(st.none(), values) if missing else values
    rows = draw(st.lists(st.lists(cell, min_size=n_units, max_size=n_units), min_size=n_coders, max_size=n_coders))
    return rows


def _as_float(rows):
    return np.array([[np.nan if v is None else float(v) for v in row] for row in rows])


def _pairable(rows) -> bool:
    arr = _as_float(rows)
    per_unit = (~np.isnan(arr)).sum(axis=0)
    vals = arr[:, per_unit >= 2]
    vals = vals[~np.isnan(vals)]
    return vals.size >= 2 and len(np.unique(vals)) >= 2


@pytest.mark.slow
@SETTINGS
@given(reliability_matrices(), st.sampled_from(["nominal", "ordinal", "interval", "ratio"]))
def test_alpha_matches_krippendorff_package(rows, level):
    assume(_pairable(rows))
    expected = krippendorff.alpha(reliability_data=_as_float(rows), level_of_measurement=level)
    assert ag.krippendorff_alpha(rows, level=level) == pytest.approx(expected, abs=1e-9)


@SETTINGS
@given(reliability_matrices(missing=False, max_coders=6))
def test_alpha_with_many_coders_uses_the_counts_path_and_agrees(rows):
    # more coders than categories -> the counts-table route of coincidence_matrix
    assume(_pairable(rows))
    expected = krippendorff.alpha(reliability_data=_as_float(rows), level_of_measurement="nominal")
    assert ag.krippendorff_alpha(rows) == pytest.approx(expected, abs=1e-9)


@SETTINGS
@given(reliability_matrices(min_coders=2, max_coders=2, missing=False), st.sampled_from([None, "linear", "quadratic"]))
def test_cohen_matches_sklearn(rows, weights):
    a, b = rows
    assume(len(set(a) | set(b)) >= 2)
    labels = sorted(set(a) | set(b))
    expected = cohen_kappa_score(a, b, weights=weights, labels=labels)
    assume(not math.isnan(expected))
    assert ag.cohen_kappa(a, b, weights=weights) == pytest.approx(expected, abs=1e-9)


@SETTINGS
@given(reliability_matrices(min_coders=2, max_coders=7, missing=False))
def test_fleiss_matches_statsmodels(rows):
    counts, _ = ag.counts_from_matrix(rows)
    assume(counts.shape[1] >= 2)
    expected = sm_fleiss_kappa(counts, method="fleiss")
    assert ag.fleiss_kappa(counts) == pytest.approx(expected, abs=1e-9)


@SETTINGS
@given(reliability_matrices(min_coders=2, max_coders=2, missing=False))
def test_two_coder_identities(rows):
    """With two coders and no missing values: Fleiss = Scott, Conger = Cohen, pairwise = plain agreement."""
    a, b = rows
    assume(len(set(a) | set(b)) >= 2)
    counts, _ = ag.counts_from_matrix(rows)
    assert ag.fleiss_kappa(counts) == pytest.approx(ag.scott_pi(a, b), abs=1e-12)
    assert ag.conger_kappa(rows) == pytest.approx(ag.cohen_kappa(a, b), abs=1e-12)
    assert ag.pairwise_agreement(rows) == pytest.approx(ag.percent_agreement(rows), abs=1e-12)


@SETTINGS
@given(reliability_matrices(max_coders=4))
def test_string_categories_give_the_same_nominal_alpha(rows):
    assume(_pairable(rows))
    as_text = [[None if v is None else f"code-{v}" for v in row] for row in rows]
    assert ag.krippendorff_alpha(as_text) == pytest.approx(ag.krippendorff_alpha(rows), abs=1e-12)


def test_inputs_numpy_pandas_and_lists_agree():
    rows = [[1, 2, 3, 3, None], [1, 2, 3, 4, 2], [2, 2, 3, 4, 2]]
    ref = ag.krippendorff_alpha(rows)
    assert ag.krippendorff_alpha(_as_float(rows)) == pytest.approx(ref)
    frame = pd.DataFrame(rows, index=["ann", "bob", "cat"])
    assert ag.krippendorff_alpha(frame) == pytest.approx(ref)
    assert ag.cohen_kappa(frame.loc["bob"], frame.loc["cat"]) == pytest.approx(ag.cohen_kappa(rows[1], rows[2]))


def test_cohen_leaves_out_units_missing_for_either_coder():
    assert ag.cohen_kappa([1, 2, None, 1], [1, 2, 2, None]) == pytest.approx(1.0)


def test_one_category_everywhere_is_undefined_not_nan():
    with pytest.raises(ag.OneCategory, match="only one"):
        ag.cohen_kappa([1, 1, 1], [1, 1, 1])
    with pytest.raises(ag.OneCategory):
        ag.krippendorff_alpha([["x", "x"], ["x", "x"]])
    with pytest.raises(ag.OneCategory):
        ag.fleiss_kappa([[3, 0], [3, 0]])
    with pytest.raises(ag.OneCategory):
        ag.gwet_ac1([[1, 1], [1, 1]])
    assert ag.gwet_ac1([[1, 1], [1, 1]], categories=[0, 1]) == 1.0  # q = 2 when the absent value is named
    assert ag.percent_agreement([[1, 1], [1, 1]]) == 1.0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: ag.krippendorff_alpha([[1, 2, 3]]), "at least two coders"),
        (lambda: ag.cohen_kappa([1, 2, 3], [1, 2]), "different numbers of units"),
        (lambda: ag.krippendorff_alpha([[1, 2, 3], [1, 2]]), "different lengths"),
        (lambda: ag.krippendorff_alpha([[1, None], [None, 2]]), "no unit has two or more values"),
        (lambda: ag.cohen_kappa([1, None], [None, 2]), "no unit that both"),
        (lambda: ag.krippendorff_alpha([["a", "b"], ["a", "a"]], level="interval"), "numeric"),
        (lambda: ag.krippendorff_alpha([[1, 2], [1, 2]], level="nominl"), "level must be one of"),
        (lambda: ag.cohen_kappa([1, 2], [1, 2], weights="cubic"), "weights must be"),
        (lambda: ag.fleiss_kappa([[1, -1]]), "non-negative"),
    ],
)
def test_bad_input_raises_agreement_error_with_a_one_line_message(call, message):
    with pytest.raises(AgreementError, match=message) as info:
        call()
    assert "\n" not in str(info.value)


def test_ordinal_alpha_respects_given_category_order():
    rows = [["low", "mid", "high", "high"], ["low", "high", "high", "mid"]]
    ordered = ag.krippendorff_alpha(rows, level="ordinal", categories=["low", "mid", "high"])
    numeric = ag.krippendorff_alpha([[0, 1, 2, 2], [0, 2, 2, 1]], level="ordinal")
    assert ordered == pytest.approx(numeric)


def test_large_alpha_matches_package():
    rng = np.random.default_rng(0)
    data = rng.integers(0, 4, size=(3, 20000)).astype(float)
    data[rng.random(data.shape) < 0.1] = np.nan
    for level in ("nominal", "interval"):
        expected = krippendorff.alpha(data, level_of_measurement=level)
        assert ag.krippendorff_alpha(data, level=level) == pytest.approx(expected, abs=1e-9)
