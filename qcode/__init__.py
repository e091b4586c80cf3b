"""qcode: NLP-assisted qualitative coding.

ingest -> segment -> codebook -> embed -> suggest -> decisions -> agreement -> interchange

Heavy pieces (torch, spaCy, onnxruntime) load lazily, on first use, so that
``import qcode`` and ``qcode --help`` stay fast.

>>> import qcode
>>> cb = qcode.load_codebook("mcn-sst")
>>> cb.name
'mcn-sst'
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it (imported on first access)
_LAZY = {
    "Document": "qcode.document",
    "Segment": "qcode.document",
    "Turn": "qcode.document",
    "QcodeError": "qcode.errors",
    "Code": "qcode.codebook",
    "Codebook": "qcode.codebook",
    "load_codebook": "qcode.codebook",
    "read_corpus": "qcode.ingest",
    "read_document": "qcode.ingest",
    "segment": "qcode.segmentation",
    "segment_corpus": "qcode.segmentation",
    "Suggester": "qcode.suggest",
    "make_suggester": "qcode.suggest",
    "Suggestion": "qcode.suggest",
    "SuggestOptions": "qcode.suggest",
    "suggest_corpus": "qcode.suggest",
    "load_embedder": "qcode.embed",
    "open_project": "qcode.project",
    "init_project": "qcode.project",
    "read_qdc": "qcode.interchange.qdc",
    "write_qdc": "qcode.interchange.qdc",
    "import_qdpx": "qcode.project.bridge",
    "export_qdpx": "qcode.project.bridge",
}

#: subpackages reachable as attributes whatever was imported first
_SUBPACKAGES = ("agreement", "analysis", "suggest")

__all__ = [*sorted(_LAZY), *_SUBPACKAGES, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"qcode.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'qcode' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
