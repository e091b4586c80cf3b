"""qcode: NLP-assisted qualitative coding.

ingest -> segment -> codebook -> embed -> suggest -> decisions -> agreement -> findings -> interchange;
discover proposes new codes from what the codebook does not explain

The public names below are imported here, in plain sight of the import linter. Heavy
pieces (torch, spaCy, onnxruntime, pandas) load on first use, inside the functions that
need them, so that ``import qcode`` and ``qcode --help`` stay fast. Subpackages with more
(``qcode.agreement``, ``qcode.analysis``) are imported by name.

>>> import qcode
>>> cb = qcode.load_codebook("mcn-sst")
>>> cb.name
'mcn-sst'
"""

from __future__ import annotations

from . import suggest
from .codebook import Code, Codebook, load_codebook
from .discovery.sources import discover
from .document import Document, Segment, Turn
from .embed import load_embedder
from .errors import QcodeError
from .ingest import read_corpus, read_document
from .interchange.qdc import read_qdc, write_qdc
from .project import init_project, open_project
from .project.bridge import export_qdpx, import_qdpx
from .segmentation import segment, segment_corpus
from .suggest import Suggester, Suggestion, SuggestOptions, make_suggester, suggest_corpus
from .version import __version__

__all__ = [
    "Code", "Codebook", "Document", "QcodeError", "Segment", "SuggestOptions", "Suggester", "Suggestion",
    "Turn", "__version__", "discover", "export_qdpx", "import_qdpx", "init_project", "load_codebook", "load_embedder",
    "make_suggester", "open_project", "read_corpus", "read_document", "read_qdc", "segment",
    "segment_corpus", "suggest", "suggest_corpus", "write_qdc",
]
