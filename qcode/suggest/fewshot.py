"""learning="few-shot": a small head over frozen embeddings that pays from a coder's first decisions.

:class:`FewShotHead` is a softmax over the codes whose logits are the zero-shot
scores divided by a temperature plus a learned linear correction of the
(L2-normalised) embedding, ``W x + b``. It is fitted by L-BFGS on

* every passage a coder accepted for a code (cross-entropy), each code's
  accepted passages weighing the same in total (class balance, so a code with
  three accepts is not drowned by one with thirty);
* every passage a coder rejected for a code, by ``-log(1 - p(code))``: the
  evidence a classifier over accepted passages alone cannot use;
* the codebook's own texts (descriptions, criteria, examples) as labelled
  anchors of their codes;

with ``W`` and ``b`` pulled toward zero. With no decisions the head *is* the
zero-shot ranking, and the correction grows with the evidence: the zero-shot
prior shrinks as decisions come in, and covers codes no one has decided on
yet. The offsets ``b`` are held far more tightly than ``W`` (``intercept_l2``):
an offset moves a code on every passage, which after a handful of decisions
made the first-accepted codes hubs. Each row's score depends on that row alone.

The head is ``codes x (dim + 1)`` floats, refitted from the decisions in well
under a second and deterministic (L-BFGS from zeros, no sampling): a saved
model needs only its decisions. Measured against the ``setfit`` library on the
shared sets by ``python bench/bench_learning.py --vs-setfit``.

>>> import numpy as np
>>> anchors = np.eye(3, 8)                                  # one codebook text per code
>>> prior = np.full((4, 3), 0.2)                            # zero-shot: no preference
>>> X = np.eye(3, 8)[[0, 0, 1, 1]] + 0.05
>>> head = FewShotHead().fit(anchors, [0, 1, 2], np.eye(3) * 0.3, X, prior, [0, 0, 1, 1], [True, True, True, True])
>>> head.combine(np.full((2, 3), 0.2), np.eye(3, 8)[[0, 1]]).argmax(axis=1).tolist()
[0, 1]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FewShotParams:
    """How the head is trained and how much it weighs against the zero-shot score."""

    #: loss weight of each codebook text (description, criteria, example) as an example of its code
    anchor_weight: float = 1.0
    #: loss weight of a passage rejected for a code
    rejection_weight: float = 1.0
    #: pull of the correction toward zero, i.e. toward the zero-shot ranking (the prior's strength)
    l2: float = 1.0
    #: zero-shot scores are divided by it to give the prior's logits (the calibration default)
    temperature: float = 0.056
    max_iter: int = 200
    #: pull of the per-code offsets toward zero, relative to ``l2`` (an offset moves a code on every passage)
    intercept_l2: float = 100.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _unit(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


class FewShotHead:
    """A softmax over codes whose logits are the zero-shot scores plus a learned linear correction.

    ``logit = zero_shot / temperature + W x + b``, with ``W, b`` fitted by L-BFGS on the
    anchors and the decisions and pulled toward zero by ``l2``: with no decisions the head is
    the zero-shot ranking itself, and the correction grows as decisions come in (the prior
    shrinks by how much data there is, not by a schedule). Accepted passages are fitted by
    cross-entropy, rejected ones by ``-log(1 - p(code))``; each passage's loss is weighted so
    that every code's accepted passages weigh the same in total (class balance).
    Parameters go to the constructor, data to :meth:`fit` (scikit-learn style).
    """

    def __init__(self, params: FewShotParams | None = None) -> None:
        self.params = params or FewShotParams()
        self.coef_: np.ndarray | None = None
        self.intercept_: np.ndarray | None = None
        self.n_decisions_ = 0

    def fit(self, anchors: np.ndarray, anchor_codes: Sequence[int], anchor_prior: np.ndarray, X: np.ndarray,
            prior: np.ndarray, codes: Sequence[int], accepted: Sequence[bool]) -> FewShotHead:
        """Fit on the anchors and the decisions.

        ``anchors``/``anchor_prior``: the codebook texts' embeddings and zero-shot scores,
        ``anchor_codes`` the column of each; ``X[i]``/``prior[i]``: the passage of decision
        ``i`` and its zero-shot scores, ``codes[i]`` its column, ``accepted[i]`` the verdict.
        """
        from scipy.optimize import minimize

        p = self.params
        anchor_prior = np.asarray(anchor_prior, dtype=np.float64)
        k = anchor_prior.shape[1]
        A = _unit(anchors)
        dim = A.shape[1]
        X = _unit(np.asarray(X).reshape(-1, dim)) if len(X) else np.zeros((0, dim))
        prior = np.asarray(prior, dtype=np.float64).reshape(-1, k)
        columns = np.asarray(codes, dtype=int)
        ok = np.asarray(accepted, dtype=bool)
        # the latest verdict on a (passage, code) wins
        last: dict[tuple[bytes, int], int] = {}
        for i, (x, c) in enumerate(zip(X, columns)):
            last[(x.astype(np.float32).tobytes(), int(c))] = i
        keep = np.array(sorted(last.values()), dtype=int)
        X, prior, columns, ok = X[keep], prior[keep], columns[keep], ok[keep]
        pos_x = np.vstack([A, X[ok]])
        pos_prior = np.vstack([anchor_prior, prior[ok]])
        pos_code = np.r_[np.asarray(anchor_codes, dtype=int), columns[ok]]
        per_code = np.bincount(columns[ok], minlength=k).astype(float)
        balance = np.where(per_code > 0, per_code.sum() / np.maximum(per_code, 1) / max(1, (per_code > 0).sum()), 1.0)
        pos_w = np.r_[np.full(len(A), p.anchor_weight), balance[columns[ok]]]
        neg_x, neg_prior, neg_code = X[~ok], prior[~ok], columns[~ok]
        neg_w = np.full(len(neg_x), p.rejection_weight)
        t = p.temperature

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            W = theta[:k * dim].reshape(k, dim)
            b = theta[k * dim:]
            total = 0.5 * p.l2 * (float(np.sum(W * W)) + p.intercept_l2 * float(b @ b))
            grad_w = p.l2 * W
            grad_b = p.l2 * p.intercept_l2 * b
            if len(pos_x):
                z = pos_prior / t + pos_x @ W.T + b
                z -= z.max(axis=1, keepdims=True)
                prob = np.exp(z)
                prob /= prob.sum(axis=1, keepdims=True)
                rows = np.arange(len(pos_x))
                total -= float(pos_w @ np.log(prob[rows, pos_code] + 1e-12))
                g = prob.copy()
                g[rows, pos_code] -= 1.0
                g *= pos_w[:, None]
                grad_w = grad_w + g.T @ pos_x
                grad_b = grad_b + g.sum(axis=0)
            if len(neg_x):
                z = neg_prior / t + neg_x @ W.T + b
                z -= z.max(axis=1, keepdims=True)
                prob = np.exp(z)
                prob /= prob.sum(axis=1, keepdims=True)
                rows = np.arange(len(neg_x))
                pc = np.clip(prob[rows, neg_code], 0.0, 1 - 1e-9)
                total -= float(neg_w @ np.log1p(-pc))
                onehot = np.zeros_like(prob)
                onehot[rows, neg_code] = 1.0
                g = (pc / (1 - pc))[:, None] * (onehot - prob) * neg_w[:, None]
                grad_w = grad_w + g.T @ neg_x
                grad_b = grad_b + g.sum(axis=0)
            return total, np.r_[grad_w.ravel(), grad_b]

        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

        theta0 = np.zeros(k * dim + k)
        with threadpool_limits(limits=1):  # small products: threads only wait for each other
            found = minimize(loss, theta0, jac=True, method="L-BFGS-B", options={"maxiter": p.max_iter})
        self.coef_ = found.x[:k * dim].reshape(k, dim)
        self.intercept_ = found.x[k * dim:]
        self.n_decisions_ = int(len(ok))
        return self

    def correction(self, X: np.ndarray) -> np.ndarray:
        """The learned correction to the zero-shot logits, shape (rows, codes)."""
        if self.coef_ is None or self.intercept_ is None:
            raise ValueError("FewShotHead is not fitted")
        return _unit(X) @ self.coef_.T + self.intercept_

    def combine(self, zero_shot: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Scores on the zero-shot scale: ``zero_shot + temperature * correction`` (row-local)."""
        zero_shot = np.asarray(zero_shot, dtype=np.float64)
        if self.coef_ is None:
            return zero_shot
        return zero_shot + self.params.temperature * self.correction(X)

    def to_dict(self) -> dict[str, Any]:
        """The fitted head as plain lists (a few kilobytes of JSON)."""
        if self.coef_ is None or self.intercept_ is None:
            raise ValueError("FewShotHead is not fitted")
        return {"params": self.params.to_dict(), "n_decisions": self.n_decisions_,
                "coef": np.round(self.coef_, 7).tolist(), "intercept": np.round(self.intercept_, 7).tolist()}


__all__ = ["FewShotHead", "FewShotParams"]
