"""Embedding speed, start-up and end-to-end ``qcode suggest`` timings, measured in one run.

Everything is measured on this machine in this run and printed as tables:

1. the machine's fp32 GEMM rate (numpy, physical cores) -> the roofline
   ``sentences/s <= GEMM FLOP/s / (21.6 MFLOP/token x tokens/sentence)``;
2. sentences/s of each backend on a sample of generated interview sentences,
   timed in interleaved rounds in one process (so that drifting load on a shared
   machine hits every backend alike), with its ratio to plain sentence-transformers
   defaults (``model.encode(list)``) and its fraction of the roofline, both taken
   within each round; load time separately, in a fresh process per backend;
3. the batch-size sweep of the ONNX backend (``--sweep``);
4. the int8 backend's quality beside fp32 on the real SERDIF set: nearest-code
   top-1 agreement with fp32, mean/min cosine to fp32, top-1 accuracy vs gold;
5. ``qcode suggest`` on a generated study of ``--docs`` transcripts of ~``--words``
   words: wall time and peak RSS cold first ever (graph build inside), cold (graph built, empty
   embedding cache), warm (unchanged corpus) and after editing one transcript; plus the
   one-time ONNX graph build;
6. cold start of ``qcode --help``, ``qcode codebook list`` and a one-document
   ``qcode suggest``.

Run: ``python bench/bench_speed.py`` (about 5-10 minutes on 2 cores);
``--quick`` for a smaller study and sample. ``--write-docs`` writes the tables to
``bench/results/speed.json``, which the docs' benchmarks page renders.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "eval"
sys.path.insert(0, str(ROOT))

from bench.corpus_gen import write_corpus  # noqa: E402

FLOPS_PER_TOKEN = 21.6e6
BACKENDS = ["st-default", "sentence-transformers", "onnx", "onnx-int8"]


# -- helpers ---------------------------------------------------------------------------------


def machine_line() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from qcode.embed import physical_cores

    flags = ""
    try:
        text = open("/proc/cpuinfo").read()
        flags = ", ".join(f for f in ("avx2", "avx512f", "avx512_vnni") if re.search(rf"\b{f}\b", text))
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{model}, {physical_cores()} physical cores used ({os.cpu_count()} logical), {flags}, "
        f"{mem:.0f} GiB RAM, Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


_LAUNCHER = """
import json, os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
err = proc.stderr.read().decode("utf-8", "replace")
_, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - start
print(json.dumps({"wall": wall, "maxrss_kib": usage.ru_maxrss, "rc": os.waitstatus_to_exitcode(status), "err": err.strip()[-300:]}))
"""


def run_measured(cmd: list[str], env: dict | None = None) -> tuple[float, float, int, str]:
    """Run ``cmd``; return (wall seconds, peak RSS MiB of the child, exit code, stderr tail).

    A small launcher process starts the command and reads its rusage: on Linux a
    child's ``ru_maxrss`` starts from the RSS of the process that forked it, so the
    fork must come from a small process, not from this one (which holds models).
    """
    proc = subprocess.run([sys.executable, "-c", _LAUNCHER, *cmd], env=env, capture_output=True, text=True)
    facts = json.loads(proc.stdout.strip().splitlines()[-1])
    return facts["wall"], facts["maxrss_kib"] / 1024, facts["rc"], facts["err"]


TABLE_IDS = {"GEMM": "gemm", "Embedding throughput": "backends", "ONNX fp32 batch-size": "batch",
             "int8 vs fp32": "int8", "qcode suggest end to end": "e2e", "Start-up": "startup"}
TABLES: list[tuple[str, str, list[str], list[list]]] = []


def table(title: str, header: list[str], rows: list[list]) -> str:
    table_id = next((v for k, v in TABLE_IDS.items() if title.startswith(k)), f"table-{len(TABLES) + 1}")
    TABLES.append((table_id, title, [str(h) for h in header], [list(r) for r in rows]))
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [f"\n{title}", "| " + " | ".join(h.ljust(w) for h, w in zip(cells[0], widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for row in cells[1:]:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
    return "\n".join(lines)


# -- 1. GEMM roofline ------------------------------------------------------------------------


def gemm_gflops(threads: int, repeats: int = 5) -> dict:
    """Best fp32 GEMM rate of numpy on ``threads`` threads: a large square and a MiniLM-shaped product."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    shapes = {"square 2048": (2048, 2048, 2048), "MiniLM FFN 1024x384x1536": (1024, 384, 1536)}
    out = {}
    with threadpool_limits(limits=threads):
        for label, (m, k, n) in shapes.items():
            a = rng.standard_normal((m, k), dtype=np.float32)
            b = rng.standard_normal((k, n), dtype=np.float32)
            a @ b
            best = float("inf")
            inner = max(1, int(2e9 / (2 * m * k * n)))
            for _ in range(repeats):
                t = time.perf_counter()
                for _ in range(inner):
                    a @ b
                best = min(best, (time.perf_counter() - t) / inner)
            out[label] = 2 * m * k * n / best / 1e9
    return out


