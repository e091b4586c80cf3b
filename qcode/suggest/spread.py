"""The spread of each segment's best score over a run, in constant memory, and what it says about a threshold.

Scores of the default model are cosine similarities (blended with a learned
classifier once coders have decided), not probabilities: a segment's best score
is usually between 0.3 and 0.5, so a threshold such as 0.55 leaves most segments
without a code. A run keeps a histogram of best scores, reports its quantiles,
and when a threshold leaves more than half the segments uncoded it says which
threshold would have coded about three in four.

>>> spread = ScoreSpread()
>>> spread.extend([0.31, 0.36, 0.40, 0.44, 0.52])
>>> spread.count, round(spread.quantile(0.5), 3), round(spread.quantile(0.0), 3)
(5, 0.4, 0.31)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

#: Width of a histogram bin; quantiles are the lower edges of bins (within this of the true value).
BIN = 0.005
_LOW, _HIGH = -1.0, 1.0
_BINS = int(round((_HIGH - _LOW) / BIN)) + 1
#: A threshold that leaves more than this share of segments without a code is warned about.
UNCODED_SHARE = 0.5
#: The share of segments the proposed threshold would code.
PROPOSED_CODED_SHARE = 0.75
#: Where the documentation explains scores and thresholds.
GUIDE = "docs/concepts/suggesting.md, 'Choosing a threshold'"


@dataclass
class ScoreSpread:
    """A histogram of scores in bins of :data:`BIN` (scores outside -1..1 are clamped)."""

    bins: list[int] = field(default_factory=lambda: [0] * _BINS)
    count: int = 0

    def extend(self, scores: Iterable[float]) -> None:
        for score in scores:
            if math.isnan(score):
                continue
            clamped = min(max(float(score), _LOW), _HIGH)
            self.bins[int((clamped - _LOW) / BIN + 1e-9)] += 1
            self.count += 1

    def quantile(self, q: float) -> float:
        """The lower edge of the bin holding the ``q``-quantile (``nan`` for no scores)."""
        if self.count == 0:
            return math.nan
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for i, n in enumerate(self.bins):
            seen += n
            if seen >= rank:
                return round(_LOW + i * BIN, 6)
        return _HIGH

    def quantiles(self) -> dict[str, float]:
        """``{"p10": ..., "p50": ..., "p90": ...}`` of the best scores."""
        return {f"p{int(q * 100)}": self.quantile(q) for q in (0.1, 0.5, 0.9)}

    def describe(self) -> str:
        """'median 0.41 (10%-90%: 0.33-0.50)'."""
        if self.count == 0:
            return "-"
        p = self.quantiles()
        return f"median {p['p50']:.2f} (10%-90%: {p['p10']:.2f}-{p['p90']:.2f})"


def threshold_warning(spread: ScoreSpread, threshold: float | None, uncoded: int, segments: int) -> str | None:
    """A warning when ``threshold`` left more than half of ``segments`` without a code, with a better value."""
    if threshold is None or segments == 0 or uncoded <= UNCODED_SHARE * segments or spread.count == 0:
        return None
    proposed = math.floor(spread.quantile(1 - PROPOSED_CODED_SHARE) * 100) / 100
    return (f"{uncoded} of {segments} segments have no code scoring at least {threshold:g}; the best score of a "
            f"segment here is {spread.describe()}. Scores are similarities, not probabilities: "
            f"--threshold {proposed:.2f} would code about {round(PROPOSED_CODED_SHARE * 4)} in 4 segments "
            f"(see {GUIDE})")


__all__ = ["BIN", "GUIDE", "ScoreSpread", "threshold_warning"]
