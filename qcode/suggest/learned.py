"""The learned layer of :class:`~qcode.suggest.Suggester`: classifiers per code, their blend, calibration.

Coders' decisions reach the score three ways: accepted passages become evidence and
rejected ones counter-evidence (:mod:`.scoring`), codes with enough decisions get a
logistic regression on the embeddings blended into their score (here), and, with
``learning="fine-tune"``, the embedding model itself is fine-tuned (:mod:`.finetune`,
driven by the model source of :mod:`.models`); with ``learning="few-shot"`` (the default) a
small head over the embeddings, the codebook-only scores as its prior, takes the classifiers'
place (:mod:`.fewshot`). Pure: no files, no model loading.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..codebook.model import Code
from . import calibration as _calibration
from .scoring import Embed, Examples, RankingParams, anchor_texts, codebook_scores

#: How :meth:`Suggester.learn` may use decisions ("auto": "few-shot", see :meth:`Suggester.learning_for`).
LEARNING_KINDS = ("auto", "blend", "fine-tune", "few-shot")
#: Decisions from which learning="fine-tune" is worth its minutes: within 0.03 top-1 of the few-shot head
#: up to 100 decisions on SERDIF (level on the mcn-sst sets), ahead at 200 (0.43 against 0.35) (``bench/bench_learning.py``); "auto"
#: does not fine-tune (a full model copy per version and a minute or more per training), a user may.
FINE_TUNE_FROM = 200

#: a fitted classifier, the zero-shot level of its negatives and of its positives
Fitted = tuple[Any, float, float]


def fit_classifiers(examples: Examples, targets: list[Code], params: RankingParams, embed: Embed,
                    zero_shot: Callable[[np.ndarray, list[str]], np.ndarray]) -> dict[str, Fitted]:
    """A logistic regression per code with at least ``params.min_labels`` positives and negatives.

    ``zero_shot(X, texts)`` scores embeddings without classifiers; its levels on the
    training passages fix the scale :func:`blend_classifiers` maps probabilities to.
    """
    from sklearn.linear_model import LogisticRegression

    ids = [c.id for c in targets]
    all_accepted = {t: set(v) for t, v in examples.accepted.items()}
    fitted: dict[str, Fitted] = {}
    for j, code_id in enumerate(ids):
        pos = examples.accepted.get(code_id, [])
        # negatives: passages rejected for this code, and passages accepted for other codes only
        neg = list(examples.rejected.get(code_id, []))
        for other, texts in all_accepted.items():
            if other != code_id:
                neg.extend(t for t in texts if t not in all_accepted.get(code_id, set()))
        neg = list(dict.fromkeys(neg))
        if len(pos) < params.min_labels or len(neg) < params.min_labels:
            continue
        X = embed(pos + neg)
        y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
        clf = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)
        clf.fit(X, y)
        level = zero_shot(X, pos + neg)[:, j]
        fitted[code_id] = (clf, float(level[len(pos):].mean()), float(level[:len(pos)].mean()))
    return fitted


def blend_classifiers(X: np.ndarray, zero_shot: np.ndarray, classifiers: dict[str, Fitted],
                      targets: list[Code], weight: float) -> np.ndarray:
    """Replace part of a code's score with its classifier's probability, on the same scale.

    A probability of 1 maps to the code's mean zero-shot score on its accepted
    training passages, 0 to the mean on its negatives (both fixed when the
    classifier is fitted), so a segment's score never depends on its batch.
    """
    out = zero_shot.copy()
    for j, code in enumerate(targets):
        fitted = classifiers.get(code.id)
        if fitted is None:
            continue
        clf, negative_level, positive_level = fitted
        prob = clf.predict_proba(X)[:, 1]
        out[:, j] = (1 - weight) * zero_shot[:, j] + weight * (negative_level + prob * (positive_level - negative_level))
    return out


def fit_head(examples: Examples, targets: list[Code], anchors: tuple[list[str], list[int]], embed: Embed,
             codebook_scores: Callable[[np.ndarray, list[str]], np.ndarray], params: Any = None) -> Any:
    """learning="few-shot": a :class:`~.fewshot.FewShotHead` on the decisions, the anchors and the
    codebook-only scores ``codebook_scores(X, texts)`` as its prior (None with no decisions)."""
    from .fewshot import FewShotHead

    texts, code_ids, accepted = examples.decisions()
    column = {c.id: j for j, c in enumerate(targets)}
    rows = [i for i, c in enumerate(code_ids) if c in column]
    if not rows:
        return None
    texts = [texts[i] for i in rows]
    anchor_list, anchor_codes = anchors
    A, X = embed(anchor_list), embed(texts)
    return FewShotHead(params).fit(A, anchor_codes, codebook_scores(A, anchor_list), X, codebook_scores(X, texts),
                                   [column[code_ids[i]] for i in rows], [accepted[i] for i in rows])


def uses_head(suggester: Any) -> bool:
    """Whether a suggester's learned layer is the few-shot head (few-shot, or fine-tune with the head)."""
    kind = suggester.learning_used
    return bool(kind == "few-shot" or (kind == "fine-tune" and suggester.head_on_body))


