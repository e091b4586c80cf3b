"""Discovering candidate codes in what a codebook does not explain (issue 20).

:mod:`.core` is pure over texts, embeddings and codebook scores; :mod:`.sources` gathers the passages
from a folder, a table or a project and runs it (:func:`discover`).
"""

from __future__ import annotations

from .core import DiscoverError, discover_candidates, residue_mask
from .model import Candidate, DiscoverParams, Discovery, Member

__all__ = ["Candidate", "DiscoverError", "DiscoverParams", "Discovery", "Member", "discover_candidates",
           "residue_mask"]
