"""Agreement on multi-label codings: per-code tables, options, outputs, the model as a coder."""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

from qcode import agreement as ag
from qcode.agreement.coding import binary_stats, bootstrap_alpha
from qcode.errors import AgreementError


def long_form(matrix: dict[str, dict[str, list[str]]], doc_of=None) -> pd.DataFrame:
    """{coder: {unit: [codes]}} -> long-form codings."""
    rows = []
    for coder, units in matrix.items():
        for unit, codes in units.items():
            for code in codes:
                rows.append({"unit": unit, "coder": coder, "code": code, "text": f"text of {unit}",
                             "doc_id": doc_of(unit) if doc_of else "doc1"})
    return pd.DataFrame(rows)


CODINGS = long_form({
    "ann": {"u1": ["cost", "staff"], "u2": ["cost"], "u3": ["staff"], "u4": ["cost"], "u5": []},
    "bob": {"u1": ["cost"], "u2": ["cost"], "u3": ["staff"], "u4": ["staff"], "u5": ["cost"]},
})


def presence_matrix(codings, coders, units, code):
    applied = set(zip(codings["coder"], codings["unit"], codings["code"]))
    return [[int((c, u, code) in applied) for u in units] for c in coders]


# --------------------------------------------------------------------------- exactness


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 4), st.integers(3, 30), st.data())
def test_histogram_statistics_equal_the_plain_functions(n_coders, n_units, data):
    bits = data.draw(st.lists(st.lists(st.integers(0, 1), min_size=n_units, max_size=n_units),
                              min_size=n_coders, max_size=n_coders))
    matrix = np.array(bits)
    assume(0 < matrix.sum() < matrix.size)
    hist = np.bincount(matrix.sum(axis=0), minlength=n_coders + 1)
    only = (int(((matrix[0] == 1) & (matrix[1] == 0)).sum()), int(((matrix[0] == 0) & (matrix[1] == 1)).sum())) \
        if n_coders == 2 else (None, None)
    stats = binary_stats(hist, n_coders, *only)
    assert stats["alpha"] == pytest.approx(ag.krippendorff_alpha(bits), abs=1e-12)
    assert stats["ac1"] == pytest.approx(ag.gwet_ac1(bits, categories=[0, 1]), abs=1e-12)
    assert stats["brennan_prediger"] == pytest.approx(ag.brennan_prediger(bits, categories=[0, 1]), abs=1e-12)
    assert stats["percent_agreement"] == pytest.approx(ag.percent_agreement(bits), abs=1e-12)
    if n_coders == 2:
        assert stats["kappa"] == pytest.approx(cohen_kappa_score(bits[0], bits[1]), abs=1e-12)
    else:
        assert stats["kappa"] == pytest.approx(ag.fleiss_kappa(ag.counts_from_matrix(bits)[0]), abs=1e-12)


def test_per_code_rows_match_the_metrics_on_present_absent_matrices():
    r = ag.report(CODINGS, n_boot=0)
    units = ["u1", "u2", "u3", "u4", "u5"]
    for code in ("cost", "staff"):
        row = r.per_code.set_index("code").loc[code]
        m = presence_matrix(CODINGS, ["ann", "bob"], units, code)
        assert row["n_units"] == 5
        assert row["kappa"] == pytest.approx(cohen_kappa_score(m[0], m[1]))
        assert row["alpha"] == pytest.approx(ag.krippendorff_alpha(m))
        assert row["percent_agreement"] == pytest.approx(ag.percent_agreement(m))
    stacked = [presence_matrix(CODINGS, ["ann", "bob"], units, "cost")[i]
               + presence_matrix(CODINGS, ["ann", "bob"], units, "staff")[i] for i in range(2)]
    assert r.pooled["alpha"] == pytest.approx(ag.krippendorff_alpha(stacked))
    assert r.pooled["kappa"] == pytest.approx(cohen_kappa_score(*stacked))
    assert r.pairwise["kappa"].loc["ann", "bob"] == pytest.approx(r.pooled["kappa"])


