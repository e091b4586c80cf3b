"""On-disk cache of a document's segments, so that a warm re-run does not segment again.

Segmenting a long turn into windows needs spaCy's sentence splitter, whose import
and model take about a second, and splitting the 100-interview study takes
another second and a half: most of a warm ``qcode suggest``, whose embeddings all
come from the embedding cache. One small JSON file per (document, unit, window)
lives in ``segments/`` under qcode's cache folder, named by the sha256 of what
decides the segments: the document's text and turns, the unit, the window size,
qcode's and spaCy's versions. A file that is missing, unreadable or does not
match its document is ignored and written again; deleting the folder is always
safe. ``QCODE_SEGMENT_CACHE=0`` turns the cache off.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..document import Document, Segment, segment_id

FORMAT = 1


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    from ..version import __version__

    try:
        spacy = version("spacy")
    except PackageNotFoundError:
        spacy = "none"
    return {"qcode": __version__, "spacy": spacy}


class SegmentCache:
    """Segments of documents by content key; ``get_or_make(doc, unit, max_tokens, make)``."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._versions = _versions()
        self.hits = 0
        self.misses = 0

    @classmethod
    def default(cls) -> SegmentCache | None:
        """The cache in qcode's cache folder, or ``None`` when ``QCODE_SEGMENT_CACHE=0``."""
        if os.environ.get("QCODE_SEGMENT_CACHE", "1").strip() == "0":
            return None
        from .._io import user_cache_dir

        return cls(user_cache_dir() / "segments")

    def key(self, doc: Document, unit: str, max_tokens: int) -> str:
        turns = [[t.start, t.end, t.speaker, t.role, t.timestamp, t.end_timestamp] for t in doc.turns]
        payload = json.dumps({"format": FORMAT, **self._versions, "doc": doc.id, "unit": unit,
                              "max_tokens": max_tokens, "turns": turns,
                              "text": hashlib.sha256(doc.text.encode("utf-8", "surrogatepass")).hexdigest()},
                             sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]

    def get_or_make(self, doc: Document, unit: str, max_tokens: int,
                    make: Callable[[], list[Segment]]) -> list[Segment]:
        path = self.folder / f"{self.key(doc, unit, max_tokens)}.json"
        cached = self._read(path, doc)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        segments = make()
        self._write(path, segments)
        return segments

    @staticmethod
    def _read(path: Path, doc: Document) -> list[Segment] | None:
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
            out = []
            for sid, start, end, unit, speaker, role, turn_index, timestamp in rows:
                if not (0 <= start <= end <= len(doc.text)) or segment_id(doc.id, unit, start, end) != sid:
                    return None
                out.append(Segment(sid, doc.id, start, end, doc.text[start:end], unit, speaker, role,
                                   turn_index, timestamp))
            return out
        except (OSError, ValueError, TypeError):
            return None

    def _write(self, path: Path, segments: list[Segment]) -> None:
        from .._io import atomic_write_text

        rows: list[list[Any]] = [[s.id, s.start, s.end, s.unit, s.speaker, s.role, s.turn_index, s.timestamp]
                                 for s in segments]
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, json.dumps(rows, separators=(",", ":")))
        except OSError:  # a read-only or full cache folder: segmenting again next time is the only cost
            pass


__all__ = ["SegmentCache"]
