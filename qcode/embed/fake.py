"""A deterministic embedder without a model, for tests and examples that are about logic, not meaning.

:class:`FakeEmbedder` hashes the character n-grams of each (case-folded) text into a
small dense vector and L2-normalises it. Texts that share spelling share n-grams, so
"the funding ran out" lies nearer "funding was cut" than "records system": enough for
ranking, thresholds, learning, caching and storage to behave as they do with a real
model, in microseconds and with nothing loaded. It knows nothing of meaning (synonyms
score like strangers), so tests about suggestion quality need the real model.

>>> emb = FakeEmbedder(dim=32)
>>> v = emb.encode(["the funding ran out", "funding was cut", "records system"])
>>> v.shape, v.dtype
((3, 32), dtype('float32'))
>>> bool(v[0] @ v[1] > v[0] @ v[2])
True
>>> emb.identity["backend"], emb.calls, emb.texts_encoded
('fake', 1, 3)
"""

from __future__ import annotations

import hashlib
import unicodedata
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from .base import Embedder, Progress, check_texts, l2_normalise

NAME = "fake-ngram-hash"


class FakeEmbedder(Embedder):
    """Hashed character n-grams as unit vectors of ``dim`` floats; the same text always gives the same row.

    Parameters
    ----------
    dim : length of the vectors.
    ngrams : the n-gram lengths hashed (each text is padded with a space at both ends).
    name : the ``name`` in :attr:`identity`; embedders of different names, dims or
        n-grams have different identities (and so never share cache entries).

    ``calls`` and ``texts_encoded`` count the :meth:`encode` calls and texts, so a
    test can tell whether a cache spared the embedder.
    """

    def __init__(self, dim: int = 64, ngrams: Sequence[int] = (3, 4), name: str = NAME) -> None:
        if dim < 2:
            raise ValueError(f"dim must be at least 2; got {dim}")
        if not ngrams or min(ngrams) < 1:
            raise ValueError(f"ngrams must be lengths >= 1; got {tuple(ngrams)}")
        self._dim = int(dim)
        self._ngrams = tuple(int(n) for n in ngrams)
        self._name = name
        recipe = f"{NAME}/1:{name}:{self._dim}:{','.join(map(str, self._ngrams))}"
        self._identity: dict[str, Any] = {
            "name": name,
            "backend": "fake",
            "weights_sha256": hashlib.sha256(recipe.encode("utf-8")).hexdigest(),
            "dim": self._dim,
            "normalize": True,
        }
        self.calls = 0
        self.texts_encoded = 0

    @property
    def identity(self) -> dict[str, Any]:
        return dict(self._identity)

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        items = check_texts(texts)
        self.calls += 1
        self.texts_encoded += len(items)
        out = np.zeros((len(items), self._dim), dtype=np.float32)
        for row, text in enumerate(items):
            self._add_ngrams(out[row], text)
        if progress is not None and items:
            progress(len(items))
        return l2_normalise(out)

    def _add_ngrams(self, row: np.ndarray, text: str) -> None:
        padded = f" {unicodedata.normalize('NFKC', text).casefold()} "
        for n in self._ngrams:
            for i in range(max(len(padded) - n + 1, 1)):
                h = zlib.crc32(padded[i:i + n].encode("utf-8"))
                row[h % self._dim] += 1.0 if (h >> 31) & 1 else -1.0
        if not row.any():  # a text whose n-grams cancel out still gets a unit vector
            row[zlib.crc32(padded.encode("utf-8")) % self._dim] = 1.0
