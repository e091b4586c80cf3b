"""The analysis on a team project on a real PostgreSQL server: the same counts as the independent
computation, and the same tables as the same project in SQLite."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis_support import demo_project
from analysis_truth import cooccur_truth, matrix_truth
from qcode import analysis
from qcode.embed.fake import FakeEmbedder


@pytest.mark.slow
def test_matrix_cooccurrence_and_report_on_postgresql_equal_sqlite(pg_url, tmp_path):
    pg, cases = demo_project(pg_url, hostile=True)
    lite, _ = demo_project(tmp_path / "lite", hostile=True)
    for by in ("role", "org_type"):
        frame = analysis.matrix(pg, by)
        truth = matrix_truth(pg, cases, by)
        for _, row in frame.iterrows():
            for value in frame.columns[2:]:
                assert int(row[value]) == truth.get((row["code_id"], value), 0)
        pd.testing.assert_frame_equal(frame, analysis.matrix(lite, by))
    pairs = analysis.cooccurrence(pg, level="case")
    assert {(a, b): n for a, b, n in zip(pairs["code_a"], pairs["code_b"], pairs["count"])} == \
        cooccur_truth(pg, cases, "case")
    pd.testing.assert_frame_equal(pairs, analysis.cooccurrence(lite, level="case"))
    pd.testing.assert_frame_equal(analysis.saturation(pg), analysis.saturation(lite))
    out = tmp_path / "report.html"
    report = analysis.write_report(pg, out, by=["phase", "role"], embedder=FakeEmbedder())
    assert report.codings == analysis.select_codings(lite).label
    assert "&lt;script&gt;" in out.read_text(encoding="utf-8")


@pytest.mark.slow
def test_matrix_command_takes_a_postgresql_url(pg_url, tmp_path):
    import subprocess
    import sys

    demo_project(pg_url)
    out = tmp_path / "m.csv"
    done = subprocess.run([sys.executable, "-c", "from qcode.cli import main; main()", "matrix", pg_url, "--by", "role",
                           "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(out, skiprows=1)
    assert frame["total"].tolist() == analysis.matrix(pg_url, "role")["total"].tolist()
