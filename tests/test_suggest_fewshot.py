"""Issue 21: the few-shot head over frozen embeddings (learning="few-shot"), fake embedder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qcode.suggest import make_suggester
from qcode.suggest.fewshot import FewShotHead, FewShotParams
from qcode.suggest.state import load_state, save_state


def _toy(k: int = 3, dim: int = 16, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim))
    anchors = centres + 0.1 * rng.normal(size=(k, dim))
    return rng, centres, anchors


def test_no_decisions_keeps_the_zero_shot_ranking():
    _, centres, anchors = _toy()
    prior = np.array([[0.3, 0.2, 0.1], [0.1, 0.3, 0.2], [0.2, 0.1, 0.3]])
    head = FewShotHead().fit(anchors, [0, 1, 2], prior, np.zeros((0, 16)), np.zeros((0, 3)), [], [])
    zero = np.array([[0.1, 0.5, 0.2]])
    out = head.combine(zero, centres[:1])
    assert np.argmax(out) == 1  # anchors agree with their own prior: nothing to correct
    assert head.n_decisions_ == 0


def test_accepts_overturn_a_wrong_prior_and_rejections_count():
    rng, centres, anchors = _toy()
    X = np.vstack([centres[0] + 0.2 * rng.normal(size=16) for _ in range(12)])
    wrong = np.tile([0.2, 0.4, 0.1], (12, 1))  # the zero-shot score says code 1
    anchor_prior = np.eye(3) * 0.3
    learned = FewShotHead(FewShotParams(l2=0.1)).fit(anchors, [0, 1, 2], anchor_prior, X, wrong, [0] * 12, [True] * 12)
    probe = centres[0:1] + 0.05
    assert np.argmax(learned.combine(np.array([[0.2, 0.4, 0.1]]), probe)) == 0
    rejected = FewShotHead(FewShotParams(l2=0.1)).fit(anchors, [0, 1, 2], anchor_prior, X, wrong, [1] * 12,
                                                      [False] * 12)
    assert rejected.correction(probe)[0, 1] < 0  # rejecting code 1 pushes it down on similar passages


def test_latest_verdict_wins_and_fit_is_deterministic():
    rng, centres, anchors = _toy()
    x = centres[2:3]
    prior = np.array([[0.3, 0.3, 0.3]])
    args = (anchors, [0, 1, 2], np.eye(3) * 0.3)
    changed = FewShotHead().fit(*args, np.vstack([x, x]), np.vstack([prior, prior]), [2, 2], [False, True])
    accepted = FewShotHead().fit(*args, x, prior, [2], [True])
    assert np.allclose(changed.coef_, accepted.coef_)
    again = FewShotHead().fit(*args, x, prior, [2], [True])
    assert json.dumps(again.to_dict()) == json.dumps(accepted.to_dict())


def test_suggester_few_shot_learns_saves_and_reloads(tmp_path, fake_embedder):
    s = make_suggester("mcn-sst", model=fake_embedder, learning="few-shot", context=0.0, abstain=False)
    text = "the district nurses never get the discharge letter in time"
    ids = [c.id for c in s.target_codes]
    before = s.score([text])[0]
    target = ids[int(np.argsort(before)[len(ids) // 2])]  # a middling code
    texts = [f"{text} {i}" for i in range(6)]
    s.learn(texts, [target] * 6, [True] * 6)
    assert s.learning_used == "few-shot" and s.identity()["learning"] == "few-shot"
    after = s.score([text])[0]
    assert after[ids.index(target)] - after.max() > before[ids.index(target)] - before.max()
    assert s.learning_params()["few_shot"]["l2"] == FewShotParams().l2
    state = save_state(s, tmp_path / "state.json")
    again = make_suggester("mcn-sst", model=fake_embedder, learning="few-shot", context=0.0, abstain=False)
    load_state(again, state)
    assert np.allclose(again.score([text]), s.score([text]))


def test_learning_kinds_include_few_shot():
    from qcode.errors import QcodeError
    from qcode.suggest.ranking import LEARNING_KINDS

    assert "few-shot" in LEARNING_KINDS
    with pytest.raises(QcodeError):
        make_suggester("mcn-sst", learning="few_shot")


SMALL_TALK = "Oh, wet... the dog has just come in from the garden, sorry about that"


def _abstaining(fake_embedder, **kw):
    return make_suggester("mcn-sst", model=fake_embedder, context=0.0, abstain=0.0, learning="few-shot", **kw)


def test_no_code_decisions_silence_the_passage_and_its_near_copies(tmp_path, fake_embedder):
    s = _abstaining(fake_embedder)
    near = SMALL_TALK.replace("garden", "garden again")
    assert s.suggest([SMALL_TALK, near])[0] and s.suggest([near])[0]  # suggested before
    s.learn([], [], [], no_code=[SMALL_TALK])
    out = s.suggest([SMALL_TALK, near, "The GP never sees the hospice care plan, so the night team starts over."])
    assert out[0] == [] and out[1] == [] and out[2]
    assert s.identity()["learned_state"] != _abstaining(fake_embedder).identity()["learned_state"]
    again = load_state(_abstaining(fake_embedder), save_state(s, tmp_path / "state.json"))
    assert again.suggest([SMALL_TALK])[0] == []


def test_rejecting_every_suggestion_counts_as_no_code(fake_embedder):
    s = _abstaining(fake_embedder)
    shown = [x.code_id for x in s.suggest([SMALL_TALK])[0]]
    assert len(shown) == 3
    s.learn([SMALL_TALK] * 2, shown[:2], [False, False])
    assert s.examples.no_code_passages() == []  # two of three rejected: not yet "no code"
    s.learn([SMALL_TALK], shown[2:], [False])
    assert s.examples.no_code_passages() == [SMALL_TALK]
    assert s.suggest([SMALL_TALK])[0] == []
    s.learn([SMALL_TALK], shown[:1], [True])  # an accept: it has a code after all
    assert s.examples.no_code_passages() == []
    assert s.suggest([SMALL_TALK])[0]


def test_learned_no_code_needs_abstention_on(fake_embedder):
    s = make_suggester("mcn-sst", model=fake_embedder, context=0.0, abstain=False, learning="few-shot")
    s.learn([], [], [], no_code=[SMALL_TALK])
    assert s.suggest([SMALL_TALK])[0]


def test_tuning_out_of_memory_falls_back_to_the_base_model(monkeypatch, tmp_path):
    """A tuning the allocator stops gives the base model and one line naming the retry, never a traceback."""
    from qcode.codebook import load_codebook
    from qcode.suggest import tuning

    monkeypatch.setattr(tuning, "load_base_sentence_transformer", lambda *a, **k: object())

    def starved(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: not enough memory: "
                           "you tried to allocate 98304 bytes.")

    monkeypatch.setattr(tuning, "contrastive_tune", starved)
    model, report = tuning.tune_for_codebook(load_codebook("mcn-sst"), root=tmp_path, progress=lambda d, t: None)
    assert model is None
    assert "ran out of memory" in report.reason and "`qcode codebook tune mcn-sst`" in report.reason
    assert "\n" not in report.reason
    assert not any(tmp_path.iterdir())  # nothing half-written in the cache

    def broken(*args, **kwargs):
        raise RuntimeError("shape mismatch")  # a bug is not hidden as a memory problem

    monkeypatch.setattr(tuning, "contrastive_tune", broken)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        tuning.tune_for_codebook(load_codebook("mcn-sst"), root=tmp_path, progress=lambda d, t: None)


@pytest.mark.slow
def test_tuning_under_a_real_memory_limit_falls_back_in_one_line(tmp_path):
    """A tuning in a process whose address space is capped 256 MiB above what it holds once torch and the
    base model are loaded (as ``prlimit --as`` would): the tuning's own allocations fail, with no traceback.

    The cap is set after the imports on purpose: a cap that strikes while native libraries are still being
    mapped can end the process outright (a segfault, seen 1 run in 3 under load), which no handler inside
    the process can turn into a fallback.
    """
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import resource
        from pathlib import Path
        import sentence_transformers, torch, transformers  # loaded before the cap: the cap is for the tuning
        from qcode.codebook import load_codebook
        from qcode.suggest import tuning
        tuning.load_base_sentence_transformer()
        size = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmSize:"))
        resource.setrlimit(resource.RLIMIT_AS, (size + 2**28, size + 2**28))
        model, report = tuning.tune_for_codebook(load_codebook("mcn-sst"), root=Path({str(tmp_path)!r}),
                                                 progress=lambda done, total: None)
        print("model:", model)
        print("reason:", report.reason)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert "model: None" in done.stdout
    assert "ran out of memory" in done.stdout and "`qcode codebook tune mcn-sst`" in done.stdout
    assert not any(p.name.endswith("provenance.json") for p in tmp_path.rglob("*"))


def test_learn_prune_keeps_versions_runs_name_and_the_newest(fake_embedder, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    import qcode.embed
    from qcode.cli.app import app
    from qcode.project import init_project
    from qcode.suggest import suggest_corpus
    from qcode.suggest.coders import LearningScope
    from qcode.suggest.learning import learn_scope, suggester_factory, versions
    from qcode.suggest.retention import prune_models

    monkeypatch.setattr(qcode.embed, "load_embedder", lambda *a, **k: fake_embedder)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("P1: The grant runs out in March.\nP1: Nobody reads the care plan.\n")
    project = init_project(tmp_path / "p", codebook="mcn-sst")
    suggest_corpus(corpus, make_suggester("mcn-sst", model=fake_embedder), project=project)
    segments = project.segments()["segment_id"].tolist()
    codes = [c.id for c in project.codebook.leaves()]
    scope = LearningScope(("ana",))
    make = suggester_factory(project.codebook, model=fake_embedder)
    for k in range(3):  # three versions, each from one more decision
        project.decide("ana", segments[k % len(segments)], codes[k], "accept")
        outcome = learn_scope(project, project.codebook, scope, make)
        if k == 0:
            suggest_corpus(corpus, outcome.suggester, project=project)  # a run names v1
    assert [n for n, _ in versions(project.path, scope)] == [1, 2, 3]
    result = CliRunner().invoke(app, ["learn", str(project.path), "--prune"])
    assert result.exit_code == 0, result.output
    assert "pruned 1 saved model folder(s)" in result.output
    assert [n for n, _ in versions(project.path, scope)] == [1, 3]  # v1 named by a run, v3 the newest
    assert prune_models(project).removed == []  # idempotent
    with pytest.raises(Exception, match="--keep must be at least 1"):
        prune_models(project, keep=0)
