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

``python bench/bench_learning.py --ablation [--json]`` prints issue 12's learning
ablation instead: blend vs fine-tune, document vs active order, after
0/25/50/100/200 decisions and after every decision on the review half ("half"),
on the dev quotes, SERDIF, the demo gold and the context-study gold, with the
seconds each learning and scoring step took (``--fine-tune-at 100,200,half``,
``--fine-tune-orders document`` and ``--sets serdif,demo`` bound the run; a
fine-tuning costs under a minute on 2 quiet cores); ``--json`` writes
``bench/results/learning_ablation.json``.

``python bench/bench_learning.py --vs-setfit [--json]`` runs issue 21's comparison:
qcode's learners beside the ``setfit`` library (the ``bench`` extra), on the same
simulated decisions after 0/5/10/15/25/50/100/200, with each learner's training
seconds (:mod:`learning_peers` says how). ``--setfit-configs fast,defaults``,
``--setfit-at 10,25,50,100,200`` and ``--sets`` bound the SetFit part, which takes
minutes per point (``--setfit-cached`` adds the points earlier runs left in the cache); ``--json`` writes ``bench/results/learning_vs_setfit.json``.
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

    from qcode.suggest import make_suggester

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(texts))
    half = len(order) // 2
    review, test = order[:half], order[half:]
    X = embedder.encode(texts)
    test_texts = [texts[i] for i in test]
    test_gold = [gold[i] for i in test]
    ids = [c.id for c in codebook.leaves()]
    suggester = make_suggester(codebook, model=embedder, params=params)
    decided_texts, decided_codes, decided_ok = [], [], []
    cursor = 0
    rows = []
    for checkpoint in CHECKPOINTS:
        while len(decided_ok) < checkpoint and cursor < len(review):
            i = review[cursor]
            cursor += 1
            top3 = np.argsort(-suggester.score_embeddings(X[i:i + 1], [texts[i]])[0], kind="stable")[:3]
            for j in top3:
                decided_texts.append(texts[i])
                decided_codes.append(ids[j])
                decided_ok.append(j in gold[i])
            for j in gold[i] - set(top3):
                decided_texts.append(texts[i])
                decided_codes.append(ids[j])
                decided_ok.append(True)
        n = min(checkpoint, len(decided_ok))
        suggester = make_suggester(codebook, model=embedder, params=params)
        if n:
            suggester.learn(decided_texts[:n], decided_codes[:n], decided_ok[:n])
        scores = suggester.score_embeddings(X[test], test_texts)
        t1, t3, _ = metrics(scores, test_gold)
        kappa = macro_kappa(np.argmax(scores, axis=1), test_gold, len(ids))
        rows.append((n, t1, t3, kappa))
    return rows


def simulated_decisions(zero_shot: np.ndarray, gold: list[set[int]], ids: list[str], texts: list[str],
                        review: list[int]) -> tuple[list[str], list[str], list[bool]]:
    """A coder reviewing ``review`` in that order: accepts the zero-shot top-3 codes gold holds, rejects
    the others, adds missed gold codes."""
    out_t, out_c, out_ok = [], [], []
    for i in review:
        top3 = [int(j) for j in np.argsort(-zero_shot[i], kind="stable")[:3]]
        for j, ok in [(j, j in gold[i]) for j in top3] + [(j, True) for j in sorted(gold[i] - set(top3))]:
            out_t.append(texts[i])
            out_c.append(ids[j])
            out_ok.append(ok)
    return out_t, out_c, out_ok


