"""Suggestion quality on the shared real sets, beside two baselines.

Prints, for each evaluation set, top-1 accuracy, top-3 recall and macro-F1 (of
the top-1 code) for:

* ``tfidf``       TF-IDF cosine between the segment and each code's text
                  (name, definition, criteria, examples) - a lexical baseline;
* ``names``       embedding similarity to the code *names* alone;
* ``qcode``       the default :class:`qcode.Suggester` (multi-prototype score).

Sets (from ``../shared/eval`` beside the repository):

* ``dev-domain``  the paper's 12 in-text quotes; their SST *domain* must be the
                  domain of the top-1 theme (the issue's "domain first" figure).
* ``dev-theme``   the same quotes with the theme under which the paper's
                  Results section quotes them (assigned by us from the section
                  text, ``bench/dev_quote_themes.json``), top-3 recall of that theme.
* ``serdif``      1,793 coded think-aloud quotes, 22 codes with one-sentence
                  definitions and no examples (segments with several labels count
                  a hit for any of them).
* ``demo``        the demo corpus gold codes (``corpora/demo/gold.csv``); written by
                  the same team as the codebook examples, so it is optimistic.
* ``demo-domain`` the same passages: is the domain of the top-1 theme right?

Run: ``python bench/bench_quality.py`` (about a minute on 2 CPU cores).
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "eval"


def metrics(scores: np.ndarray, gold: list[set[int]]) -> tuple[float, float, float]:
    """top-1 accuracy, top-3 recall and macro-F1 of the top-1 prediction."""
    from sklearn.metrics import f1_score

    order = np.argsort(-scores, axis=1, kind="stable")
    top1 = np.mean([order[i, 0] in g for i, g in enumerate(gold)])
    top3 = np.mean([bool(set(order[i, :3]) & g) for i, g in enumerate(gold)])
    # for multi-label gold, count the prediction as the matched label when it is one of them
    y_true = [order[i, 0] if order[i, 0] in g else min(g) for i, g in enumerate(gold)]
    f1 = f1_score(y_true, order[:, 0], average="macro", labels=sorted({x for g in gold for x in g}),
                  zero_division=0)
    return float(top1), float(top3), float(f1)


def code_text(code) -> str:
    return " ".join([code.name, code.definition, *code.inclusion, *code.examples])


def score_all(codebook, texts: list[str], embedder) -> dict[str, np.ndarray]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from qcode.suggest import Suggester

    leaves = codebook.leaves()
    docs = [code_text(c) for c in leaves]
    tfidf = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit(texts + docs)
    lexical = (tfidf.transform(texts) @ tfidf.transform(docs).T).toarray()
    X = embedder.encode(texts)
    names = X @ embedder.encode([c.name for c in leaves]).T
    qcode_scores = Suggester(codebook, model=embedder).score_embeddings(X, texts)
    return {"tfidf": lexical, "names": names, "qcode": qcode_scores}


def serdif_set():
    from qcode.codebook import Code, Codebook

    raw = json.loads((SHARED / "serdif" / "codebook.json").read_text())
    codes = [Code(id=f"c{i:02d}", name=c["code"], definition=c["definition"]) for i, c in enumerate(raw)]
    cb = Codebook(name="serdif", codes=codes)
    by_name = {c.name: i for i, c in enumerate(codes)}
    segs = [json.loads(line) for line in (SHARED / "serdif" / "segments.jsonl").read_text().splitlines() if line]
    return cb, [s["text"] for s in segs], [{by_name[l] for l in s["labels"]} for s in segs]


def dev_sets():
    from qcode.codebook import load_codebook

    cb = load_codebook("mcn-sst")
    leaves = cb.leaves()
    quotes = json.loads((SHARED / "dev_quotes.json").read_text())
    themes = json.loads((ROOT / "bench" / "dev_quote_themes.json").read_text())
    themes.pop("_note", None)
    texts = [q["text"] for q in quotes]
    theme_gold = [{[c.id for c in leaves].index(themes[q["id"]])} for q in quotes]
    return cb, texts, quotes, theme_gold


def demo_set():
    from qcode.codebook import load_codebook

    gold_file = ROOT / "corpora" / "demo" / "gold.csv"
    if not gold_file.exists():
        return None
    cb = load_codebook("mcn-sst")
    ids = [c.id for c in cb.leaves()]
    texts, gold = [], []
    with gold_file.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            labels = {ids.index(c.strip()) for c in row["codes"].split(";") if c.strip() in ids}
            if labels:
                texts.append(row["quote"])
                gold.append(labels)
    return cb, texts, gold


def main() -> int:
    if not SHARED.exists():
        print(f"shared evaluation data not found at {SHARED}", file=sys.stderr)
        return 1
    from qcode.embed import load_embedder

    embedder = load_embedder()
    rows = []

    cb, texts, quotes, theme_gold = dev_sets()
    scores = score_all(cb, texts, embedder)
    roots = [c.id for c in cb.roots()]
    domain_of_leaf = np.array([roots.index(cb.root_of(c.id).id) for c in cb.leaves()])
    domain_gold = [{[r.name for r in cb.roots()].index(q["domain"])} for q in quotes]
    for method, s in scores.items():
        # a domain's score is its best theme's score, so "domain first" = domain of the top theme
        dom = np.stack([s[:, domain_of_leaf == d].max(axis=1) for d in range(len(roots))], axis=1)
        t1, t3, f1 = metrics(dom, domain_gold)
        rows.append(("dev-domain", len(texts), method, t1, t3, f1))
    for method, s in scores.items():
        rows.append(("dev-theme", len(texts), method, *metrics(s, theme_gold)))

    cb, texts, gold = serdif_set()
    for method, s in score_all(cb, texts, embedder).items():
        rows.append(("serdif", len(texts), method, *metrics(s, gold)))

    demo = demo_set()
    if demo is not None:
        cb, texts, gold = demo
        demo_scores = score_all(cb, texts, embedder)
        for method, s in demo_scores.items():
            rows.append(("demo", len(texts), method, *metrics(s, gold)))
        domain_gold = [{int(domain_of_leaf[i]) for i in g} for g in gold]
        for method, s in demo_scores.items():
            dom = np.stack([s[:, domain_of_leaf == d].max(axis=1) for d in range(len(roots))], axis=1)
            rows.append(("demo-domain", len(texts), method, *metrics(dom, domain_gold)))

    print(f"model: {embedder.identity['name']} [{embedder.identity['backend']}]")
    print(f"{'set':12s} {'n':>5s} {'method':8s} {'top-1':>6s} {'top-3':>6s} {'macro-F1':>8s}")
    for name, n, method, t1, t3, f1 in rows:
        print(f"{name:12s} {n:5d} {method:8s} {t1:6.3f} {t3:6.3f} {f1:8.3f}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