def test_disagreement_list_names_units_text_and_who_applied_what():
    r = ag.report(CODINGS, n_boot=0)
    table = r.disagreements.set_index("unit")
    assert list(table.index) == ["u1", "u4", "u5"]
    assert table.loc["u1", "ann"] == "cost; staff" and table.loc["u1", "bob"] == "cost"
    assert table.loc["u1", "disputed"] == "staff"
    assert table.loc["u4", "disputed"] == "cost; staff"
    assert table.loc["u5", "text"] == "text of u5"


def test_three_coders_use_fleiss_and_a_coder_subset_can_be_chosen():
    three = pd.concat([CODINGS, long_form({"cat": {"u1": ["cost"], "u2": ["staff"], "u5": ["cost"]}})])
    all_three = ag.report(three, n_boot=0)
    assert all_three.kappa_name == "Fleiss' kappa" and all_three.coders == ["ann", "bob", "cat"]
    assert list(all_three.pairwise["alpha"].columns) == ["ann", "bob", "cat"]
    pair = ag.report(three, coders="ann,bob", n_boot=0)
    assert pair.kappa_name == "Cohen's kappa"
    assert pair.per_code.equals(ag.report(CODINGS, n_boot=0).per_code)


# --------------------------------------------------------------------------- bootstrap


def test_bootstrap_interval_is_reproducible_and_depends_on_the_seed():
    rng = np.random.default_rng(1)
    rows = []
    for u in range(200):
        truth = rng.random() < 0.4
        for coder in ("ann", "bob"):
            if truth != (rng.random() < 0.15):
                rows.append({"unit": f"u{u}", "coder": coder, "code": "x", "doc_id": "d"})
        rows.append({"unit": f"u{u}", "coder": "ann", "code": "filler", "doc_id": "d"})
        rows.append({"unit": f"u{u}", "coder": "bob", "code": "filler", "doc_id": "d"})
    codings = pd.DataFrame(rows)
    a = ag.report(codings, n_boot=500, seed=3).per_code.set_index("code")
    b = ag.report(codings, n_boot=500, seed=3).per_code.set_index("code")
    c = ag.report(codings, n_boot=500, seed=4).per_code.set_index("code")
    assert a.loc["x", "alpha_low"] == b.loc["x", "alpha_low"]
    assert a.loc["x", "alpha_low"] != c.loc["x", "alpha_low"]
    assert a.loc["x", "alpha_low"] < a.loc["x", "alpha"] < a.loc["x", "alpha_high"]
    assert a.loc["x", "alpha_high"] - a.loc["x", "alpha_low"] < 0.4
    # "filler" is applied by both coders everywhere: alpha undefined, so no interval either
    assert np.isnan(a.loc["filler", "alpha"]) and np.isnan(a.loc["filler", "alpha_low"])
    assert a.loc["filler", "note"] == "kappa and alpha undefined (only one category)"


def test_bootstrap_replicates_are_resamples_of_units():
    patterns = np.array([[0], [2], [1], [2], [0]])
    reps = bootstrap_alpha(patterns, 2, n_boot=2000, seed=0)
    assert reps.shape == (2000, 2)
    np.testing.assert_allclose(reps[:, 0], reps[:, 1], equal_nan=True)  # one code: pooled = the code
    point = ag.krippendorff_alpha([[0, 1, 1, 1, 0], [0, 1, 0, 1, 0]])
    assert abs(np.nanmedian(reps[:, 0]) - point) < 0.15


# --------------------------------------------------------------------------- options


def test_uncoded_units_count_only_when_asked_and_with_a_universe():
    universe = pd.DataFrame({"unit": [f"u{i}" for i in range(1, 11)], "doc_id": "doc1",
                             "text": [f"text of u{i}" for i in range(1, 11)]})
    coded_only = ag.report(CODINGS, universe=universe, n_boot=0)
    everything = ag.report(CODINGS, universe=universe, include_uncoded=True, n_boot=0)
    assert coded_only.n_units == 5 and everything.n_units == 10
    cost_coded = coded_only.per_code.set_index("code").loc["cost", "percent_agreement"]
    cost_all = everything.per_code.set_index("code").loc["cost", "percent_agreement"]
    assert cost_all == pytest.approx((cost_coded * 5 + 5) / 10)  # five agreeing absences added
    with pytest.raises(AgreementError, match="include_uncoded needs a universe"):
        ag.report(CODINGS, include_uncoded=True)


