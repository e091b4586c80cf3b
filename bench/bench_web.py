"""Load on `qcode serve`: N concurrent coders × M decisions each, on loopback; decisions/s and latency.

    python bench/bench_web.py                   # 20 clients × 100 decisions (the issue's bound)
    python bench/bench_web.py --clients 5 --decisions 40
    python bench/bench_web.py --compare h11/asyncio,httptools/uvloop --rounds 2 --json

``--http``/``--loop`` choose uvicorn's HTTP parser and event loop (default: what
``qcode serve`` picks, httptools and uvloop where installed); ``--compare`` runs
each HTTP/LOOP variant in turn, ``--rounds`` times interleaved (A B A B), with the
load average beside each run, because the machines this runs on are shared. A
variant written HTTP/LOOP@DIR serves with the ``qcode`` package found in DIR (an
older tree, e.g. ``git archive COMMIT qcode | tar -x -C DIR``), so code changes are
measured against their baseline in the same session.

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


SERVE = """
import sys
from qcode.web.server import prepare, run
path, http, loop, *coders = sys.argv[1:]
run(prepare(path, coders=coders, port=0), http=http, loop=loop)
"""


def start_server(path: Path, coders: list[str], http: str = "auto", loop: str = "auto",
                 code: str | None = None) -> tuple[subprocess.Popen, int]:
    """``qcode serve`` on a free port (what the command runs, with the HTTP stack named)."""
    args = [sys.executable, "-c", SERVE, str(path), http, loop, *coders]
    env = dict(os.environ)
    if code:
        env["PYTHONPATH"] = os.pathsep.join([code, *filter(None, [env.get("PYTHONPATH")])])
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env)
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


def measure(clients: int, decisions: int, http: str = "auto", loop: str = "auto", code: str | None = None) -> dict:
    """One run on a fresh project: figures, and whether anything was lost."""
    from qcode.project import open_project
    from qcode.web.guard import csrf_value
    from qcode.web.tokens import TokenStore

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="qcode-bench-web-") as tmp:
        path = Path(tmp) / "study"
        build_project(path, segments=decisions + 10)
        coders = [f"coder{i:02d}" for i in range(clients)]
        tokens = TokenStore(path)
        access = [tokens.ensure_coder(c) for c in coders]
        proc, port = start_server(path, coders, http, loop, code)
        cpu_before = process_cpu(proc.pid)
        try:
            gate = threading.Barrier(clients + 1)
            workers = [Client(port, a.token, csrf_value(a.token), decisions, gate) for a in access]
            for c in workers:
                c.start()
            gate.wait()
            began = time.perf_counter()
            for c in workers:
                c.join()
            elapsed = time.perf_counter() - began
            server_cpu = process_cpu(proc.pid) - cpu_before
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(30)
        errors = [e for c in workers for e in c.errors]
        latencies = sorted(x for c in workers for x in c.latencies)
        sent = sum(len(c.keys) for c in workers)
        project = open_project(path)
        recorded = int((project.decisions()["verdict"] != "undo").sum())
        missing = sum(1 for c in workers for k in c.keys if project.event_by_key(k) is None)
        project.close()

    def pct(p: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(round(p / 100 * (len(latencies) - 1))))] * 1000

    return {"http": http, "loop": loop, "code": Path(code).name if code else "this tree", "clients": clients, "decisions": decisions, "sent": sent,
            "recorded": recorded, "lost": missing + max(0, sent - recorded), "twice": max(0, recorded - sent),
            "errors": errors, "rate": sent / elapsed if elapsed else 0.0, "elapsed": elapsed,
            "p50": pct(50), "p95": pct(95), "p99": pct(99), "max": latencies[-1] * 1000 if latencies else 0.0,
            "mean": statistics.mean(latencies) * 1000 if latencies else 0.0,
            "cpu_ms": server_cpu / max(sent, 1) * 1000, "load_before": load_before,
            "load_after": os.getloadavg()[0]}


def report(r: dict) -> None:
    print(f"qcode serve on loopback ({r['http']}/{r['loop']}, qcode of {r['code']}): {r['clients']} clients x {r['decisions']} "
          f"decisions ({os.cpu_count()} cores)")
    print(f"  acknowledged {r['sent']}, recorded {r['recorded']}, lost {r['lost']}, twice {r['twice']}, "
          f"errors {len(r['errors'])}")
    print(f"  {r['rate']:.0f} decisions/s over {r['elapsed']:.1f} s")
    print(f"  latency per decision: p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms, p99 {r['p99']:.1f} ms, "
          f"max {r['max']:.1f} ms, mean {r['mean']:.1f} ms")
    print(f"  server CPU per decision: {r['cpu_ms']:.2f} ms (load average {r['load_before']:.1f} before, "
          f"{r['load_after']:.1f} after)", flush=True)
    for e in r["errors"][:5]:
        print("  error:", e)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--decisions", type=int, default=100)
    parser.add_argument("--http", default="auto", choices=["auto", "h11", "httptools"])
    parser.add_argument("--loop", default="auto", choices=["auto", "asyncio", "uvloop"])
    parser.add_argument("--compare", help="comma-separated HTTP/LOOP[@DIR] variants, e.g. h11/asyncio,httptools/uvloop")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each variant, interleaved")
    parser.add_argument("--note", default="", help="what else the runs compare (kept in the results notes)")
    parser.add_argument("--json", action="store_true", help="also write bench/results/web.json")
    args = parser.parse_args()

    variants: list[tuple[str, str, str | None]] = []
    for spec in (args.compare.split(",") if args.compare else [f"{args.http}/{args.loop}"]):
        stack, _, code = spec.strip().partition("@")
        http_name, _, loop_name = stack.partition("/")
        if http_name not in ("auto", "h11", "httptools") or loop_name not in ("auto", "asyncio", "uvloop"):
            parser.error(f"--compare: {spec!r} is not HTTP/LOOP[@DIR] (h11 or httptools / asyncio or uvloop)")
        if code and not (Path(code) / "qcode" / "__init__.py").is_file():
            parser.error(f"--compare: {code} holds no qcode package")
        variants.append((http_name, loop_name, code or None))
    runs = []
    for round_no in range(1, args.rounds + 1):
        for http_name, loop_name, code in variants:
            result = measure(args.clients, args.decisions, http_name, loop_name, code)
            result["round"] = round_no
            report(result)
            runs.append(result)
    if args.json:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from record import Results, machine_line

        command = f"python bench/bench_web.py --clients {args.clients} --decisions {args.decisions}"
        if args.compare:
            command += f" --compare {args.compare} --rounds {args.rounds}"
        results = Results("web", script=__file__, command=command,
                          machine=machine_line() + "; server and clients on the same machine, which other work "
                          "was loading (load average per run)")
        results.table("load", "qcode serve under load (loopback, each decision committed before its answer)",
                      ["qcode", "HTTP / loop", "run", "load avg", "decisions/s", "p50 ms", "p95 ms", "p99 ms",
                       "server CPU ms/decision", "lost", "twice"],
                      [[r["code"], f"{r['http']} / {r['loop']}", r["round"], f"{r['load_before']:.1f}", f"{r['rate']:.0f}",
                        f"{r['p50']:.1f}", f"{r['p95']:.1f}", f"{r['p99']:.1f}", f"{r['cpu_ms']:.2f}", r["lost"],
                        r["twice"]] for r in runs],
                      align="llrrrrrrrrr", notes=args.note or None)
        results.save()
    return 1 if any(r["errors"] or r["lost"] or r["twice"] for r in runs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
