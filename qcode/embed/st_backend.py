"""The sentence-transformers backend: the reference implementation, loaded offline by path."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .base import Embedder, Progress, check_texts, l2_normalise, physical_cores
from .manifest import ModelSpec

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


def force_offline() -> None:
    """Make every Hugging Face library refuse network access (set before importing them)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class SentenceTransformerEmbedder(Embedder):
    """all-MiniLM-L6-v2 (or another manifest model) through sentence-transformers and torch.

    Nothing is imported or read until the first :meth:`encode`; then the weights are
    hashed against the manifest and the model is loaded from the installed package's
    folder by path, with the hub switched off.

    Parameters
    ----------
    spec : the manifest entry of the model.
    batch_size : texts per forward pass (sentence-transformers sorts by length itself).
    """

    backend = "sentence-transformers"

    def __init__(self, spec: ModelSpec, batch_size: int = 32):
        self.spec = spec
        self.batch_size = batch_size
        self._model: SentenceTransformer | None = None

    @property
    def identity(self) -> dict:
        return self.spec.identity(self.backend)

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self):
        """Verify the weights and load the model (once); returns the SentenceTransformer."""
        if self._model is None:
            folder = self.spec.verify()
            force_offline()
            import torch
            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.utils.logging.disable_progress_bar()
            transformers.utils.logging.set_verbosity_error()

            torch.set_num_threads(physical_cores())
            model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
            model.max_seq_length = self.spec.max_seq_length
            model.eval()
            self._model = model
        return self._model

    def encode(self, texts: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        items = check_texts(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self.load()
        chunk = max(self.batch_size * 32, 1024)  # ST length-sorts within each call: bigger calls pad less
        parts = []
        for start in range(0, len(items), chunk):
            block = items[start : start + chunk]
            vectors = model.encode(
                block,
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=self.spec.normalize,
                show_progress_bar=False,
            )
            parts.append(np.asarray(vectors, dtype=np.float32))
            if progress is not None:
                progress(len(block))
        out = np.concatenate(parts, axis=0)
        return l2_normalise(out) if self.spec.normalize else out
