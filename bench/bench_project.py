"""Benchmark of the project store's write and read paths.

Writes: N decisions recorded
  * raw      : plain sqlite3 INSERTs, one durable (synchronous=FULL, WAL) commit each — the baseline
  * decide   : Project.decide(), one durable transaction each (validation included)
  * batch    : Project.record_many() of all N in one transaction (what importers use)
Reads: deriving the current codings from a log of M events, beside reading the raw log.

Run:  python bench/bench_project.py [--n 300] [--m 20000]
Prints a table with each figure's ratio to the baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import platform
import sqlite3
import tempfile
import time
from pathlib import Path

from qcode.project import open_project
from qcode.project.sample import build_sample_project


def events_for(project, n):
    segs = project.segments()
    segs = segs[segs["role"] == "participant"]["segment_id"].tolist()
    codes = ["funding", "staffing", "communication", "coordination"]
    return [{"coder": f"coder{i % 3}", "segment_id": segs[i % len(segs)], "code_id": codes[i % len(codes)],
             "verdict": "accept" if i % 4 else "reject"} for i in range(n)]


def time_raw(folder: Path, n: int) -> float:
    path = folder / "raw.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE e (id INTEGER PRIMARY KEY, coder TEXT, segment TEXT, code TEXT, verdict TEXT)")
    t0 = time.perf_counter()
    for i in range(n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO e (coder, segment, code, verdict) VALUES (?, ?, ?, ?)",
                     (f"coder{i % 3}", f"s-{i}", "funding", "accept"))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed


def time_decide(folder: Path, n: int) -> float:
    project = build_sample_project(folder / "decide")
    events = events_for(project, n)
    t0 = time.perf_counter()
    for e in events:
        project.decide(e["coder"], e["segment_id"], e["code_id"], e["verdict"])
    return time.perf_counter() - t0


def time_batch(folder: Path, n: int) -> float:
    project = build_sample_project(folder / "batch")
    events = events_for(project, n)
    t0 = time.perf_counter()
    project.record_many(events)
    return time.perf_counter() - t0


def time_reads(folder: Path, m: int) -> tuple[float, float, int]:
    project = build_sample_project(folder / "reads")
    project.record_many(events_for(project, m))
    project = open_project(project.path)
    project.decisions()  # warm the page cache so that neither figure pays for the first read
    t_log, t_codings = float("inf"), float("inf")
    for _ in range(3):  # best of three
        t0 = time.perf_counter()
        log = project.decisions()
        t_log = min(t_log, time.perf_counter() - t0)
        t0 = time.perf_counter()
        codings = project.codings()
        t_codings = min(t_codings, time.perf_counter() - t0)
    assert len(log) == m
    return t_log, t_codings, len(codings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300, help="decisions written per method")
    parser.add_argument("--m", type=int, default=20000, help="events in the log for the read benchmark")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        raw = time_raw(folder, args.n)
        decide = time_decide(folder, args.n)
        batch = time_batch(folder, args.n)
        t_log, t_codings, n_codings = time_reads(folder, args.m)
    print(f"machine: {platform.machine()} {platform.system()} {platform.release()}, python {platform.python_version()},"
          f" sqlite {sqlite3.sqlite_version}; temp folder on the local disk")
    print(f"\nwrites: {args.n} decisions (baseline: raw sqlite, one durable commit each)")
    print(f"{'method':<34}{'total s':>10}{'ms/decision':>14}{'decisions/s':>14}{'vs raw':>9}")
    for name, seconds in (("raw sqlite INSERT + COMMIT", raw), ("Project.decide (durable each)", decide),
                          ("Project.record_many (one commit)", batch)):
        print(f"{name:<34}{seconds:>10.3f}{1000 * seconds / args.n:>14.2f}{args.n / seconds:>14.0f}"
              f"{seconds / raw:>8.2f}x")
    print(f"\nreads: a log of {args.m} events -> {n_codings} current codings, best of 3 (baseline: reading the log)")
    print(f"{'method':<34}{'total s':>10}{'vs log':>9}")
    print(f"{'Project.decisions()':<34}{t_log:>10.3f}{1.0:>8.2f}x")
    print(f"{'Project.codings() (derived)':<34}{t_codings:>10.3f}{t_codings / t_log:>8.2f}x")


if __name__ == "__main__":
    main()
