"""Issue 12 item 0: does the richer text of the shipped mcn-sst codebook help?

Scores the mcn-sst sets (the dev quotes, the demo gold, the context-study gold) with the
codebook as it was before its text was enriched (five examples per theme; read from git,
commit ``--before``, default the parent of the enriching commit) and as it is now, each
with the base model and with its codebook-tuned model, with question context (weight 0.5)
and no abstention, so that only the text differs.

Run: ``python bench/bench_codebook_text.py [--json]`` in a git checkout; both codebooks'
tuned models must be built (``qcode codebook tune FILE``; the script trains a missing one,
about a minute on 2 quiet cores). ``--json`` writes ``bench/results/codebook_text.json``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

ENRICHED = "ef03171"


def main() -> int:
    from bench_quality import SHARED, corpus_context, dev_sets, gold_corpus_set

    from qcode.codebook import load_codebook
    from qcode.embed import load_embedder
    from qcode.suggest import make_suggester

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=f"{ENRICHED}^", help="git commit of the codebook before")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not SHARED.exists():
        print(f"shared evaluation data not found at {SHARED}", file=sys.stderr)
        return 1
    old_text = subprocess.run(["git", "show", f"{args.before}:qcode/data/codebooks/mcn-sst.yaml"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout
    with tempfile.TemporaryDirectory() as folder:
        old_file = Path(folder) / "mcn-sst.yaml"
        old_file.write_text(old_text, encoding="utf-8")
        books = {"before": load_codebook(old_file), "now": load_codebook("mcn-sst")}
    ids = [c.id for c in books["now"].leaves()]
    if [c.id for c in books["before"].leaves()] != ids:
        raise SystemExit("the two codebooks do not have the same themes in the same order")
    _, texts, _, gold = dev_sets()
    sets = [("dev", texts, gold, [None] * len(texts))]
    for corpus in ("demo", "context-study"):
        found = gold_corpus_set(corpus)
        if found is not None:
            sets.append((corpus, found[1], found[2], corpus_context(found[1], corpus)[0]))
    base = load_embedder()
    rows = []
    for label, book in books.items():
        examples = sum(len(c.examples) for c in book.leaves()) / len(book.leaves())
        for tuned in (False, True):
            suggester = make_suggester(book, model=base, tuned=tuned, context=0.5, abstain=False)
            for name, items, labels, questions in sets:
                order = np.argsort(-suggester.score(items, questions=questions), axis=1, kind="stable")
                top1 = np.mean([order[i, 0] in g for i, g in enumerate(labels)])
                top3 = np.mean([bool(set(order[i, :3]) & g) for i, g in enumerate(labels)])
                rows.append([name, len(items), f"{label} ({book.version}, {examples:.0f} examples/theme)",
                             "tuned" if tuned else "base", f"{top1:.3f}", f"{top3:.3f}"])
                print("  ".join(str(c) for c in rows[-1]), flush=True)
    if args.json:
        from record import Results, machine_line

        results = Results("codebook_text", script=__file__, machine=machine_line(),
                          command="python bench/bench_codebook_text.py --json")
        results.table("text", "The mcn-sst codebook before and after its text was enriched (with context)",
                      ["set", "n", "codebook", "model", "top-1", "top-3"], sorted(rows, key=lambda r: (r[0], r[3])),
                      align="lrllrr",
                      notes="the demo and context-study golds were written by the team that wrote the codebook, "
                            "so they are optimistic; the dev quotes are the paper's, 12 of them")
        print(f"wrote {results.save()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
