"""``qcode suggest`` against the obvious hand-written loop, in one run.

The naive loop is what a researcher would write first: load sentence-transformers,
then for each segment call ``model.encode(segment_text)`` on its own, and take the
cosine to each code's name + definition. ``qcode suggest`` runs the whole job
(read, segment, embed in batches, rank with the multi-prototype score, and write
a CSV), in a fresh process, three ways: cold, first ever (empty cache folder, so the
one-time ONNX graph build from the packaged weights is inside the run), cold with the
graph built (empty embedding cache) and warm (same corpus again). Both use the same
segments (turns of a generated study from ``bench/corpus_gen.py``). A batched
sentence-transformers ``encode(all_texts)`` is measured too, as the fair baseline.

Printed: segments/s of each, the ratio to the naive loop and to the batched encode,
and peak RSS of the ``qcode suggest`` process.

Run: ``python bench/bench_suggest.py [--docs 20] [--words 3000]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_speed import machine_line, qcode_cmd, run_measured  # noqa: E402
from bench.corpus_gen import write_corpus  # noqa: E402


def corpus_segments(folder: Path) -> list[str]:
    from qcode import read_corpus, segment

    return [s.text for d in read_corpus(folder) for s in segment(d, unit="turn") if s.role != "interviewer"]


def naive_loop(texts: list[str]) -> tuple[float, float, float]:
    """(load s, one-encode-per-segment + rank s, one batched encode + rank s) with sentence-transformers."""
    import numpy as np

    from qcode import load_codebook
    from qcode.embed.manifest import get_model_spec

    started = time.perf_counter()
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(get_model_spec("all-MiniLM-L6-v2").locate()), device="cpu")
    codes = load_codebook("mcn-sst").leaves()
    prototypes = model.encode([f"{c.name}. {c.definition}" for c in codes], normalize_embeddings=True)
    loaded = time.perf_counter()
    for text in texts:
        vector = model.encode(text, normalize_embeddings=True)
        np.argsort(-(prototypes @ vector))[:3]
    looped = time.perf_counter()
    vectors = model.encode(texts, batch_size=32, normalize_embeddings=True)
    np.argsort(-(vectors @ prototypes.T), axis=1)[:, :3]
    return loaded - started, looped - loaded, time.perf_counter() - looped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20)
    parser.add_argument("--words", type=int, default=3000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="qcode-bench-suggest-"))
    corpus = work / "corpus"
    write_corpus(corpus, docs=args.docs, words=args.words)
    texts = corpus_segments(corpus)
    print(f"machine: {machine_line()}")
    print(f"corpus: {args.docs} generated interviews of ~{args.words} words, {len(texts)} participant turns")

    load_s, loop_s, batched_s = naive_loop(texts)
    naive_rate = len(texts) / loop_s
    batched_rate = len(texts) / batched_s
    env = dict(os.environ, QCODE_CACHE_DIR=str(work / "cache"))  # empty: nothing built, nothing embedded
    out = work / "s.csv"
    rows = [("naive loop, one encode() per segment (load excluded)", loop_s, naive_rate, None),
            ("sentence-transformers, one batched encode() (load excl.)", batched_s, batched_rate, None)]
    runs = [
        ("qcode suggest, cold, first ever (builds the ONNX graph)", None),
        ("qcode suggest, cold (graph built, empty embedding cache)", "empty the embedding cache"),
        ("qcode suggest, warm (same corpus again)", None),
    ]
    for label, before in runs:
        if before:
            for stale in (work / "cache").glob("embeddings.sqlite3*"):
                stale.unlink()
        wall, rss, code, err = run_measured(qcode_cmd("suggest", str(corpus), "--out", str(out), "--quiet"), env)
        if code != 0:
            print(f"qcode suggest failed: {err}", file=sys.stderr)
            return 1
        rows.append((label, wall, len(texts) / wall, rss))
    print(f"sentence-transformers model load: {load_s:.1f} s (not counted in its rates)")
    print(f"{'method':58s} {'seconds':>8s} {'segments/s':>11s} {'x naive':>8s} {'x batched':>9s} {'peak RSS':>9s}")
    for label, seconds, rate, rss in rows:
        mem = f"{rss:.0f} MiB" if rss is not None else "-"
        print(f"{label:58s} {seconds:8.1f} {rate:11.1f} {rate / naive_rate:8.2f} {rate / batched_rate:9.2f} {mem:>9s}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
