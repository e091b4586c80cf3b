"""Are qcode's indicative quotes more representative than a random pick of a code's passages?

For every code with at least ``--min-passages`` coded passages in a shared set, three quotes are
picked by qcode.analysis.quotes' picker (centre of the code's passages, readable length, maximal
marginal relevance, one quote per case while other cases have none) and compared with random picks
of three (``--draws`` draws per code, fixed seed) and with a centrality-only pick (no spread rule):

- centrality: the mean cosine similarity of each picked passage to the code's other passages, in the
  embedding space the picker used (all-MiniLM-L6-v2) and, as a view the picker never saw, in TF-IDF
  word space;
- cases: distinct cases among the picks, per pick (1.0: every quote from a different case);
- readable: the share of picks of 12-60 words.

Sets: SERDIF (../shared/eval/serdif, 17 think-aloud sessions, cases = sessions), the demo corpus gold
(cases = speakers, found by reading the transcripts) and the context-study gold (cases = interviews).
Where a set records a coder's own chosen quote among the code's passages, how often the picker picks it
would be measured too; none of these does (../shared/eval/dev_quotes.json holds the paper's 12 Table 6
quotes but not the passages they were chosen from), so that figure is not given.

    python bench/bench_quotes.py [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
from record import Results, machine_line  # noqa: E402

SHARED = ROOT.parent / "shared" / "eval"
N = 3


def serdif() -> list[tuple[str, str, str]]:
    """(text, code, case) per coded passage and code."""
    rows = []
    with (SHARED / "serdif" / "segments.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            item = json.loads(line)
            rows += [(item["text"], label, item["doc"]) for label in item["labels"]]
    return rows


def gold(folder: Path, by_speaker: bool) -> list[tuple[str, str, str]]:
    import qcode

    docs = {d.id: d for d in qcode.read_corpus(folder)}
    rows = []
    with (folder / "gold.csv").open(encoding="utf-8", newline="") as handle:
        for item in csv.DictReader(handle):
            if not item["codes"]:
                continue
            case = item["doc"]
            if by_speaker:
                doc = docs[item["doc"]]
                start = doc.text.find(item["quote"])
                turn = next((t for t in doc.turns if t.start <= start < t.end), None)
                case = turn.speaker if turn is not None and turn.speaker else item["doc"]
            rows += [(item["quote"], code, case) for code in item["codes"].split(";")]
    return rows


def centrality(vectors: np.ndarray, picked: list[int]) -> float:
    others = np.setdiff1d(np.arange(len(vectors)), picked)
    if len(others) == 0:
        return float("nan")
    return float((vectors[picked] @ vectors[others].T).mean())


@dataclass
class Code:
    """One code's passages: model vectors, TF-IDF similarities, cases and lengths in words."""

    vectors: np.ndarray
    lexical: np.ndarray
    cases: list[str]
    words: list[int]


def score(out: dict[str, list[float]], name: str, code: Code, picked: list[int]) -> None:
    """Add the centrality (model, TF-IDF), cases per pick and readable share of one pick to ``out``."""
    from qcode.analysis.quotes import READABLE_WORDS

    others = np.setdiff1d(np.arange(len(code.cases)), picked)
    out.setdefault(f"{name} model", []).append(centrality(code.vectors, picked))
    out.setdefault(f"{name} tfidf", []).append(float(code.lexical[np.ix_(picked, others)].mean()))
    out.setdefault(f"{name} cases", []).append(len({code.cases[i] for i in picked}) / len(picked))
    out.setdefault(f"{name} readable", []).append(
        float(np.mean([READABLE_WORDS[0] <= code.words[i] <= READABLE_WORDS[1] for i in picked])))


def measure(rows: list[tuple[str, str, str]], embedder, draws: int, min_passages: int, seed: int) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from qcode.analysis.quotes import pick

    texts = sorted({t for t, _, _ in rows})
    index = {t: i for i, t in enumerate(texts)}
    model = embedder.encode(texts)
    model = model / np.linalg.norm(model, axis=1, keepdims=True)
    tfidf = TfidfVectorizer(sublinear_tf=True).fit_transform(texts)
    rng = np.random.default_rng(seed)
    out: dict[str, list[float]] = {}
    codes = sorted({c for _, c, _ in rows})
    measured = 0
    for code in codes:
        mine = [(t, case) for t, c, case in rows if c == code]
        if len(mine) < min_passages:
            continue
        measured += 1
        ids = [index[t] for t, _ in mine]
        cases = [case for _, case in mine]
        vec, lex = model[ids], tfidf[ids]
        lex_sim = (lex @ lex.T).toarray()
        words = [len(t.split()) for t, _ in mine]

        code = Code(vec, lex_sim, cases, words)
        score(out, "qcode", code, pick(vec, cases, words, N))
        score(out, "central only", code, pick(vec, list(range(len(ids))), [20] * len(ids), N, diversity_weight=0.0))
        for _ in range(draws):
            score(out, "random", code, list(rng.choice(len(ids), size=N, replace=False)))
    summary = {k: float(np.nanmean(v)) for k, v in out.items()}
    summary["codes"] = measured
    wins = [q > r for q, r in zip(out["qcode tfidf"], _per_code_mean(out["random tfidf"], draws))]
    summary["tfidf wins"] = sum(wins)
    return summary


def _per_code_mean(values: list[float], draws: int) -> list[float]:
    return [float(np.mean(values[i:i + draws])) for i in range(0, len(values), draws)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--min-passages", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="write bench/results/quotes.json")
    args = parser.parse_args()
    from qcode.embed import load_embedder

    embedder = load_embedder()
    sets = {"SERDIF": serdif(), "demo gold": gold(ROOT / "corpora" / "demo", True),
            "context-study gold": gold(ROOT / "corpora" / "context-study", False)}
    rows = []
    for name, data in sets.items():
        s = measure(data, embedder, args.draws, args.min_passages, args.seed)
        print(name, {k: round(v, 3) for k, v in s.items()}, flush=True)
        for picker in ("qcode", "central only", "random"):
            rows.append([name, picker, f"{s[picker + ' model']:.3f}", f"{s[picker + ' tfidf']:.3f}",
                         f"{s[picker + ' cases']:.2f}", f"{s[picker + ' readable']:.2f}",
                         str(s["codes"]) if picker == "qcode" else "",
                         f"{s['tfidf wins']}/{s['codes']}" if picker == "qcode" else ""])
    results = Results("quotes", script=__file__, machine=machine_line(), command="python bench/bench_quotes.py")
    results.table("representative", f"{N} quotes per code: qcode's picks against random picks ({args.draws} draws "
                  "per code) and a centrality-only pick", ["set", "picker", "centrality (model)",
                                                           "centrality (TF-IDF)", "cases per pick",
                                                           "readable", "codes", "qcode > random (TF-IDF)"],
                  rows, align="llrrrrrr",
                  notes="Centrality: mean cosine similarity of a picked passage to the code's other passages; "
                        "the TF-IDF view is one the picker never used. No shared set records a coder's own chosen "
                        "quote among a code's passages, so how often that quote is picked is not measured.")
    if args.json:
        print(f"wrote {results.save()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
