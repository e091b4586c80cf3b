"""A codebook-tuned model that is not cached yet: built ahead (``qcode codebook tune``, the installer),
trained visibly on first use, or replaced by the base model with a note (``QCODE_TUNE_ON_MISS=base``)."""

from __future__ import annotations

import logging

import pytest

from qcode.codebook import load_codebook
from qcode.errors import InputError
from qcode.suggest import tuning
from qcode.suggest.params import TuningParams
from qcode.suggest.tuning import TuningReport


@pytest.fixture
def packaged_looking(fake_embedder, monkeypatch):
    """The fake embedder under the packaged model's identity, handed out by ``load_embedder``."""
    from qcode.embed.manifest import get_model_spec

    spec = get_model_spec("all-MiniLM-L6-v2")

    class Packaged(type(fake_embedder)):  # type: ignore[misc]
        @property
        def identity(self):
            return {**super().identity, "name": spec.name, "backend": "onnx", "weights_sha256": spec.weights_sha256}

    model = Packaged()
    monkeypatch.setattr("qcode.embed.load_embedder", lambda *a, **k: model)
    return model


def test_with_tune_on_miss_base_a_missing_model_is_not_trained_and_the_note_says_how_to_build_it(
        packaged_looking, tmp_path, monkeypatch):
    from qcode import make_suggester

    monkeypatch.setenv("QCODE_TUNED_DIR", str(tmp_path))
    monkeypatch.setenv("QCODE_TUNE_ON_MISS", "base")
    monkeypatch.setattr(tuning, "load_base_sentence_transformer",
                        lambda *a, **k: pytest.fail("trained although QCODE_TUNE_ON_MISS=base"))
    s = make_suggester("mcn-sst")
    assert s.embedder is packaged_looking
    assert "tuned" not in s.identity()["model"]
    assert "base model is used" in s.tuning_note and "`qcode codebook tune mcn-sst`" in s.tuning_note
    assert "min" in s.tuning_note or " s)" in s.tuning_note
    assert not any(tmp_path.iterdir())


def test_tune_on_miss_takes_train_or_base_only(monkeypatch):
    monkeypatch.delenv("QCODE_TUNE_ON_MISS", raising=False)
    assert tuning.train_on_miss() is True
    monkeypatch.setenv("QCODE_TUNE_ON_MISS", "base")
    assert tuning.train_on_miss() is False
    monkeypatch.setenv("QCODE_TUNE_ON_MISS", "sometimes")
    with pytest.raises(InputError, match="QCODE_TUNE_ON_MISS"):
        tuning.train_on_miss()


def test_the_estimate_comes_from_this_machines_last_tuning_else_the_measured_rate(tmp_path):
    import json

    cb = load_codebook("mcn-sst")
    params = TuningParams()
    fallback = tuning.estimate_seconds(cb, params, root=tmp_path)
    assert fallback > 0
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "provenance.json").write_text(json.dumps({"seconds": tuning.OVERHEAD_SECONDS + 10.0,
                                                                "texts_seen": 1000}))
    assert tuning.estimate_seconds(cb, params, root=tmp_path) == pytest.approx(
        tuning.OVERHEAD_SECONDS + params.steps * 19 * 4 * 0.01)
    assert tuning.describe_seconds(42) == "about 40 s" and tuning.describe_seconds(288) == "about 5 min"


def test_a_codebook_auto_would_not_tune_is_not_built(tmp_path):
    from qcode.codebook import Code, Codebook

    thin = Codebook(name="thin", codes=[Code(id="a", name="Alpha", definition="One."), Code(id="b", name="Beta")])
    report = tuning.build_tuned(thin, root=tmp_path)
    assert report.folder is None and "base model is used" in report.reason
    assert not any(tmp_path.iterdir())


def test_qcode_codebook_tune_builds_each_named_codebook_and_says_what_it_did(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from qcode.cli.app import app

    calls = []

    def fake_build(name, *, progress=None, **_):
        calls.append(name)
        logging.getLogger("qcode.embed.tuning").warning("tuning to %s: about 5 min", name)
        progress(0, 2)
        progress(2, 2)
        if name == "npt":
            return TuningReport(used=["a"], folder=tmp_path / "npt", cached=True)
        return TuningReport(used=["a", "b"], folder=tmp_path / name, seconds=3.0)

    monkeypatch.setattr(tuning, "build_tuned", fake_build)
    result = CliRunner().invoke(app, ["codebook", "tune", "--shipped"])
    assert result.exit_code == 0, result.output
    assert calls == ["clinical-networks", "mcn-sst", "npt"]
    assert "qcode: tuning to mcn-sst: about 5 min" in result.stderr
    assert "mcn-sst: tuned in" in result.stdout and "(2 codes)" in result.stdout
    assert "npt: already tuned" in result.stdout
    result = CliRunner().invoke(app, ["codebook", "tune"])
    assert isinstance(result.exception, InputError)


@pytest.mark.slow
def test_a_missing_model_is_trained_after_a_line_saying_how_long_with_its_steps_reported(
        tmp_path, monkeypatch, caplog):
    """Real training, tiny: 2 steps of 2 texts per code on npt (4 codes)."""
    from qcode import make_suggester

    monkeypatch.setenv("QCODE_TUNED_DIR", str(tmp_path))
    monkeypatch.setenv("QCODE_TUNE_ON_MISS", "train")
    tiny = TuningParams(steps=2, per_code=2)
    real = tuning.tune_for_codebook
    monkeypatch.setattr(tuning, "tune_for_codebook", lambda cb, params=None, **kw: real(cb, tiny, **kw))
    steps: list[tuple[int, int]] = []
    caplog.set_level(logging.WARNING, logger="qcode.embed.tuning")
    with tuning.tuning_progress(lambda done, total: steps.append((done, total))):
        s = make_suggester("npt")
        ident = s.identity()["model"]
    assert steps == [(0, 2), (1, 2), (2, 2)]
    lines = [r.getMessage() for r in caplog.records if r.name == "qcode.embed.tuning"]
    assert len(lines) == 1 and "tuning all-MiniLM-L6-v2 to codebook 'npt' once" in lines[0]
    assert "about" in lines[0] and "--no-tune" in lines[0]
    assert ident["tuned"].startswith("codebook-")
    info = tuning.read_provenance(next(tmp_path.iterdir()))
    assert info["texts_seen"] == 2 * 4 * 2 and info["seconds"] > 0
    caplog.clear()
    again = make_suggester("npt")
    assert again.identity()["model"]["tuned"] == ident["tuned"]
    assert not [r for r in caplog.records if r.name == "qcode.embed.tuning"]
