"""New themes from the data (issue 20): leave-one-code-out discovery, qcode beside BERTopic.

For every shared set, each code with at least ``min_size`` passages is hidden in turn: it is removed
from the codebook, the passages are scored against the codes left (base all-MiniLM-L6-v2, no
learning, no abstention), discovery runs, and the code counts as **recovered** when one proposed
candidate's members match the code's passages with F1 >= 0.5 (notes that say "this looks like CODE"
are not candidates and do not count). Reported per set and method:

* ``recovered``  hidden codes recovered / hidden codes;
* ``median F1``  median over hidden codes of the best candidate's F1;
* ``AMI``        adjusted mutual information between the clusters of a from-scratch run (every passage,
                 no codebook) and the coders' first code, beside the mean AMI of 20 random permutations
                 of the same clusters (the chance level);
* ``label``      share of hidden codes whose best-matching candidate's label shares a content word
                 (first five letters) with the hidden code's name or definition;
* ``cands``      mean number of candidates proposed; ``s``: mean seconds of one discovery run after
                 embedding, scoring against the codebook included (BERTopic: one fit, which does not
                 depend on the hidden code).

``qcode`` is the default: k-means over every passage with k = the codes left + 1, clusters that look
like a code left subtracted as notes. ``--variants`` adds what it was chosen against: clustering only
the worst-explained half (the residue) first, no subtraction, agglomerative clustering (average
linkage, cosine distance 0.7) and HDBSCAN (scikit-learn's, ``min_cluster_size`` = min_size).

BERTopic (bench extra) runs on the same embeddings with its own recipe (UMAP to 5 dimensions, HDBSCAN
with ``min_cluster_size`` = the set's ``min_size``, c-TF-IDF), fixed seed; its label is its top three words.
It ignores the codebook, so its candidates are the same whichever code is hidden.

Sets: ``serdif`` (1,793 quotes, 22 codes; min_size 5), ``demo`` and ``context-study`` (the corpora's gold
passages with an mcn-sst theme, 19 themes each; min_size 2), ``dev`` (the paper's 12 quotes, hiding
each SST domain that has at least 2 of them, with all its themes; min_size 2). ``min_size`` is one rule
for all sets: max(2, min(5, n // 30)).

``--scale`` times one run on 10,000 passages (SERDIF's quotes tiled, embeddings jittered) after embedding.

Run: ``python bench/bench_discover.py [--variants] [--scale] [--json]`` (a few minutes on 2 cores; embeddings come
from qcode's on-disk cache after the first run). ``--variants`` adds the alternatives measured to choose
the method (residue first, no subtraction, other clusterers).
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_quality import ROOT, SHARED, gold_corpus_set, serdif_set

STOP = None


def content_stems(text: str) -> set[str]:
    global STOP
    if STOP is None:
        from qcode.discovery.labels import stop_words
        STOP = stop_words()
    return {w[:5] for w in re.findall(r"[a-z]+", text.lower()) if len(w) >= 4 and w not in STOP}


def load_sets():
    """name -> (texts, doc ids, gold label sets over 'hidden units', unit names/definitions, reduced codebook fn)."""
    from qcode.codebook import Code, Codebook, load_codebook

    sets = {}
    cb, texts, gold = serdif_set()
    segs = [json.loads(line) for line in (SHARED / "serdif" / "segments.jsonl").read_text().splitlines() if line]
    leaves = cb.leaves()
    units = [(c.name, c.definition, [c.id]) for c in leaves]
    sets["serdif"] = (cb, texts, [s["doc"] for s in segs], gold, units)
    for corpus in ("demo", "context-study"):
        got = gold_corpus_set(corpus)
        import csv
        docs = [r["doc"] for r in csv.DictReader((ROOT / "corpora" / corpus / "gold.csv").open(encoding="utf-8"))
                if any(c.strip() for c in (r["codes"] or "").split(";"))]
        cb, texts, gold = got
        leaves = cb.leaves()
        units = [(c.name, c.definition, [c.id]) for c in leaves]
        sets[corpus] = (cb, texts, docs, gold, units)
    cb = load_codebook("mcn-sst")
    quotes = json.loads((SHARED / "dev_quotes.json").read_text())
    roots = cb.roots()
    by_name = {r.name: i for i, r in enumerate(roots)}
    gold = [{by_name[q["domain"]]} for q in quotes]
    units = [(r.name, r.definition, [r.id, *[c.id for c in cb if cb.root_of(c.id).id == r.id]]) for r in roots]
    sets["dev"] = (cb, [q["text"] for q in quotes], [q["source"] for q in quotes], gold, units)
    del Code, Codebook
    return sets


def without(cb, drop: list[str]):
    from qcode.codebook import Codebook

    return Codebook(name=cb.name, codes=[c for c in cb.codes if c.id not in drop and c.parent not in drop])


def f1(members: set[int], gold: set[int]) -> float:
    return 2 * len(members & gold) / (len(members) + len(gold)) if members or gold else 0.0


def ami_with_baseline(pred: np.ndarray, truth: np.ndarray, rng) -> tuple[float, float]:
    from sklearn.metrics import adjusted_mutual_info_score as ami

    real = ami(truth, pred)
    chance = float(np.mean([ami(truth, rng.permutation(pred)) for _ in range(20)]))
    return float(real), chance


def reduced_scores(texts, X, cb, hidden_ids):
    """Scores against the codebook without the hidden code(s), and the codes left."""
    from qcode.suggest import Suggester

    s = Suggester(without(cb, hidden_ids), EMBEDDER, abstain=False, context=False)
    t0 = time.perf_counter()
    scores = s.score_embeddings(X, texts)
    return scores, [c.id for c in s.target_codes], time.perf_counter() - t0


def run_qcode(texts, X, docs, scored, params, from_="residue"):
    from qcode.discovery import discover_candidates, residue_mask

    scores, code_ids, scoring_seconds = scored
    t0 = time.perf_counter()
    pool = residue_mask(scores, params.residue_share) if from_ == "residue" else None
    out = discover_candidates(texts, X, doc_ids=docs, segment_ids=[str(i) for i in range(len(texts))], pool=pool,
                              scores=scores, code_ids=code_ids, params=params)
    seconds = time.perf_counter() - t0 + scoring_seconds
    cands = [({int(m.segment_id) for m in c.members}, c.label) for c in out.candidates]
    return cands, seconds


def run_bertopic(texts, X, min_size, seed=42):
    from bertopic import BERTopic
    from hdbscan import HDBSCAN
    from umap import UMAP

    t0 = time.perf_counter()
    n = len(texts)
    umap = UMAP(n_neighbors=max(2, min(15, n - 2)), n_components=min(5, n - 2), min_dist=0.0, metric="cosine",
                random_state=seed, init="random" if n < 30 else "spectral")
    model = BERTopic(umap_model=umap, hdbscan_model=HDBSCAN(min_cluster_size=max(2, min_size), metric="euclidean",
                                                            cluster_selection_method="eom", prediction_data=True),
                     min_topic_size=max(2, min_size), calculate_probabilities=False)
    topics, _ = model.fit_transform(texts, X)
    seconds = time.perf_counter() - t0
    topics = np.asarray(topics)
    cands = []
    for t in sorted(set(topics.tolist()) - {-1}):
        words = [w for w, _ in (model.get_topic(t) or [])][:3]
        cands.append(({int(i) for i in np.flatnonzero(topics == t)}, " ".join(words)))
    return cands, seconds, topics


def evaluate(cands_for, gold, units, hidden):
    """cands_for(unit index) -> list of (member set, label). Returns recovered, median F1, label share."""
    best_f1, label_hits = [], []
    for u in hidden:
        g = {i for i, labels in enumerate(gold) if u in labels}
        cands = cands_for(u)
        scored = [(f1(m, g), label) for m, label in cands]
        top = max(scored, default=(0.0, ""))
        best_f1.append(top[0])
        name, definition, _ = units[u]
        label_hits.append(bool(content_stems(top[1]) & content_stems(f"{name} {definition}")))
    return (int(np.sum(np.array(best_f1) >= 0.5)), len(hidden), float(np.median(best_f1)) if best_f1 else 0.0,
            float(np.mean(label_hits)) if label_hits else 0.0)


EMBEDDER = None


def scale(rows_out: list) -> None:
    """10,000 passages after embedding: SERDIF's quotes tiled, their embeddings jittered (seeded)."""
    import resource

    from qcode.discovery import DiscoverParams, discover_candidates
    from qcode.suggest import Suggester

    cb, texts, docs, _, _ = load_sets()["serdif"]
    X = EMBEDDER.encode(texts)
    reps = -(-10_000 // len(texts))
    rng = np.random.default_rng(0)
    big = np.tile(X, (reps, 1))[:10_000] + rng.normal(0, 0.02, (10_000, X.shape[1])).astype(np.float32)
    big /= np.linalg.norm(big, axis=1, keepdims=True)
    big_texts = (texts * reps)[:10_000]
    big_docs = (docs * reps)[:10_000]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    scores = Suggester(cb, EMBEDDER, abstain=False, context=False).score_embeddings(big, big_texts)
    out = discover_candidates(big_texts, big, doc_ids=big_docs, segment_ids=[str(i) for i in range(10_000)],
                              scores=scores, code_ids=[c.id for c in cb.leaves()], params=DiscoverParams())
    seconds = time.perf_counter() - t0
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    rows_out.append(["10,000 passages (SERDIF tiled)", len(out.candidates), round(seconds, 1), round(grown)])
    print(*rows_out[-1], sep="\t", flush=True)


def main() -> int:
    global EMBEDDER
    from qcode.discovery import DiscoverParams, discover_candidates
    from qcode.embed import load_embedder

    variants = "--variants" in sys.argv
    EMBEDDER = load_embedder()
    rng = np.random.default_rng(0)
    rows = []
    only = sys.argv[sys.argv.index("--sets") + 1].split(",") if "--sets" in sys.argv else None
    for name, (cb, texts, docs, gold, units) in load_sets().items():
        if only and name not in only:
            continue
        X = EMBEDDER.encode(texts)
        n = len(texts)
        min_size = max(2, min(5, n // 30))
        hidden = [u for u in range(len(units)) if sum(u in g for g in gold) >= min_size]
        truth = np.array([min(g) if g else -1 for g in gold])
        configs = [("qcode", DiscoverParams(min_size=min_size), "residue")]
        if variants:
            configs += [
                ("residue 0.5, then k-means", DiscoverParams(min_size=min_size, residue_share=0.5), "residue"),
                ("k-means, no subtraction", DiscoverParams(min_size=min_size, duplicate_share=1.01), "residue"),
                ("agglomerative 0.7", DiscoverParams(min_size=min_size, method="agglomerative"), "residue"),
                ("hdbscan", DiscoverParams(min_size=min_size, method="hdbscan"), "residue"),
            ]
        scored = {u: reduced_scores(texts, X, cb, units[u][2]) for u in hidden}
        for label, params, from_ in configs:
            runs = {u: run_qcode(texts, X, docs, scored[u], params, from_) for u in hidden}
            rec, total, med, lab = evaluate(lambda u, runs=runs: runs[u][0], gold, units, hidden)
            scratch = discover_candidates(texts, X, doc_ids=docs, segment_ids=[str(i) for i in range(n)],
                                          params=params)
            pred = np.full(n, -1)
            for k, c in enumerate(scratch.candidates):
                pred[[int(m.segment_id) for m in c.members]] = k
            ami, chance = ami_with_baseline(pred, truth, rng)
            secs = float(np.mean([r[1] for r in runs.values()]))
            ncand = float(np.mean([len(r[0]) for r in runs.values()]))
            rows.append([name, label, f"{rec}/{total}", round(med, 2), f"{ami:.2f} ({chance:+.2f})", round(lab, 2),
                         round(ncand, 1), round(secs, 2)])
            print(*rows[-1], sep="\t", flush=True)
        try:
            cands, secs, topics = run_bertopic(texts, X, min_size)
            rec, total, med, lab = evaluate(lambda u, cands=cands: cands, gold, units, hidden)
            ami, chance = ami_with_baseline(topics, truth, rng)
            rows.append([name, "BERTopic", f"{rec}/{total}", round(med, 2), f"{ami:.2f} ({chance:+.2f})",
                         round(lab, 2), len(cands), round(secs, 2)])
        except Exception as exc:
            rows.append([name, "BERTopic", f"failed: {type(exc).__name__}", "", "", "", "", ""])
        print(*rows[-1], sep="\t", flush=True)
    scale_rows: list = []
    if "--scale" in sys.argv:
        scale(scale_rows)
    if "--json" in sys.argv:
        from record import Results, machine_line

        res = Results("discover", script=__file__, machine=machine_line(),
                      command=" ".join(["python bench/bench_discover.py", *sys.argv[1:]]))
        res.table("discover", "Leave-one-code-out discovery: qcode beside BERTopic",
                  ["set", "method", "recovered", "median F1", "AMI (chance)", "label", "cands", "s"], rows,
                  align="llrrrrrr")
        if scale_rows:
            res.table("discover_scale", "Discovery on 10,000 passages after embedding (scoring included)",
                      ["input", "candidates", "s", "peak memory growth MiB"], scale_rows, align="lrrr")
        res.save(keep_tables=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
