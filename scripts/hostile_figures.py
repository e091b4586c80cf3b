"""Measure qcode against the hostile inputs of issue 13: outcome, wall time and peak memory of each.

Run: .venv/bin/python scripts/hostile_figures.py [--json out.json]
Each case runs in a fresh interpreter; peak memory is its VmHWM (Linux).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_hostile_codebook import alias_bomb  # noqa: E402
from test_hostile_ingest import _vtt, paragraph_bomb, stale_dimension_xlsx, xlsx_row_bomb  # noqa: E402

PROBE = r"""
import json, sys, time
kind, path = sys.argv[1], sys.argv[2]
started = time.perf_counter()
try:
    if kind == "codebook":
        from qcode.codebook import load_codebook
        detail = f"read {len(load_codebook(path))} codes"
    else:
        from qcode.ingest import read_corpus
        corpus = read_corpus(path)
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            docs = list(corpus)
        detail = f"read {len(docs)} documents" + (f"; skipped: {corpus.skipped[0][1]}" if corpus.skipped else "")
    outcome = "read"
    if kind == "ingest" and corpus.skipped and not docs:
        outcome, detail = "error", corpus.skipped[0][1]
except Exception as exc:
    from qcode.errors import QcodeError
    outcome = "error" if isinstance(exc, QcodeError) else f"TRACEBACK {type(exc).__name__}"
    detail = str(exc)
seconds = time.perf_counter() - started
hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"outcome": outcome, "detail": detail, "seconds": seconds, "peak_mb": int(hwm.split()[1]) / 1024}))
"""


def cases(folder: Path):
    def write(name: str, data: bytes | str) -> Path:
        path = folder / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        return path

    yield "YAML alias bomb in a description", "codebook", write("bomb.yaml", alias_bomb())
    yield "YAML recursive alias", "codebook", write("loop.yaml", "codes: &c\n  - {id: a, name: A, children: *c}\n")
    lines = ["codes:"]
    for level in range(1000):
        pad = "  " * (2 * level)
        lines += [f"{pad}  - id: c{level}", f"{pad}    name: C{level}", f"{pad}    children:"]
    lines.append("  " * 2000 + "  - {id: leaf, name: Leaf}")
    yield "YAML children nested 1,000 deep", "codebook", write("deep.yaml", "\n".join(lines) + "\n")
    chain = [{"id": "c0", "name": "C0"}] + [{"id": f"c{i}", "name": f"C{i}", "parent": f"c{i - 1}"} for i in range(1, 20000)]
    yield "parent chain 20,000 deep (JSON)", "codebook", write("chain.json", json.dumps({"codes": chain}))
    from qcode.codebook.model import Code, Codebook
    from qcode.interchange.qdc import qdc_bytes

    yield "REFI-QDA .qdc codebook of 20,000 codes", "codebook", write("big.qdc", qdc_bytes(
        Codebook("big", [Code(f"c{i}", f"Code {i}", definition=f"def {i}") for i in range(20000)])))
    yield "flow collections 50,000 deep", "codebook", write("flow.yaml", "codes: " + "[" * 50000 + "]" * 50000 + "\n")
    yield "JSON nested 100,000 deep", "codebook", write("deep.json", '{"codes": ' + "[" * 100000 + "]" * 100000 + "}")
    yield "multi-MB YAML codebook (300,000 codes)", "codebook", write("huge.yaml", "codes:\n" + "".join(
        f"  - {{id: c{i}, name: Code {i}, definition: the code number {i}}}\n" for i in range(300000)))
    yield "YAML codebook of 60,000 codes (under the size limit)", "codebook", write("many.yaml", "codes:\n" + "".join(
        f"  - {{id: c{i}, name: C{i}}}\n" for i in range(60000)))
    yield ".docx paragraph bomb (3 M paragraphs)", "ingest", write("bomb.docx", paragraph_bomb(3_000_000))
    yield ".docx larger bomb (20 M paragraphs)", "ingest", write("big-bomb.docx", paragraph_bomb(20_000_000))
    yield ".xlsx bomb (6 M rows)", "ingest", write("bomb.xlsx", xlsx_row_bomb(6_000_000))
    yield ".xlsx with a stale <dimension> (11 rows)", "ingest", write("stale.xlsx", stale_dimension_xlsx(11))
    yield ".vtt of 40,000 cues", "ingest", write("c40k.vtt", _vtt(40000, "Anna: "))
    yield ".vtt of 200,000 cues", "ingest", write("c200k.vtt", _vtt(200000))
    odd = folder / "latin1"
    odd.mkdir()
    with open(os.fsencode(odd) + b"/caf\xe9.txt", "wb") as handle:
        handle.write(b"Interviewer: Why?\nP1: Because.\n")
    yield "transcript whose name is latin-1 bytes", "ingest", odd


def main() -> None:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, kind, path in cases(Path(tmp)):
            done = subprocess.run([sys.executable, "-c", PROBE, kind, str(path)], capture_output=True, text=True,
                                  timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
            line = (done.stdout.strip().splitlines() or [done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "{}"])[-1]
            try:
                result = json.loads(line)
            except json.JSONDecodeError:
                result = {"outcome": f"CRASH rc={done.returncode}", "detail": line, "seconds": 0, "peak_mb": 0}
            result["case"] = label
            results.append(result)
            print(f"{label:55s} {result['outcome']:6s} {result['seconds']:7.2f} s {result['peak_mb']:7.0f} MB  "
                  f"{result['detail'][:150]}", flush=True)
    if "--json" in sys.argv:
        Path(sys.argv[sys.argv.index("--json") + 1]).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
