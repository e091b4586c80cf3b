"""What discovery returns: candidate codes, each with its member passages, and the run's parameters."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Member:
    """One passage of a candidate, named as ``qcode suggest`` names segments (for a table, ``FILE#ID``)."""

    doc_id: str
    segment_id: str
    text: str


@dataclass(frozen=True)
class Candidate:
    """A proposed code: a cluster of passages the codebook explains poorly, with a draft label.

    ``definition`` is a draft built from the keywords and a quote (``draft`` is always true until a
    researcher edits it); ``examples`` are 3-5 quotes spread across documents, closest to the centre first.
    ``looks_like`` names an existing code the cluster duplicates (such clusters are notes, not candidates).
    """

    id: str
    label: str
    keywords: tuple[str, ...]
    definition: str
    size: int
    examples: tuple[str, ...]
    members: tuple[Member, ...]
    draft: bool = True
    looks_like: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["keywords"] = list(self.keywords)
        out["examples"] = list(self.examples)
        out["members"] = [asdict(m) for m in self.members]
        if self.looks_like is None:
            out.pop("looks_like")
        return out


@dataclass(frozen=True)
class DiscoverParams:
    """How candidates are formed (see :mod:`qcode.discovery.core`; defaults measured by ``bench/bench_discover.py``).

    ``method``: ``"kmeans"`` (the default), ``"agglomerative"`` (average linkage on cosine distance cut at
    ``distance_threshold``) or ``"hdbscan"``. ``n_clusters`` for k-means: by default the codebook's
    own granularity, its number of codes plus one, and without a codebook the k of best silhouette.
    ``residue_share``: the share of passages the codebook explains worst that are clustered; 1.0 (the
    default) clusters them all and leaves out what the codebook explains afterwards, cluster by cluster
    (``bench/bench_discover.py``: clustering a residue first lost more of a hidden code than it gained).
    ``duplicate_share``: a cluster whose members' best code is one existing code at least this often,
    and scored on it at least as high as that code's own best-explained passages, is noted as "looks like" it.
    """

    min_size: int = 5
    max_candidates: int = 20
    residue_share: float = 1.0
    method: str = "kmeans"
    n_clusters: int | None = None
    distance_threshold: float = 0.7
    duplicate_share: float = 0.6
    max_keywords: int = 8
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Discovery:
    """The result of a discovery run: candidates, notes on clusters that duplicate a code, and provenance."""

    candidates: list[Candidate]
    notes: list[Candidate] = field(default_factory=list)
    pool_size: int = 0
    passages: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"candidates": [c.to_dict() for c in self.candidates],
                "notes": [{"id": n.id, "label": n.label, "size": n.size, "looks_like": n.looks_like,
                           "note": f"this looks like {n.looks_like}"} for n in self.notes],
                "passages": self.passages, "pool_size": self.pool_size,
                "params": self.params, "provenance": self.provenance}
