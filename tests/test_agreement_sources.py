"""Agreement from Python on a project or CSV, with the pseudo-coders the CLI offers (model, coder as of a time)."""

from __future__ import annotations

import pandas as pd
import pytest

from qcode import agreement as ag
from qcode.agreement.coding import read_codings_csv
from qcode.agreement.render import WRITERS, check_report_path
from qcode.errors import AgreementError, ProjectError
from qcode.project.sample import SAMPLE_SCORES, build_sample_project


@pytest.fixture()
def study(tmp_path):
    project = build_sample_project(tmp_path / "study")
    part = project.segments().query("role == 'participant'")["segment_id"].tolist()
    ann = ["funding", "staffing", "communication", "coordination", "communication", "funding"]
    bob = ["funding", "funding", "coordination", "coordination", "communication", "staffing"]
    for seg, a, b in zip(part, ann, bob):
        project.decide("ann", seg, a, "accept")
        project.decide("bob", seg, b, "accept")
    return project, part


def _scores() -> list[list[tuple[str, float]]]:
    return [SAMPLE_SCORES[key] for key in sorted(SAMPLE_SCORES)]


def test_model_codings_keep_the_top_code_by_default(study):
    project, part = study
    model = ag.model_codings(project)
    assert set(model["coder"]) == {"model"}
    assert len(model) == len(part) and set(model["unit"]) == set(part)
    assert sorted(model["code"]) == sorted(scores[0][0] for scores in _scores())


def test_model_codings_by_threshold_alone_and_with_top(study):
    project, _ = study
    above = ag.model_codings(project, threshold=0.5)
    assert sorted(above["code"]) == sorted(c for scores in _scores() for c, s in scores if s >= 0.5)
    both = ag.model_codings(project, run=1, top=1, threshold=0.6)
    assert sorted(both["code"]) == sorted(scores[0][0] for scores in _scores() if scores[0][1] >= 0.6)
    assert len(both) < len(above)


def test_model_codings_refuse_a_bad_run(study):
    project, _ = study
    with pytest.raises(AgreementError, match="expected a run id"):
        ag.model_codings(project, run="newest")
    with pytest.raises(ProjectError, match="unknown run 99"):
        ag.model_codings(project, run=99)


def test_codings_as_of_name_the_coder_with_the_time(study):
    project, part = study
    last = int(project.decisions("ann")["event_id"].max())
    project.decide("ann", part[0], "funding", "reject")
    spec = f"ann@{last}"
    earlier = ag.codings_as_of(project, spec)
    assert set(earlier["coder"]) == {spec}
    assert "funding" in set(earlier.loc[earlier["segment_id"] == part[0], "code_id"])
    now = project.codings("ann")
    assert "funding" not in set(now.loc[now["segment_id"] == part[0], "code_id"])
    with pytest.raises(AgreementError, match="expected CODER@WHEN"):
        ag.codings_as_of(project, "ann")


def test_project_report_adds_the_pseudo_coders_to_the_named_coders(study):
    project, part = study
    last = int(project.decisions("ann")["event_id"].max())
    r = ag.project_report(project, coders="ann", model_run="latest", as_of=f"bob@{last}", n_boot=0)
    assert r.coders == ["ann", "model", f"bob@{last}"]
    assert r.n_units == len(part)
    cb = project.codebook
    assert r.provenance["codebook"] == f"{cb.name} {cb.version}"
    assert r.provenance["source"] == str(project.path)
    humans = ag.project_report(project, coders=["ann", "bob"], n_boot=0)
    direct = ag.report(project.codings(), coders=["ann", "bob"], universe=project.segments(), n_boot=0)
    pd.testing.assert_frame_equal(humans.per_code, direct.per_code)


def test_project_report_at_character_level_quotes_the_documents(study):
    project, _ = study
    r = ag.project_report(project, coders="ann,bob", unit="character")
    assert r.unit == "character" and r.per_source is not None and len(r.per_source)
    assert r.disagreements["text"].notna().all()


def test_project_report_without_codings_says_so(tmp_path):
    project = build_sample_project(tmp_path / "empty")
    with pytest.raises(AgreementError, match="the project has no codings yet"):
        ag.project_report(project)


def test_source_report_reads_a_project_folder_or_a_csv(study, tmp_path):
    project, _ = study
    from_folder = ag.source_report(project.path, coders="ann,bob", n_boot=0)
    pd.testing.assert_frame_equal(from_folder.per_code,
                                  ag.project_report(project, coders="ann,bob", n_boot=0).per_code)
    path = tmp_path / "codings.csv"
    path.write_text("unit,coder,code\nu1,ann,x\nu1,bob,x\nu2,ann,y\nu2,bob,x\n", encoding="utf-8")
    from_csv = ag.source_report(path, n_boot=0)
    assert from_csv.provenance["source"] == str(path)
    pd.testing.assert_frame_equal(from_csv.per_code, ag.report(read_codings_csv(path), n_boot=0).per_code)


@pytest.mark.parametrize("name, kwargs, message", [
    ("codings.csv", {"model_run": "latest"}, "need a project folder"),
    ("codings.csv", {"as_of": "ann@1"}, "need a project folder"),
    ("codings.csv", {"include_uncoded": True}, "--include-uncoded needs a project"),
    ("nowhere.csv", {}, "no such project folder or CSV file"),
    ("notes.txt", {}, "not a project folder or a .csv file"),
])
def test_source_report_errors_name_the_source(tmp_path, name, kwargs, message):
    for existing in ("codings.csv", "notes.txt"):
        (tmp_path / existing).write_text("unit,coder,code\nu1,ann,x\nu1,bob,x\n", encoding="utf-8")
    with pytest.raises(AgreementError, match=message) as info:
        ag.source_report(tmp_path / name, **kwargs)
    assert str(info.value).startswith(f"{tmp_path / name}: ")


def test_report_formats_by_suffix(study, tmp_path):
    project, _ = study
    r = ag.project_report(project, coders="ann,bob", n_boot=0)
    assert check_report_path("r.HTML").name == "r.HTML"
    with pytest.raises(AgreementError, match="unknown report format '.pdf'"):
        check_report_path(tmp_path / "r.pdf")
    for suffix in sorted(WRITERS):
        written = r.save(tmp_path / f"r{suffix}")
        assert written.read_text(encoding="utf-8") == WRITERS[suffix](r, None)


def _runtime_imports(module: str) -> set[str]:
    """The qcode.agreement modules that ``module`` imports at run time (not under ``if TYPE_CHECKING:``)."""
    import ast
    from pathlib import Path

    import qcode.agreement

    tree = ast.parse((Path(qcode.agreement.__file__).parent / f"{module}.py").read_text(encoding="utf-8"))
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and ast.unparse(node.test) == "TYPE_CHECKING" for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and id(node) not in typing_only and node.level == 1:
            found |= {node.module} if node.module else {a.name for a in node.names}
    return found


def test_no_import_circle_between_building_and_rendering():
    assert _runtime_imports("bands") == set()
    assert _runtime_imports("render") == {"bands"}
    assert "render" in _runtime_imports("result") and "result" in _runtime_imports("build")
    assert not {"build", "result", "sources"} & _runtime_imports("render")
    assert "build" not in _runtime_imports("result")
