"""A small TF-IDF model for the lexical part of the suggestion score.

Written here rather than taken from scikit-learn because importing
scikit-learn (and SciPy with it) costs seconds at start-up, and ``qcode
suggest`` on a small folder should answer in about one. The weighting is the
usual one: sublinear term frequency ``1 + log(tf)``, smoothed inverse document
frequency ``log((1 + n) / (1 + df)) + 1``, rows scaled to unit length.

>>> model = TfidfModel().fit(["money and funding", "records systems"])
>>> sims = model.similarity(["the funding ran out"], model.transform(["money and funding", "records systems"]))
>>> sims.shape, bool(sims[0, 0] > sims[0, 1])
((1, 2), True)
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

_TOKEN = re.compile(r"(?u)\b\w\w+\b")

#: Common English function words, left out of the lexical match.
STOP_WORDS = frozenset("""
a about above after again against all almost also am an and any are as at be because been before
being below between both but by can could did do does doing done down during each either else
enough even ever every few for from further get gets got had has have having he her here hers
herself him himself his how i if in into is it its itself just least less let like ll made make
many may me might more most much must my myself neither no nor not now of off often on once one
only or other others our ours ourselves out over own per quite rather re really same say says
she should so some such than that the their theirs them themselves then there these they this
those though through thus to too under until up upon us use used very ve was we well were what
when where whether which while who whom whose why will with within without would yet you your
yours yourself yourselves
""".split())


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens of two or more characters, stop words removed."""
    return [t for t in _TOKEN.findall(text.lower()) if t not in STOP_WORDS]


class TfidfModel:
    """TF-IDF vectors over a vocabulary fitted on a few documents (the codebook's codes)."""

    def __init__(self) -> None:
        self.vocabulary: dict[str, int] = {}
        self.idf = np.zeros(0, dtype=np.float32)

    def fit(self, documents: Sequence[str]) -> TfidfModel:
        doc_freq: Counter = Counter()
        for doc in documents:
            doc_freq.update(set(tokenize(doc)))
        terms = sorted(doc_freq)
        self.vocabulary = {t: i for i, t in enumerate(terms)}
        n = len(documents)
        self.idf = np.array([math.log((1 + n) / (1 + doc_freq[t])) + 1.0 for t in terms], dtype=np.float32)
        return self

    def transform(self, texts: Iterable[str]) -> np.ndarray:
        """Dense (n_texts, n_terms) matrix of unit-length TF-IDF rows (words outside the vocabulary ignored)."""
        texts = list(texts)
        out = np.zeros((len(texts), len(self.vocabulary)), dtype=np.float32)
        for row, text in enumerate(texts):
            counts = Counter(t for t in tokenize(text) if t in self.vocabulary)
            for term, tf in counts.items():
                col = self.vocabulary[term]
                out[row, col] = (1.0 + math.log(tf)) * self.idf[col]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def similarity(self, texts: Iterable[str], reference: np.ndarray) -> np.ndarray:
        """Cosine similarity (n_texts, n_reference) of ``texts`` to already transformed rows."""
        return self.transform(texts) @ reference.T
