"""Draw the reliability diagram of the docs (docs/img/reliability.svg) from calibration data, and write its figures.

    python scripts/reliability_diagram.py            # needs ../shared/eval (SERDIF) and the packaged model

SERDIF (1,793 real quotes, 22 codes) is shuffled with a fixed seed and split in
half. The coder's accepted codes on the first half are the decisions: the
temperature is fitted on them (:class:`qcode.suggest.calibration.Calibrator`)
and the second half, never seen, is scored. For each quote the top-1
probability is the confidence and "gold holds the top code" the outcome. The
default temperature (fitted on the mcn-sst codebook's own examples, what a
suggester uses before 30 decisions) is drawn beside it. The table also gives
the end-to-end figure: a suggester that learned (``learning="auto"``) from a
simulated coder's first 200 decisions and from every decision on the first half,
with the calibration it fitted itself on them. Writes the SVG (plain
text, no plotting library) and ``bench/results/calibration.json``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

SIZE, PAD = 360, 48


def _svg(curves: list[tuple[str, str, list[tuple[float, float, float, int]]]]) -> str:
    inner = SIZE - 2 * PAD

    def x(v: float) -> float:
        return PAD + v * inner

    def y(v: float) -> float:
        return SIZE - PAD - v * inner

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" viewBox="0 0 {SIZE} {SIZE}" '
           'font-family="sans-serif" font-size="11">',
           f'<rect x="0" y="0" width="{SIZE}" height="{SIZE}" fill="white"/>',
           f'<rect x="{PAD}" y="{PAD}" width="{inner}" height="{inner}" fill="none" stroke="#888"/>',
           f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(1)}" y2="{y(1)}" stroke="#bbb" stroke-dasharray="4 3"/>']
    for t in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        out.append(f'<text x="{x(t)}" y="{SIZE - PAD + 14}" text-anchor="middle">{t:.1f}</text>')
        out.append(f'<text x="{PAD - 6}" y="{y(t) + 4}" text-anchor="end">{t:.1f}</text>')
    out.append(f'<text x="{SIZE / 2}" y="{SIZE - 10}" text-anchor="middle">probability of the top code</text>')
    out.append(f'<text x="14" y="{SIZE / 2}" text-anchor="middle" transform="rotate(-90 14 {SIZE / 2})">'
               'share right</text>')
    for i, (label, colour, rows) in enumerate(curves):
        points = [(x((lo + hi) / 2), y(acc), n) for lo, hi, acc, n in rows]
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
                   + " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in points) + '"/>')
        for px, py, n in points:
            radius = 2.5 + 2.5 * min(1.0, n / 200)
            out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="{radius:.1f}" fill="{colour}"/>')
        out.append(f'<rect x="{PAD + 8}" y="{PAD + 8 + 16 * i}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{PAD + 24}" y="{PAD + 17 + 16 * i}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main() -> int:
    from bench_quality import SHARED, serdif_set
    from record import Results, machine_line

    from qcode.embed import load_embedder
    from qcode.suggest import make_suggester
    from qcode.suggest.calibration import Calibrator, expected_calibration_error, reliability_table

    if not SHARED.exists():
        print(f"shared evaluation data not found at {SHARED}", file=sys.stderr)
        return 1
    book, texts, gold = serdif_set()
    order = np.random.default_rng(0).permutation(len(texts))
    half = len(order) // 2
    review, test = order[:half], order[half:]
    scores = make_suggester(book, model=load_embedder(), tuned=False, context=0.0, abstain=False).score(texts)
    fitted = Calibrator.fit(scores[review], [gold[i] for i in review])
    rows, curves = [], []
    for label, colour, cal in (("fitted on the coder's decisions", "#1b7f79", fitted),
                               ("default (before 30 decisions)", "#c0504d", Calibrator())):
        probs = cal.probabilities(scores[test])
        top = probs.argmax(axis=1)
        confidence = probs[np.arange(len(test)), top]
        right = [int(top[k]) in gold[i] for k, i in enumerate(test)]
        table = reliability_table(confidence, right)
        curves.append((label, colour, table))
        at = confidence >= 0.7
        rows.append([label, f"{cal.temperature:.3f}", f"{confidence.mean():.3f}", f"{np.mean(right):.3f}",
                     f"{expected_calibration_error(confidence, right):.3f}",
                     f"{np.mean(np.array(right)[at]):.2f} (n {int(at.sum())})" if at.any() else "- (n 0)"])
    # end to end: what a coder gets, the suggester's own calibration after learning from the decisions
    # (learning="auto": fine-tuned), cross-fitted on them, on the unseen half
    import tempfile

    from bench_learning import simulated_decisions

    ids = [c.id for c in book.leaves()]
    d_texts, d_codes, d_ok = simulated_decisions(scores, gold, ids, texts, sorted(int(i) for i in review))
    test_texts = [texts[i] for i in test]
    with tempfile.TemporaryDirectory() as bodies:
        for n in (200, len(d_ok)):
            learner = make_suggester(book, model=load_embedder(), tuned=False, context=0.0, abstain=False)
            learner.body_root = Path(bodies)
            learner.learn(d_texts[:n], d_codes[:n], d_ok[:n], coders=["simulated"])
            probs = learner.probabilities(learner.score(test_texts))
            top = probs.argmax(axis=1)
            confidence = probs[np.arange(len(test)), top]
            right = [int(top[k]) in gold[i] for k, i in enumerate(test)]
            at = confidence >= 0.7
            rows.append([f"after {n} decisions ({learner.learning_used}), its own calibration",
                         f"{learner.calibrator.temperature:.3f}", f"{confidence.mean():.3f}", f"{np.mean(right):.3f}",
                         f"{expected_calibration_error(confidence, right):.3f}",
                         f"{np.mean(np.array(right)[at]):.2f} (n {int(at.sum())})" if at.any() else "- (n 0)"])
            print(rows[-1], flush=True)
    target = ROOT / "docs" / "img" / "reliability.svg"
    target.write_text(_svg(curves), encoding="utf-8")
    results = Results("calibration", script=__file__, machine=machine_line(),
                      command="python scripts/reliability_diagram.py")
    results.data["script"] = "scripts/reliability_diagram.py"
    results.table("ece", "Calibration on the unseen half of SERDIF (top-1 probability; 10 bins)",
                  ["temperature", "T", "mean probability", "share right", "ECE", "right at p >= 0.7"], rows,
                  align="lrrrrr")
    results.table("bins", "Reliability diagram data (fitted temperature)",
                  ["bin", "share right", "segments"],
                  [[f"{lo:.1f}-{hi:.1f}", f"{acc:.3f}", n] for lo, hi, acc, n in curves[0][2]], align="lrr")
    print(f"wrote {target} and {results.save()}")
    for r in rows:
        print(r)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
