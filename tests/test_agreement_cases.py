"""Every published agreement case in shared/eval/agreement/cases.json must match within its tolerance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qcode import agreement as ag

CASES_PATH = Path(__file__).parents[1].parent / "shared" / "eval" / "agreement" / "cases.json"


def _load_cases() -> list[dict]:
    if not CASES_PATH.exists():
        return []
    return json.loads(CASES_PATH.read_text(encoding="utf-8"))


CASES = _load_cases()
needs_cases = pytest.mark.skipif(not CASES, reason=f"shared agreement cases not found at {CASES_PATH}")


def _matrix(data: dict):
    """Any layout -> reliability matrix (coders x units)."""
    layout = data["layout"]
    if layout == "reliability_matrix":
        return data["matrix"]
    if layout == "contingency_table":
        return ag.matrix_from_table(data["table"], data["categories"])
    if layout == "counts_matrix":
        return ag.matrix_from_counts(data["counts"], data.get("categories"))
    raise AssertionError(f"no reliability matrix for layout {layout}")


def _compute(case: dict) -> float:
    metric, data, level = case["metric"], case["data"], case["level"]
    layout = data["layout"]
    categories = data.get("categories")
    if layout == "unitizing":
        return _unitized(case)
    if metric == "nvivo_percent_agreement":
        counts = ag.CharacterCounts(
            both=data["both"], only_a=data["only_one"], only_b=0, neither=data["neither"]
        )
        assert counts.total == data["source_chars"]
        return counts.percent_agreement()
    if metric == "nvivo_kappa":
        counts = ag.CharacterCounts(
            both=data["both"], only_a=data["only_a"], only_b=data["only_b"], neither=data["neither"]
        )
        assert counts.total == data["source_chars"]
        return counts.kappa()
    if metric == "fleiss_kappa":
        counts = data["counts"] if layout == "counts_matrix" else ag.counts_from_matrix(data["matrix"])[0]
        return ag.fleiss_kappa(counts)
    matrix = _matrix(data)
    if metric == "krippendorff_alpha":
        return ag.krippendorff_alpha(matrix, level=level)
    if metric == "percent_agreement":
        return ag.percent_agreement(matrix)
    if metric == "percent_agreement_pairwise":
        return ag.pairwise_agreement(matrix)
    if metric in ("cohen_kappa", "cohen_kappa_weighted_linear"):
        weights = "linear" if metric.endswith("linear") else None
        return ag.cohen_kappa(matrix[0], matrix[1], weights=weights, categories=categories)
    if metric == "scott_pi":
        return ag.scott_pi(matrix[0], matrix[1])
    if metric == "conger_kappa":
        return ag.conger_kappa(matrix)
    if metric == "gwet_ac1":
        return ag.gwet_ac1(matrix, categories=categories)
    if metric == "brennan_prediger":
        return ag.brennan_prediger(matrix, categories=categories)
    raise AssertionError(f"no implementation mapped for metric {metric}")


def _unitized(case: dict) -> float:
    data = case["data"]
    # Krippendorff (1995) treats the continuum as continuous; the case's source says its published
    # values come from the integer example stretched x50000 (as dkpro-statistics does), so stretch it too.
    scale = 50000 if "x50000" in case["source"] else 1
    spans = [(coder, start * scale, length * scale, code) for coder, start, length, code in data["segments"]]
    return ag.unitized_alpha(spans, begin=data["continuum"]["begin"] * scale,
                             length=data["continuum"]["length"] * scale, n_coders=data["coders"],
                             category=data.get("code"))


def _case_params():
    return [pytest.param(case, id=case["id"]) for case in CASES]


@needs_cases
def test_case_file_has_the_documented_size():
    assert len(CASES) == 88
    assert sum(c["data"]["layout"] == "unitizing" for c in CASES) == 7


@needs_cases
@pytest.mark.parametrize("case", _case_params())
def test_published_case(case):
    value = _compute(case)
    assert value == pytest.approx(case["expected"], abs=case["tolerance"]), case["source"]
