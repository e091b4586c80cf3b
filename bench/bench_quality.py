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

``python bench/bench_quality.py --ablation [--json]`` prints issue 12's zero-shot
ablation instead (baseline, + codebook-tuned model, + interviewer-question
context, + normalisation, + abstention, with the seconds of each step) and the
abstention precision/recall on the labelled set of ``bench/noncodable.json``;
``--json`` writes ``bench/results/quality_ablation.json``.
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

    from qcode.suggest import make_suggester

    leaves = codebook.leaves()
    docs = [code_text(c) for c in leaves]
    tfidf = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit(texts + docs)
    lexical = (tfidf.transform(texts) @ tfidf.transform(docs).T).toarray()
    X = embedder.encode(texts)
    names = X @ embedder.encode([c.name for c in leaves]).T
    qcode_scores = make_suggester(codebook, model=embedder).score_embeddings(X, texts)
    return {"tfidf": lexical, "names": names, "qcode": qcode_scores}


def serdif_set():
    from qcode.codebook import Code, Codebook

    raw = json.loads((SHARED / "serdif" / "codebook.json").read_text())
    codes = [Code(id=f"c{i:02d}", name=c["code"], definition=c["definition"]) for i, c in enumerate(raw)]
    cb = Codebook(name="serdif", codes=codes)
    by_name = {c.name: i for i, c in enumerate(codes)}
    segs = [json.loads(line) for line in (SHARED / "serdif" / "segments.jsonl").read_text().splitlines() if line]
    return cb, [s["text"] for s in segs], [{by_name[label] for label in s["labels"]} for s in segs]


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


def gold_corpus_set(corpus: str = "demo", *, uncoded: bool = False):
    """``corpora/<corpus>/gold.csv`` as (codebook, quotes, gold label sets), or ``None`` when absent.

    Rows with no code (non-codable turns) are left out, or kept with an empty set when ``uncoded``.
    """
    from qcode.codebook import load_codebook

    gold_file = ROOT / "corpora" / corpus / "gold.csv"
    if not gold_file.exists():
        return None
    cb = load_codebook("mcn-sst")
    ids = [c.id for c in cb.leaves()]
    texts, gold = [], []
    with gold_file.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            labels = {ids.index(c.strip()) for c in (row["codes"] or "").split(";") if c.strip() in ids}
            if labels or uncoded:
                texts.append(row["quote"])
                gold.append(labels)
    return cb, texts, gold


def demo_set():
    return gold_corpus_set("demo")


def hub(scores: np.ndarray, gold: list[set[int]]) -> tuple[float, float]:
    """The share of top-1 taken by the most frequent top-1 code, and that code's true share."""
    pred = np.argmax(scores, axis=1)
    values, counts = np.unique(pred, return_counts=True)
    top = int(values[np.argmax(counts)])
    return float(counts.max() / len(pred)), float(np.mean([top in g for g in gold]))


def corpus_context(texts: list[str], corpus: str = "demo") -> tuple[list[str | None], list[str | None]]:
    """For each gold quote of ``corpora/<corpus>``: the interviewer question before the turn that holds
    it, and the same participant's previous turn, the neighbour (``None`` where there is none)."""
    from qcode.document import Segment
    from qcode.ingest import read_corpus
    from qcode.suggest.context import preceding_question

    docs = list(read_corpus(ROOT / "corpora" / corpus))
    questions: list[str | None] = []
    previous: list[str | None] = []
    for text in texts:
        found, before = None, None
        for doc in docs:
            at = doc.text.find(text)
            if at < 0:
                continue
            for i, turn in enumerate(doc.turns):
                if turn.start <= at < turn.end:
                    seg = Segment("q", doc.id, turn.start, turn.end, text, "turn", turn.speaker, turn.role,
                                  turn_index=i)
                    found = preceding_question(doc, seg)
                    own = [t for t in doc.turns[:i] if t.speaker == turn.speaker and t.role != "interviewer"]
                    if own:
                        before = doc.text[own[-1].start:own[-1].end].strip() or None
            break
        questions.append(found)
        previous.append(before)
    return questions, previous


def demo_questions(texts: list[str]) -> list[str | None]:
    """For each demo gold quote, the interviewer question before the turn that holds it."""
    return corpus_context(texts, "demo")[0]


