"""qcode's learners beside the ``setfit`` library, on the same simulated decisions (issue 21).

Used by ``python bench/bench_learning.py --vs-setfit``. For each shared set the
data is split in half with seed 0 (as the issue-12 ablation); a simulated coder
reviews the first half in file order, seeing the zero-shot top-3 (accepts the
gold codes among them, rejects the others, adds missed gold codes); after the
first N decisions each learner is trained on exactly those N decisions and
scored on the other half.

* qcode ``few-shot``: :class:`qcode.suggest.fewshot.FewShotHead` over the frozen
  embeddings of the model qcode suggests with (codebook-tuned where the codebook
  has the text for it, the base MiniLM on SERDIF), with the codebook as anchors
  and the rejections as negatives, added to the zero-shot score;
* qcode ``blend``: the issue-12 default below 25 decisions (examples, counter-examples,
  per-code classifiers);
* ``setfit``: ``setfit.SetFitModel`` from the packaged all-MiniLM-L6-v2 weights
  (the same base weights), trained on the accepted (passage, code) pairs (a
  single-label classifier cannot use rejections), its logistic head scored on
  the test half. Codes with no accepted passage yet are ranked last.

Embeddings are cached on disk by qcode's embedding cache; SetFit results are
cached in ``$TMPDIR/qcode-bench-setfit`` by (set, decisions, configuration), so
an interrupted run resumes.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SETFIT_CACHE = Path(tempfile.gettempdir()) / "qcode-bench-setfit"


@dataclass
class Prepared:
    name: str
    book: Any
    texts: list[str]
    gold: list[set[int]]
    review: list[int]
    test: list[int]
    zero: Any  # the codebook-only Suggester
    X: np.ndarray  # embeddings of every text (the suggesting model)
    zero_scores: np.ndarray  # codebook-only scores of every text
    anchors: np.ndarray
    anchor_codes: list[int]
    anchor_prior: np.ndarray
    decisions: tuple[list[str], list[str], list[bool]]
    decision_rows: list[int]  # the text index of each decision

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.book.leaves()]


def load_sets(wanted: set[str]) -> list[tuple[str, Any, list[str], list[set[int]]]]:
    from bench_quality import dev_sets, gold_corpus_set, serdif_set

    sets = []
    for corpus in ("demo", "context-study"):
        found = gold_corpus_set(corpus) if corpus in wanted else None
        if found is not None:
            sets.append((corpus, found[0], found[1], found[2]))
    if "dev" in wanted:
        dcb, dtexts, _, dgold = dev_sets()
        sets.append(("dev", dcb, dtexts, dgold))
    if "serdif" in wanted:  # last: its SetFit points take longest
        sets.append(("serdif", *serdif_set()))
    return sets


def prepare(name: str, book: Any, texts: list[str], gold: list[set[int]]) -> Prepared:
    from qcode.suggest import make_suggester

    rng = np.random.default_rng(0)
    order = rng.permutation(len(texts))
    half = len(order) // 2
    review, test = sorted(int(i) for i in order[:half]), [int(i) for i in order[half:]]
    zero = make_suggester(book, context=0.0, abstain=False, learning="blend")
    X = np.asarray(zero.embedder.encode(texts), dtype=np.float32)
    zero_scores = zero.score_embeddings(X, texts)
    from qcode.suggest.scoring import anchor_texts as codebook_anchors

    anchor_texts, anchor_codes = codebook_anchors(book, zero.target_codes)
    anchors = np.asarray(zero.embedder.encode(anchor_texts), dtype=np.float32)
    anchor_prior = zero.score_embeddings(anchors, anchor_texts)
    ids = [c.id for c in book.leaves()]
    d_t, d_c, d_ok, rows = [], [], [], []
    for i in review:
        top3 = [int(j) for j in np.argsort(-zero_scores[i], kind="stable")[:3]]
        for j, ok in [(j, j in gold[i]) for j in top3] + [(j, True) for j in sorted(gold[i] - set(top3))]:
            d_t.append(texts[i])
            d_c.append(ids[j])
            d_ok.append(ok)
            rows.append(i)
    return Prepared(name, book, texts, gold, review, test, zero, X, zero_scores, anchors, anchor_codes,
                    anchor_prior, (d_t, d_c, d_ok), rows)


def top_k(scores: np.ndarray, gold: list[set[int]]) -> tuple[float, float]:
    top = np.argsort(-scores, axis=1, kind="stable")
    return (float(np.mean([top[i, 0] in g for i, g in enumerate(gold)])),
            float(np.mean([bool(set(top[i, :3].tolist()) & g) for i, g in enumerate(gold)])))


def few_shot(prep: Prepared, n: int, params: Any = None, learning: str = "few-shot") -> tuple[np.ndarray, float]:
    """Test-half scores of qcode's ``Suggester(learning=...)`` after ``n`` decisions, and its learning seconds
    (the head, and the probability calibration where there are 30 accepted passages)."""
    from qcode.suggest import make_suggester

    start = time.perf_counter()
    s = make_suggester(prep.book, model=prep.zero.embedder, context=0.0, abstain=False, learning=learning,
                  few_shot_params=params)
    if n:
        s.learn(*(v[:n] for v in prep.decisions))
    seconds = time.perf_counter() - start
    scores = s.score_embeddings(prep.X[prep.test], [prep.texts[i] for i in prep.test])
    LAST_ECE[0] = ece(s, scores, [prep.gold[i] for i in prep.test])
    return scores, seconds


#: the expected calibration error of the last :func:`few_shot` model on its test half, and its source
LAST_ECE: list[Any] = [None]


def ece(suggester: Any, scores: np.ndarray, gold: list[set[int]]) -> str:
    """ECE of the top-1 probability on the test half (10 bins), with where the temperature came from."""
    from qcode.suggest.calibration import expected_calibration_error

    probs = suggester.probabilities(scores)
    top = probs.argmax(axis=1)
    value = expected_calibration_error(probs.max(axis=1).tolist(), [int(t) in g for t, g in zip(top, gold)])
    source = "fitted" if suggester.calibrator.source == "decisions" else "default T"
    return f"{value:.3f} ({source})"


def blend(prep: Prepared, n: int) -> tuple[np.ndarray, float]:
    from qcode.suggest import make_suggester

    start = time.perf_counter()
    s = make_suggester(prep.book, model=prep.zero.embedder, context=0.0, abstain=False, learning="blend")
    s._calibrates = False
    if n:
        s.learn(*(v[:n] for v in prep.decisions))
    seconds = time.perf_counter() - start
    return s.score_embeddings(prep.X[prep.test], [prep.texts[i] for i in prep.test]), seconds


SETFIT_CONFIGS: dict[str, dict[str, Any]] = {
    # the library's defaults (oversampling every pair; 1 body epoch; logistic head)
    "defaults": {},
    # bounded for a shared 2-core machine: 20 contrastive steps of 16 pairs
    "fast": {"max_steps": 20},
}


def setfit(prep: Prepared, n: int, config: str = "fast", cached_only: bool = False) -> tuple[np.ndarray | None, float]:
    """Test-half scores of SetFit trained on the accepted pairs of the first ``n`` decisions (cached).

    ``cached_only``: ``(None, 0.0)`` unless an earlier run left the result in the cache.
    """
    d_t, d_c, d_ok = (v[:n] for v in prep.decisions)
    pairs = sorted({(t, c) for t, c, ok in zip(d_t, d_c, d_ok) if ok})
    key = hashlib.sha256(json.dumps([prep.name, n, config, pairs, SETFIT_CONFIGS[config]]).encode()).hexdigest()[:16]
    cache = SETFIT_CACHE / f"{prep.name}-{n}-{config}-{key}.npz"
    if cache.exists():
        got = np.load(cache)
        return got["scores"], float(got["seconds"])
    if cached_only:
        return None, 0.0
    ids = prep.ids
    labels = sorted({c for _, c in pairs})
    k = len(ids)
    test_texts = [prep.texts[i] for i in prep.test]
    start = time.perf_counter()
    scores = np.full((len(test_texts), k), -1.0)
    if len(labels) == 1:
        scores[:, ids.index(labels[0])] = 1.0
    elif labels:
        from datasets import Dataset
        from sentence_transformers import SentenceTransformer
        from setfit import SetFitModel, Trainer, TrainingArguments
        from sklearn.linear_model import LogisticRegression

        from qcode.embed.manifest import get_model_spec

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        folder = get_model_spec("all-MiniLM-L6-v2").verify()
        body = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        model = SetFitModel(model_body=body, model_head=LogisticRegression(), labels=None)
        scratch = tempfile.mkdtemp(prefix="qcode-bench-setfit-run-")  # its checkpoints, not in the work tree
        args = TrainingArguments(seed=0, report_to="none", show_progress_bar=False, output_dir=scratch,
                                 save_strategy="no", **SETFIT_CONFIGS[config])
        data = Dataset.from_dict({"text": [t for t, _ in pairs], "label": [labels.index(c) for _, c in pairs]})
        trainer = Trainer(model=model, args=args, train_dataset=data)
        trainer.train()
        trained = time.perf_counter() - start
        proba = np.asarray(model.predict_proba(test_texts))
        classes = list(model.model_head.classes_)
        for col, cls in enumerate(classes):
            scores[:, ids.index(labels[int(cls)])] = proba[:, col]
        seconds = trained
    else:
        scores = prep.zero_scores[prep.test] * 0  # nothing accepted: SetFit has no classes
    seconds = time.perf_counter() - start if len(labels) <= 1 else seconds
    SETFIT_CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(cache, scores=scores, seconds=seconds)
    return scores, seconds


NOTES = ("A simulated coder reviews the first half of each set in file order (accepts the zero-shot top-3 codes "
         "the gold holds, rejects the others, adds missed gold codes; each is one decision); after the first N "
         "decisions each learner is trained on exactly those and scored on the other half. qcode few-shot: "
         "Suggester(learning='few-shot') (the default, learning='auto'), on the model qcode suggests with "
         "(codebook-tuned on the mcn-sst sets, the base MiniLM on SERDIF), train s including its calibration. "
         "qcode blend: the issue-12 learning below 25 decisions. setfit: setfit 1.2.0 from the packaged "
         "all-MiniLM-L6-v2 weights on the accepted (passage, code) pairs (it cannot use rejections; codes with "
         "no accepted passage are ranked last); 'defaults' is the library's TrainingArguments() with seed 0, "
         "'fast' stops after 20 contrastive steps. SetFit was run at fewer points than qcode (the machine was "
         "shared: its steps took 10-40 s each), so a missing SetFit row was not measured. No context, no "
         "abstention.")
