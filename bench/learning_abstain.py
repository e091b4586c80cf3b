"""Learned "no code" (issue 21): abstention before and after a coder's no-code decisions.

Used by ``python bench/bench_learning.py --abstention``. Two labelled sets of
turns: the context-study gold (its quotes with no code are the non-codable
turns) and issue 12's abstention set (``bench/noncodable.json`` plus the demo
corpus). Each set's non-codable and codable turns are split in half with seed
0. A simulated coder reviews the first half: on a non-codable turn it says
"no code" (``explicit``), or rejects the three suggestions it is shown
(``rejections``: the implicit no-code); on a codable turn it accepts the gold
codes (where the set has them). Abstention precision and recall are measured
on the other half, before and after learning, with the default suggester
(codebook-tuned model, abstention on).
"""

from __future__ import annotations

import numpy as np


def _split(n: int) -> tuple[list[int], list[int]]:
    order = np.random.default_rng(0).permutation(n)
    half = n // 2
    return sorted(int(i) for i in order[:half]), sorted(int(i) for i in order[half:])


def labelled_sets() -> list[tuple[str, list[str], list[set[int]], list[bool]]]:
    """(name, texts, gold code columns, non-codable?) per set."""
    from bench_quality import gold_corpus_set, noncodable_sets

    out = []
    found = gold_corpus_set("context-study", uncoded=True)
    if found is not None:
        _, texts, gold = found
        out.append(("context-study", texts, gold, [not g for g in gold]))
    negative, positive = noncodable_sets()
    out.append(("noncodable.json + demo", negative + positive, [set() for _ in negative + positive],
                [True] * len(negative) + [False] * len(positive)))
    return out


def run() -> list[list[str]]:
    from qcode.suggest import make_suggester
    from qcode.suggest.abstain import abstention_figures

    rows = []
    for name, texts, gold, null in labelled_sets():
        review_neg, test_neg = _split(sum(null))
        review_pos, test_pos = _split(len(null) - sum(null))
        neg = [i for i, x in enumerate(null) if x]
        pos = [i for i, x in enumerate(null) if not x]
        review = [neg[i] for i in review_neg] + [pos[i] for i in review_pos]
        test_n, test_p = [texts[neg[i]] for i in test_neg], [texts[pos[i]] for i in test_pos]
        for mode in ("before", "explicit", "rejections"):
            s = make_suggester("mcn-sst", context=0.0, learning="few-shot")
            ids = [c.id for c in s.target_codes]
            if mode != "before":
                zero = s.score([texts[i] for i in review])
                d_t, d_c, d_ok, nulls = [], [], [], []
                for row, i in enumerate(review):
                    if null[i] and mode == "explicit":
                        nulls.append(texts[i])
                    elif null[i]:
                        for j in np.argsort(-zero[row], kind="stable")[:3]:
                            d_t.append(texts[i]); d_c.append(ids[int(j)]); d_ok.append(False)  # noqa: E702
                    for j in sorted(gold[i]):
                        d_t.append(texts[i]); d_c.append(ids[j]); d_ok.append(True)  # noqa: E702
                s.learn(d_t, d_c, d_ok, no_code=nulls)
            _, abst_n = s.score_details(test_n)
            _, abst_p = s.score_details(test_p)
            f = abstention_figures(abst_n.tolist(), abst_p.tolist())
            rows.append([name, mode, f"{len(test_n)} / {len(test_p)}", f"{f['precision']:.2f}", f"{f['recall']:.2f}",
                         f"{f['codable_silenced']:.3f}"])
            print("  ".join(rows[-1]), flush=True)
    return rows


COLUMNS = ["set", "learned from", "test non-codable / codable", "precision", "recall", "codable silenced"]
NOTES = ("before: the shipped null prototypes alone; explicit: the coder's \"no code\" on the review half's "
         "non-codable turns; rejections: the coder rejected the three suggestions of each instead (no accept). "
         "Codable review turns: gold codes accepted. Scored on the other half.")
