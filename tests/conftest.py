"""Shared fixtures. Every test session gets its own embedding cache folder.

Tiers: ``pytest -m "not slow"`` is the quick tier (logic, with :class:`FakeEmbedder`);
the full suite adds the slow tests. A test that asks for the real model (the
``embedder`` fixture, directly or through ``mcn_suggester``) is slow by definition and
marked so here; logic tests ask for ``fake_embedder`` or ``fake_suggester`` instead.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEMO = ROOT / "corpora" / "demo"


def _installed_tuned_dir() -> str:
    """Where scripts/install.sh built the shipped codebooks' tuned models (qcode's default folder)."""
    if os.environ.get("QCODE_TUNED_DIR"):
        return os.environ["QCODE_TUNED_DIR"]
    if os.environ.get("QCODE_CACHE_DIR"):
        return os.path.join(os.path.expanduser(os.environ["QCODE_CACHE_DIR"]), "tuned")
    if os.environ.get("XDG_CACHE_HOME"):
        return os.path.join(os.path.expanduser(os.environ["XDG_CACHE_HOME"]), "qcode", "tuned")
    from platformdirs import user_cache_dir

    return os.path.join(user_cache_dir("qcode", appauthor=False), "tuned")


# Codebook-tuned models take minutes to train; they are keyed by what made them and hash-checked on
# load, so the tests reuse the ones the installer built. A model missing there is never trained
# behind a test's back: the base model is used (QCODE_TUNE_ON_MISS=base); tests of the tuning
# itself train tiny models (a few steps) in their own folders.
os.environ.setdefault("QCODE_TUNED_DIR", _installed_tuned_dir())
os.environ.setdefault("QCODE_TUNE_ON_MISS", "base")
# Set before anything imports qcode.embed, so no test touches the user's real embedding cache.
os.environ.setdefault("QCODE_CACHE_DIR", tempfile.mkdtemp(prefix="qcode-test-cache-"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


# pg_server / pg_url: a real PostgreSQL server for the team-project tests (tests/postgres_support.py)
pytest_plugins = ["postgres_support"]

#: Fixtures that hand out the real model (here and in the model's own test files).
REAL_MODEL_FIXTURES = {"embedder", "onnx_embedder", "st_embedder", "real_inner"}
#: Doctests whose examples load or run the real model (matched in the example source).
_MODEL_DOCTEST_CALLS = ("load_embedder(", "make_suggester(", "suggest_corpus(", "qcode.suggest(")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from _pytest.doctest import DoctestItem

    slow = pytest.mark.slow
    for item in items:
        if REAL_MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(slow)
        elif isinstance(item, DoctestItem) and item.dtest is not None:
            source = "".join(example.source for example in item.dtest.examples)
            if any(call in source for call in _MODEL_DOCTEST_CALLS):
                item.add_marker(slow)


@pytest.fixture
def fake_embedder():
    """A deterministic model-free embedder (hashed character n-grams, 64 dims); counts its calls."""
    from qcode.embed.fake import FakeEmbedder

    return FakeEmbedder()


@pytest.fixture
def fake_suggester(fake_embedder):
    """The mcn-sst codebook ranked with :func:`fake_embedder`: for tests of ranking logic, not quality."""
    from qcode import load_codebook, make_suggester

    return make_suggester(load_codebook("mcn-sst"), model=fake_embedder)


@pytest.fixture(scope="session")
def embedder():
    """The real default model (all-MiniLM-L6-v2), loaded once per session; tests using it are slow."""
    from qcode.embed import load_embedder

    return load_embedder()


@pytest.fixture(scope="session")
def mcn_suggester(embedder):
    from qcode import load_codebook, make_suggester

    return make_suggester(load_codebook("mcn-sst"), model=embedder)


@pytest.fixture(scope="session")
def shared_dir():
    if not SHARED.exists():
        pytest.skip(f"shared evaluation data not found at {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def readme_run(tmp_path_factory):
    """The README's code blocks run once per session (real model), in a folder the tests that read it share.

    Returns the folder and the finished process: tests/test_docs.py checks the run and
    tests/test_docs_rerun.py runs the tour a second time in the same folder.
    """
    from test_docs import run_page

    folder = tmp_path_factory.mktemp("readme")
    return folder, run_page(ROOT / "README.md", folder)
