"""Sentence embeddings for qcode: one small interface, several backends, an on-disk cache.

>>> from qcode.embed import load_embedder
>>> emb = load_embedder()                 # all-MiniLM-L6-v2, fastest backend, cached
>>> emb.identity["name"], emb.dim         # known without loading the model
('all-MiniLM-L6-v2', 384)
>>> vectors = emb.encode(["We never knew who to call at night."])
>>> vectors.shape, vectors.dtype
((1, 384), dtype('float32'))

Backends (``backend=``):

* ``"onnx"``: ONNX Runtime + ``tokenizers``, fp32, no torch at run time; the
  ``.onnx`` graph is built once from the packaged weights and kept in the user
  cache folder. Same vectors as sentence-transformers (cosine >= 0.9999).
* ``"sentence-transformers"``: the reference, through torch.
* ``"onnx-int8"``: dynamic uint8 quantisation of the ONNX graph; faster, slightly
  different vectors (its measured quality is on the benchmarks page of the docs). Opt-in.
* ``"auto"``: the fastest fp32 backend measured on this project (``"onnx"``),
  falling back to sentence-transformers when onnxruntime or tokenizers is absent.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..errors import ModelError
from .base import Embedder, l2_normalise, physical_cores
from .cache import CachedEmbedder, EmbeddingCache
from .manifest import DEFAULT_MODEL, ModelSpec, get_model_spec, load_manifest

BACKENDS = ("auto", "onnx", "sentence-transformers", "onnx-int8")
_ALIASES = {"st": "sentence-transformers", "torch": "sentence-transformers", "int8": "onnx-int8", "ort": "onnx"}

__all__ = [
    "BACKENDS",
    "DEFAULT_MODEL",
    "CachedEmbedder",
    "Embedder",
    "EmbeddingCache",
    "ModelSpec",
    "get_model_spec",
    "l2_normalise",
    "load_embedder",
    "load_manifest",
    "physical_cores",
    "resolve_backend",
]


def resolve_backend(backend: str = "auto") -> str:
    """The concrete backend ``backend`` stands for (``"auto"`` picks without importing anything)."""
    wanted = _ALIASES.get(backend.strip().lower(), backend.strip().lower())
    if wanted not in BACKENDS:
        raise ModelError(f"unknown embedding backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
    if wanted == "auto":
        has_onnx = all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "tokenizers"))
        return "onnx" if has_onnx else "sentence-transformers"
    return wanted


def load_embedder(
    model: str = DEFAULT_MODEL,
    backend: str = "auto",
    cache: bool | str | Path | EmbeddingCache = True,
) -> Embedder:
    """An :class:`Embedder` for a manifest model; nothing heavy is loaded until it is needed.

    Parameters
    ----------
    model : a name (or alias) from ``models/manifest.json``; default all-MiniLM-L6-v2.
    backend : ``"auto"``, ``"onnx"``, ``"sentence-transformers"`` or ``"onnx-int8"``.
    cache : ``True`` for the on-disk cache in the user cache folder
        (``$QCODE_CACHE_DIR``, else ``$XDG_CACHE_HOME/qcode``), a path to a cache
        file, an :class:`EmbeddingCache`, or ``False`` for none. With a cache, texts
        already embedded by the same model identity are read back and the model is
        loaded only on a miss.

    Raises
    ------
    ModelError : unknown model or backend (the weights themselves are checked at load).

    >>> emb = load_embedder(backend="sentence-transformers", cache=False)
    >>> emb.identity["backend"]
    'sentence-transformers'
    """
    spec = get_model_spec(model)
    chosen = resolve_backend(backend)
    if chosen == "sentence-transformers":
        from .st_backend import SentenceTransformerEmbedder

        inner: Embedder = SentenceTransformerEmbedder(spec)
    else:
        from .onnx_backend import OnnxEmbedder

        inner = OnnxEmbedder(spec, quantized=(chosen == "onnx-int8"))
    if cache is False or cache is None:
        return inner
    if cache is True:
        store = EmbeddingCache.default()
    elif isinstance(cache, EmbeddingCache):
        store = cache
    else:
        store = EmbeddingCache(cache)
    return CachedEmbedder(inner, store)
