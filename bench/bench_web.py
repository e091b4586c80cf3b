"""Load on `qcode serve`: N concurrent coders × M decisions each, on loopback; decisions/s and latency.

    python bench/bench_web.py                   # 20 clients × 100 decisions (the issue's bound)
    python bench/bench_web.py --clients 5 --decisions 40 --json

Each client is one coder with its own link and keep-alive connection; it
accepts the first suggestion of the card it is shown, waits for the answer
(which comes only after the decision is committed, fsync included) and goes
on with the next card the server returns. Afterwards the project must hold
exactly clients × decisions events, one per event key: nothing lost, nothing
twice. A benchmark that prints figures, not a timed test.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

CODES = ("funding", "staffing", "communication", "coordination")


def build_project(path: Path, segments: int):
    from qcode.document import PARTICIPANT, Document, Segment, Turn, segment_id
    from qcode.project import init_project
    from qcode.project.sample import sample_codebook

    project = init_project(path, codebook=sample_codebook())
    per_doc = 50
    docs, segs, rows = [], [], []
    for d in range((segments + per_doc - 1) // per_doc):
        doc_id = f"site-{d}/interview-{d:03d}.txt"
        text, spans = "", []
        for t in range(min(per_doc, segments - d * per_doc)):
            said = f"Turn {t} of interview {d}: the budget, the rota and who phones the family ({t % 13})."
            start = len(text) + 4
            text += f"P1: {said}\n"
            spans.append(Turn(start, start + len(said), "P1", PARTICIPANT))
        docs.append(Document(doc_id, text, spans, source=doc_id))
        for i, turn in enumerate(spans):
            seg = Segment(segment_id(doc_id, "turn", turn.start, turn.end), doc_id, turn.start, turn.end,
                          text[turn.start:turn.end], "turn", "P1", PARTICIPANT, i)
            segs.append(seg)
            rows += [(seg.id, CODES[(i + r) % 4], 0.8 - 0.2 * r, r + 1) for r in range(3)]
    project.add_documents(docs)
    project.add_segments(segs)
    project.add_run({"model": "hand-made", "note": "bench_web"}, rows)
    return project


def start_server(path: Path, coders: list[str]) -> tuple[subprocess.Popen, int]:
    args = [sys.executable, "-c", "from qcode.cli import main; main()", "serve", str(path), "--port", "0"]
    for coder in coders:
        args += ["--coder", coder]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    port = None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        found = re.search(r"on http://127\.0\.0\.1:(\d+)", line)
        if found:
            port = int(found.group(1))
        if line.startswith("Each link is secret") and port:
            return proc, port
    proc.kill()
    raise SystemExit("qcode serve did not start")


def process_cpu(pid: int) -> float:
    """User plus system CPU seconds a process has used (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


class Client(threading.Thread):
    def __init__(self, port: int, token: str, csrf: str, decisions: int, start: threading.Barrier):
        super().__init__(daemon=True)
        self.port, self.token, self.csrf, self.n, self.start_gate = port, token, csrf, decisions, start
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.keys: list[str] = []

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request("GET", f"/r/{self.token}/card")
        card = json.loads(conn.getresponse().read())
        self.start_gate.wait()
        for _ in range(self.n):
            if not card.get("segment_id"):
                self.errors.append("queue ran out")
                return
            codes = json.loads(re.search(r"data-codes='([^']*)'", card["html"]).group(1).replace("&#34;", '"'))
            key = uuid.uuid4().hex
            body = json.dumps({"key": key, "action": "accept", "segment_id": card["segment_id"],
                               "code_id": codes[0]})
            began = time.perf_counter()
            conn.request("POST", f"/r/{self.token}/api/decide", body=body,
                         headers={"Content-Type": "application/json", "X-Qcode-Csrf": self.csrf})
            response = conn.getresponse()
            data = response.read()
            self.latencies.append(time.perf_counter() - began)
            if response.status != 200:
                self.errors.append(f"{response.status}: {data[:200]!r}")
                return
            self.keys.append(key)
            card = json.loads(data)
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--decisions", type=int, default=100)
    parser.add_argument("--json", action="store_true", help="also write bench/results/web.json")
    args = parser.parse_args()

    from qcode.project import open_project
    from qcode.web.app import csrf_value
    from qcode.web.tokens import TokenStore

    with tempfile.TemporaryDirectory(prefix="qcode-bench-web-") as tmp:
        path = Path(tmp) / "study"
        build_project(path, segments=args.decisions + 10)
        coders = [f"coder{i:02d}" for i in range(args.clients)]
        tokens = TokenStore(path)
        access = [tokens.ensure_coder(c) for c in coders]
        proc, port = start_server(path, coders)
        cpu_before = process_cpu(proc.pid)
        try:
            gate = threading.Barrier(args.clients + 1)
            clients = [Client(port, a.token, csrf_value(a.token), args.decisions, gate) for a in access]
            for c in clients:
                c.start()
            gate.wait()
            began = time.perf_counter()
            for c in clients:
                c.join()
            elapsed = time.perf_counter() - began
            server_cpu = process_cpu(proc.pid) - cpu_before
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(30)
        errors = [e for c in clients for e in c.errors]
        latencies = sorted(x for c in clients for x in c.latencies)
        sent = sum(len(c.keys) for c in clients)
        log = open_project(path).decisions()
        recorded = int((log["verdict"] != "undo").sum())
        lost = sent - recorded

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(round(p / 100 * (len(latencies) - 1))))] * 1000

    print(f"qcode serve on loopback: {args.clients} clients x {args.decisions} decisions "
          f"({os.cpu_count()} cores)")
    print(f"  acknowledged {sent}, recorded {recorded}, lost {lost}, errors {len(errors)}")
    print(f"  {sent / elapsed:.0f} decisions/s over {elapsed:.1f} s")
    print(f"  latency per decision: p50 {pct(50):.1f} ms, p95 {pct(95):.1f} ms, p99 {pct(99):.1f} ms, "
          f"max {latencies[-1] * 1000:.1f} ms, mean {statistics.mean(latencies) * 1000:.1f} ms")
    print(f"  server CPU per decision: {server_cpu / max(sent, 1) * 1000:.2f} ms "
          f"(load average {os.getloadavg()[0]:.1f} at the end)")
    for e in errors[:5]:
        print("  error:", e)
    if args.json:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from record import Results, machine_line

        results = Results("web", script=__file__, machine=machine_line(),
                          command=f"python bench/bench_web.py --clients {args.clients} --decisions {args.decisions}")
        results.table("load", "qcode serve under load (loopback, each decision committed before its answer)",
                      ["clients", "decisions each", "decisions/s", "p50 ms", "p95 ms", "p99 ms", "lost"],
                      [[args.clients, args.decisions, f"{sent / elapsed:.0f}", f"{pct(50):.1f}", f"{pct(95):.1f}",
                        f"{pct(99):.1f}", lost]], align="rrrrrrr")
        results.save()
    return 1 if errors or lost else 0


if __name__ == "__main__":
    raise SystemExit(main())