def ablation(args: list[str]) -> int:
    """Issue 12's learning ablation: blend vs fine-tune, document vs active order, after 0-200 decisions."""
    import tempfile
    import time

    from bench_quality import SHARED, dev_sets, gold_corpus_set, hub, serdif_set

    from qcode.embed import load_embedder
    from qcode.suggest import make_suggester
    from qcode.suggest.active import active_order

    if not SHARED.exists():
        print(f"shared evaluation data not found at {SHARED}", file=sys.stderr)
        return 1
    checkpoints: list[int | str] = [0, 25, 50, 100, 200, "half"]
    fine_points = set(_flag(args, "--fine-tune-at", "25,50,100,200,half").split(","))
    fine_orders = set(_flag(args, "--fine-tune-orders", "document,active").split(","))
    wanted = set(_flag(args, "--sets", "dev,serdif,demo,context-study").split(","))
    base = load_embedder()
    sets = []
    if "dev" in wanted:
        dcb, dtexts, _, dgold = dev_sets()
        sets.append(("dev", dcb, dtexts, dgold))
    if "serdif" in wanted:
        sets.append(("serdif", *serdif_set()))
    for corpus in ("demo", "context-study"):
        found = gold_corpus_set(corpus) if corpus in wanted and "--no-demo" not in args else None
        if found is not None:
            sets.append((corpus, found[0], found[1], found[2]))
    rows = []
    root = Path(tempfile.mkdtemp(prefix="qcode-bench-learning-"))
    for name, book, texts, gold in sets:
        ids = [c.id for c in book.leaves()]
        rng = np.random.default_rng(0)
        order = rng.permutation(len(texts))
        half = len(order) // 2
        review, test = sorted(int(i) for i in order[:half]), [int(i) for i in order[half:]]
        test_texts, test_gold = [texts[i] for i in test], [gold[i] for i in test]
        zero = make_suggester(book, model=base, tuned=True, context=0.0, abstain=False)
        zero_shot = zero.score(texts)
        queue = {"document": review,
                 "active": [review[k] for k in active_order(
                     [[(ids[j], float(zero_shot[i, j])) for j in np.argsort(-zero_shot[i])[:3]] for i in review])]}
        for order_name, reviewed in queue.items():
            d_texts, d_codes, d_ok = simulated_decisions(zero_shot, gold, ids, texts, reviewed)
            for learning in ("blend", "fine-tune"):
                for point in checkpoints:
                    n = len(d_ok) if point == "half" else int(point)
                    if n > len(d_ok) or (point != "half" and n == len(d_ok) and n) or (learning == "fine-tune" and (
                            not n or str(point) not in fine_points or order_name not in fine_orders)):
                        continue
                    start = time.perf_counter()
                    s = make_suggester(book, model=zero.embedder, tuned=False, context=0.0, abstain=False,
                                  learning=learning)
                    s.body_root = root / f"{name}-{order_name}-{n}"
                    if n:
                        s.learn(d_texts[:n], d_codes[:n], d_ok[:n], coders=["simulated"])
                    learned = time.perf_counter() - start
                    scores = s.score(test_texts)
                    seconds = time.perf_counter() - start
                    top = np.argsort(-scores, axis=1, kind="stable")
                    t1 = np.mean([top[i, 0] in g for i, g in enumerate(test_gold)])
                    t3 = np.mean([bool(set(top[i, :3]) & g) for i, g in enumerate(test_gold)])
                    share, true = hub(scores, test_gold)
                    rows.append([name, order_name, learning, f"{n} (half)" if point == "half" else n, f"{t1:.3f}", f"{t3:.3f}", f"{share:.2f} / {true:.2f}",
                                 f"{learned:.1f}", f"{seconds - learned:.1f}"])
                    print("  ".join(str(c) for c in rows[-1]), flush=True)
    columns = ["set", "order", "learning", "decisions", "top-1", "top-3", "hub (share / true)", "learn s", "score s"]
    if "--json" in args:
        from record import Results, machine_line

        results = Results("learning_ablation", script=__file__, machine=machine_line(),
                          command="python bench/bench_learning.py --ablation --json")
        results.table("learning", "Learning ablation (issue 12): a simulated coder's decisions on one half, "
                      "scored on the other half", columns, rows, align="lllrrrrrr",
                      notes="blend: examples, counter-examples and a classifier per code; fine-tune: the "
                            "embedding model fine-tuned on the decisions (15 steps), then the blend on top; "
                            "a fine-tune row at 0 decisions would be the blend's. half: every decision of the "
                            "simulated review of the first half (the issue's +0.15 bar). "
                            "document: the review half in file order; active: --order active (smallest margin "
                            "first, each top code in turn), from the zero-shot run. The zero-shot model is the "
                            "default one: codebook-tuned where the codebook has the text for it (the mcn-sst sets; "
                            "fine-tuning then continues from it), the base model on SERDIF. No context, no "
                            "abstention, so the learning alone is measured.")
        print(f"wrote {_save_merged(results, sets)}")
    return 0


