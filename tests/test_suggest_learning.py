"""Issue 12 wired end to end (fake embedder): learning scopes saved in the project, the blind rule through
``qcode suggest --learn`` and ``qcode learn``, calibrated probabilities, context and "no code"."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import DEMO
from qcode.codebook import Codebook, load_codebook
from qcode.suggest import make_suggester
from qcode.suggest.coders import LearningScope, run_is_independent
from qcode.suggest.learning import (
    body_folder_name,
    learn_project,
    learn_scope,
    read_version,
    suggester_factory,
    versions,
)

P07 = DEMO / "interview_p07.txt"


@pytest.fixture
def fake_models(monkeypatch, fake_embedder):
    """Every model qcode loads by name is the fake embedder (for the CLI paths)."""
    import qcode.embed

    monkeypatch.setattr(qcode.embed, "load_embedder", lambda *a, **k: fake_embedder)
    return fake_embedder


def _demo_project(tmp_path, fake_embedder):
    from qcode.project import init_project
    from qcode.suggest import suggest_corpus

    project = init_project(tmp_path / "p", codebook="mcn-sst")
    suggest_corpus(DEMO, make_suggester("mcn-sst", model=fake_embedder), project=project)
    return project


def _ana_takes_third_choices(project):
    frame = project.suggestions()
    third = frame[frame["rank"] == 3]
    for row in third.itertuples(index=False):
        project.decide("ana", row.segment_id, row.code_id, "accept")
    return dict(zip(third["segment_id"], third["code_id"]))


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _top1(project, run_id):
    frame = project.suggestions(run_id)
    return dict(zip(frame.loc[frame["rank"] == 1, "segment_id"], frame.loc[frame["rank"] == 1, "code_id"]))


def test_fake_embedder_keeps_the_measured_defaults_off_and_they_can_be_asked_for(fake_embedder):
    s = make_suggester("mcn-sst", model=fake_embedder)
    assert not s.measured and s.context_weight == 0.0 and s.abstain_margin is None
    assert "tuned" not in s.embedder.identity
    ident = s.identity()
    assert ident["learned_from"] == [] and ident["calibration"]["source"] == "default"
    on = make_suggester("mcn-sst", model=fake_embedder, context=True, abstain=True)
    assert on.context_weight == 0.5 and on.abstain_margin == 0.1
    answer = "Yes, that has been the good bit for us."
    alone = on.score([answer])
    asked = on.score([answer], questions=["What about training and study days?"])
    assert not np.allclose(alone, asked)
    np.testing.assert_array_equal(on.score([answer], questions=[None]), alone)
    scores, abstained = on.score_details(["Thank you, goodbye.", "We never know if the money will be there."])
    assert abstained.tolist() == [True, False]
    out = on.suggest(["Thank you, goodbye.", "We never know if the money will be there."])
    assert out[0] == [] and len(out[1]) == 3


def test_probabilities_are_calibrated_from_30_decisions_and_min_probability_filters(fake_embedder):
    cb = load_codebook("mcn-sst")
    s = make_suggester(cb, model=fake_embedder)
    first = s.suggest(["We never know if the money will be there next year."], top_k=None)[0]
    assert not first[0].calibrated and abs(sum(x.probability for x in first) - 1) < 1e-4
    leaves = [c.id for c in cb.leaves()]
    texts = [f"passage {i} about {leaves[i % 6]} and more words {i * 7}" for i in range(30)]
    s.learn(texts, [leaves[i % 6] for i in range(30)], [True] * 30, coders=["ana"])
    assert s.calibrator.source == "decisions" and s.calibrator.n_labels == 30
    ranked = s.suggest(texts[:3], top_k=None)
    assert all(r[0].calibrated for r in ranked)
    cut = ranked[0][1].probability
    kept = s.suggest(texts[:1], top_k=None, min_probability=cut, multi_label=True)[0]
    assert kept and all(x.probability >= cut for x in kept)
    assert s.identity()["learned_from"] == ["ana"]
    unnamed = make_suggester(cb, model=fake_embedder).learn(texts[:2], leaves[:2], [True, True])
    assert unnamed.identity()["learned_from"] is None  # coders unknown: no blind coder may be shown it


@pytest.mark.slow
def test_ana_and_ben_through_suggest_learn(fake_embedder, tmp_path):
    """ana accepts the model's third choice everywhere; after --learn ben's blind suggestions are unchanged."""
    from qcode.review.terminal import blind_run
    from qcode.suggest.learning import suggest_by_scope

    project = _demo_project(tmp_path, fake_embedder)
    before = _top1(project, project.latest_run())
    ana_codes = _ana_takes_third_choices(project)
    assert sum(before[s] == c for s, c in ana_codes.items()) == 0
    results = suggest_by_scope(DEMO, project, model=fake_embedder)
    runs = {int(r.run_id): r.params for r in project.runs().itertuples(index=False)}
    learned = {tuple(p["learned_from"]): rid for rid, p in runs.items() if "learned_from" in p}
    assert set(learned) == {(), ("ana",)}
    ana_run, shared_run = learned[("ana",)], learned[()]
    # the run names the saved model version it used; the codebook-only run names none
    assert runs[ana_run]["learned_model"]["scope"] == "coders:ana" and runs[ana_run]["learned_model"]["version"] == 1
    assert "learned_model" not in runs[shared_run]
    assert sum(_top1(project, ana_run)[s] == c for s, c in ana_codes.items()) > len(ana_codes) // 2
    # ben (no decisions) sees the codebook-only run in blind mode, in the terminal as on the web
    assert blind_run(project, "ben") == shared_run
    assert _top1(project, shared_run) == before
    assert blind_run(project, "ana") == ana_run and not run_is_independent(runs[ana_run], "ben")

    from qcode.web.payload import Viewer
    from qcode.web.service import ReviewService

    web = ReviewService(project.path)  # the web review makes the same blind choice (one rule, in qcode.review.core)
    assert [web.run_for(Viewer(c)) for c in ("ana", "ben")] == [ana_run, shared_run]
    from qcode.errors import ProjectError

    with pytest.raises(ProjectError, match="learned from ana"):
        blind_run(project, "ben", ana_run)
    assert [o.scope.coders for o, _ in results if o is not None] == [("ana",)]


@pytest.mark.slow
def test_learn_saves_versions_with_provenance_and_is_deterministic(fake_embedder, tmp_path):
    projects = []
    for name in ("one", "two"):
        project = _demo_project(tmp_path / name, fake_embedder)
        _ana_takes_third_choices(project)
        projects.append(project)
    outcomes = [learn_project(p, coders=["ana"], model=fake_embedder)[0] for p in projects]
    infos = [read_version(o.folder) for o in outcomes]
    for key in ("state_sha256", "decisions_sha256", "base_weights_sha256", "seed", "learned_from", "decisions"):
        assert infos[0][key] == infos[1][key], key
    assert infos[0]["learned_from"] == ["ana"] and infos[0]["last_event_id"] == projects[0].last_decision("ana")["event_id"]
    # the default asks for "auto", which learns with the few-shot head
    assert infos[0]["version"] == 1 and infos[0]["learning"] == "auto" and infos[0]["learned_with"] == "few-shot"
    texts = projects[0].segments()["text"].tolist()[:20]
    a, b = (o.suggester.suggest(texts) for o in outcomes)
    assert a == b
    again = learn_project(projects[0], coders=["ana"], model=fake_embedder)[0]
    assert again.reused and again.version == 1 and len(versions(projects[0].path, LearningScope(("ana",)))) == 1
    assert again.suggester.suggest(texts) == a
    seg = projects[0].segments()["segment_id"].iloc[0]
    projects[0].decide("ana", seg, "infrastructure.funding", "reject")
    newer = learn_project(projects[0], coders=["ana"], model=fake_embedder)[0]
    assert newer.version == 2 and not newer.reused


def test_auto_learning_is_the_few_shot_head(fake_embedder, monkeypatch):
    from qcode.errors import QcodeError

    fake = make_suggester("mcn-sst", model=fake_embedder)
    assert fake.learning == "auto" and fake.learning_for(10_000) == "few-shot"
    assert make_suggester("mcn-sst", model=fake_embedder, learning="fine-tune").learning_for(0) == "fine-tune"
    assert make_suggester("mcn-sst", model=fake_embedder, learning="blend").learning_for(500) == "blend"
    with pytest.raises(QcodeError, match="learning must be"):
        make_suggester("mcn-sst", model=fake_embedder, learning="setfit")
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    fake.learn(["The grant runs out."], ["infrastructure.funding"], [True])   # no torch needed
    assert fake.learning_used == "few-shot" and fake.identity()["learning"] == "few-shot"


@pytest.mark.slow
def test_bad_input_falls_back_to_the_base_model_and_changes_nothing(fake_embedder, tmp_path):
    project = _demo_project(tmp_path, fake_embedder)
    make = suggester_factory(project.codebook, model=fake_embedder)
    nobody = learn_scope(project, project.codebook, LearningScope(("ben",)), make)
    assert nobody.fallback and "no accept/reject decisions by ben" in nobody.warnings[0]
    assert not (Path(project.path) / "models").exists()

    _ana_takes_third_choices(project)
    used = set(project.labels("ana")["code_id"])
    smaller = Codebook(name="mcn-sst", codes=[c for c in project.codebook.codes if c.id not in used])
    gone = learn_scope(project, smaller, LearningScope(("ana",)), suggester_factory(smaller, model=fake_embedder))
    assert gone.fallback and "no longer in codebook" in gone.warnings[0] and len(gone.warnings) == 2
    assert not (Path(project.path) / "models").exists()

    saved = learn_scope(project, project.codebook, LearningScope(("ana",)), make)
    models = Path(project.path) / "models"
    (saved.folder / "state.json").write_text("{}", encoding="utf-8")
    digest = _tree_digest(models)
    damaged = learn_scope(project, project.codebook, LearningScope(("ana",)), make)
    assert damaged.fallback and "damaged" in damaged.warnings[0] and len(damaged.warnings[0].splitlines()) == 1
    assert damaged.suggester.identity()["learned_decisions"] == 0 and _tree_digest(models) == digest

    retrained = learn_scope(project, project.codebook, LearningScope(("ana",)), make, retrain=True)
    assert retrained.version == 2 and not retrained.fallback
    info = json.loads((retrained.folder / "provenance.json").read_text())
    info["base_weights_sha256"] = "0" * 64
    (retrained.folder / "provenance.json").write_text(json.dumps(info))
    digest = _tree_digest(models)
    moved = learn_scope(project, project.codebook, LearningScope(("ana",)), make)
    assert moved.fallback and "other base weights" in moved.warnings[0] and _tree_digest(models) == digest


@pytest.mark.slow
def test_cli_learn_and_suggest_learn(fake_models, tmp_path):
    from typer.testing import CliRunner

    from qcode.cli.app import app

    project = _demo_project(tmp_path, fake_models)
    _ana_takes_third_choices(project)
    runner = CliRunner()
    result = runner.invoke(app, ["learn", str(project.path), "--coder", "ana"])
    assert result.exit_code == 0, result.output
    assert "ana: " in result.output and "v1 saved" in result.output
    result = runner.invoke(app, ["learn", str(project.path), "--coder", "ben"])
    assert result.exit_code == 0 and "no accept/reject decisions by ben" in result.output
    result = runner.invoke(app, ["suggest", str(DEMO), "--project", str(project.path), "--learn"])
    assert result.exit_code == 0, result.output
    params = [p for p in project.runs()["params"] if "learned_from" in p]
    assert sorted(tuple(p["learned_from"]) for p in params[-2:]) == [(), ("ana",)]
    # both runs are named, the codebook-only one too, with the learning each used
    assert "the codebook alone, for coders with no decisions yet" in result.output
    assert "learned from ana (" in result.output and "few-shot model v1" in result.output
    assert "learning from ana (" in result.output and "run(s) (" in result.output and "s in all" in result.output
    result = runner.invoke(app, ["suggest", str(DEMO), "--project", str(project.path), "--learning", "fintune",
                                 "-q"])
    assert result.exit_code != 0
    assert "--learning must be one of auto, blend, fine-tune, few-shot, not 'fintune'" in str(result.exception)
    result = runner.invoke(app, ["suggest", str(DEMO), "--project", str(project.path), "--learn-from", "ana",
                                 "--out", str(tmp_path / "first-pass.csv"), "-q"])
    assert result.exit_code == 0, result.output
    assert project.runs()["params"].iloc[-1]["learned_from"] == ["ana"]
    assert (tmp_path / "first-pass.csv").exists()
    result = runner.invoke(app, ["suggest", str(DEMO), "--project", str(project.path), "--learn",
                                 "--out", str(tmp_path / "x.csv")])
    assert result.exit_code != 0 and "--learn-from" in str(result.exception or result.output)


def test_suggest_with_a_project_keeps_the_projects_own_codebook(fake_models, tmp_path):
    """Without --codebook, `qcode suggest --project P` ranks against P's codebook, not the shipped default."""
    from typer.testing import CliRunner

    from qcode.cli.app import app
    from qcode.project import init_project, open_project

    own = tmp_path / "mini.yaml"
    own.write_text("name: mini\ncodes:\n"
                   "  - id: money\n    name: Money\n    definition: Funding, budgets and bids.\n"
                   "  - id: travel\n    name: Travel\n    definition: Distance, roads and journeys.\n",
                   encoding="utf-8")
    init_project(tmp_path / "p", codebook=str(own))
    result = CliRunner().invoke(app, ["suggest", str(P07), "--project", str(tmp_path / "p"), "-q"])
    assert result.exit_code == 0, result.output
    project = open_project(tmp_path / "p")
    assert project.codebook.name == "mini"
    assert set(project.suggestions()["code_id"]) <= {"money", "travel"}


