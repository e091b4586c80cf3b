"""Benchmark: Krippendorff's alpha in qcode vs the `krippendorff` package, and the codings report.

Both implementations run on the same data in the same process; the table
prints each timing (best of ``--repeat`` runs) and the ratio against the
package, so the figure holds on the machine it ran on.

Usage: python bench/bench_agreement.py [--units 1000000] [--coders 3] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pandas as pd


def best_of(fn, repeat: int) -> tuple[float, float]:
    times, value = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return min(times), value


def make_matrix(n_units: int, n_coders: int, n_values: int, missing: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, n_values + 1, size=n_units)
    data = np.tile(truth, (n_coders, 1)).astype(float)
    noise = rng.random(data.shape) < 0.25
    data[noise] = rng.integers(1, n_values + 1, size=int(noise.sum()))
    data[rng.random(data.shape) < missing] = np.nan
    return data


def make_codings(n_units: int, n_codes: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    truth = rng.random((n_units, n_codes)) < 0.08
    for coder in ("ann", "bob"):
        flip = rng.random(truth.shape) < 0.03
        applied = truth ^ flip
        u, k = np.nonzero(applied)
        rows.append(pd.DataFrame({"unit": [f"s{i}" for i in u], "coder": coder, "code": [f"c{j}" for j in k],
                                  "doc_id": [f"d{i // 50}" for i in u]}))
    return pd.concat(rows, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=1_000_000)
    parser.add_argument("--coders", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="also write bench/results/agreement.json for the docs")
    args = parser.parse_args()

    from importlib.metadata import version

    import krippendorff

    from qcode import agreement as ag

    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}, "
          f"numpy {np.__version__}, krippendorff {version('krippendorff')}, "
          f"{os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f} at start)")
    print(f"\nKrippendorff's alpha, {args.coders} coders, 10% missing, float array with NaN "
          f"(best of {args.repeat})\n")
    print(f"{'data':<28}{'level':<10}{'krippendorff pkg s':>20}{'qcode s':>10}{'speed-up':>10}{'|diff|':>10}")
    # The package builds a units x values x values array: with 50 values and 1M units it is
    # killed for lack of memory on a 23 GB machine, so that case runs on 100,000 units.
    alpha_rows: list[list[object]] = []
    cases = [(args.units, 5, "nominal"), (args.units, 5, "interval"), (args.units, 5, "ordinal"),
             (args.units, 5, "ratio"), (min(args.units, 100_000), 50, "nominal")]
    for n_units, n_values, level in cases:
        label = f"{n_units:,} units, {n_values} values"
        data = make_matrix(n_units, args.coders, n_values, 0.10)
        t_pkg, v_pkg = best_of(lambda data=data, level=level: krippendorff.alpha(data, level_of_measurement=level),
                                 args.repeat)
        t_ours, v_ours = best_of(lambda data=data, level=level: ag.krippendorff_alpha(data, level=level), args.repeat)
        print(f"{label:<28}{level:<10}{t_pkg:>20.3f}{t_ours:>10.3f}{t_pkg / t_ours:>9.1f}x{abs(v_pkg - v_ours):>10.1e}")
        alpha_rows.append([label, level, f"{t_pkg:.2f} s", f"{t_ours:.3f} s", f"{t_pkg / t_ours:.1f}×"])

    strings = make_matrix(200_000, args.coders, 5, 0.10).astype(object)
    strings = np.where(pd.isna(strings), None, np.char.add("code-", np.nan_to_num(strings.astype(float)).astype(int)
                                                           .astype(str)).astype(object))
    t_str, _ = best_of(lambda: ag.krippendorff_alpha(strings), args.repeat)
    print(f"\nstring categories, 200,000 units x {args.coders} coders (object array): qcode {t_str:.3f} s "
          "(the package needs numeric codes or a value_domain)")

    print("\nCodings report (2 coders, 1000 bootstrap resamples)\n")
    print(f"{'segments':>10}{'codes':>8}{'codings':>10}{'report s':>10}")
    report_rows: list[list[object]] = []
    for n_units, n_codes in ((2_000, 20), (20_000, 40)):
        codings = make_codings(n_units, n_codes)
        t_rep, _ = best_of(lambda codings=codings: ag.report(codings, n_boot=1000, seed=0), 1)
        print(f"{n_units:>10,}{n_codes:>8}{len(codings):>10,}{t_rep:>10.2f}")
        report_rows.append([n_units, n_codes, len(codings), f"{t_rep:.2f}"])

    if args.json:
        from record import Results, machine_line

        results = Results("agreement", script=__file__, machine=machine_line())
        results.table("alpha", f"Krippendorff's alpha against the krippendorff package, {args.coders} coders, "
                      "10% missing", ["data", "level", "krippendorff pkg", "qcode", "speed-up"], alpha_rows,
                      align="llrrr")
        results.table("report", "A full codings report (2 coders, 1000 bootstrap resamples)",
                      ["segments", "codes", "codings", "report s"], report_rows, align="rrrr")
        print(f"wrote {results.save()}")


if __name__ == "__main__":
    main()
