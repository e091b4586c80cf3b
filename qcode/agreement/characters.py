"""Character-level agreement, following NVivo's coding comparison query.

For one code and one source (document) of ``T`` characters, every character is
either coded by both coders, by only one, or by neither. NVivo reports

* percent agreement = (both + neither) / T
* kappa = (agreeing chars - expected) / (T - expected), with expected =
  (A coded * B coded + A not coded * B not coded) / T

which is Cohen's kappa on the per-character 0/1 vectors. Summing the counts
over sources weights each source by its number of characters.

>>> c = CharacterCounts(both=50, only_a=100, only_b=50, neither=800)
>>> c.percent_agreement(), round(c.kappa(), 4)
(0.85, 0.3182)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .metrics import OneCategory, alpha_from_coincidences


@dataclass(frozen=True)
class CharacterCounts:
    """Characters of one (code, source) by who coded them: both, only A, only B, neither."""

    both: int
    only_a: int
    only_b: int
    neither: int

    @property
    def total(self) -> int:
        return self.both + self.only_a + self.only_b + self.neither

    def __add__(self, other: CharacterCounts) -> CharacterCounts:
        return CharacterCounts(
            self.both + other.both,
            self.only_a + other.only_a,
            self.only_b + other.only_b,
            self.neither + other.neither,
        )

    def percent_agreement(self) -> float:
        """(both + neither) / total characters."""
        if self.total == 0:
            raise OneCategory("percent agreement is undefined for a source of zero characters")
        return (self.both + self.neither) / self.total

    def kappa(self) -> float:
        """NVivo's kappa (= Cohen's kappa on per-character present/absent)."""
        total = self.total
        a_yes, b_yes = self.both + self.only_a, self.both + self.only_b
        expected = (a_yes * b_yes + (total - a_yes) * (total - b_yes)) / total if total else 0.0
        if total == 0 or expected >= total:
            raise OneCategory("kappa is undefined: every character is coded alike by both coders' marginals "
                              "(only one category)")
        return (self.both + self.neither - expected) / (total - expected)

    def alpha(self) -> float:
        """Krippendorff's alpha (nominal) treating each character as a unit rated by both coders."""
        disagree = self.only_a + self.only_b
        o = np.array([[2.0 * self.neither, disagree], [disagree, 2.0 * self.both]])
        return alpha_from_coincidences(o, "nominal")

    def ac1(self) -> float:
        """Gwet's AC1 with two categories (coded / not coded)."""
        total = self.total
        if total == 0:
            raise OneCategory("AC1 is undefined for a source of zero characters")
        pi_yes = (2 * self.both + self.only_a + self.only_b) / (2.0 * total)
        pe = 2 * pi_yes * (1 - pi_yes)
        return (self.percent_agreement() - pe) / (1 - pe)

    def brennan_prediger(self) -> float:
        """Brennan-Prediger with two categories: 2 * agreement - 1."""
        return 2 * self.percent_agreement() - 1


def coverage_mask(length: int, spans) -> np.ndarray:
    """Boolean mask of ``length`` characters, True inside any [start, end) span.

    >>> coverage_mask(6, [(1, 3), (2, 4)]).astype(int).tolist()
    [0, 1, 1, 1, 0, 0]
    """
    diff = np.zeros(length + 1, dtype=np.int64)
    for start, end in spans:
        start, end = max(0, int(start)), min(length, int(end))
        if end > start:
            diff[start] += 1
            diff[end] -= 1
    return np.cumsum(diff[:-1]) > 0


def character_counts(length: int, spans_a, spans_b) -> CharacterCounts:
    """Count a source's characters by coder for one code.

    >>> character_counts(10, [(0, 4)], [(2, 6)])
    CharacterCounts(both=2, only_a=2, only_b=2, neither=4)
    """
    a = coverage_mask(length, spans_a)
    b = coverage_mask(length, spans_b)
    both = int(np.count_nonzero(a & b))
    only_a = int(np.count_nonzero(a & ~b))
    only_b = int(np.count_nonzero(b & ~a))
    return CharacterCounts(both, only_a, only_b, length - both - only_a - only_b)