def test_min_probability_drops_the_best_code_too(fake_embedder):
    s = make_suggester("mcn-sst", model=fake_embedder, abstain=False)
    texts = ["We never know if the money will be there next year.", "The roads close in winter."]
    best = [ranked[0].probability for ranked in s.suggest(texts, top_k=3)]
    cut = max(best) + 1e-3
    assert s.suggest(texts, top_k=3, min_probability=cut) == [[], []]
    kept = s.suggest(texts, top_k=3, min_probability=min(best))
    assert all(all(x.probability >= min(best) for x in ranked) for ranked in kept) and any(kept)


def test_active_order_is_refused_in_blind_mode(fake_embedder, tmp_path):
    from qcode.errors import InputError
    from qcode.review.terminal import ReviewSession

    project = _demo_project(tmp_path, fake_embedder)
    with pytest.raises(InputError, match="blind"):
        ReviewSession(project, "ben", order="active")
    session = ReviewSession(project, "ben", order="active", blind=False)
    tops = [item.suggestions[0][0] for item in session.queue[:5]]
    assert len(set(tops)) > 1  # diversity: the start of the queue is not one pair of codes


@pytest.mark.slow
def test_fine_tune_saves_an_onnx_body_in_the_project_and_the_same_decisions_give_the_same_model(tmp_path):
    """learning="fine-tune" on the real model (2 steps): torch-free ONNX body, same decisions + seed -> same model."""
    from qcode.embed import load_embedder
    from qcode.suggest.params import FineTuneParams
    from qcode.suggest.tuning import ONNX_FILE

    base = load_embedder()
    texts = ["The grant runs out in March and nobody knows what happens then.",
             "We bid for the money again every April.",
             "Nobody at the hospital can see what the hospice wrote in the notes.",
             "The GP system and ours do not talk to each other."]
    codes = ["infrastructure.funding", "infrastructure.funding", "technology.data-sharing", "technology.data-sharing"]
    made = []
    for name in ("a", "b"):
        s = make_suggester("mcn-sst", model=base, tuned=False, learning="fine-tune",
                      fine_tune_params=FineTuneParams(steps=2, per_code=2))
        s.body_root = tmp_path / name
        s.learn(texts, codes, [True] * 4, coders=["ana"])
        folder = tmp_path / name / body_folder_name(s, tmp_path / name)
        assert (folder / ONNX_FILE).is_file() and s.embedder.identity["backend"] == "onnx"
        assert s.embedder.identity["weights_sha256"] != base.identity["weights_sha256"]
        made.append(s)
    assert made[0].embedder.identity == made[1].embedder.identity
    probe = ["Funding is always the worry."]
    assert made[0].suggest(probe) == made[1].suggest(probe)
    assert made[0].learning_params()["fine_tune"]["steps"] == 2