def refit(suggester: Any) -> None:
    """Refit a :class:`~qcode.suggest.Suggester`'s learned layer on its examples: the few-shot head, or the
    blend's classifiers; then, with enough decisions, its calibration (cross-fitted on the same learning)."""
    s = suggester
    s._classifiers = {}  # the zero-shot levels are taken with no classifier active
    s._head = None
    if uses_head(s):
        def prior(X: np.ndarray, texts: list[str]) -> np.ndarray:
            return codebook_scores(s.codebook, s.target_codes, s.params, s._embed, X, texts)

        s._head = fit_head(s.examples, s.target_codes, anchor_texts(s.codebook, s.target_codes), s._embed, prior,
                           s.few_shot_params)
    else:
        s._classifiers = fit_classifiers(s.examples, s.target_codes, s.params, s._embed, s.score_embeddings)
    if s._calibrates:
        s.calibrator = calibrate(s.examples, s.target_codes, lambda *decisions: fold_scorer(s, *decisions))


def fold_scorer(suggester: Any, texts: list[str], code_ids: list[str], accepted: list[bool]) -> Any:
    """The score function of a suggester like ``suggester`` (same model and learning) that learned only
    these decisions: each calibration fold is scored by one that learned the other."""
    s = suggester
    helper = type(s)(s.codebook, s.embedder, codes=s.codes, params=s.params, context=0.0, abstain=False,
                     few_shot_params=s.few_shot_params, learning="few-shot" if uses_head(s) else "blend")
    helper._calibrates = False
    helper.learn(texts, code_ids, accepted)
    return helper.score


def learning_params(suggester: Any, tuned: Any) -> dict[str, Any]:
    """The parameters of what a suggester's :meth:`~qcode.suggest.Suggester.learn` trains (saved with a model)."""
    s = suggester
    out: dict[str, Any] = {"ranking": s.params.to_dict(), "learning": s.learning_used, "seed": s.seed, "tuned": tuned}
    if s.learning_used == "fine-tune":
        out["fine_tune"] = s.fine_tune_settings().to_dict()
    if uses_head(s):
        from .fewshot import FewShotParams

        out["few_shot"] = (s.few_shot_params or FewShotParams()).to_dict()
    return out


def calibrate(examples: Examples, targets: list[Code],
              scorer: Callable[[list[str], list[str], list[bool]], Callable[[list[str]], np.ndarray]],
              ) -> _calibration.Calibrator:
    """A temperature fitted on the decisions (two-fold cross-fit), or the default below 30 accepted passages.

    ``scorer(texts, code_ids, accepted)`` returns a score function of a model that
    learned those decisions only (each fold is scored by one that learned the other).
    """
    gold: dict[str, set[str]] = {}
    for code_id, texts in examples.accepted.items():
        for text in texts:
            gold.setdefault(text, set()).add(code_id)
    column = {c.id: j for j, c in enumerate(targets)}
    items = sorted(t for t, codes in gold.items() if codes & set(column))
    if len(items) < _calibration.MIN_CALIBRATION_LABELS:
        return _calibration.Calibrator(n_labels=len(items))
    folds = [items[0::2], items[1::2]]
    rows: list[np.ndarray] = []
    labels: list[set[int]] = []
    texts, code_ids, accepted = examples.decisions()
    for k in (0, 1):
        held = set(folds[k])
        keep = [i for i, t in enumerate(texts) if t not in held]
        score = scorer([texts[i] for i in keep], [code_ids[i] for i in keep], [accepted[i] for i in keep])
        rows.append(score(folds[k]))
        labels.extend({column[c] for c in gold[t] if c in column} for t in folds[k])
    return _calibration.Calibrator.fit(np.vstack(rows), labels)


def calibrator_from(record: dict[str, Any] | None) -> _calibration.Calibrator:
    """The calibrator a saved model's provenance describes (the default where it names none)."""
    cal = record or {}
    return _calibration.Calibrator(float(cal.get("temperature", _calibration.DEFAULT_TEMPERATURE)),
                                   str(cal.get("source", "default")), int(cal.get("n_labels", 0)))


def codebook_tuned_folder(embedder: Any) -> Path | None:
    """The folder of the codebook-tuned model behind ``embedder`` (fine-tuning continues from it)."""
    inner = getattr(embedder, "inner", embedder)
    provenance = getattr(inner, "provenance", None)
    folder = getattr(inner, "folder", None)
    if isinstance(provenance, dict) and provenance.get("kind") == "codebook" and folder is not None:
        return Path(folder)
    return None


__all__ = ["FINE_TUNE_FROM", "LEARNING_KINDS", "blend_classifiers", "calibrate", "calibrator_from",
           "codebook_tuned_folder", "fit_classifiers", "fit_head", "fold_scorer", "learning_params", "refit",
           "uses_head"]
