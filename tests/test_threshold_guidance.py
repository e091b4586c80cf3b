"""Thresholds come with guidance: the run's best scores, a warning when one leaves most segments uncoded (issue 11, defect 5)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from conftest import DEMO, ROOT


def test_a_run_reports_the_spread_of_each_segments_best_score(fake_suggester, tmp_path):
    from qcode.suggest import suggest_corpus

    run = suggest_corpus(DEMO, fake_suggester, out=tmp_path / "s.csv")
    best = run.best_scores
    assert best.count == run.suggested_segments > 0
    low, mid, high = best.quantile(0.1), best.quantile(0.5), best.quantile(0.9)
    assert low <= mid <= high
    quantiles = run.record["best_score_quantiles"]
    assert set(quantiles) == {"p10", "p50", "p90"} and quantiles["p50"] == pytest.approx(mid)
    assert run.threshold_warning() is None  # no threshold, nothing to warn about


def test_a_threshold_that_leaves_most_segments_uncoded_is_warned_about_with_a_better_value(fake_suggester, tmp_path):
    from qcode.suggest import suggest_corpus

    probe = suggest_corpus(DEMO, fake_suggester, out=tmp_path / "probe.csv")
    too_high = round(probe.best_scores.quantile(0.9) + 0.01, 2)
    run = suggest_corpus(DEMO, fake_suggester, out=tmp_path / "s.csv", threshold=too_high, multi_label=True)
    assert run.without_suggestion > run.suggested_segments / 2
    warning = run.threshold_warning()
    assert warning is not None
    assert f"{run.without_suggestion} of {run.suggested_segments} segments" in warning
    suggested = float(re.search(r"--threshold (\d\.\d\d)", warning).group(1))
    assert suggested < too_high
    assert "similarities, not probabilities" in warning
    fine = suggest_corpus(DEMO, fake_suggester, out=tmp_path / "t.csv", threshold=suggested, multi_label=True)
    assert fine.without_suggestion <= fine.suggested_segments / 2


def test_the_threshold_help_explains_what_the_scores_are():
    result = subprocess.run([sys.executable, "-m", "qcode", "suggest", "--help"], capture_output=True, text=True,
                            env={"COLUMNS": "200", "PATH": ""})
    help_text = " ".join(result.stdout.split())
    assert "similarit" in help_text and "not probabilities" in help_text
    assert "concepts/suggesting.md" in help_text


def test_the_docs_threshold_example_is_there_and_explained():
    page = (ROOT / "docs" / "concepts" / "suggesting.md").read_text(encoding="utf-8")
    assert "suggester.suggest(texts, threshold=0.35, multi_label=True)" in page
    assert "## Choosing a threshold" in page


@pytest.mark.slow
def test_the_docs_threshold_example_returns_codes_for_its_own_sentences(mcn_suggester):
    texts = ["We bid for the money again every April.",
             "Nobody at the hospital can see what the hospice wrote in the notes."]
    kept = mcn_suggester.suggest(texts, threshold=0.35, multi_label=True)
    assert all(kept), kept
    assert kept[0][0].code_id == "infrastructure.funding"
