"""Discovery from a folder of transcripts, a table or a project: gathers the passages, embeds them,
scores them against the codebook and runs :func:`~qcode.discovery.core.discover_candidates`.

The residue (``from_="residue"``) is what the codebook explains poorly: the ``residue_share`` of
passages with the lowest best-code score, plus in a project every passage a coder rejected a code for
and accepted none; passages a coder accepted a code for are explained and left out. Interviewer turns
and housekeeping talk the suggester abstains on are never clustered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..codebook.io import load_codebook
from ..codebook.model import Codebook
from ..errors import InputError
from .core import DiscoverError, discover_candidates, residue_mask
from .labels import capitalised_names
from .model import DiscoverParams, Discovery

FROM_CHOICES = ("residue", "all")


def _passages_from_source(source: str | Path, id_column: str | None, text_column: str | None,
                          unit: str) -> tuple[list[str], list[str], list[str], set[str]]:
    from ..ingest import read_corpus
    from ..segmentation import segment_corpus

    corpus = read_corpus(source, id_column=id_column, text_column=text_column)
    docs = list(corpus)
    texts, doc_ids, seg_ids, speakers = [], [], [], set()
    for seg in segment_corpus(docs, unit=unit):
        if seg.is_interviewer or not seg.text.strip():
            continue
        texts.append(seg.text)
        doc_ids.append(seg.doc_id)
        seg_ids.append(seg.id)
        if seg.speaker:
            speakers.add(seg.speaker)
    return texts, doc_ids, seg_ids, speakers


def _passages_from_project(project: Any) -> tuple[list[str], list[str], list[str], set[str], np.ndarray, np.ndarray]:
    segs = project.segments()
    segs = segs[(segs["role"] != "interviewer") & (segs["text"].str.strip() != "")]
    labels = project.labels()
    accepted = set(labels.loc[labels["accepted"], "segment_id"]) if len(labels) else set()
    rejected = set(labels.loc[~labels["accepted"], "segment_id"]) if len(labels) else set()
    ids = segs["segment_id"].tolist()
    explained = np.array([s in accepted for s in ids], dtype=bool)
    refused = np.array([s in rejected and s not in accepted for s in ids], dtype=bool)
    speakers = {s for s in segs["speaker"].dropna().tolist() if s}
    return (segs["text"].tolist(), segs["doc_id"].tolist(), ids, speakers, explained, refused)


def discover(source: str | Path | None = None, *, codebook: Codebook | str | Path | None = None,
             project: Any = None, from_: str = "residue", min_size: int = 5, max_candidates: int = 20,
             id_column: str | None = None, text_column: str | None = None, unit: str = "turn",
             model: Any = None, params: DiscoverParams | None = None) -> Discovery:
    """Candidate codes in ``source`` (a folder, a file or a table) or in ``project`` (a Project).

    With a codebook (given, or the project's), only the residue is clustered (``from_="residue"``) and
    clusters that duplicate a code become notes; without one, every passage is (a first codebook).
    Raises :class:`DiscoverError` when there are too few passages or nothing to propose.
    """
    from ..embed import load_embedder
    from ..suggest import Suggester

    if from_ not in FROM_CHOICES:
        raise DiscoverError(f"--from must be one of {', '.join(FROM_CHOICES)}, not {from_!r}")
    base = params or DiscoverParams()
    p = DiscoverParams(**{**base.to_dict(), "min_size": min_size, "max_candidates": max_candidates})
    explained = refused = None
    if project is not None:
        texts, doc_ids, seg_ids, speakers, explained, refused = _passages_from_project(project)
        if codebook is None:
            codebook = project.codebook_or_none()
        where = str(project.path)
    elif source is not None:
        texts, doc_ids, seg_ids, speakers = _passages_from_source(source, id_column, text_column, unit)
        where = str(source)
    else:
        raise InputError("give a source (folder, file or table) or a project")
    if len(texts) < p.min_size:
        raise DiscoverError(f"{where}: {len(texts)} passages, fewer than --min-size {p.min_size}")
    cb = load_codebook(codebook) if codebook is not None and not isinstance(codebook, Codebook) else codebook
    embedder = model or load_embedder()
    X = embedder.encode(texts)
    scores = pool = None
    code_ids: list[str] = []
    if cb is not None:
        suggester = Suggester(cb, embedder, context=False)
        scores, abstained = suggester.score_details(texts)
        code_ids = [c.id for c in suggester.target_codes]
        keep = ~np.asarray(abstained, dtype=bool)
        if from_ == "residue":
            pool = residue_mask(scores, p.residue_share, rejected=refused, explained=explained) & keep
            if not pool.any():
                raise DiscoverError(f"{where}: nothing to propose: codebook {cb.name!r} explains every passage")
        else:
            pool = keep
    elif explained is not None and from_ == "residue":
        pool = ~explained
    names = capitalised_names(texts, speakers)

    def encode(terms: list[str]) -> np.ndarray:
        return np.asarray(embedder.encode(terms))

    out = discover_candidates(texts, X, doc_ids=doc_ids, segment_ids=seg_ids, pool=pool, scores=scores,
                              code_ids=code_ids, names=names, params=p, encode=encode)
    if not out.candidates:
        noted = f" ({len(out.notes)} clusters look like existing codes)" if out.notes else ""
        raise DiscoverError(f"{where}: nothing to propose{noted}: no group of at least {p.min_size} passages "
                            "that the codebook does not already explain")
    ident = embedder.identity
    out.provenance = {"source": where, "from": from_ if cb is not None else "all",
                      "model": ident() if callable(ident) else ident,
                      "codebook": cb.name if cb is not None else None,
                      "codebook_version": cb.version if cb is not None else None}
    return out


def discover_to_file(source: str | Path | None, out: str | Path, *, codebook: str | None = None,
                     project: str | Path | None = None, seed: int = 0, **options: Any) -> Discovery:
    """What ``qcode discover`` does: open the project if one is named, discover, write ``out``."""
    suffix = Path(out).suffix.lower()
    if suffix not in (".json", ".yaml", ".yml"):
        raise InputError(f"{out}: --out must end in .json, .yaml or .yml")
    if project is None and source is None:
        raise InputError("give a SOURCE (folder, file or table) or --project")
    params = DiscoverParams(seed=seed)
    if project is not None:
        from ..project import open_project

        with open_project(project) as proj:
            result = discover(source, codebook=codebook, project=proj, params=params, **options)
    else:
        result = discover(source, codebook=codebook, params=params, **options)
    write_candidates(result, out)
    return result


def write_candidates(discovery: Discovery, path: str | Path) -> Path:
    """Write a discovery as ``.json`` or ``.yaml`` (atomically); the format follows the suffix."""
    from .._io import atomic_write_text

    path = Path(path)
    data = discovery.to_dict()
    if path.suffix.lower() == ".json":
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    elif path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    else:
        raise InputError(f"{path}: --out must end in .json, .yaml or .yml")
    atomic_write_text(path, text)
    return path


def read_candidates(path: str | Path) -> list[dict[str, Any]]:
    """The candidates of a file written by :func:`write_candidates` (possibly edited by a researcher)."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read candidates ({exc.strerror or exc})") from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(raw)
        else:
            import yaml

            data = yaml.safe_load(raw)
    except Exception as exc:
        raise InputError(f"{path}: not a candidates file ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
    cands = data.get("candidates") if isinstance(data, dict) else data
    if not isinstance(cands, list) or not all(isinstance(c, dict) and c.get("id") for c in cands):
        raise InputError(f"{path}: no 'candidates' list with an 'id' for each (write it with `qcode discover`)")
    return cands
