"""Speed of the analysis side: `qcode report` on the 100-interview study coded by two coders, and
`matrix` / `cooccur` on 1,000,000 codings.

1. The study of ``bench/corpus_gen.py`` (100 interviews, ~5,000 words each) in a project, two coders
   (ana codes about a third of the participant turns with one or two mcn-sst themes; ben reviews the
   same turns and agrees on four in five), the lead's adjudication on 50 turns, a cases table (phase,
   role, org_type, site). `qcode report --by phase --by role` is timed as a user runs it (a new process),
   cold (embedding cache empty: a fresh QCODE_CACHE_DIR) and warm (the same command again). Bar: warm < 10 s.
2. One million codings (a synthetic frame: 100 documents, 5,000 cases, 20,000 passages... see
   ``million``) through the counting cores qcode.analysis.code_matrix and pairs_from_units, against a
   plain-Python baseline (sets per cell / per unit, what a script without pandas does) on the same
   data, and end to end from a project holding the million codings (events bulk-inserted). Bar: < 5 s.

    python bench/bench_analysis.py [--docs 100] [--codings 1000000] [--json]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from record import Results, machine_line  # noqa: E402

from bench.corpus_gen import write_corpus  # noqa: E402

ROLES = ["clinical", "nursing", "management", "other"]


def build_study(folder: Path, docs: int, words: int) -> Path:
    import qcode
    from qcode.project import init_project

    corpus = folder / "corpus"
    write_corpus(corpus, docs=docs, words=words)
    project = init_project(folder / "study", codebook="mcn-sst")
    documents = list(qcode.read_corpus(corpus))
    segments = [s for d in documents for s in qcode.segment(d, unit="turn")]
    project.add_documents(documents)
    project.add_segments(segments)
    themes = [c.id for c in project.codebook.leaves()]
    rng = random.Random(19)
    events = []
    turns = [s for s in segments if s.role != "interviewer"]
    chosen = [s for s in turns if rng.random() < 0.33]
    for seg in chosen:
        codes = rng.sample(themes, rng.choice([1, 1, 2]))
        events += [{"coder": "ana", "segment_id": seg.id, "code_id": c, "verdict": "accept", "source": "import"}
                   for c in codes]
        theirs = codes if rng.random() < 0.8 else [rng.choice(themes)]
        events += [{"coder": "ben", "segment_id": seg.id, "code_id": c, "verdict": "accept", "source": "import"}
                    for c in theirs]
    for seg in chosen[:50]:
        events.append({"coder": "adjudicator", "segment_id": seg.id, "code_id": themes[0], "verdict": "accept",
                       "source": "import"})
    project.record_many(events)
    speakers = sorted({s.speaker for s in turns if s.speaker})
    table = pd.DataFrame({"case": speakers, "phase": [str(1 + (i >= 70)) for i in range(len(speakers))],
                          "role": [ROLES[i % 4] for i in range(len(speakers))],
                          "org_type": ["hub" if i % 3 else "spoke" for i in range(len(speakers))],
                          "site": [f"site {i % 10}" for i in range(len(speakers))]})
    table.to_csv(folder / "cases.csv", index=False)
    project.import_cases(folder / "cases.csv")
    print(f"study: {len(documents)} documents, {len(segments)} segments, {len(chosen)} coded turns, "
          f"{len(events)} decisions", flush=True)
    return project.path


def time_report(study: Path, out: Path, cache: Path) -> tuple[float, float]:
    """(seconds elapsed, CPU seconds of the process) of one `qcode report` run."""
    import resource

    env = {**os.environ, "QCODE_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "qcode", "report", str(study), "--by", "phase", "--by", "role",
                           "--out", str(out)], capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def million(n: int, seed: int = 7) -> tuple[pd.DataFrame, list[str]]:
    """n codings: 100 documents x 50 cases each, ~n/4 passages with 1-7 codes of 19 themes."""
    from qcode.codebook import load_codebook

    themes = [c.id for c in load_codebook("mcn-sst").leaves()]
    rng = np.random.default_rng(seed)
    passages = n // 4
    per = rng.integers(1, 8, passages)
    pid = np.repeat(np.arange(passages), per)[:n]
    doc = pid % 100
    frame = pd.DataFrame({
        "doc_id": pd.Categorical.from_codes(doc, [f"doc{i:03d}" for i in range(100)]).astype(str),
        "doc_version": 1, "start": pid * 10, "end": pid * 10 + 9,
        "code_id": np.asarray(themes, dtype=object)[rng.integers(0, len(themes), len(pid))],
    })
    frame["case"] = "case" + (doc * 50 + (pid // 100) % 50).astype(str)
    frame = frame.drop_duplicates(["doc_id", "start", "end", "code_id"]).reset_index(drop=True)
    frame["role"] = np.asarray(ROLES, dtype=object)[frame["case"].str[4:].astype(int) % 4]
    return frame, themes


def naive_matrix(frame: pd.DataFrame, codebook) -> dict:
    cells: dict = defaultdict(set)
    parents = {c.id: [a.id for a in codebook.ancestors(c.id)] for c in codebook}
    for code, case, role in zip(frame["code_id"], frame["case"], frame["role"]):
        for row in [code, *parents[code]]:
            cells[(row, role)].add(case)
            cells[(row, "total")].add(case)
    return {k: len(v) for k, v in cells.items()}


def naive_pairs(frame: pd.DataFrame) -> dict:
    units: dict = defaultdict(set)
    for doc, start, code in zip(frame["doc_id"], frame["start"], frame["code_id"]):
        units[(doc, start)].add(code)
    pairs: dict = defaultdict(int)
    for codes in units.values():
        for pair in combinations(sorted(codes), 2):
            pairs[pair] += 1
    return pairs


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def bulk_project(folder: Path, frame: pd.DataFrame) -> Path:
    """A project whose log holds one accept per coding of ``frame`` (inserted in one transaction)."""
    from qcode.document import Document
    from qcode.project import init_project

    project = init_project(folder / "million", codebook="mcn-sst")
    length = int(frame["end"].max()) + 10
    project.add_documents([Document(d, "x" * length) for d in sorted(frame["doc_id"].unique())])
    version = project.codebook.version
    project.close()
    conn = sqlite3.connect(folder / "million" / "qcode.sqlite")
    rows = [("2026-01-01T00:00:00Z", "ana", d, 1, None, int(s), int(e), "x" * 9, c, "accept", "import", version)
            for d, s, e, c in zip(frame["doc_id"], frame["start"], frame["end"], frame["code_id"])]
    with conn:
        conn.execute("INSERT INTO coders (name, guid, added_at) VALUES ('ana', 'g', '2026-01-01')")
        conn.executemany('INSERT INTO events (time, coder, doc_id, doc_version, segment_id, start, "end", text, '
                         "code_id, verdict, source, codebook_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         rows)
    conn.close()
    return folder / "million"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100)
    parser.add_argument("--words", type=int, default=5000)
    parser.add_argument("--codings", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--skip-report", action="store_true")
    parser.add_argument("--skip-million", action="store_true", help="only the report (keeps the million table of "
                        "an earlier run in the results file)")
    parser.add_argument("--json", action="store_true", help="write bench/results/analysis.json")
    args = parser.parse_args()
    from qcode import analysis
    from qcode.codebook import load_codebook

    machine = machine_line()
    results = Results("analysis", script=__file__, machine=machine,
                      command=f"python bench/bench_analysis.py --docs {args.docs} --codings {args.codings}")
    work = Path(tempfile.mkdtemp(prefix="qcode-bench-analysis-"))
    if not args.skip_report:
        study = build_study(work, args.docs, args.words)
        cache = work / "cache"
        cold = time_report(study, work / "report.html", cache)
        warm = min(time_report(study, work / "report.html", cache) for _ in range(args.repeats))
        size = (work / "report.html").stat().st_size
        print(f"qcode report: cold {cold[0]:.1f} s, warm {warm[0]:.1f} s ({warm[1]:.1f} CPU s, {size / 1e6:.1f} MB)",
              flush=True)
        results.table("report", f"qcode report on the {args.docs}-interview study, two coders (a new process each)",
                      ["run", "seconds", "CPU seconds", "bar"],
                      [["cold (empty embedding cache)", f"{cold[0]:.1f}", f"{cold[1]:.1f}", ""],
                       [f"warm (best of {args.repeats})", f"{warm[0]:.1f}", f"{warm[1]:.1f}", "< 10 s"]], align="lrrr",
                      notes=f"report.html {size / 1e6:.1f} MB; --by phase --by role; quotes with all-MiniLM-L6-v2.")
    if args.skip_million:
        if args.json:
            print(f"wrote {results.save(keep_tables=True)}")
        return 0
    frame, _ = million(args.codings)
    codebook = load_codebook("mcn-sst")
    print(f"{len(frame)} codings, {frame['case'].nunique()} cases", flush=True)
    values = sorted(frame["role"].unique())
    fast_matrix = best_of(lambda: analysis.code_matrix(frame, codebook, "role", "cases", values), args.repeats)
    units = frame.groupby(["doc_id", "start"], sort=False).ngroup()
    fast_pairs = best_of(lambda: analysis.pairs_from_units(units, frame["code_id"]), args.repeats)
    slow_matrix = best_of(lambda: naive_matrix(frame, codebook), 1)
    slow_pairs = best_of(lambda: naive_pairs(frame), 1)
    check = analysis.code_matrix(frame, codebook, "role", "cases", values).set_index("code_id")
    truth = naive_matrix(frame, codebook)
    assert all(check.loc[r, v] == n for (r, v), n in truth.items()), "matrix differs from the baseline"
    folder = bulk_project(work, frame)
    project = analysis.as_project(folder)
    end_matrix = best_of(lambda: analysis.matrix(project, "role", count="passages", cases=pd.DataFrame(
        {"case": sorted(frame["doc_id"].unique()), "by": "document", "role": "x"})), 1)
    end_pairs = best_of(lambda: analysis.cooccurrence(project, level="document"), 1)
    rows = [["matrix (code_matrix, cases by role)", f"{fast_matrix:.2f}", f"{slow_matrix:.2f}",
             f"{slow_matrix / fast_matrix:.1f}x"],
            ["co-occurrence (pairs_from_units, passages)", f"{fast_pairs:.2f}", f"{slow_pairs:.2f}",
             f"{slow_pairs / fast_pairs:.1f}x"],
            ["qcode.analysis.matrix from the project", f"{end_matrix:.2f}", "", ""],
            ["qcode.analysis.cooccurrence from the project", f"{end_pairs:.2f}", "", ""]]
    for row in rows:
        print(" | ".join(row), flush=True)
    results.table("million", f"{len(frame):,} codings: qcode.analysis against a plain-Python loop (seconds)",
                  ["what", "qcode s", "plain Python s", "speed-up"], rows, align="lrrr",
                  notes="Bar: under 5 s. The project rows include reading the decision log and deriving the "
                        "codings (Project.codings) and the segments; best of "
                        f"{args.repeats} for the counting cores, one run otherwise.")
    if args.json:
        print(f"wrote {results.save(keep_tables=args.skip_report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
