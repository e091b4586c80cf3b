"""The embedder interface and the small helpers every backend shares.

An :class:`Embedder` turns texts into L2-normalised float32 rows. Its
``identity`` (model name, backend, weights hash, dimension, normalisation) is
known before any model is loaded, so callers can record it, key caches by it
and decide whether the model is needed at all.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from ..errors import ModelError

Progress = Callable[[int], None]


class Embedder(ABC):
    """Texts in, L2-normalised float32 vectors out.

    Subclasses implement ``identity`` and ``encode``; the contract is:

    * ``identity`` -> dict with ``name``, ``backend``, ``weights_sha256``, ``dim``,
      ``normalize``; JSON-serialisable and available without loading the model;
    * ``dim`` -> int;
    * ``encode(texts, progress=None)`` -> ``np.ndarray`` of shape ``(len(texts), dim)``,
      dtype float32, rows of unit length, the same output for the same input.
      ``progress``, when given, is called with the number of texts just finished
      (increments that sum to ``len(texts)``).

    >>> from qcode.embed import load_embedder
    >>> emb = load_embedder(cache=False)
    >>> emb.identity["dim"]
    384
    """

    @property
    @abstractmethod
    def identity(self) -> dict:
        """What produced the vectors: name, backend, weights_sha256, dim, normalize."""

    @property
    def dim(self) -> int:
        return int(self.identity["dim"])

    @property
    def name(self) -> str:
        return str(self.identity["name"])

    @property
    def loaded(self) -> bool:
        """Whether the model weights are in memory (a cache hit never loads them)."""
        return False

    @abstractmethod
    def encode(self, texts: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        """Embed ``texts``; returns float32 ``(len(texts), dim)`` with unit-length rows."""

    def __repr__(self) -> str:
        ident = self.identity
        return f"{type(self).__name__}(name={ident['name']!r}, backend={ident['backend']!r})"


def check_texts(texts: Sequence[str]) -> list[str]:
    """Return ``texts`` as a list, raising :class:`ModelError` on a non-string item."""
    if isinstance(texts, str):
        raise ModelError("encode() takes a sequence of texts, not a single string; wrap it in a list")
    items = list(texts)
    for index, text in enumerate(items):
        if not isinstance(text, str):
            raise ModelError(f"encode(): item {index} is {type(text).__name__}, not str")
    return items


def l2_normalise(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero); returns float32 ``(n, d)``."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    np.maximum(norms, 1e-12, out=norms)
    return (matrix / norms).astype(np.float32, copy=False)


def length_sorted_batches(lengths: Sequence[int], batch_size: int, max_tokens: int | None = None) -> Iterator[np.ndarray]:
    """Indices grouped into batches of similar length (longest first), for padding-free work.

    ``lengths[i]`` is the token count of item ``i``. Each yielded array holds at most
    ``batch_size`` indices and, when ``max_tokens`` is given, at most ``max_tokens``
    padded tokens (batch size x longest item), but never fewer than one index.

    >>> [b.tolist() for b in length_sorted_batches([3, 9, 1, 8], batch_size=2)]
    [[1, 3], [0, 2]]
    """
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    start = 0
    while start < len(order):
        longest = int(lengths[order[start]])
        size = batch_size
        if max_tokens is not None and longest > 0:
            size = max(1, min(batch_size, max_tokens // longest))
        yield order[start : start + size]
        start += size


def physical_cores() -> int:
    """Physical CPU cores this process may use (``QCODE_THREADS`` overrides).

    Counts distinct cores among the CPUs in the affinity mask via sysfs topology on
    Linux (hyper-threads of one core count once); elsewhere ``os.cpu_count()``.
    """
    override = os.environ.get("QCODE_THREADS")
    if override:
        try:
            return max(1, int(override))
        except ValueError:
            raise ModelError(f"QCODE_THREADS={override!r} is not a whole number") from None
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:
        return max(1, os.cpu_count() or 1)
    cores = set()
    for cpu in cpus:
        base = f"/sys/devices/system/cpu/cpu{cpu}/topology/"
        try:
            with open(base + "core_id") as fh:
                core = fh.read().strip()
            with open(base + "physical_package_id") as fh:
                package = fh.read().strip()
            cores.add((package, core))
        except OSError:
            cores.add(("cpu", str(cpu)))
    return max(1, len(cores))