def test_only_documents_every_coder_coded_are_compared():
    codings = pd.concat([CODINGS, long_form({"ann": {"x1": ["cost"], "x2": ["staff"]}}, doc_of=lambda u: "doc2")])
    r = ag.report(codings, n_boot=0)
    assert r.n_units == 5
    assert any("doc2" in note for note in r.notes)
    assert ag.report(codings, overlap="all", n_boot=0).n_units == 7
    apart = pd.concat([long_form({"ann": {"a": ["cost"]}}, doc_of=lambda u: "d1"),
                       long_form({"bob": {"b": ["cost"]}}, doc_of=lambda u: "d2")])
    with pytest.raises(AgreementError, match="no overlapping units"):
        ag.report(apart)


def test_document_unit_aggregates_codes_per_document():
    codings = long_form({"ann": {"a": ["cost"], "b": ["staff"], "c": ["cost"]},
                         "bob": {"a": ["staff"], "c": ["staff"]}},
                        doc_of=lambda u: "d1" if u in "ab" else "d2")
    r = ag.report(codings, unit="document", n_boot=0).per_code.set_index("code")
    assert r.loc["staff", "n_units"] == 2
    assert r.loc["staff", "percent_agreement"] == 0.5  # both used staff in d1; only bob in d2
    assert r.loc["cost", "percent_agreement"] == 0.0


def test_span_codings_are_mapped_to_the_segments_they_overlap():
    universe = pd.DataFrame({"segment_id": ["s1", "s2"], "doc_id": "d", "start": [0, 10], "end": [10, 20],
                             "text": ["a" * 10, "b" * 10]})
    codings = pd.DataFrame([
        {"coder": "ann", "code": "x", "segment_id": "s1", "doc_id": "d", "start": 0, "end": 10},
        {"coder": "bob", "code": "x", "segment_id": None, "doc_id": "d", "start": 2, "end": 5},
        {"coder": "bob", "code": "x", "segment_id": None, "doc_id": "d", "start": 12, "end": 14},
    ])
    r = ag.report(codings, universe=universe, n_boot=0)
    assert r.n_units == 2
    assert r.disagreements["unit"].tolist() == ["s2"]


# --------------------------------------------------------------------------- character level (NVivo)


def test_character_level_follows_nvivo_per_code_and_source():
    codings = pd.DataFrame([
        {"coder": "A", "code": "x", "doc_id": "d1", "start": 0, "end": 150},
        {"coder": "B", "code": "x", "doc_id": "d1", "start": 100, "end": 200},
        {"coder": "A", "code": "x", "doc_id": "d2", "start": 0, "end": 50},
        {"coder": "B", "code": "x", "doc_id": "d2", "start": 0, "end": 50},
    ])
    r = ag.report(codings, unit="character", doc_lengths={"d1": 1000, "d2": 100})
    src = r.per_source.set_index("doc_id")
    d1 = ag.CharacterCounts(both=50, only_a=100, only_b=50, neither=800)
    assert src.loc["d1", "percent_agreement"] == pytest.approx(d1.percent_agreement())
    assert src.loc["d1", "kappa"] == pytest.approx(d1.kappa())
    assert src.loc["d2", "kappa"] == pytest.approx(1.0)
    a = np.zeros(1100, int); b = np.zeros(1100, int)  # noqa: E702
    a[0:150] = 1; b[100:200] = 1; a[1000:1050] = 1; b[1000:1050] = 1  # noqa: E702
    row = r.per_code.set_index("code").loc["x"]
    assert row["n_units"] == 1100
    assert row["kappa"] == pytest.approx(cohen_kappa_score(a, b))  # sources weighted by characters
    assert row["alpha"] == pytest.approx(ag.krippendorff_alpha([a, b]))