# -- 2./3. backend throughput (worker runs in its own process) -------------------------------


def sample_sentences(folder: Path, n: int, seed: int = 7) -> list[str]:
    """``n`` participant sentences drawn at random from a generated corpus."""
    import random

    sentences = []
    for path in sorted(folder.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            speaker, _, text = line.partition(": ")
            if not text or "Interviewer" in speaker:
                continue
            sentences += [s for s in re.split(r"(?<=[.?!])\s+", text.strip()) if s]
    random.Random(seed).shuffle(sentences)
    return sentences[:n]


def load_time(backend: str) -> float:
    """Seconds to import, load and embed 4 texts with ``backend`` in this (fresh) process."""
    t0 = time.perf_counter()
    if backend == "st-default":
        os.environ["HF_HUB_OFFLINE"] = "1"
        from sentence_transformers import SentenceTransformer

        from qcode.embed import get_model_spec

        SentenceTransformer(str(get_model_spec().locate()), device="cpu").encode(["a", "b", "c", "d"])
    else:
        from qcode.embed import load_embedder

        load_embedder(backend=backend, cache=False).encode(["a", "b", "c", "d"])
    return time.perf_counter() - t0


def make_encoders(batch_sizes: list[int]) -> dict:
    """Every variant timed by :func:`interleaved_rounds`, loaded in this process."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer

    from qcode.embed import get_model_spec, load_embedder
    from qcode.embed.onnx_backend import OnnxEmbedder

    plain = SentenceTransformer(str(get_model_spec().locate()), device="cpu")
    encoders = {"st-default": plain.encode}
    encoders["sentence-transformers"] = load_embedder(backend="sentence-transformers", cache=False).encode
    default_bs = OnnxEmbedder.__init__.__defaults__[1]
    for bs in sorted(set(batch_sizes) | {default_bs}):
        emb = load_embedder(backend="onnx", cache=False)
        emb.batch_size = bs
        encoders["onnx" if bs == default_bs else f"onnx batch {bs}"] = emb.encode
    encoders["onnx-int8"] = load_embedder(backend="onnx-int8", cache=False).encode
    return encoders


def interleaved_rounds(texts: list[str], rounds: int, batch_sizes: list[int]) -> dict:
    """Time every encoder once per round, rounds interleaved, with the GEMM rate measured each round.

    Load on a shared machine drifts over minutes; timing all variants in each round
    and comparing within a round keeps the ratios fair. Returns
    ``{name: [(sentences/s, GEMM GFLOP/s of that round), ...]}``.
    """
    from qcode.embed import physical_cores

    encoders = make_encoders(batch_sizes)
    for encode in encoders.values():
        encode(texts[:32])  # warm-up (and the graphs' first-run allocations)
    out: dict[str, list] = {name: [] for name in encoders}
    for _ in range(rounds):
        gemm = max(gemm_gflops(physical_cores(), repeats=3).values())
        for name, encode in encoders.items():
            time.sleep(0.5)  # let the previous library's worker threads stop spinning
            t = time.perf_counter()
            encode(texts)
            out[name].append((len(texts) / (time.perf_counter() - t), gemm))
    return out


def token_count(texts: list[str]) -> int:
    from tokenizers import Tokenizer

    from qcode.embed import get_model_spec

    spec = get_model_spec()
    tok = Tokenizer.from_file(str(spec.locate() / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=spec.max_seq_length)
    return sum(len(e.ids) for e in tok.encode_batch(texts))


def measure_backends(sample_file: Path, rounds: int, env: dict, sweep: list[int]) -> tuple[dict, dict]:
    """Load times (a fresh process each) and interleaved throughput rounds (one process)."""
    loads = {}
    for backend in BACKENDS:
        proc = subprocess.run([sys.executable, __file__, "--worker", "load", "--backend", backend],
                              capture_output=True, text=True, env=env)
        loads[backend] = float(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else float("nan")
    args = [sys.executable, __file__, "--worker", "rounds", "--sample-file", str(sample_file),
            "--repeats", str(rounds), "--batch-sizes", ",".join(map(str, sweep))]
    proc = subprocess.run(args, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"throughput worker failed: {proc.stderr.strip()[-500:]}")
    return loads, json.loads(proc.stdout.strip().splitlines()[-1])


# -- 4. int8 quality on SERDIF ---------------------------------------------------------------


def int8_quality() -> dict | None:
    import numpy as np

    from qcode.embed import load_embedder

    seg_file, cb_file = SHARED / "serdif" / "segments.jsonl", SHARED / "serdif" / "codebook.json"
    if not seg_file.exists():
        return None
    segments = [json.loads(line) for line in seg_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    codes = json.loads(cb_file.read_text(encoding="utf-8"))
    names = [c["code"] for c in codes]
    code_texts = [f"{c['code']}. {c['definition']}" for c in codes]
    texts = [s["text"] for s in segments]
    gold = [{names.index(label) for label in s["labels"] if label in names} for s in segments]
    result = {"segments": len(texts), "codes": len(codes)}
    tops = {}
    vecs = {}
    for backend in ("onnx", "onnx-int8"):
        emb = load_embedder(backend=backend, cache=False)
        seg_vecs = emb.encode(texts)
        code_vecs = emb.encode(code_texts)
        top1 = (seg_vecs @ code_vecs.T).argmax(axis=1)
        tops[backend], vecs[backend] = top1, seg_vecs
        result[f"{backend} top1 accuracy"] = float(np.mean([t in g for t, g in zip(top1, gold)]))
    cos = np.sum(vecs["onnx"] * vecs["onnx-int8"], axis=1)
    result["top1 agreement"] = float(np.mean(tops["onnx"] == tops["onnx-int8"]))
    result["mean cosine"] = float(cos.mean())
    result["min cosine"] = float(cos.min())
    return result


# -- 5./6. end to end -----------------------------------------------------------------------


def qcode_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "qcode", *args] if not shutil.which("qcode") else [shutil.which("qcode"), *args]


def edit_one_transcript(folder: Path) -> None:
    """Change a few sentences of one transcript, as a researcher correcting a transcription would."""
    path = sorted(folder.glob("*.txt"))[len(list(folder.glob("*.txt"))) // 2]
    text = path.read_text(encoding="utf-8")
    text = text.replace("honestly,", "frankly,", 3).replace("the hospice", "the children's hospice", 2)
    text += "\nInterviewer: Thank you, that's everything from me.\n\nP99: Thanks, it was good to talk it through.\n"
    path.write_text(text, encoding="utf-8")


def end_to_end(corpus: Path, cache_dir: Path, unit: str) -> list[list]:
    env = dict(os.environ, QCODE_CACHE_DIR=str(cache_dir))
    out_file = cache_dir.parent / "suggestions.csv"
    db = cache_dir / "embeddings.sqlite3"
    rows = []

    def suggest(label: str, *extra: str, run_env: dict = env) -> None:
        wall, rss, code, err = run_measured(
            qcode_cmd("suggest", str(corpus), "--out", str(out_file), "--unit", unit, "--quiet", *extra), run_env
        )
        lines = sum(1 for _ in open(out_file, encoding="utf-8")) - 1 if code == 0 and out_file.exists() else 0
        rows.append([label, f"{wall:.1f}", f"{rss:.0f}", f"{lines}" if code == 0 else f"exit {code}: {err}"])

    first_ever = cache_dir.parent / f"cache-first-ever-{unit}"  # nothing built, nothing embedded
    suggest("cold, first ever (builds the ONNX graph)", run_env=dict(env, QCODE_CACHE_DIR=str(first_ever)))
    shutil.rmtree(first_ever, ignore_errors=True)
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    suggest("cold (graph built, empty embedding cache)")
    suggest("warm (unchanged corpus)")
    edit_one_transcript(corpus)
    suggest("after editing one transcript")
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    suggest("cold, --backend onnx-int8 (opt-in)", "--backend", "onnx-int8")
    return rows


def startup(corpus: Path, cache_dir: Path, repeats: int = 5) -> list[list]:
    env = dict(os.environ, QCODE_CACHE_DIR=str(cache_dir))
    one = cache_dir.parent / "one_doc"
    one.mkdir(exist_ok=True)
    shutil.copy(sorted(corpus.glob("*.txt"))[0], one / "interview.txt")
    out_file = cache_dir.parent / "one.csv"
    db = cache_dir / "embeddings.sqlite3"
    rows = []
    for label, cmd, clear in (
        ("qcode --help", qcode_cmd("--help"), False),
        ("qcode codebook list", qcode_cmd("codebook", "list"), False),
        ("qcode suggest, 1 document, empty embedding cache", qcode_cmd("suggest", str(one), "--out", str(out_file), "--quiet"), True),
        ("qcode suggest, 1 document, warm cache", qcode_cmd("suggest", str(one), "--out", str(out_file), "--quiet"), False),
    ):
        walls, rss = [], 0.0
        for _ in range(repeats if not clear else 3):
            if clear:
                for suffix in ("", "-wal", "-shm"):
                    Path(str(db) + suffix).unlink(missing_ok=True)
            wall, peak, code, err = run_measured(cmd, env)
            if code != 0:
                walls = []
                rows.append([label, f"exit {code}: {err}", "", ""])
                break
            walls.append(wall)
            rss = max(rss, peak)
        if walls:
            rows.append([label, f"{min(walls):.2f}", f"{sorted(walls)[len(walls) // 2]:.2f}", f"{rss:.0f}"])
    return rows


# -- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100)
    parser.add_argument("--words", type=int, default=5000)
    parser.add_argument("--sample", type=int, default=1000, help="sentences per backend measurement")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved timing rounds")
    parser.add_argument("--unit", default="turn", help="segment unit for the end-to-end runs")
    parser.add_argument("--sweep", default="1,4,8,16,32,64", help="ONNX batch sizes to sweep ('' for none)")
    parser.add_argument("--quick", action="store_true", help="20 documents, 400 sentences, 2 repeats")
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--sample-file", help=argparse.SUPPRESS)
    parser.add_argument("--batch-sizes", default="", help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker == "load":
        print(load_time(args.backend))
        return
    if args.worker == "rounds":
        sizes = [int(x) for x in args.batch_sizes.split(",") if x]
        texts = json.loads(Path(args.sample_file).read_text(encoding="utf-8"))
        print(json.dumps(interleaved_rounds(texts, args.repeats, sizes)))
        return
    if args.quick:
        args.docs, args.sample, args.repeats = 20, 400, 2

    from qcode.embed import physical_cores

    threads = physical_cores()
    report = [f"Machine: {machine_line()}", f"Load average at start: {loadavg()}"]
    print(report[0])
    print(report[1], flush=True)
    work = Path(tempfile.mkdtemp(prefix="qcode-bench-speed-"))
    cache_dir = work / "cache"
    env = dict(os.environ, QCODE_CACHE_DIR=str(cache_dir))
    try:
        corpus = work / "corpus"
        write_corpus(corpus, args.docs, args.words)

        # one-time graph builds (what a first run on a new machine pays once)
        builds = []
        for backend in ("onnx", "onnx-int8"):
            code = f"from qcode.embed import load_embedder; load_embedder(backend={backend!r}, cache=False).encode(['x'])"
            wall, rss, rc, err = run_measured([sys.executable, "-c", code], env)
            builds.append([f"build + load {backend} graph (once per machine)", f"{wall:.1f}", f"{rss:.0f}", "ok" if rc == 0 else err])

        gemm = gemm_gflops(threads)
        roof_rate = max(gemm.values())
        sample = sample_sentences(corpus, args.sample)
        sample_file = work / "sample.json"
        sample_file.write_text(json.dumps(sample), encoding="utf-8")
        tokens = token_count(sample)
        tok_per_sent = tokens / len(sample)
        roof_sps = roof_rate * 1e9 / (FLOPS_PER_TOKEN * tok_per_sent)
        report.append(table(
            f"GEMM (numpy fp32, {threads} threads) and the roofline",
            ["measure", "value"],
            [[f"GEMM {k}", f"{v:.0f} GFLOP/s"] for k, v in gemm.items()]
            + [["sample", f"{len(sample)} sentences, {tok_per_sent:.1f} tokens/sentence"],
               ["roofline (best GEMM / 21.6 MFLOP/token)", f"{roof_sps:.0f} sentences/s"]],
        ))
        print(report[-1], flush=True)

        sweep = [int(x) for x in args.sweep.split(",") if x]
        loads, rounds = measure_backends(sample_file, args.repeats, env, sweep)

        def summary(name: str) -> list[str]:
            runs = rounds[name]
            sps = [r[0] for r in runs]
            vs_base = [r[0] / b[0] for r, b in zip(runs, rounds["st-default"])]
            of_roof = [r[0] / (r[1] * 1e9 / (FLOPS_PER_TOKEN * tok_per_sent)) for r in runs]
            med = lambda xs: sorted(xs)[len(xs) // 2]
            return [f"{max(sps):.0f}", f"{med(sps):.0f}", f"{med(vs_base):.2f}x", f"{med(of_roof):.0%}"]

        rows = []
        for backend in BACKENDS:
            label = backend + {"st-default": " (model.encode(list))", "onnx-int8": " (int8 vs the fp32 roofline)"}.get(backend, "")
            rows.append([label, f"{loads[backend]:.2f}", *summary(backend)])
        gemms = [r[1] for r in rounds["onnx"]]
        report.append(table(
            f"Embedding throughput: {len(sample)} sentences, {args.repeats} interleaved rounds in one process "
            f"(GEMM {min(gemms):.0f}-{max(gemms):.0f} GFLOP/s across rounds); ratios and roofline fractions are "
            "medians of per-round values; load s = import + load + 4 texts in a fresh process",
            ["backend", "load s", "sent/s best", "sent/s median", "vs ST default", "of roofline"], rows,
        ))
        print(report[-1], flush=True)
        sweep_rows = [[name, *summary(name)[:2], summary(name)[3]] for name in rounds if name.startswith("onnx batch")]
        if sweep_rows:
            from qcode.embed.onnx_backend import OnnxEmbedder

            sweep_rows.append([f"onnx (default, batch {OnnxEmbedder.__init__.__defaults__[1]})", *summary("onnx")[:2], summary("onnx")[3]])
            sweep_rows.sort(key=lambda r: int(re.findall(r"\d+", r[0])[0]))
            report.append(table("ONNX fp32 batch-size sweep (length-sorted batches, same rounds)",
                                 ["batch", "sent/s best", "sent/s median", "of roofline"], sweep_rows))
            print(report[-1], flush=True)

        quality = int8_quality()
        if quality:
            report.append(table(
                f"int8 vs fp32 on SERDIF ({quality['segments']} real segments, {quality['codes']} code definitions)",
                ["measure", "value"],
                [["top-1 accuracy vs gold, fp32 (onnx)", f"{quality['onnx top1 accuracy']:.3f}"],
                 ["top-1 accuracy vs gold, onnx-int8", f"{quality['onnx-int8 top1 accuracy']:.3f}"],
                 ["nearest-code top-1 agreement int8 vs fp32", f"{quality['top1 agreement']:.3f}"],
                 ["mean cosine int8 vs fp32", f"{quality['mean cosine']:.4f}"],
                 ["min cosine int8 vs fp32", f"{quality['min cosine']:.4f}"]],
            ))
            print(report[-1], flush=True)

        if not args.skip_e2e:
            words = sum(len(p.read_text(encoding="utf-8").split()) for p in corpus.glob("*.txt"))
            e2e = end_to_end(corpus, cache_dir, args.unit)
            report.append(table(
                f"qcode suggest end to end: {args.docs} transcripts, {words} words, --unit {args.unit}",
                ["run", "wall s", "peak RSS MiB", "rows written"], builds + e2e,
            ))
            print(report[-1], flush=True)
            report.append(table("Start-up (fresh process each; best and median)",
                                ["command", "best s", "median s", "peak RSS MiB"], startup(corpus, cache_dir)))
            print(report[-1], flush=True)
        report.append(f"\nLoad average at end: {loadavg()}")
        print(report[-1])
    finally:
        shutil.rmtree(work, ignore_errors=True)

    if args.write_docs:
        from record import Results

        results = Results("speed", script=__file__, machine=report[0].removeprefix("Machine: ") + "; " + report[1].lower())
        for table_id, title, header, rows in TABLES:
            results.table(table_id, title, header, rows, align="l" + "r" * (len(header) - 1))
        print(f"wrote the figures into {results.save(keep_tables=True)}")

if __name__ == "__main__":
    main()
