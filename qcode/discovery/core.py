"""Discovery over texts and their embeddings: pure (no files, no models), so that the bench, the CLI and
a project all run the same steps.

1. The **pool**: every passage, less those coders accepted a code for (and, with ``residue_share``
   below 1, only the share the codebook explains worst, plus those coders rejected a code for).
2. **Clusters** of the pool's embeddings (:func:`~qcode.discovery.cluster.cluster_embeddings`): k-means
   with k = the codebook's number of codes + 1 (its own granularity), or the k of best silhouette without
   a codebook; clusters under ``min_size`` are dropped.
3. **Labels** by class-based TF-IDF (:mod:`~qcode.discovery.labels`), names kept out.
4. What the codebook explains is subtracted cluster by cluster: a cluster whose passages mostly have one
   existing code as their best, and score on it at least as high as the passages that code explains
   best on average, becomes a note "this looks like CODE" instead of a candidate. Measured in ``bench/bench_discover.py``: clustering
   everything and subtracting afterwards kept more of a hidden code than clustering a residue.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = np.vstack([rng.normal(1, .05, (6, 4)), rng.normal(-1, .05, (6, 4))])
>>> X /= np.linalg.norm(X, axis=1, keepdims=True)
>>> texts = ["waiting list delay"] * 6 + ["parking car park"] * 6
>>> out = discover_candidates(texts, X, doc_ids=[f"d{i % 3}" for i in range(12)],
...                           segment_ids=[f"s{i}" for i in range(12)], params=DiscoverParams(min_size=3, n_clusters=2))
>>> [(c.id, c.size) for c in out.candidates]
[('cand-01', 6), ('cand-02', 6)]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..errors import QcodeError
from .cluster import cluster_embeddings
from .labels import class_tfidf, draft_definition, label_from, rank_terms
from .model import Candidate, DiscoverParams, Discovery, Member


class DiscoverError(QcodeError):
    """Discovery cannot run as asked (too few passages, nothing left to propose)."""


def residue_mask(scores: np.ndarray, share: float, abstained: np.ndarray | None = None,
                 rejected: np.ndarray | None = None, explained: np.ndarray | None = None) -> np.ndarray:
    """Passages the codebook explains poorly: the ``share`` with the lowest best-code score, those the
    suggester abstained on and those coders rejected a code for; minus those ``explained`` (a code accepted).

    >>> residue_mask(np.array([[.9, .1], [.2, .3], [.1, .1], [.8, .2]]), 0.5).tolist()
    [False, True, True, False]
    """
    n = len(scores)
    mask = np.zeros(n, dtype=bool)
    if n and scores.shape[1]:
        best = scores.max(axis=1)
        take = int(round(share * n))
        mask[np.argsort(best, kind="stable")[:take]] = True
    elif n:
        mask[:] = True
    for extra in (abstained, rejected):
        if extra is not None:
            mask |= np.asarray(extra, dtype=bool)
    if explained is not None:
        mask &= ~np.asarray(explained, dtype=bool)
    return mask


def _spread_examples(order: np.ndarray, doc_ids: Sequence[str], texts: Sequence[str], most: int = 5) -> list[int]:
    """Up to ``most`` passages, closest to the centre first, one per document before any document repeats."""
    picked: list[int] = []
    docs: set[str] = set()
    for i in order:
        if doc_ids[i] not in docs and texts[i].strip():
            picked.append(int(i))
            docs.add(doc_ids[i])
        if len(picked) == most:
            return picked
    for i in order:
        if int(i) not in picked and len(picked) < max(3, min(most, len(docs))):
            picked.append(int(i))
    return picked


def discover_candidates(texts: Sequence[str], X: np.ndarray, *, doc_ids: Sequence[str], segment_ids: Sequence[str],
                        pool: np.ndarray | None = None, scores: np.ndarray | None = None,
                        code_ids: Sequence[str] = (), names: frozenset[str] = frozenset(),
                        params: DiscoverParams | None = None,
                        encode: Callable[[list[str]], np.ndarray] | None = None) -> Discovery:
    """Candidate codes among ``texts`` (L2-normalised embeddings ``X``), clustering the rows in ``pool``.

    ``scores`` (n x codes, for ``code_ids``) let clusters that duplicate a code become notes; ``names``
    are lower-cased words never used in labels; ``encode`` (terms -> normalised embeddings) re-ranks
    keywords by closeness to the cluster centre.
    """
    p = params or DiscoverParams()
    n = len(texts)
    X = np.asarray(X, dtype=np.float32)
    pool_mask = np.ones(n, dtype=bool) if pool is None else np.asarray(pool, dtype=bool)
    where = np.flatnonzero(pool_mask)
    if len(where) < p.min_size:
        raise DiscoverError(f"{len(where)} passages to cluster, fewer than the minimum candidate size "
                            f"{p.min_size} (lower --min-size or give more passages)")
    labels = np.full(n, -1, dtype=int)
    k = p.n_clusters
    if k is None and scores is not None and scores.size:
        k = int(scores.shape[1]) + 1  # the codebook's granularity, and room for one more
    if k is not None:
        k = max(1, min(k, len(where) // p.min_size))  # no more clusters than could reach min_size
    labels[where] = cluster_embeddings(X[where], method=p.method, min_size=p.min_size, n_clusters=k,
                                       distance_threshold=p.distance_threshold, seed=p.seed)
    clusters = sorted(set(labels[labels >= 0].tolist()))
    run_params = p.to_dict()
    if not clusters:
        return Discovery([], [], pool_size=len(where), passages=n, params=run_params)
    ctfidf, vocab, rows = class_tfidf(texts, labels, names)
    # each code's typical score on the passages it explains best: a cluster scored as well is the code again
    typical: np.ndarray | None = None
    if scores is not None and scores.size:
        top_all = scores.argmax(axis=1)
        typical = np.array([float(scores[top_all == j, j].mean()) if (top_all == j).any() else np.inf
                            for j in range(scores.shape[1])])
    found: list[tuple[tuple[int, int], Candidate]] = []
    for row, c in zip(ctfidf, rows):
        idx = np.flatnonzero(labels == c)
        centre = X[idx].mean(axis=0)
        centre /= max(float(np.linalg.norm(centre)), 1e-12)
        order = idx[np.argsort(-(X[idx] @ centre), kind="stable")]
        closeness = (lambda terms, centre=centre: encode(terms) @ centre) if encode is not None else None
        keywords = rank_terms(row, vocab, p.max_keywords, closeness)
        examples = _spread_examples(order, doc_ids, texts)
        looks_like = None
        if scores is not None and scores.size and typical is not None and len(code_ids):
            best = scores[idx].argmax(axis=1)
            top = int(np.bincount(best).argmax())
            share = float(np.mean(best == top))
            if share >= p.duplicate_share and float(scores[idx, top].mean()) >= typical[top]:
                looks_like = str(code_ids[top])
        cand = Candidate(id="", label=label_from(keywords), keywords=tuple(keywords),
                         definition=draft_definition(keywords, texts[int(order[0])]), size=len(idx),
                         examples=tuple(texts[i] for i in examples),
                         members=tuple(Member(doc_ids[i], segment_ids[i], texts[i]) for i in idx.tolist()),
                         looks_like=looks_like)
        found.append(((-len(idx), int(idx[0])), cand))
    found.sort(key=lambda pair: pair[0])
    candidates: list[Candidate] = []
    notes: list[Candidate] = []
    for _, cand in found:
        (notes if cand.looks_like else candidates).append(cand)
    candidates = [_with_id(c, f"cand-{i + 1:02d}") for i, c in enumerate(candidates[: p.max_candidates])]
    notes = [_with_id(c, f"note-{i + 1:02d}") for i, c in enumerate(notes)]
    return Discovery(candidates, notes, pool_size=len(where), passages=n, params=run_params)


def _with_id(cand: Candidate, new_id: str) -> Candidate:
    from dataclasses import replace

    return replace(cand, id=new_id)
