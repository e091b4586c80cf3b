"""Ingest and segmentation throughput, with baselines measured in the same run.

Scenarios (each in a fresh subprocess, so peak memory is per scenario):

* ``study``: a generated study of N interview transcripts (~5,000 words each);
  qcode's read_corpus (decode, normalise, detect speakers) against a plain
  ``Path.read_text`` loop over the same files, then segmentation per unit.
* ``big``: one transcript of about 50 MB; read + speaker turns, then turn segments.
* ``tiny``: 10,000 files of one short answer each.

Usage: ``python bench/bench_ingest.py [--quick]`` (quick: 20 transcripts, 5 MB, 1,000 files).
Prints a table; no numbers are asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OPENERS = ["I think", "Honestly,", "For us", "In the end", "At first", "Looking back,", "To be fair,", "Mostly"]
SUBJECTS = ["the network", "the hospice team", "the community nurses", "the steering group", "our ward",
            "the families", "the education days", "the shared care plan", "the out-of-hours rota", "the key worker"]
VERBS = ["helped", "slowed down", "changed", "supported", "confused", "connected", "frustrated", "reassured"]
OBJECTS = ["the referrals", "the parents", "our planning", "the transition to adult services", "the paperwork",
           "the night visits", "everyone involved", "the funding bids", "the data collection", "the GPs"]
TAILS = ["last winter.", "more than we expected.", "in the first year.", "if I'm honest.", "most weeks.",
         "which surprised me.", "because nobody owned it.", "and that mattered.", "— eventually.", "for a while."]
QUESTIONS = ["Can you say more about that?", "How did that affect families?", "What would you change?",
             "Who made that decision?", "How did the network help, if at all?"]


def sentence(rng: random.Random) -> str:
    return f"{rng.choice(OPENERS)} {rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)}"


def transcript(rng: random.Random, words: int, participant: str) -> str:
    lines, count, minute = [], 0, 0
    while count < words:
        question = rng.choice(QUESTIONS)
        answer = " ".join(sentence(rng) for _ in range(rng.randint(1, 14)))
        lines.append(f"[00:{minute % 60:02d}:{rng.randint(0, 59):02d}] Interviewer: {question}")
        lines.append(f"[00:{minute % 60:02d}:{rng.randint(0, 59):02d}] {participant}: {answer}")
        lines.append("")
        count += len(question.split()) + len(answer.split())
        minute += 1
    return "\n".join(lines)


def make_study(folder: Path, n: int, words: int) -> None:
    rng = random.Random(7)
    for i in range(n):
        (folder / f"interview_{i:03d}.txt").write_text(transcript(rng, words, f"P{i:03d}"), encoding="utf-8")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# ---------------------------------------------------------------- scenarios (run in a child process)


def scenario_baseline_read(folder: str) -> dict:
    start = time.perf_counter()
    chars = sum(len(p.read_text(encoding="utf-8")) for p in sorted(Path(folder).rglob("*.txt")))
    return {"seconds": time.perf_counter() - start, "chars": chars, "peak_mb": peak_mb()}


def scenario_read(folder: str) -> dict:
    import qcode

    start = time.perf_counter()
    docs = turns = chars = 0
    for doc in qcode.read_corpus(folder):
        docs += 1
        turns += len(doc.turns)
        chars += len(doc.text)
    return {"seconds": time.perf_counter() - start, "docs": docs, "turns": turns, "chars": chars, "peak_mb": peak_mb()}


def scenario_segment(folder: str, unit: str) -> dict:
    import qcode
    from qcode.segmentation import _sentencizer, default_token_counter

    start = time.perf_counter()
    default_token_counter()
    _sentencizer()  # turn/paragraph need it only for over-long turns; load it here so timings exclude imports
    loaded = time.perf_counter() - start
    docs = list(qcode.read_corpus(folder))
    start = time.perf_counter()
    segments = sum(1 for _ in qcode.segment_corpus(docs, unit=unit))
    words = sum(len(d.text.split()) for d in docs)
    return {"seconds": time.perf_counter() - start, "load_seconds": loaded, "segments": segments,
            "words": words, "peak_mb": peak_mb()}


def scenario_read_segment_stream(folder: str, unit: str) -> dict:
    """read + segment streamed, nothing kept: what the suggest pipeline does."""
    import qcode

    start = time.perf_counter()
    segments = sum(1 for _ in qcode.segment_corpus(qcode.read_corpus(folder), unit=unit))
    return {"seconds": time.perf_counter() - start, "segments": segments, "peak_mb": peak_mb()}


def run_child(name: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", name, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- the table


def row(label: str, result: dict, baseline: dict | None = None, extra: str = "") -> str:
    ratio = f"{result['seconds'] / baseline['seconds']:8.1f}x" if baseline else "        -"
    return f"{label:<44} {result['seconds']:9.3f} {ratio} {result['peak_mb']:9.0f}  {extra}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        name, *rest = args.child
        print(json.dumps(globals()[f"scenario_{name}"](*rest)))
        return
    n_docs, big_mb, n_tiny = (20, 5, 1000) if args.quick else (100, 50, 10000)
    print(f"machine: {platform.processor() or platform.machine()}, {platform.system()} {platform.release()}, "
          f"python {platform.python_version()}")
    print(f"{'scenario':<44} {'seconds':>9} {'vs base':>9} {'peak MB':>9}  notes")
    with tempfile.TemporaryDirectory() as tmp:
        study = Path(tmp) / "study"
        study.mkdir()
        make_study(study, n_docs, 5000)
        base = run_child("baseline_read", str(study))
        print(row(f"study: read_text loop ({n_docs} files)", base, None, f"{base['chars'] / 1e6:.1f} M chars"))
        read = run_child("read", str(study))
        print(row("study: qcode.read_corpus (turns detected)", read, base, f"{read['turns']} turns"))
        for unit in ("turn", "sentence", "paragraph", "document"):
            seg = run_child("segment", str(study), unit)
            print(row(f"study: segment unit={unit}", seg, None,
                      f"{seg['segments']} segments, {seg['words'] / seg['seconds']:,.0f} words/s, load {seg['load_seconds']:.2f}s"))
        stream = run_child("read_segment_stream", str(study), "turn")
        print(row("study: read + segment(turn), streamed", stream, base, f"{stream['segments']} segments"))

        big = Path(tmp) / "big"
        big.mkdir()
        rng = random.Random(3)
        with open(big / "enormous.txt", "w", encoding="utf-8") as handle:
            written = 0
            while written < big_mb * 1_000_000:
                chunk = transcript(rng, 5000, "P1") + "\n\n"
                handle.write(chunk)
                written += len(chunk.encode("utf-8"))
        base_big = run_child("baseline_read", str(big))
        print(row(f"big: read_text of one {big_mb} MB file", base_big, None))
        read_big = run_child("read", str(big))
        print(row("big: qcode.read_corpus", read_big, base_big, f"{read_big['turns']} turns"))
        seg_big = run_child("read_segment_stream", str(big), "turn")
        print(row("big: read + segment(turn)", seg_big, base_big, f"{seg_big['segments']} segments"))

        tiny = Path(tmp) / "tiny"
        tiny.mkdir()
        for i in range(n_tiny):
            (tiny / f"r{i:05d}.txt").write_text(sentence(rng) + "\n", encoding="utf-8")
        base_tiny = run_child("baseline_read", str(tiny))
        print(row(f"tiny: read_text loop ({n_tiny} files)", base_tiny))
        read_tiny = run_child("read", str(tiny))
        print(row("tiny: qcode.read_corpus", read_tiny, base_tiny, f"{read_tiny['docs']} docs"))
        seg_tiny = run_child("read_segment_stream", str(tiny), "sentence")
        print(row("tiny: read + segment(sentence)", seg_tiny, base_tiny, f"{seg_tiny['segments']} segments"))


if __name__ == "__main__":
    main()