def test_character_level_reports_unitized_alpha_on_sources_end_to_end():
    codings = pd.DataFrame([
        {"coder": "A", "code": "x", "doc_id": "d1", "start": 0, "end": 150},
        {"coder": "A", "code": "x", "doc_id": "d1", "start": 140, "end": 160},  # overlaps: merged to 0-160
        {"coder": "B", "code": "x", "doc_id": "d1", "start": 100, "end": 200},
        {"coder": "A", "code": "x", "doc_id": "d2", "start": 10, "end": 50},
        {"coder": "B", "code": "x", "doc_id": "d2", "start": 12, "end": 50},
    ])
    r = ag.report(codings, unit="character", doc_lengths={"d1": 1000, "d2": 100})
    expected = ag.unitized_alpha([(0, 0, 160, "x"), (1, 100, 100, "x"), (0, 1010, 40, "x"), (1, 1012, 38, "x")],
                                 begin=0, length=1100, n_coders=2, category="x")
    assert r.per_code.set_index("code").loc["x", "unitized_alpha"] == pytest.approx(expected)
    per_source = r.per_source.set_index("doc_id")
    assert per_source.loc["d2", "unitized_alpha"] == pytest.approx(
        ag.unitized_alpha([(0, 10, 40, "x"), (1, 12, 38, "x")], 0, 100, 2))
    assert "u-alpha" in r.formatted().columns
    coded_only = ag.report(codings, unit="character", include_uncoded=False, doc_lengths={"d1": 1000, "d2": 100})
    assert coded_only.formatted().set_index("code").loc["x", "u-alpha"] == "n/a (coded-only)"


def test_character_level_lists_the_disputed_stretches_with_their_text():
    text = "".join(chr(ord("a") + i % 26) for i in range(200))
    codings = pd.DataFrame([
        {"coder": "A", "code": "x", "doc_id": "d", "start": 0, "end": 15},
        {"coder": "B", "code": "x", "doc_id": "d", "start": 10, "end": 20},
        {"coder": "A", "code": "y", "doc_id": "d", "start": 30, "end": 40},
        {"coder": "B", "code": "y", "doc_id": "d", "start": 30, "end": 40},
    ])
    r = ag.report(codings, unit="character", doc_texts={"d": text})
    assert r.n_units == 200  # length taken from the text
    rows = r.disagreements[["start", "end", "text", "A", "B"]].values.tolist()
    assert rows == [[0, 10, text[0:10], "x", ""], [15, 20, text[15:20], "", "x"]]


def test_character_level_coded_only_drops_text_nobody_coded():
    codings = pd.DataFrame([
        {"coder": "A", "code": "x", "doc_id": "d", "start": 0, "end": 10},
        {"coder": "B", "code": "x", "doc_id": "d", "start": 5, "end": 10},
        {"coder": "B", "code": "y", "doc_id": "d", "start": 20, "end": 30},
    ])
    r = ag.report(codings, unit="character", include_uncoded=False, doc_lengths={"d": 100})
    assert r.n_units == 20


def test_character_level_rejects_codings_beyond_the_source():
    codings = pd.DataFrame([{"coder": "A", "code": "x", "doc_id": "d", "start": 0, "end": 120},
                            {"coder": "B", "code": "x", "doc_id": "d", "start": 0, "end": 10}])
    with pytest.raises(AgreementError, match="ends at character 120 but the source has 100"):
        ag.report(codings, unit="character", doc_lengths={"d": 100})


# --------------------------------------------------------------------------- the model as a coder


