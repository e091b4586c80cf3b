from __future__ import annotations

import json

import pytest

from qcode.codebook import Code, Codebook, load_codebook
from qcode.errors import ModelError, QcodeError
from qcode.suggest.coders import LearningScope
from qcode.suggest.finetune import decision_groups, fine_tune_key, more_needed
from qcode.suggest.params import FineTuneParams, TuningParams
from qcode.suggest.tuning import codebook_groups, read_provenance, tune_for_codebook, tuning_key


def test_codebook_groups_skip_codes_with_too_little_text():
    cb = load_codebook("mcn-sst")
    groups, skipped = codebook_groups(cb)
    assert not skipped and set(groups) == {c.id for c in cb.leaves()}
    assert all(len(g) >= 3 and len(set(g)) == len(g) for g in groups.values())
    thin = Codebook(name="thin", codes=[Code(id="a", name="Alpha", definition="One sentence."),
                                        Code(id="b", name="Beta", definition="Another.", examples=("x y", "z w"))])
    groups, skipped = codebook_groups(thin)
    assert skipped == ["a"] and list(groups) == ["b"]


def test_a_codebook_too_thin_to_tune_keeps_the_base_model_and_says_why(tmp_path):
    thin = Codebook(name="thin", codes=[Code(id="a", name="Alpha", definition="One."), Code(id="b", name="Beta")])
    embedder, report = tune_for_codebook(thin, root=tmp_path)
    assert embedder is None and "base model is used" in report.reason and report.skipped == ["a", "b"]
    assert not any(tmp_path.iterdir())


def test_cache_keys_follow_codebook_base_weights_and_parameters():
    cb = load_codebook("mcn-sst")
    key = tuning_key(cb, "abc", TuningParams())
    assert key == tuning_key(cb, "abc", TuningParams())
    assert key != tuning_key(cb, "abd", TuningParams())
    assert key != tuning_key(cb, "abc", TuningParams(seed=1))
    leaf = cb.leaves()[0]
    changed = Codebook(name=cb.name, codes=[c if c.id != leaf.id else Code(**{**c.__dict__, "examples": (*c.examples, "new")})
                                            for c in cb.codes])
    assert key != tuning_key(changed, "abc", TuningParams())


def test_decision_groups_add_accepted_passages_to_their_codes_anchors():
    cb = load_codebook("mcn-sst")
    groups = decision_groups(cb, ["a passage", "not this"], ["infrastructure.funding", "infrastructure.funding"], [True, False])
    assert "a passage" in groups["infrastructure.funding"] and "not this" not in groups["infrastructure.funding"]
    assert more_needed(cb, ["infrastructure.funding"], [True], 2)["infrastructure.funding"] == 1
    with pytest.raises(QcodeError, match="not in codebook"):
        decision_groups(cb, ["x"], ["gone.code"], [True])
    with pytest.raises(QcodeError, match="equal length"):
        decision_groups(cb, ["x"], [], [True])


def test_fine_tune_key_depends_on_the_coders_and_the_decisions_not_their_order():
    cb = load_codebook("mcn-sst")
    args = (["a", "b"], ["infrastructure.funding", "goals.shared-vision"], [True, False])
    rev = ([x[::-1] for x in args])
    ana, ben = LearningScope(("ana",)), LearningScope(("ben",))
    p = FineTuneParams()
    assert fine_tune_key(cb, "s", ana, *args, p) == fine_tune_key(cb, "s", ana, *rev, p)
    assert fine_tune_key(cb, "s", ana, *args, p) != fine_tune_key(cb, "s", ben, *args, p)
    assert fine_tune_key(cb, "s", ana, *args, p) != fine_tune_key(cb, "s", ana, ["a", "b"], args[1], [True, True], p)
    # continuing from a codebook-tuned model is another model than starting from the base weights
    assert fine_tune_key(cb, "s", ana, *args, p) != fine_tune_key(cb, "s", ana, *args, p, "tuned-weights-sha")
    assert fine_tune_key(cb, "s", ana, *args, p, "x") != fine_tune_key(cb, "s", ana, *args, p, "y")


def test_damaged_provenance_is_a_one_line_model_error(tmp_path):
    (tmp_path / "provenance.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="provenance unreadable"):
        read_provenance(tmp_path)
    (tmp_path / "provenance.json").write_text(json.dumps({"format": "qcode-tuned-model/1", "weights_sha256": "0"}))
    with pytest.raises(ModelError, match="missing or damaged"):
        read_provenance(tmp_path)


def test_weights_are_hashed_once_then_again_only_when_a_file_changes(tmp_path, monkeypatch):
    import hashlib
    import os

    import qcode.suggest.tuning as tuning

    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"weights v1")
    (tmp_path / "provenance.json").write_text(json.dumps({
        "format": "qcode-tuned-model/1", "weights_sha256": hashlib.sha256(b"weights v1").hexdigest()}))
    hashed: list[str] = []
    real = tuning._sha256_file
    monkeypatch.setattr(tuning, "_sha256_file", lambda path: hashed.append(path.name) or real(path))
    read_provenance(tmp_path)
    read_provenance(tmp_path)
    assert hashed == ["model.safetensors"]                      # the second load trusted the stamp
    weights.write_bytes(b"weights v2")                           # same size, new bytes, new mtime
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 1_000_000))
    with pytest.raises(ModelError, match="missing or damaged"):
        read_provenance(tmp_path)
    assert hashed == ["model.safetensors"] * 2


@pytest.mark.slow
def test_codebook_tuning_is_cached_deterministic_and_moves_examples_towards_their_code(tmp_path):
    import numpy as np

    from qcode.suggest import make_suggester

    cb = load_codebook("mcn-sst")
    params = TuningParams(steps=3, per_code=2)
    first, report = tune_for_codebook(cb, params, root=tmp_path)
    assert first is not None and not report.cached and report.folder is not None
    again, report2 = tune_for_codebook(cb, params, root=tmp_path)
    assert report2.cached and again.identity == first.identity
    assert first.identity["base_weights_sha256"] != first.identity["weights_sha256"]
    text = ["We never know if the money will be there next year."]
    np.testing.assert_allclose(again.encode(text), first.encode(text), atol=1e-6)
    scores = make_suggester(cb, model=first).score(text)
    assert scores.shape == (1, len(cb.leaves()))
