"""Shared fixtures. Every test session gets its own embedding cache folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEMO = ROOT / "corpora" / "demo"

# Set before anything imports qcode.embed, so no test touches the user's real cache.
os.environ.setdefault("QCODE_CACHE_DIR", tempfile.mkdtemp(prefix="qcode-test-cache-"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def embedder():
    """The real default model (all-MiniLM-L6-v2), loaded once per session."""
    from qcode.embed import load_embedder

    return load_embedder()


@pytest.fixture(scope="session")
def mcn_suggester(embedder):
    from qcode import Suggester, load_codebook

    return Suggester(load_codebook("mcn-sst"), model=embedder)


@pytest.fixture(scope="session")
def shared_dir():
    if not SHARED.exists():
        pytest.skip(f"shared evaluation data not found at {SHARED}")
    return SHARED
