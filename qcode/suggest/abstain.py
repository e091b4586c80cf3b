""""No code" as an answer: greetings, thanks, consent, headings and procedural talk get no suggestion.

A segment abstains when it is closer to a small set of written *null
prototypes* (generic interview housekeeping, none of them from any evaluation
set) than to its best code: the mean of its two best null similarities exceeds
its best code score plus ``margin``. Measured on 45 non-codable turns (15 from
the demo corpus, 30 written for the test) against 188 codable ones
(``bench/bench_quality.py``): margin 0.1 with the base model gave abstention
precision 0.97 at recall 0.71, with 0.5% of codable turns silenced; margin 0.0
with the codebook-tuned model 0.95 at 0.84 (1.1%).

A coder's own "no code" decisions are learned too (:meth:`~qcode.suggest.Suggester.learn`'s
``no_code``, and passages rejected for all three suggestions): a passage nearer one of them than
its best code by ``margin + LEARNED_NULL_MARGIN`` abstains as well.

Codebooks that *code* procedural talk (SERDIF's "Moderator assist") must turn
abstention off.

>>> import numpy as np
>>> abstain_mask(np.array([[0.5, 0.2], [0.1, 0.0]]), np.array([[0.1, 0.2], [0.6, 0.5]]), margin=0.1).tolist()
[False, True]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DEFAULT_MARGIN = 0.1
#: rejections (and no accept) after which a passage counts as a coder's "no code" (every top-3 suggestion rejected)
NULL_FROM_REJECTIONS = 3
#: added to the margin for a coder's own "no code" passages: the nearest one must beat the best code by
#: margin + 0.05 (``bench/bench_learning.py --abstention``: with +0.0 the turns a coder silenced pulled
#: short codable lines with them, 5% of codable turns silenced on the noncodable.json set; +0.05 kept it at 2%)
LEARNED_NULL_MARGIN = 0.05

NULL_PROTOTYPES: tuple[str, ...] = (
    "Hello, thank you for joining me today.",
    "Thank you, goodbye.",
    "Can you hear me? Is the sound okay?",
    "I consent to this interview being recorded.",
    "Is it all right if we record the call?",
    "Interview transcript, participant 2, March.",
    "Heading: background questions",
    "Sorry, I missed that, can you say it again?",
    "Just a moment, I need to get a drink.",
    "Okay. Yes. Right.",
    "No, I think that covers it, nothing else to add.",
    "My name is Sam and I'm a nurse.",
    "I'm a doctor at the local hospital.",
    "Lovely weather today, isn't it?",
    "Sorry I'm late.",
    "We'll stop recording now.",
    "Great, thanks very much for your time.",
    "Are you ready to begin?",
)


def null_similarity(X: np.ndarray, null_vectors: np.ndarray, top_n: int = 2) -> np.ndarray:
    """Mean of each row's ``top_n`` best cosine similarities to the null prototypes."""
    sims = np.asarray(X) @ np.asarray(null_vectors).T
    n = min(top_n, sims.shape[1])
    return np.sort(sims, axis=1)[:, -n:].mean(axis=1)


def abstain_mask(scores: np.ndarray, null_sims: np.ndarray, margin: float = DEFAULT_MARGIN) -> np.ndarray:
    """True where a segment should get no code: its null similarity beats its best code score + margin.

    ``null_sims`` is either one value per row or a (rows, prototypes) matrix of similarities
    (then its top-2 mean is used).
    """
    null = np.asarray(null_sims, dtype=float)
    if null.ndim == 2:
        n = min(2, null.shape[1])
        null = np.sort(null, axis=1)[:, -n:].mean(axis=1)
    return null > np.asarray(scores).max(axis=1) + margin


def abstain_learned(scores: np.ndarray, X: np.ndarray, null_vectors: np.ndarray, learned_vectors: np.ndarray,
                    margin: float) -> np.ndarray:
    """The abstention mask with the shipped null prototypes and, by ``margin + LEARNED_NULL_MARGIN``,
    the nearest of a coder's own "no code" passages (``learned_vectors``, possibly none)."""
    abstained = abstain_mask(scores, null_similarity(X, null_vectors), margin=margin)
    if len(learned_vectors):
        nearest = null_similarity(X, learned_vectors, top_n=1)
        abstained |= abstain_mask(scores, nearest, margin=margin + LEARNED_NULL_MARGIN)
    return abstained


def abstention_figures(abstained_noncodable: Sequence[bool], abstained_codable: Sequence[bool]) -> dict[str, float]:
    """Precision and recall of abstaining, and the share of codable segments silenced."""
    tp = int(np.sum(abstained_noncodable))
    fp = int(np.sum(abstained_codable))
    n_neg = len(abstained_noncodable)
    return {"precision": tp / (tp + fp) if tp + fp else float("nan"),
            "recall": tp / n_neg if n_neg else float("nan"),
            "codable_silenced": fp / len(abstained_codable) if len(abstained_codable) else float("nan")}


__all__ = ["DEFAULT_MARGIN", "LEARNED_NULL_MARGIN", "NULL_FROM_REJECTIONS", "abstain_learned", "NULL_PROTOTYPES", "abstain_mask", "abstention_figures", "null_similarity"]
