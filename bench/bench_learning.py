"""Learning curve: how suggestions improve as a (simulated) coder accepts and rejects them.

The SERDIF set (``../shared/eval/serdif``: 1,793 real coded quotes, 22 codes)
is shuffled with a fixed seed and split in half. A simulated coder reviews the
first half in order: for each segment it sees the current top-3 suggestions,
accepts those the gold labels contain and rejects the others, and adds any gold
code that was not suggested (as a coder adding a missing code does). Each
accept/reject/add is one decision. After 0, 10, 25, 50, 100 and 200 decisions
(then 400 and 800) the suggester learns from all decisions so far and is
scored on the second half, which it never saw:

* top-1 accuracy and top-3 recall of the gold codes;
* model-vs-gold Cohen's kappa of "top-1 code = this code" per code, averaged
  over codes (macro), beside the 0.7-0.8 bar that published studies ask of a
  trained second coder.

Two learning strategies are compared, so the default is chosen by measurement:
``examples`` (accepted passages become prototypes, rejected ones
counter-evidence) and ``examples+classifier`` (plus a per-code logistic
regression once a code has enough labels).

Run: ``python bench/bench_learning.py`` (a few minutes on 2 CPU cores).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CHECKPOINTS = [0, 10, 25, 50, 100, 200, 400, 800]


def macro_kappa(pred: np.ndarray, gold: list[set[int]], n_codes: int) -> float:
    from qcode.agreement import cohen_kappa

    kappas = []
    for k in range(n_codes):
        a = [int(p == k) for p in pred]
        b = [int(k in g) for g in gold]
        if len(set(a) | set(b)) < 2:
            continue
        try:
            kappas.append(float(cohen_kappa(a, b)))
        except Exception:  # undefined (one category everywhere)
            continue
    return float(np.mean(kappas)) if kappas else float("nan")


def run_curve(codebook, texts, gold, embedder, params, seed: int = 0):
    from bench_quality import metrics
    from qcode.suggest import Suggester

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(texts))
    half = len(order) // 2
    review, test = order[:half], order[half:]
    X = embedder.encode(texts)
    test_texts = [texts[i] for i in test]
    test_gold = [gold[i] for i in test]
    ids = [c.id for c in codebook.leaves()]
    suggester = Suggester(codebook, model=embedder, params=params)
    decided_texts, decided_codes, decided_ok = [], [], []
    cursor = 0
    rows = []
    for checkpoint in CHECKPOINTS:
        while len(decided_ok) < checkpoint and cursor < len(review):
            i = review[cursor]
            cursor += 1
            top3 = np.argsort(-suggester.score_embeddings(X[i:i + 1], [texts[i]])[0], kind="stable")[:3]
            for j in top3:
                decided_texts.append(texts[i]); decided_codes.append(ids[j]); decided_ok.append(j in gold[i])
            for j in gold[i] - set(top3):
                decided_texts.append(texts[i]); decided_codes.append(ids[j]); decided_ok.append(True)
        n = min(checkpoint, len(decided_ok))
        suggester = Suggester(codebook, model=embedder, params=params)
        if n:
            suggester.learn(decided_texts[:n], decided_codes[:n], decided_ok[:n])
        scores = suggester.score_embeddings(X[test], test_texts)
        t1, t3, _ = metrics(scores, test_gold)
        kappa = macro_kappa(np.argmax(scores, axis=1), test_gold, len(ids))
        rows.append((n, t1, t3, kappa))
    return rows


def main() -> int:
    from bench_quality import SHARED, serdif_set
    from qcode.embed import load_embedder
    from qcode.suggest import RankingParams

    if not SHARED.exists():
        print(f"shared evaluation data not found at {SHARED}", file=sys.stderr)
        return 1
    embedder = load_embedder()
    codebook, texts, gold = serdif_set()
    strategies = {
        "examples": RankingParams(classifier_weight=0.0),
        "examples+classifier": RankingParams(),
    }
    print(f"SERDIF: {len(texts)} segments, {len(codebook.leaves())} codes; test = held-out half")
    print(f"{'strategy':22s} {'decisions':>9s} {'top-1':>6s} {'top-3':>6s} {'kappa':>6s}")
    for name, params in strategies.items():
        for n, t1, t3, kappa in run_curve(codebook, texts, gold, embedder, params):
            print(f"{name:22s} {n:9d} {t1:6.3f} {t3:6.3f} {kappa:6.3f}")
    print("reference: trained human second coders reach Cohen's kappa 0.7-0.8 in published studies")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