@pytest.mark.slow
def test_fine_tuning_continues_from_the_codebook_tuned_model_and_says_so(tmp_path):
    """With a codebook-tuned embedder, learning="fine-tune" starts from its weights, not the base ones."""
    from qcode.suggest.params import FineTuneParams, TuningParams
    from qcode.suggest.tuning import read_provenance, tune_for_codebook

    book = load_codebook("mcn-sst")
    tuned, report = tune_for_codebook(book, TuningParams(steps=2, per_code=2), root=tmp_path / "tuned")
    assert tuned is not None and report.folder is not None
    codebook_tuned = read_provenance(report.folder)
    s = make_suggester(book, model=tuned, tuned=False, learning="fine-tune",
                  fine_tune_params=FineTuneParams(steps=2, per_code=2))
    s.body_root = tmp_path / "bodies"
    s.learn(["The grant runs out in March.", "We bid for the money every April."],
            ["infrastructure.funding"] * 2, [True, True], coders=["ana"])
    body = read_provenance(tmp_path / "bodies" / body_folder_name(s, tmp_path / "bodies"))
    assert body["started_from"] == {"tuned": f"codebook-{codebook_tuned['key']}",
                                    "weights_sha256": codebook_tuned["weights_sha256"]}
    assert body["weights_sha256"] != codebook_tuned["weights_sha256"]


