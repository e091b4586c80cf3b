"""Clustering L2-normalised embeddings into groups of passages (scikit-learn; bounded memory).

Agglomerative clustering needs every pairwise distance, so above ``REDUCE_ABOVE`` passages the
embeddings are first summarised by k-means into ``REDUCE_TO`` micro-clusters, which are then
merged by average linkage (weighted by size): memory stays O(REDUCE_TO^2), not O(n^2).
"""

from __future__ import annotations

import numpy as np

from ..errors import QcodeError

METHODS = ("agglomerative", "kmeans", "hdbscan")
REDUCE_ABOVE = 2000
REDUCE_TO = 600


def _agglomerative(X: np.ndarray, threshold: float) -> np.ndarray:
    from sklearn.cluster import AgglomerativeClustering

    if len(X) < 2:
        return np.zeros(len(X), dtype=int)
    model = AgglomerativeClustering(n_clusters=None, distance_threshold=threshold, metric="cosine",
                                    linkage="average")
    return np.asarray(model.fit_predict(X), dtype=int)


def _reduced_agglomerative(X: np.ndarray, threshold: float, seed: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=REDUCE_TO, n_init=1, random_state=seed, max_iter=50).fit(X)
    centres = km.cluster_centers_ / np.maximum(np.linalg.norm(km.cluster_centers_, axis=1, keepdims=True), 1e-12)
    merged = _agglomerative(centres, threshold)
    return merged[km.labels_]


def _kmeans(X: np.ndarray, min_size: int, seed: int, k: int | None = None) -> np.ndarray:
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    n = len(X)
    if k is not None:
        return np.asarray(KMeans(n_clusters=max(1, min(k, n)), n_init=3, random_state=seed).fit_predict(X), dtype=int)
    top = max(2, min(40, n // max(min_size, 1)))
    best: tuple[float, np.ndarray] | None = None
    sample = min(n, 2000)
    for k in sorted({int(round(x)) for x in np.geomspace(2, top, num=8)}):
        if k >= n:
            continue
        labels = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(X)
        score = silhouette_score(X, labels, metric="cosine", sample_size=sample, random_state=seed)
        if best is None or score > best[0]:
            best = (float(score), labels)
    return best[1] if best is not None else np.zeros(n, dtype=int)


def _hdbscan(X: np.ndarray, min_size: int) -> np.ndarray:
    from sklearn.cluster import HDBSCAN

    return np.asarray(HDBSCAN(min_cluster_size=max(2, min_size), metric="euclidean").fit_predict(X), dtype=int)


def cluster_embeddings(X: np.ndarray, *, method: str = "kmeans", min_size: int = 5, n_clusters: int | None = None,
                       distance_threshold: float = 0.7, seed: int = 0) -> np.ndarray:
    """Cluster labels (``-1``: left out) for the rows of ``X``; clusters under ``min_size`` are left out.

    ``n_clusters`` fixes k for k-means (else the k of best silhouette among eight from 2 to n / min_size).

    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(1, .05, (6, 4)), rng.normal(-1, .05, (6, 4))])
    >>> X /= np.linalg.norm(X, axis=1, keepdims=True)
    >>> sorted(set(cluster_embeddings(X, min_size=3, method="agglomerative", distance_threshold=0.6).tolist()))
    [0, 1]
    """
    if method not in METHODS:
        raise QcodeError(f"clustering method must be one of {', '.join(METHODS)}, not {method!r}")
    X = np.asarray(X, dtype=np.float32)
    if method == "agglomerative":
        labels = (_reduced_agglomerative(X, distance_threshold, seed) if len(X) > REDUCE_ABOVE
                  else _agglomerative(X, distance_threshold))
    elif method == "kmeans":
        labels = _kmeans(X, min_size, seed, n_clusters)
    else:
        labels = _hdbscan(X, min_size)
    # renumber by first appearance, dropping small clusters, so that the same input gives the same numbers
    out = np.full(len(X), -1, dtype=int)
    sizes = np.bincount(labels[labels >= 0]) if (labels >= 0).any() else np.zeros(0, dtype=int)
    next_id = 0
    seen: dict[int, int] = {}
    for i, lab in enumerate(labels):
        if lab < 0 or sizes[lab] < min_size:
            continue
        if lab not in seen:
            seen[lab] = next_id
            next_id += 1
        out[i] = seen[lab]
    return out
