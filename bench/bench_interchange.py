"""How long REFI-QDA export/import take on a study-sized project, against baselines from the same run.

Baselines: zipping the same texts with no XML at all (the floor for export),
unzipping them (the floor for reading), and the project store's own CSV
export of the codings. Run:

    python bench/bench_interchange.py [--docs 40] [--chars 20000] [--codings 4000]
"""

from __future__ import annotations

import argparse
import io
import platform
import random
import tempfile
import time
import zipfile
from pathlib import Path

from qcode.document import Document, Turn
from qcode.interchange.qdpx import read_qdpx
from qcode.project import init_project
from qcode.project.bridge import export_codings_table, export_qdpx, export_table, import_qdpx

WORDS = ("waiting list bus cost nurse café naïve 😀 doctor referral money time family trust "
         "appointment phone letter clinic ward").split()


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def build(folder: Path, docs: int, chars: int, codings: int):
    rng = random.Random(7)
    project = init_project(folder / "study", codebook="mcn-sst")
    texts = {}
    for i in range(docs):
        words, n = [], 0
        while n < chars:
            w = rng.choice(WORDS)
            words.append(w)
            n += len(w) + 1
        text = " ".join(words)[:chars]
        texts[f"interview-{i:03d}.txt"] = text
    project.add_documents([Document(d, t, [Turn(0, len(t))]) for d, t in texts.items()])
    leaves = [c.id for c in project.codebook.leaves()]
    events = []
    for k in range(codings):
        doc = rng.choice(list(texts))
        start = rng.randrange(0, chars - 400)
        events.append({"coder": ("alice", "bob")[k % 2], "doc_id": doc, "start": start,
                       "end": start + rng.randrange(20, 400), "code_id": rng.choice(leaves), "verdict": "accept"})
    project.record_many(events)
    return project, texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=40)
    parser.add_argument("--chars", type=int, default=20000)
    parser.add_argument("--codings", type=int, default=4000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        project, texts = build(tmp, args.docs, args.chars, args.codings)
        out = tmp / "study.qdpx"

        def plain_zip() -> bytes:
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for name, text in texts.items():
                    zf.writestr(f"sources/{name}", text.encode("utf-8"))
            (tmp / "plain.zip").write_bytes(buf.getvalue())
            return buf.getvalue()

        def plain_unzip() -> None:
            with zipfile.ZipFile(tmp / "plain.zip") as zf:
                for name in zf.namelist():
                    zf.read(name).decode("utf-8")

        counter = iter(range(1000))

        def import_fresh() -> None:
            import_qdpx(init_project(tmp / f"import-{next(counter)}"), out)

        rows = [
            ("zip the texts, no XML (baseline)", best_of(plain_zip)),
            ("export_qdpx (XML + XSD validation + zip)", best_of(lambda: export_qdpx(project, out))),
            ("store CSV export of codings (baseline)", best_of(lambda: export_table(project, "codings", tmp / "c.csv"))),
            ("export_codings_table wide .xlsx", best_of(lambda: export_codings_table(project, tmp / "w.xlsx", "wide"))),
            ("unzip the texts, no XML (baseline)", best_of(plain_unzip)),
            ("read_qdpx (parse + XSD validation + checks)", best_of(lambda: read_qdpx(out))),
            ("import_qdpx into a new project", best_of(import_fresh)),
        ]
    print(f"machine: {cpu_name()}, Python {platform.python_version()}; "
          f"{args.docs} documents x {args.chars} characters, {args.codings} codings, 2 coders, "
          f"{out.name} {len(texts)} sources")
    width = max(len(r[0]) for r in rows)
    base_export, base_read = rows[0][1], rows[4][1]
    print(f"{'step':{width}s}  {'seconds':>8s}  {'x zip baseline':>14s}")
    for i, (name, secs) in enumerate(rows):
        base = base_export if i < 4 else base_read
        print(f"{name:{width}s}  {secs:8.3f}  {secs / base:14.1f}")


if __name__ == "__main__":
    main()
