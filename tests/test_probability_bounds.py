"""No suggestion shows a probability of exactly 1.0 or 0.0 (issue 22, item 18): the model is never that sure,
and an uncalibrated 1.0 reads as certainty."""

from __future__ import annotations

import numpy as np

from qcode import Suggester, load_codebook
from qcode.suggest.calibration import Calibrator


def test_saturated_softmax_is_shown_inside_the_open_interval(fake_embedder) -> None:
    suggester = Suggester(load_codebook("mcn-sst"), fake_embedder, context=False, abstain=False)
    suggester.calibrator = Calibrator(temperature=1e-4)  # a sharp softmax: 1.0 and 0.0 after rounding
    n = len(suggester.target_codes)
    scores = np.zeros((1, n))
    scores[0, 0] = 0.9
    [picked] = suggester.rank(scores, top_k=None)
    probabilities = [s.probability for s in picked]
    assert all(p is not None and 0.0 < p < 1.0 for p in probabilities), probabilities[:3]
    assert probabilities[0] > 0.999 and probabilities[-1] < 0.001
