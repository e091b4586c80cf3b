from __future__ import annotations

import numpy as np
import pytest

from qcode.errors import QcodeError
from qcode.suggest.calibration import (
    DEFAULT_TEMPERATURE,
    Calibrator,
    expected_calibration_error,
    reliability_table,
    softmax,
)


def _synthetic(n: int, k: int, noise: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    gold = rng.integers(0, k, n)
    S = rng.normal(0, noise, (n, k))
    S[np.arange(n), gold] += 0.1
    return S, [{int(g)} for g in gold]


def test_fitted_temperature_is_better_calibrated_than_a_wrong_one():
    S, gold = _synthetic(2000, 5, 0.1)
    train, test = slice(0, 1000), slice(1000, 2000)
    cal = Calibrator.fit(S[train], gold[train])
    assert cal.source == "decisions" and cal.n_labels == 1000
    def ece(T):
        P = softmax(S[test], T)
        j = P.argmax(1)
        return expected_calibration_error(P[np.arange(len(P)), j], [j[i] in g for i, g in enumerate(gold[test])])
    assert ece(cal.temperature) < 0.05
    assert ece(cal.temperature) < ece(cal.temperature / 5) and ece(cal.temperature) < ece(cal.temperature * 5)


def test_too_few_decisions_keep_the_default_and_say_so():
    S, gold = _synthetic(10, 3, 0.1)
    cal = Calibrator.fit_or_default(S, gold)
    assert cal.source == "default" and cal.temperature == DEFAULT_TEMPERATURE and cal.n_labels == 10
    assert cal.record()["source"] == "default"


def test_probabilities_sum_to_one_and_bad_input_is_one_line():
    P = Calibrator(0.1).probabilities(np.array([[0.3, 0.1, -0.2]]))
    assert P.sum() == pytest.approx(1.0) and P.argmax() == 0
    with pytest.raises(QcodeError):
        Calibrator.fit(np.zeros((2, 2)), [{0}])
    with pytest.raises(QcodeError):
        softmax(np.zeros((1, 2)), 0.0)
    with pytest.raises(QcodeError):
        expected_calibration_error([], [])


def test_reliability_table_counts_every_item_once():
    conf = [0.05, 0.15, 0.95, 0.96, 1.0]
    rows = reliability_table(conf, [False, True, True, True, False])
    assert sum(r[3] for r in rows) == 5
    assert rows[-1][:2] == (pytest.approx(0.9), pytest.approx(1.0)) and rows[-1][2] == pytest.approx(2 / 3)
    assert expected_calibration_error([1.0, 1.0], [True, True]) == 0.0
