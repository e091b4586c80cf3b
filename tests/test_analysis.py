"""qcode.analysis on the coded demo project: every count equals an independent computation
(tests/analysis_truth.py) from the codings, the decision log, the segments and the cases table."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from analysis_support import demo_project
from analysis_truth import cooccur_truth, counted_codings, matrix_truth
from qcode import analysis
from qcode.analysis.matrix import ManyValuesWarning
from qcode.analysis.saturation import document_order
from qcode.embed.fake import FakeEmbedder
from qcode.errors import AnalysisError


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    project, cases = demo_project(tmp_path_factory.mktemp("an") / "demo", hostile=True)
    return project, cases


def check_matrix(project, cases, by, count, coders=None):
    frame = analysis.matrix(project, by, count=count, coders=coders)
    truth = matrix_truth(project, cases, by, count, coders)
    values = [c for c in frame.columns if c not in ("code_id", "code_name")]
    assert values[-1] == "total"
    for _, row in frame.iterrows():
        for value in values:
            assert int(row[value]) == truth.get((row["code_id"], value), 0), (row["code_id"], value, count)
    return frame


@pytest.mark.parametrize("by", ["role", "phase", "org_type", "sector"])
@pytest.mark.parametrize("count", ["cases", "passages", "documents"])
def test_matrix_counts_equal_an_independent_count(demo, by, count):
    project, cases = demo
    frame = check_matrix(project, cases, by, count)
    assert frame.attrs["codings"].startswith("codings counted: consensus of ana, ben")
    assert sorted(frame.columns[2:-1]) == sorted(cases[by].dropna().unique())


@pytest.mark.parametrize("coders", [["ana"], ["ben"], ["ana", "ben"], ["ana", "ben", "adjudicator"]])
def test_matrix_per_coder_and_consensus(demo, coders):
    project, cases = demo
    frame = check_matrix(project, cases, "role", "cases", coders)
    label = frame.attrs["codings"]
    assert (f"{coders[0]}'s" in label) if len(coders) == 1 else ("consensus of ana, ben" in label)


def test_domains_roll_up_distinct_cases_not_sums(demo):
    project, _ = demo
    frame = analysis.matrix(project, "role").set_index("code_id")
    themes = [c.id for c in project.codebook.children("infrastructure")]
    assert frame.loc["infrastructure", "total"] <= frame.loc[themes, "total"].sum()
    assert frame.loc["infrastructure", "total"] >= frame.loc[themes, "total"].max()
    assert "infrastructure" in frame.attrs["domains"]


def test_consensus_keeps_adjudicated_and_agreed_codes_only(demo):
    project, _ = demo
    counted = analysis.select_codings(project)
    got = {((r.doc_id, int(r.doc_version), int(r.start), int(r.end)), r.code_id)
           for r in counted.codings.itertuples()}
    assert got == counted_codings(project)
    assert counted.stats["adjudicated"] == 2 and counted.stats["single"] > 0
    ana = {(p, c) for p, c in counted_codings(project, ["ana"])}
    assert got != ana and len(got) < len(ana)  # ben's differences removed codes, never added a third set


def test_unknown_attribute_and_coder_are_one_line_errors(demo):
    project, _ = demo
    with pytest.raises(AnalysisError, match=r"unknown attribute 'grade' \(attributes: org_type, organisation, phase, role, sector\)"):
        analysis.matrix(project, "grade")
    with pytest.raises(AnalysisError, match="unknown coder 'zoe'"):
        analysis.matrix(project, "role", coders=["zoe"])
    with pytest.raises(AnalysisError, match="--count"):
        analysis.matrix(project, "role", count="words")


def test_an_attribute_with_thousands_of_values_is_refused_and_many_values_warned():
    cases = pd.DataFrame({"case": [f"c{i}" for i in range(1200)], "by": "speaker",
                          "id": [str(i) for i in range(1200)]})
    passages = pd.DataFrame({"code_id": ["a"], "case": ["c1"], "doc_id": ["d"], "doc_version": [1], "start": [0],
                             "end": [3], "id": ["1"]})
    with pytest.raises(AnalysisError, match="1200 values"):
        analysis.code_matrix(passages, None, "id", values=cases["id"].tolist())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        analysis.code_matrix(passages, None, "id", values=cases["id"].tolist()[:80])
    assert any(issubclass(w.category, ManyValuesWarning) for w in caught)


@pytest.mark.parametrize("level", ["segment", "document", "case"])
def test_cooccurrence_equals_an_independent_count(demo, level):
    project, cases = demo
    frame = analysis.cooccurrence(project, level=level)
    truth = cooccur_truth(project, cases, level)
    got = {(a, b): n for a, b, n in zip(frame["code_a"], frame["code_b"], frame["count"])}
    assert got == truth
    assert (frame["code_a"] < frame["code_b"]).all()
    ok = frame["jaccard"] == (frame["count"] / (frame["n_a"] + frame["n_b"] - frame["count"])).round(4)
    assert ok.all()
    assert ((frame["c_coefficient"] > 0) & (frame["c_coefficient"] <= 1)).all()


def test_cooccurrence_c_coefficient_is_atlas_ti_formula():
    units = pd.Series([1, 1, 2, 3])
    codes = pd.Series(["a", "b", "a", "b"])
    frame = analysis.pairs_from_units(units, codes, pd.Series({"a": 4, "b": 2}))
    assert frame[["count", "n_a", "n_b", "jaccard", "c_coefficient"]].values.tolist() == [[1, 2, 2, 0.3333, 0.2]]


def test_saturation_new_codes_follow_document_order(demo):
    project, cases = demo
    frame = analysis.saturation(project)
    order, how = document_order(project, cases)
    assert how == "added" and list(frame[frame.coder == "ana"]["document"]) == order
    for coder, mine in frame.groupby("coder"):
        codings = project.codings(coder) if not coder.startswith("consensus") else None
        if codings is None:
            continue
        seen: set[str] = set()
        for doc, new, total in zip(mine["document"], mine["new_codes"], mine["cumulative"]):
            here = set(codings.loc[codings["doc_id"] == doc, "code_id"])
            assert new == len(here - seen)
            seen |= here
            assert total == len(seen)
    assert set(frame["coder"]) == {"ana", "ben", "consensus(ana+ben)"}


def test_saturation_follows_a_date_attribute(demo):
    project, cases = demo
    dated = cases.assign(date=["2024-03-0" + str(i) for i in range(9, 0, -1)])
    order, how = document_order(project, dated)
    assert how == "date"
    # Tom (2024-03-01) is in the focus group; Priya (-02) in interview_p15; P07 (-03) in p07 and hostile
    assert order[:3] == ["focus_group_steering.txt", "interview_p15.vtt", "hostile.txt"] or \
        order[:2] == ["focus_group_steering.txt", "interview_p15.vtt"]


def test_quotes_are_central_spread_across_cases_with_their_question(demo):
    project, cases = demo
    frame = analysis.quotes(project, per_code=3, embedder=FakeEmbedder())
    counted = {(p, c) for p, c in counted_codings(project)}
    case_attrs = cases.set_index("case")
    assert list(frame.columns[:6]) == ["code_id", "code_name", "rank", "text", "document", "speaker"]
    assert {"role", "phase", "start", "end", "question"} <= set(frame.columns)
    for code, picks in frame.groupby("code_id"):
        assert list(picks["rank"]) == list(range(1, len(picks) + 1))
        for row in picks.itertuples():
            version = int(project.documents().set_index("doc_id").loc[row.document, "version"])
            assert ((row.document, version, row.start, row.end), code) in counted
            assert project.document_text(row.document)[row.start:row.end] == row.text
            if row.speaker in case_attrs.index:
                assert row.role == case_attrs.loc[row.speaker, "role"]
        available = {c for (p, c2) in counted if c2 == code
                     for c in [project.segments().query("doc_id == @p[0] and start <= @p[2] and `end` > @p[2]")
                               ["speaker"].iloc[0]]}
        speakers = list(picks["speaker"])
        assert len(set(speakers)) == min(len(speakers), len(available)), (code, speakers, available)
    p07 = frame[(frame["document"] == "interview_p07.txt")]
    assert p07["question"].notna().all() and p07["question"].str.len().gt(0).all()
    assert frame.attrs["model"]["name"] == FakeEmbedder().identity["name"]


def test_quotes_for_a_domain_gather_its_themes(demo):
    project, _ = demo
    frame = analysis.quotes(project, codes=["technology"], per_code=2, embedder=FakeEmbedder())
    assert set(frame["code_id"]) == {"technology"} and len(frame) == 2
    with pytest.raises(AnalysisError, match="has no code 'tech'"):
        analysis.quotes(project, codes=["tech"], embedder=FakeEmbedder())


def test_pick_prefers_readable_central_passages_and_new_cases():
    import numpy as np

    same = np.array([[1.0, 0.0], [1.0, 0.0], [0.6, 0.8]])
    assert analysis.pick_quotes(same, ["a", "b", "c"], [3, 20, 20], 1) == [1]  # as central, but 3 words is too short
    vectors = np.array([[1.0, 0.0], [0.99, 0.05], [0.98, 0.1], [0.0, 1.0]])
    assert analysis.pick_quotes(vectors, ["a", "a", "a", "b"], [20] * 4, 2)[1] == 3  # case b before a's second


def test_participants_shape_of_tables_4_and_5(demo):
    _, cases = demo
    table = analysis.participants(cases, "phase", "role")
    assert list(table.columns) == ["phase", "doctor", "family support", "manager", "nurse", "pharmacist", "Total"]
    assert table.iloc[-1].tolist() == ["Total", 1, 1, 2, 4, 1, 9]
    assert table.set_index("phase").loc["2", "nurse"] == 2


def test_output_headers_and_cells_are_guarded_against_formulas(tmp_path):
    from qcode.analysis.output import write_table

    frame = pd.DataFrame({"code_id": ["=cmd|' /C calc'!A0"], "=SUM(1)": [3]})
    out = write_table(frame, tmp_path / "m.csv", "codings counted: ann's")
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[1] == "code_id,'=SUM(1)" and lines[2].startswith("'=cmd")


def test_another_adjudicator_name_changes_whose_codes_settle_a_passage(demo):
    project, cases = demo
    default = analysis.select_codings(project)
    renamed = analysis.select_codings(project, adjudicator="lead")  # 'adjudicator' is then a coder like others
    assert default.stats["adjudicated"] == 2 and renamed.stats["adjudicated"] == 0
    assert "consensus of adjudicator, ana, ben" in renamed.label
