"""Suggestions at scale: one process against a local Dask cluster of 1 and 2 workers, and a projection.

    python bench/bench_scale.py --json      # writes bench/results/scale.json (the docs render it)
    python bench/bench_scale.py --responses 10000 --model-responses 500    # a quick look

Two measurements, each configuration in its own process:

* the engine at full size: ``--responses`` (100,000) synthetic survey answers ranked with the
  FakeEmbedder (hashed n-grams, no model), so the figures are the engine's own: reading and
  sharding, ranking, Parquet shards, the driver writing the output, memory of every process;
* the model: ``--model-responses`` answers with the real model (all-MiniLM-L6-v2, ONNX fp32), a
  fresh embedding cache each (every answer is embedded) and the ONNX graph built beforehand.

The outputs of the configurations are compared byte for byte. The serial part of a cluster run (the
driver reading and segmenting the input, then writing the output) is measured by re-running with
every shard already done; with the real model's per-worker rate it gives the projection to 1M and
10M answers on N workers.
"""

from __future__ import annotations

import argparse
import csv
import filecmp
import itertools
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from corpus_gen import _answer  # noqa: E402
from record import Results, machine_line  # noqa: E402

CONFIGS = {  # name -> (workers or None for the plain run, threads per process)
    "single": (None, 2),
    "dask-1": (1, 2),
    "dask-2": (2, 1),
}


