"""Scores to probabilities: a softmax over the codes with a temperature fitted on labelled decisions.

``p(code | segment) = softmax(scores / T)``. ``T`` is fitted by minimising the
negative log-likelihood of the codes that coders accepted. Only decisions are
an honest source: fitted on the codebook's own examples (leave-one-out), the
temperature was over-confident on a set from another field (expected
calibration error 0.375 on SERDIF, against 0.043 when fitted on half of that
set's decisions; ``bench/bench_quality.py``). So :class:`Calibrator` says
whether it is fitted from decisions (``source``) and a run records it.

>>> import numpy as np
>>> S = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
>>> cal = Calibrator.fit(S, [{0}, {1}, {0}])
>>> cal.source, bool(cal.probabilities(S)[0, 0] > 0.5)
('decisions', True)
>>> round(expected_calibration_error([0.9, 0.9], [True, False]), 2)
0.4
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import QcodeError

#: decisions (accepted codes) needed before a fitted temperature is trusted
MIN_CALIBRATION_LABELS = 30
#: the temperature used before there are enough decisions (fitted on the mcn-sst codebook's own examples)
DEFAULT_TEMPERATURE = 0.056
_GRID = np.geomspace(0.005, 1.0, 120)


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    if temperature <= 0:
        raise QcodeError(f"calibration temperature must be positive, not {temperature}")
    z = (np.asarray(scores, dtype=np.float64) - np.max(scores, axis=1, keepdims=True)) / temperature
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def _nll(scores: np.ndarray, gold: Sequence[Iterable[int]], temperature: float) -> float:
    p = softmax(scores, temperature)
    return float(-np.mean([np.log(p[i, list(g)].sum() + 1e-12) for i, g in enumerate(gold)]))


@dataclass(frozen=True)
class Calibrator:
    """A fitted temperature and where it came from (``"decisions"`` or ``"default"``)."""

    temperature: float = DEFAULT_TEMPERATURE
    source: str = "default"
    n_labels: int = 0

    @classmethod
    def fit(cls, scores: np.ndarray, gold: Sequence[Iterable[int]]) -> Calibrator:
        """Fit on score rows whose accepted code columns are ``gold[i]`` (grid search on the NLL)."""
        gold = [set(g) for g in gold]
        if len(gold) != len(scores) or not gold or any(not g for g in gold):
            raise QcodeError("calibration needs one non-empty set of accepted codes per score row")
        best = min(_GRID, key=lambda t: _nll(np.asarray(scores), gold, float(t)))
        return cls(float(best), "decisions", len(gold))

    @classmethod
    def fit_or_default(cls, scores: np.ndarray, gold: Sequence[Iterable[int]],
                       min_labels: int = MIN_CALIBRATION_LABELS) -> Calibrator:
        """:meth:`fit` when there are at least ``min_labels`` rows, else the default temperature."""
        return cls.fit(scores, gold) if len(gold) >= min_labels else cls(n_labels=len(gold))

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        return softmax(scores, self.temperature)

    def record(self) -> dict[str, object]:
        return {"temperature": round(self.temperature, 6), "source": self.source, "n_labels": self.n_labels}


def expected_calibration_error(confidence: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    """Mean |confidence - accuracy| over equal-width confidence bins, weighted by bin size."""
    conf = np.asarray(confidence, dtype=float)
    ok = np.asarray(correct, dtype=float)
    if conf.shape != ok.shape or conf.size == 0:
        raise QcodeError("expected_calibration_error needs equal, non-empty confidence and correctness lists")
    total = 0.0
    for i, (lo, hi) in enumerate(zip(np.linspace(0, 1, bins + 1)[:-1], np.linspace(0, 1, bins + 1)[1:])):
        inside = (conf > lo) & (conf <= hi) if i else (conf >= lo) & (conf <= hi)
        if inside.any():
            total += inside.mean() * abs(conf[inside].mean() - ok[inside].mean())
    return float(total)


def reliability_table(confidence: Sequence[float], correct: Sequence[bool], bins: int = 10) -> list[tuple[float, float, float, int]]:
    """(bin low, bin high, accuracy, count) per non-empty bin: the data of a reliability diagram."""
    conf = np.asarray(confidence, dtype=float)
    ok = np.asarray(correct, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    rows = []
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        inside = (conf > lo) & (conf <= hi) if i else (conf >= lo) & (conf <= hi)
        if inside.any():
            rows.append((float(lo), float(hi), float(ok[inside].mean()), int(inside.sum())))
    return rows


__all__ = ["Calibrator", "DEFAULT_TEMPERATURE", "MIN_CALIBRATION_LABELS", "expected_calibration_error",
           "reliability_table", "softmax"]