def _save_merged(results, sets) -> Path:
    """Save, keeping the rows of sets this run did not measure (``--sets`` runs one part at a time)."""
    import json

    from record import RESULTS

    ran = {s[0] for s in sets}
    old_file = RESULTS / "learning_ablation.json"
    if old_file.exists():
        old = json.loads(old_file.read_text(encoding="utf-8"))
        kept = [r for t in old.get("tables", []) if t.get("id") == "learning" for r in t["rows"] if r[0] not in ran]
        results.data["tables"][0]["rows"] = kept + results.data["tables"][0]["rows"]
    return results.save()


def _flag(args: list[str], name: str, default: str) -> str:
    return args[args.index(name) + 1] if name in args and args.index(name) + 1 < len(args) else default


def vs_setfit(args: list[str]) -> int:
    """Issue 21: qcode's few-shot head and blend beside SetFit, on the same decisions."""
    import learning_peers as peers

    wanted = set(_flag(args, "--sets", "serdif,demo,context-study,dev").split(","))
    configs = [c for c in _flag(args, "--setfit-configs", "fast").split(",") if c]
    setfit_at = {int(n) for n in _flag(args, "--setfit-at", "10,25,50,100,200").split(",") if n}
    points = [0, 5, 10, 15, 25, 50, 100, 200]
    cached = "--setfit-cached" in args  # also show SetFit points earlier runs left in the cache
    rows = []
    for name, book, texts, gold in peers.load_sets(wanted):
        prep = peers.prepare(name, book, texts, gold)
        test_gold = [gold[i] for i in prep.test]
        total = len(prep.decisions[0])
        for n in points:
            if n > total:
                continue
            learners = [("qcode few-shot", lambda p=prep, k=n: peers.few_shot(p, k)),
                        ("qcode blend", lambda p=prep, k=n: peers.blend(p, k))]
            if n in setfit_at or cached:
                learners += [(f"setfit {c}", lambda c=c, p=prep, k=n: peers.setfit(p, k, c, cached_only=k not in setfit_at))
                             for c in configs]
            for learner, run in learners:
                peers.LAST_ECE[0] = None
                scores, seconds = run()
                if scores is None:
                    continue
                t1, t3 = peers.top_k(scores, test_gold)
                rows.append([name, n, learner, f"{t1:.3f}", f"{t3:.3f}", f"{seconds:.1f}", peers.LAST_ECE[0] or ""])
                print("  ".join(str(c) for c in rows[-1]), flush=True)
    columns = ["set", "decisions", "learner", "top-1", "top-3", "train s", "ECE"]
    if "--json" in args:
        from record import Results, machine_line

        results = Results("learning_vs_setfit", script=__file__, machine=machine_line(),
                          command="python bench/bench_learning.py --vs-setfit --json " + " ".join(
                              a for a in args if a not in ("--vs-setfit", "--json")))
        results.table("vs_setfit", "Learning from a coder's first decisions: qcode beside SetFit (issue 21)",
                      columns, rows, align="lrlrrrr", notes=peers.NOTES)
        print(f"wrote {results.save()}")
    return 0


def abstention(args: list[str]) -> int:
    """Issue 21: abstention precision/recall before and after a coder's "no code" decisions."""
    import learning_abstain

    rows = learning_abstain.run()
    if "--json" in args:
        from record import Results, machine_line

        results = Results("learning_abstain", script=__file__, machine=machine_line(),
                          command="python bench/bench_learning.py --abstention --json")
        results.table("abstain", "Learned \"no code\" (issue 21): abstention before and after no-code decisions",
                      learning_abstain.COLUMNS, rows, align="llrrrr", notes=learning_abstain.NOTES)
        print(f"wrote {results.save()}")
    return 0


def main() -> int:
    if "--abstention" in sys.argv[1:]:
        return abstention(sys.argv[1:])
    if "--vs-setfit" in sys.argv[1:]:
        return vs_setfit(sys.argv[1:])
    if "--ablation" in sys.argv[1:]:
        return ablation(sys.argv[1:])
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