def write_answers(path: Path, n: int, seed: int = 20261201) -> Path:
    """Survey answers of one or two sentences (a short, open 'anything else?' question)."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["respondent_id", "region", "answer"])
        for i in range(n):
            sentences = _answer(rng).split(". ")
            text = ". ".join(sentences[: rng.choice([1, 1, 2])]).strip()
            writer.writerow([f"S{i:07d}", rng.choice(["north", "south", "east", "west"]), text])
    return path


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(name: str, table: Path, out: Path, fake: bool, shard_segments: int | None) -> dict:
    """One configuration, in this (fresh) process: time, throughput, peak memory of every process."""
    from qcode.suggest import SuggestOptions, suggest_corpus

    workers, _ = CONFIGS[name]
    opts = SuggestOptions(top_k=3, unit="document")
    model = None
    if fake:
        from qcode.embed.fake import FakeEmbedder

        model = FakeEmbedder()
    result: dict = {"config": name}
    started = time.perf_counter()
    if workers is None:
        run = suggest_corpus(table, "mcn-sst", opts, out=out, model=model)
        result["seconds"] = time.perf_counter() - started
        result["driver_mib"] = _rss_mib()
        result["worker_mib"] = []
    else:
        from distributed import Client, LocalCluster

        from qcode.suggest.dask_engine import suggest_dask

        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, silence_logs=40)
        client = Client(cluster)
        result["startup_seconds"] = time.perf_counter() - started
        run = suggest_dask(table, "mcn-sst", opts, out=out, model=model, client=client, keep_shards=True,
                           shard_segments=shard_segments)
        result["seconds"] = time.perf_counter() - started
        result["driver_mib"] = _rss_mib()  # the run's peak, before the re-run below
        result["shards"] = run.record["engine"]["shards"]
        result["embedder_loads"] = run.record["engine"]["embedder_loads"]
        out.rename(out.with_suffix(".first.csv"))
        again = time.perf_counter()  # every shard is done: what is left is the driver's serial part
        rerun = suggest_dask(table, "mcn-sst", opts, out=out, model=model, client=client,
                             shard_segments=shard_segments)
        result["serial_seconds"] = time.perf_counter() - again
        assert rerun.record["engine"]["resumed_shards"] == result["shards"]
        assert filecmp.cmp(out, out.with_suffix(".first.csv"), shallow=False)
        result["worker_mib"] = sorted(v / 1024 for v in client.run(
            lambda: __import__("resource").getrusage(__import__("resource").RUSAGE_SELF).ru_maxrss).values())
        client.close()
        cluster.close()
    result["documents"] = run.documents
    result["segments"] = run.suggested_segments
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--responses", type=int, default=100_000, help="answers for the engine measurement")
    parser.add_argument("--model-responses", type=int, default=3_000, help="answers for the real-model measurement")
    parser.add_argument("--fake", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--shard-segments", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--engine-from", type=Path, help="reuse the engine figures an earlier run printed "
                        "(its 'engine NAME {...}' lines) instead of measuring them again")
    parser.add_argument("--model-from", type=Path, help="the same for the model figures ('model NAME {...}')")
    parser.add_argument("--json", action="store_true", help="write bench/results/scale.json")
    parser.add_argument("--one", choices=sorted(CONFIGS), help=argparse.SUPPRESS)
    parser.add_argument("--table", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.table, args.out, args.fake, args.shard_segments)))
        return
    machine = machine_line()
    work = Path(tempfile.mkdtemp(prefix="qcode-bench-scale-"))
    engine = _reuse(args.engine_from, "engine") or measure(work / "engine", args.responses, fake=True)
    # the model's sample is small: shards of one ranking batch, so that both workers get several
    model = _reuse(args.model_from, "model") or measure(work / "model", args.model_responses, fake=False,
                                                         shard_segments=512)
    report(engine, model, args.responses, args.model_responses, machine, args.json)


def _reuse(log: Path | None, kind: str) -> dict | None:
    if log is None:
        return None
    lines = [line.split(" ", 2) for line in log.read_text().splitlines() if line.startswith(kind + " ")]
    return {name: json.loads(data) for _, name, data in lines}


def measure(work: Path, n: int, fake: bool, shard_segments: int | None = None) -> dict:
    work.mkdir(parents=True)
    table = write_answers(work / "answers.csv", n)
    # the model's one-time set-up (the ONNX graph, the codebook-tuned model) happens here, so that no
    # run pays for it; each run gets a copy of that cache without its embeddings
    warm = work / "cache-warm"
    warm_up = ("from qcode.suggest import make_suggester; "
               "make_suggester('mcn-sst', model=None if {fake} else 'all-MiniLM-L6-v2').suggest(['warm up'])")
    if not fake:
        from qcode._io import user_cache_dir

        for part in ("models", "tuned"):  # reuse what this machine already built
            if (user_cache_dir() / part).is_dir():
                shutil.copytree(user_cache_dir() / part, warm / part)
        subprocess.run([sys.executable, "-c", warm_up.format(fake=fake)], check=True,
                       env=dict(os.environ, QCODE_CACHE_DIR=str(warm)))
    measured = {}
    for name, (_, threads) in CONFIGS.items():
        cache = work / f"cache-{name}"
        if warm.is_dir():
            shutil.copytree(warm, cache, ignore=shutil.ignore_patterns("embeddings.sqlite3*"))
        # QCODE_THREADS sets the model's threads; numpy's BLAS keeps the machine's default in every run
        # (the cluster's workers take the driver's), as its thread count moves the last bit of a score
        env = dict(os.environ, QCODE_CACHE_DIR=str(cache), QCODE_THREADS=str(threads))
        proc = subprocess.run([sys.executable, __file__, "--one", name, "--table", str(table),
                               "--out", str(work / f"{name}.csv"), *(["--fake"] if fake else []),
                               *(["--shard-segments", str(shard_segments)] if shard_segments else [])],
                              capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            sys.exit(f"{name} failed:\n{proc.stderr[-3000:]}")
        measured[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        measured[name]["differing_lines"] = _differing_lines(work / "single.csv", work / f"{name}.csv")
        print("engine" if fake else "model", name, json.dumps(measured[name]), flush=True)
    return measured


def _differing_lines(a: Path, b: Path) -> int:
    """Lines of ``b`` that differ from ``a`` (0: byte-for-byte the same file)."""
    if filecmp.cmp(a, b, shallow=False):
        return 0
    with a.open("rb") as left, b.open("rb") as right:
        return sum(1 for x, y in itertools.zip_longest(left, right) if x != y)


def _rows(measured: dict) -> list[list]:
    single = measured["single"]
    rows = []
    for name, (workers, threads) in CONFIGS.items():
        m = measured[name]
        rate = m["documents"] / m["seconds"]
        workers_mib = ", ".join(f"{v:.0f}" for v in m["worker_mib"]) or "–"
        same = "yes" if m["differing_lines"] == 0 else f"{m['differing_lines']} lines differ"
        rows.append([name, "1 process" if workers is None else f"{workers} worker(s)", threads,
                     f"{m['seconds']:.1f}", f"{rate:,.0f}", f"{single['seconds'] / m['seconds']:.2f}x",
                     f"{m['driver_mib']:.0f}", workers_mib, same])
    return rows


def report(engine: dict, model: dict, n: int, n_model: int, machine: str, save: bool) -> None:
    rows, model_rows = _rows(engine), _rows(model)
    d1, d2 = engine["dask-1"], engine["dask-2"]
    overhead = d1["seconds"] / engine["single"]["seconds"] - 1
    model_overhead = model["dask-1"]["seconds"] / model["single"]["seconds"] - 1
    serial_per = d2["serial_seconds"] / n  # driver seconds per answer (read, segment, write)
    m2 = model["dask-2"]
    busy = max(1, len(m2["embedder_loads"]))  # workers that ran shards
    per_worker = m2["documents"] / (m2["seconds"] - m2["startup_seconds"]) / busy
    startup = max(d1["startup_seconds"], d2["startup_seconds"])
    projection = []
    for total in (1_000_000, 10_000_000):
        for workers in (1, 8, 32, 128):
            seconds = startup + serial_per * total + total / (workers * per_worker)
            projection.append([f"{total:,}", workers, _duration(seconds),
                               f"{total / seconds:,.0f}", f"{100 * serial_per * total / seconds:.0f}%"])
    cap = 1 / serial_per
    print("cluster overhead (1 worker vs plain): "
          f"engine {overhead:+.0%}, model {model_overhead:+.0%}; serial {serial_per * 1e6:.0f} us/answer "
          f"(cap {cap:,.0f} answers/s); per worker {per_worker:.1f}/s")
    for row in rows + model_rows + projection:
        print(row)
    if not save:
        return
    results = Results("scale", script=__file__, machine=machine,
                      command=f"python bench/bench_scale.py --responses {n} --model-responses {n_model} --json")
    columns = ["run", "processes", "threads each", "seconds", "answers/s", "speed-up", "driver peak MiB",
               "worker peak MiB", "same bytes as plain"]
    results.table("engine", f"The engine: {n:,} synthetic survey answers, FakeEmbedder (no model), mcn-sst top 3",
                  columns, rows, align="llrrrrrrl",
                  notes=f"A cluster of one worker takes {overhead:+.0%} against the plain run here (its start "
                        f"{d1['startup_seconds']:.1f} s, the driver's pass that cuts shards on batch boundaries, "
                        "the Parquet shards); the machine has 2 physical cores, so 2 workers of 1 thread use the "
                        "same cores as 1 process of 2 threads.")
    results.table("model", f"The model: {n_model:,} answers, all-MiniLM-L6-v2 (ONNX fp32), nothing cached",
                  columns, model_rows, align="llrrrrrrl",
                  notes=f"With the model the cluster's overhead is {model_overhead:+.0%}: embedding dominates, as "
                        "it does at scale. 'threads each' is the model's (QCODE_THREADS): the model's output moves "
                        "in the last bit with its thread count, so a run whose workers use other thread counts than "
                        "the plain run can differ in the 6th decimal of a few probabilities.")
    results.table("serial", "What the driver does alone (a re-run with every shard done)",
                  ["measured", "value"],
                  [[f"serial part, {n:,}-answer run", f"{d2['serial_seconds']:.1f} s"],
                   ["per answer", f"{serial_per * 1e6:.0f} µs"],
                   ["cap on any cluster (1 / serial per answer)", f"{cap:,.0f} answers/s"],
                   ["one worker of 1 thread, real model (2-worker run)", f"{per_worker:.1f} answers/s"],
                   ["cluster start (local, 1-2 workers)", f"{startup:.1f} s"]], align="lr")
    results.table("projection", "Projected: start + serial part + answers / (N x per-worker rate)",
                  ["answers", "workers (1 core each)", "time", "answers/s", "serial share"], projection,
                  align="rrrrr",
                  notes="Assumes each worker has a core of this machine's speed, a shared file system for the "
                        "shards that keeps up, and the measured serial cost per answer; past a few dozen "
                        "workers the driver's serial part dominates (see its cap).")
    print(f"wrote {results.save()}")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


if __name__ == "__main__":
    main()