def test_normalisation_is_opt_in_fixed_by_its_reference_and_batch_independent(fake_embedder):
    s = make_suggester("mcn-sst", model=fake_embedder)
    texts = ["We never know if the money will be there next year.", "The roads over the moor close in winter.",
             "Nobody can see the hospice notes from the GP system."]
    plain = s.score(texts)
    assert s.identity()["normalise"] is None
    s.normalise_against(texts * 3, weight=0.1)
    normed = s.score(texts)
    assert not np.allclose(plain, normed) and s.identity()["normalise"] == 0.1
    np.testing.assert_allclose(s.score(texts[:1])[0], normed[0], atol=1e-5)
    np.testing.assert_array_equal(s.normalise_against([], weight=0.1).score(texts), plain)


def test_web_review_orders_active_only_when_not_blind(fake_embedder, tmp_path):
    from qcode.errors import InputError
    from qcode.web.payload import Viewer
    from qcode.web.service import ReviewService

    project = _demo_project(tmp_path, fake_embedder)
    with pytest.raises(InputError, match="blind"):
        ReviewService(project.path, order="active")
    service = ReviewService(project.path, order="active", blind=False)
    queue = service.queue(Viewer("ben", blind=False))
    document = ReviewService(project.path, order="document", blind=False).queue(Viewer("ben", blind=False))
    assert sorted(it.segment_id for it in queue) == sorted(it.segment_id for it in document)
    assert [it.segment_id for it in queue] != [it.segment_id for it in document]


def test_the_summary_counts_segments_given_a_code_apart_from_those_given_none(fake_models, tmp_path):
    import csv
    import re

    from typer.testing import CliRunner

    from qcode.cli.app import app

    out = tmp_path / "s.csv"
    result = CliRunner().invoke(app, ["suggest", str(P07), "--out", str(out), "--min-probability", "0.2"],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as handle:
        coded = {row["segment_id"] for row in csv.DictReader(handle) if row["code_id"]}  # not "no code" rows
    ranked = int(re.search(r"ranked \(interviewer turns left out\)\s*│\s*(\d+)", result.output).group(1))
    given = int(re.search(r"given at least one code\s*│\s*(\d+)", result.output).group(1))
    assert given == len(coded) < ranked