def test_suggestions_become_codings_of_a_model_coder():
    sugg = pd.DataFrame({"segment_id": ["u1", "u1", "u2", "u3"], "code_id": ["cost", "staff", "staff", "cost"],
                         "score": [0.9, 0.6, 0.3, 0.8], "rank": [1, 2, 1, 1]})
    top1 = ag.suggestions_to_codings(sugg)
    assert top1[["unit", "code"]].values.tolist() == [["u1", "cost"], ["u2", "staff"], ["u3", "cost"]]
    assert set(top1["coder"]) == {"model"}
    above = ag.suggestions_to_codings(sugg, top=None, threshold=0.5)
    assert above["code"].tolist() == ["cost", "staff", "cost"]
    r = ag.report(pd.concat([CODINGS, top1]), coders=["ann", "model"], n_boot=0, overlap="all")
    assert r.coders == ["ann", "model"]


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("kwargs, message", [
    ({"coders": ["ann"]}, "at least two coders"),
    ({"coders": ["ann", "zed"]}, "unknown coder 'zed'; coders in the codings: ann, bob"),
    ({"unit": "sentence-ish"}, "unit must be one of"),
    ({"overlap": "some"}, "overlap must be"),
])
def test_bad_options_raise_one_line_errors(kwargs, message):
    with pytest.raises(AgreementError, match=re.escape(message)) as info:
        ag.report(CODINGS, **kwargs)
    assert "\n" not in str(info.value)


def test_codings_without_required_columns_are_refused():
    with pytest.raises(AgreementError, match="no 'coder' column"):
        ag.report(pd.DataFrame({"unit": ["u"], "code": ["x"]}))
    with pytest.raises(AgreementError, match="row 2: empty 'code'"):
        ag.report(pd.DataFrame({"unit": ["u", "v"], "coder": ["a", "b"], "code": ["x", None]}))
    with pytest.raises(AgreementError, match="only one coder|at least two coders"):
        ag.report(pd.DataFrame({"unit": ["u"], "coder": ["a"], "code": ["x"]}))


# --------------------------------------------------------------------------- outputs


@pytest.fixture
def one_category_report():
    codings = long_form({"ann": {"u1": ["all", "x"], "u2": ["all"]}, "bob": {"u1": ["all"], "u2": ["all", "x"]}})
    return ag.report(codings, n_boot=100)


def test_undefined_coefficients_are_spelled_out_in_every_output(one_category_report, tmp_path):
    r = one_category_report
    shown = r.formatted().set_index("code")
    assert shown.loc["all", "kappa"] == "undefined (only one category)"
    assert shown.loc["all", "alpha"] == "undefined (only one category)"
    for text in (r.to_markdown(), r.to_html()):
        assert "undefined (only one category)" in text
        assert not re.search(r"\bnan\b", text, re.IGNORECASE)
    frame = pd.read_csv(io.StringIO(r.to_csv())).set_index("code")
    assert np.isnan(frame.loc["all", "kappa"])
    assert frame.loc["all", "note"] == "kappa and alpha undefined (only one category)"


def test_html_is_self_contained_with_chart_bands_matrix_and_disagreements(one_category_report, tmp_path):
    path = tmp_path / "agree.html"
    one_category_report.save(path)
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page and "<svg" in page
    assert "<script" not in page and "src=" not in page and "href=" not in page and "@import" not in page
    assert "0.667" in page and "0.800" in page and "Landis" in page
    assert "Coder × coder" in page and "Disagreements (2)" in page
    assert page.count("<circle") == 2  # x and pooled; 'all' is undefined and drawn as text


def test_save_picks_the_format_from_the_suffix(one_category_report, tmp_path):
    one_category_report.save(tmp_path / "r.md")
    one_category_report.save(tmp_path / "r.csv")
    assert (tmp_path / "r.md").read_text().startswith("# Inter-coder agreement")
    assert list(pd.read_csv(tmp_path / "r.csv")["code"]) == ["all", "x", "(pooled)"]
    with pytest.raises(AgreementError, match="unknown report format"):
        one_category_report.save(tmp_path / "r.pdf")
    assert not (tmp_path / "r.pdf").exists()


def test_terminal_table_shows_bands_and_undefined(one_category_report):
    from rich.console import Console

    console = Console(file=io.StringIO(), width=160)
    one_category_report.print(console)
    text = console.file.getvalue()
    assert "undefined (only one category)" in text
    assert "0.667-0.800 tentative" in text
