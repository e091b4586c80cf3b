"""Issue 12's speed bar: suggesting with the codebook-tuned model against the base model.

Measured in one run on this machine:

1. embedding throughput of the base ONNX graph and of the codebook-tuned ONNX graph
   (``qcode codebook tune``'s model for ``mcn-sst``) on the same generated interview turns,
   in interleaved rounds so that drifting load hits both alike; the ratio is taken per
   round (bar: the tuned model within 10% of the base);
2. ``qcode suggest`` on a generated study of ``--docs`` transcripts with the defaults (the tuned
   model, context, abstention): cold with an empty embedding cache, then warm (bar: warm under
   3 s for the 100-interview study), beside ``--no-tune`` warm.

Run: ``python bench/bench_tuned_speed.py [--docs 100] [--json]`` (a few minutes on 2 cores; the
tuned model must be built: ``qcode codebook tune mcn-sst``). ``--json`` writes
``bench/results/tuned_speed.json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from corpus_gen import write_corpus  # noqa: E402


def sample_turns(n: int) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        paths = write_corpus(folder, docs=4, words=6000, seed=7)
        turns = []
        for path in paths:
            for line in path.read_text(encoding="utf-8").splitlines():
                _, _, text = line.partition(": ")
                if len(text.split()) >= 5:
                    turns.append(text)
    return turns[:n]


def throughput(rounds: int, n: int) -> list[list[str]]:
    from qcode.codebook import load_codebook
    from qcode.embed import load_embedder
    from qcode.suggest.tuning import tune_for_codebook

    texts = sample_turns(n)
    base = load_embedder(backend="onnx", cache=False)
    tuned, report = tune_for_codebook(load_codebook("mcn-sst"), train=False)
    if tuned is None:
        raise SystemExit(f"no tuned model: {report.reason}")
    tuned = getattr(tuned, "inner", tuned)
    base.encode(texts[:8])
    tuned.encode(texts[:8])
    rates: dict[str, list[float]] = {"base": [], "tuned": []}
    ratios = []
    for _ in range(rounds):
        round_rates = {}
        for name, model in (("base", base), ("tuned", tuned)):
            start = time.perf_counter()
            model.encode(texts)
            round_rates[name] = len(texts) / (time.perf_counter() - start)
            rates[name].append(round_rates[name])
        ratios.append(round_rates["tuned"] / round_rates["base"])
    words = statistics.mean(len(t.split()) for t in texts)
    return [[name, f"{max(r):.0f}", f"{statistics.median(r):.0f}",
             "1.00x" if name == "base" else f"{statistics.median(ratios):.2f}x (rounds {min(ratios):.2f}-{max(ratios):.2f})"]
            for name, r in rates.items()] + [["sample", f"{len(texts)} turns", f"{words:.0f} words/turn", ""]]


def suggest_runs(docs: int) -> list[list[str]]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder) / "study"
        write_corpus(corpus, docs=docs, words=5000)
        env = {**os.environ, "QCODE_CACHE_DIR": str(Path(folder) / "cache"), "QCODE_TUNE_ON_MISS": "base"}
        env.pop("OMP_NUM_THREADS", None)
        tuned_dir = Path(os.environ.get("QCODE_TUNED_DIR", Path.home() / ".cache" / "qcode" / "tuned"))
        env["QCODE_TUNED_DIR"] = str(tuned_dir)
        for label, extra in (("cold, default (tuned model)", []), ("warm, default (tuned model)", []),
                             ("warm again, default (tuned model)", []), ("cold, --no-tune (base model)", ["--no-tune"]),
                             ("warm, --no-tune (base model)", ["--no-tune"])):
            out = Path(folder) / "out.csv"
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "qcode", "suggest", str(corpus), "--out", str(out),
                                   "--quiet", *extra], env=env, capture_output=True, text=True)
            seconds = time.perf_counter() - start
            if done.returncode:
                raise SystemExit(done.stderr)
            import json

            record = json.loads(Path(f"{out}.run.json").read_text(encoding="utf-8"))
            model = record.get("model", {})
            rows.append([label, f"{seconds:.1f}", model.get("tuned") or "base",
                         str(sum(1 for _ in out.open(encoding="utf-8")) - 1)])
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--turns", type=int, default=600)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    speed = throughput(args.rounds, args.turns)
    print("embedding throughput (turns/s):")
    for row in speed:
        print("  ", "  ".join(row))
    runs = suggest_runs(args.docs)
    print(f"qcode suggest on {args.docs} generated transcripts (~5,000 words each):")
    for row in runs:
        print("  ", "  ".join(row))
    if args.json:
        from record import Results, machine_line

        results = Results("tuned_speed", script=__file__, machine=machine_line(),
                          command=f"python bench/bench_tuned_speed.py --docs {args.docs} --json")
        results.table("throughput", "Embedding with the codebook-tuned model against the base model (ONNX, "
                      f"{args.rounds} interleaved rounds)", ["model", "turns/s best", "turns/s median",
                                                             "tuned / base"], speed, align="lrrr",
                      notes="the tuned graph has the base model's shape and reads as many word pieces (256); "
                            "the bar is a ratio within 10% of the base")
        results.table("study", f"qcode suggest on {args.docs} generated transcripts, defaults vs --no-tune",
                      ["run", "wall s", "model", "rows"], runs, align="lrlr",
                      notes="warm: the embedding and segment caches hold every turn; the bar is a warm re-run under "
                            "3 s. The segment cache is shared by the runs, so only the first cold run segments")
        print(f"wrote {results.save()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