def noncodable_sets() -> tuple[list[str], list[str]]:
    """The labelled abstention set: non-codable turns, and codable ones (bench/noncodable.json + demo)."""
    import qcode
    from qcode.ingest import read_corpus

    spec = json.loads((ROOT / "bench" / "noncodable.json").read_text(encoding="utf-8"))
    neg_demo, pos_demo = [], []
    for doc in read_corpus(ROOT / "corpora" / "demo"):
        for seg in qcode.segment(doc):
            if seg.is_interviewer or any(seg.text.startswith(p) for p in spec["demo_excluded_prefixes"]):
                continue
            (neg_demo if any(seg.text.startswith(p) for p in spec["demo_noncodable_prefixes"]) else pos_demo).append(seg.text)
    demo = demo_set()
    _, dev_texts, _, _ = dev_sets()
    codable = pos_demo + (demo[1] if demo else []) + dev_texts + spec["codable_short"]
    return neg_demo + spec["noncodable"], codable


def ablation(write_json: bool = False) -> int:
    """Zero-shot, step by step: baseline, + codebook-tuned model, + question context, + normalisation,
    + abstention, on every shared set, with the seconds each step costs."""
    import time

    from qcode.embed import load_embedder
    from qcode.suggest import make_suggester
    from qcode.suggest.abstain import abstention_figures

    base = load_embedder()
    sets = []
    cb, texts, quotes, theme_gold = dev_sets()
    roots = [r.name for r in cb.roots()]
    none = [None] * len(texts)
    sets.append(("dev", cb, texts, theme_gold, [{roots.index(q["domain"])} for q in quotes], none, none))
    for corpus in ("demo", "context-study"):
        found = gold_corpus_set(corpus)
        if found is not None:
            sets.append((corpus, *found, None, *corpus_context(found[1], corpus)))
    scb, stexts, sgold = serdif_set()
    sets.append(("serdif", scb, stexts, sgold, None, [None] * len(stexts), [None] * len(stexts)))
    rows = []
    for name, book, items, gold, domain_gold, questions, previous in sets:
        leaves = book.leaves()
        dom_of = None
        if book.roots() and any(c.parent for c in leaves):
            ids = [r.id for r in book.roots()]
            dom_of = np.array([ids.index(book.root_of(c.id).id) for c in leaves])
            if domain_gold is None:
                domain_gold = [{int(dom_of[i]) for i in g} for g in gold]

        def row(step: str, scores: np.ndarray, seconds: float, abstained: np.ndarray | None = None,
                note: str = "", name=name, items=items, gold=gold, dom_of=dom_of, domain_gold=domain_gold) -> None:
            order = np.argsort(-scores, axis=1, kind="stable")
            silent = abstained if abstained is not None else np.zeros(len(items), dtype=bool)
            t1 = np.mean([order[i, 0] in g and not silent[i] for i, g in enumerate(gold)])
            t3 = np.mean([bool(set(order[i, :3]) & g) and not silent[i] for i, g in enumerate(gold)])
            dom = "-" if dom_of is None else f"{np.mean([dom_of[order[i, 0]] in g and not silent[i] for i, g in enumerate(domain_gold)]):.3f}"
            share, true = hub(scores, gold)
            rows.append([name, len(items), step, f"{t1:.3f}", f"{t3:.3f}", dom, f"{share:.2f} / {true:.2f}",
                         f"{silent.mean():.3f}", f"{seconds:.1f}", note])

        start = time.perf_counter()
        plain = make_suggester(book, model=base, tuned=False, context=0.0, abstain=False)
        row("baseline", plain.score(items), time.perf_counter() - start)
        start = time.perf_counter()
        tuned = make_suggester(book, model=base, tuned=True, context=0.0, abstain=False)
        tuned_scores = tuned.score(items)
        is_tuned = "tuned" in tuned.embedder.identity
        row("+ tuned", tuned_scores, time.perf_counter() - start,
            note="" if is_tuned else (tuned.tuning_note or "not tuned"))
        start = time.perf_counter()
        ctx = make_suggester(book, model=tuned.embedder, tuned=False, context=0.5, abstain=False)
        ctx_scores = ctx.score(items, questions=questions)
        asked = sum(q is not None for q in questions)
        row("+ context", ctx_scores, time.perf_counter() - start, note=f"{asked} of {len(items)} with a question")
        if any(p is not None for p in previous):
            start = time.perf_counter()
            from qcode.suggest.context import embed_with_context, mix_context

            mixed = embed_with_context(ctx.embedder, items, questions, ctx.context_weight)
            has = np.array([p is not None for p in previous])
            P = np.zeros_like(mixed)
            P[has] = ctx.embedder.encode([p for p in previous if p is not None])
            row("(+ neighbour)", ctx.score_embeddings(mix_context(mixed, P, has, 0.25), items),
                time.perf_counter() - start, note=f"measured, not used: the participant's previous turn at 0.25 "
                f"({int(has.sum())} of {len(items)} have one); the steps below build on + context")
        start = time.perf_counter()
        mu, sd = ctx_scores.mean(axis=0), ctx_scores.std(axis=0) + 1e-6
        normed = ctx_scores + 0.05 * (ctx_scores - mu) / sd
        row("+ normalisation", normed, time.perf_counter() - start, note="0.05 z, reference = the set (opt-in)")
        start = time.perf_counter()
        ab = make_suggester(book, model=tuned.embedder, tuned=False, context=0.5, abstain=True)
        ab_scores, silent = ab.score_details(items, questions=questions)
        row("+ abstention", ab_scores, time.perf_counter() - start, silent,
            note=f"on + context (normalisation is opt-in); margin {ab.abstain_margin}; a gold passage given "
                 "no code counts as a miss")
    labelled = [("demo + written", *noncodable_sets())]
    study = gold_corpus_set("context-study", uncoded=True)
    if study is not None:
        labelled.append(("context-study", [t for t, g in zip(study[1], study[2]) if not g],
                         [t for t, g in zip(study[1], study[2]) if g]))
    mcn = sets[0][1]
    abst_rows = []
    for set_name, neg, pos in labelled:
        for label, model, margin in (("base", base, 0.1), ("tuned", None, 0.0)):
            s = make_suggester(mcn, model=model if model is not None else base, tuned=model is None, context=0.0,
                          abstain=margin)
            figures = abstention_figures(s.score_details(neg)[1].tolist(), s.score_details(pos)[1].tolist())
            abst_rows.append([set_name, label, margin, len(neg), len(pos), f"{figures['precision']:.3f}",
                              f"{figures['recall']:.3f}", f"{figures['codable_silenced']:.3f}"])
    columns = ["set", "n", "step", "top-1", "top-3", "domain", "hub (share / true)", "no code", "s", "note"]
    print(f"model: {base.identity['name']} [{base.identity['backend']}]; each step adds to the one above")
    print("  ".join(f"{c:>10s}" for c in columns[:-1]), " note")
    for r in rows:
        print("  ".join(f"{c!s:>10s}" for c in r[:-1]), "", r[-1])
    print("abstention on the labelled set (non-codable vs codable turns):")
    for r in abst_rows:
        print("  {}: model {} margin {}: {} non-codable, {} codable: precision {} recall {} codable silenced {}"
              .format(*r))
    if write_json:
        from record import Results, machine_line

        results = Results("quality_ablation", script=__file__, machine=machine_line(),
                          command="python bench/bench_quality.py --ablation --json")
        results.table("zero_shot", "Zero-shot ablation (issue 12): each step adds to the one above",
                      columns, rows, align="lrlrrrrrrl",
                      notes="tuned: all-MiniLM-L6-v2 fine-tuned once on the codebook's own texts (skipped where "
                            "codes have under 3 texts); context: the interviewer's preceding question mixed in "
                            "with weight 0.5; normalisation: opt-in, not a default; abstention: 'no code' for "
                            "housekeeping talk. s: seconds of the step on this machine with the embedding cache "
                            "warm; training the tuned model is not in '+ tuned' when it was cached (it is trained "
                            "once per codebook version: 586 s for mcn-sst on this machine, load average ~8).")
        results.table("abstention", "Abstention on labelled non-codable and codable turns: bench/noncodable.json "
                      "with the demo turns, and the context-study gold (its turns with no code)",
                      ["set", "model", "margin", "non-codable", "codable", "precision", "recall",
                       "codable silenced"], abst_rows, align="llrrrrrr")
        print(f"wrote {results.save()}")
    return 0


def main() -> int:
    if "--ablation" in sys.argv[1:]:
        return ablation(write_json="--json" in sys.argv[1:])
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
    sys.path.insert(0, str(ROOT / "bench"))
    raise SystemExit(main())
