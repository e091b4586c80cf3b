"""Indicative quotes: for each code, a few of its coded passages to write from.

For each code the passages coded with it are embedded (qcode's embedder and its
on-disk cache) and picked one at a time by **maximal marginal relevance** with
two more rules:

- relevance is the cosine similarity to the centre (mean vector) of all the
  code's passages, times a readability weight that is 1 for passages of
  :data:`READABLE_WORDS` words and falls off for shorter and longer ones;
- a candidate scores ``diversity_weight``-weighted less the closer it is to a
  passage already picked (the MMR term);
- no second quote comes from one case while another case that has the code has
  none yet (passages of no case are their document's).

``bench/bench_quotes.py`` measures the picks against random ones on the shared sets.

>>> import numpy as np
>>> vectors = np.array([[1, 0], [0.9, 0.1], [0.95, 0.05], [0, 1]], dtype=float)
>>> pick(vectors, ["a", "a", "b", "c"], [20, 20, 20, 20], 2)   # row 0 waits: case "a" already has row 1
[1, 2]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import AnalysisError
from .matrix import code_name, rollup_map
from .passages import attributes, coded_passages, load_cases
from .selection import ADJUDICATOR, PASSAGE, as_project, select_codings

if TYPE_CHECKING:
    from ..document import Document
    from ..embed import Embedder
    from ..project import Project

#: passages of this many words read best as quotes (shorter lack context, longer lose the reader)
READABLE_WORDS = (12, 60)
DIVERSITY_WEIGHT = 0.3


def readability(words: Sequence[int] | np.ndarray) -> np.ndarray:
    """1 inside :data:`READABLE_WORDS`, falling off in proportion outside it.

    >>> readability([6, 30, 120]).tolist()
    [0.5, 1.0, 0.5]
    """
    w = np.maximum(np.asarray(words, dtype=float), 1.0)
    low, high = READABLE_WORDS
    return np.where(w < low, w / low, np.where(w > high, high / w, 1.0))


def pick(vectors: np.ndarray, cases: Sequence[Any], words: Sequence[int], n: int,
         diversity_weight: float = DIVERSITY_WEIGHT) -> list[int]:
    """Indices of up to ``n`` rows of ``vectors`` picked as quotes, best first (pure; see the module docstring)."""
    count = len(vectors)
    if count == 0 or n <= 0:
        return []
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    centre = unit.mean(axis=0)
    centre = centre / max(float(np.linalg.norm(centre)), 1e-12)
    relevance = (unit @ centre) * readability(words)
    similarity = unit @ unit.T
    chosen: list[int] = []
    closest = np.full(count, -np.inf)
    case_of = list(cases)
    for _ in range(min(n, count)):
        used = {case_of[i] for i in chosen}
        fresh = np.array([case_of[i] not in used for i in range(count)])
        allowed = fresh if fresh.any() else np.ones(count, dtype=bool)
        allowed[chosen] = False
        if not allowed.any():
            break
        penalty = np.where(np.isfinite(closest), closest, 0.0)
        score = (1 - diversity_weight) * relevance - diversity_weight * penalty
        score = np.where(allowed, score, -np.inf)
        best = int(np.argmax(score))
        chosen.append(best)
        closest = np.maximum(closest, similarity[best])
    return chosen


def _turn_index(doc: Document, start: int) -> int | None:
    index = None
    for i, turn in enumerate(doc.turns):
        if turn.start <= start:
            index = i
        else:
            break
    return index


def question_before(doc: Document, start: int, end: int) -> str | None:
    """The interviewer's question before the passage at ``start``:``end`` of ``doc`` (see :mod:`qcode.suggest.context`)."""
    from ..document import Segment
    from ..suggest.context import preceding_question

    index = _turn_index(doc, start)
    if index is None:
        return None
    turn = doc.turns[index]
    seg = Segment("", doc.id, start, end, doc.text[start:end], "span", turn.speaker, turn.role, index)
    return preceding_question(doc, seg)


def _passage_table(passages: pd.DataFrame, codebook: Any, codes: Sequence[str] | None) -> pd.DataFrame:
    """One row per (code the quotes are for, passage): a named domain gathers its themes' passages."""
    if passages.empty:
        return passages.assign(for_code=pd.Series(dtype=object))
    if codes:
        pairs = rollup_map(codebook, passages["code_id"].unique().tolist())
        pairs = pairs[pairs["row_id"].isin(list(codes))]
        table = passages.merge(pairs.rename(columns={"row_id": "for_code"}), on="code_id")
    else:
        table = passages.assign(for_code=passages["code_id"])
    return table.drop_duplicates(["for_code", *PASSAGE])


def quotes(project: Project | str | Path, codes: Sequence[str] | None = None, per_code: int = 3,
           coders: Sequence[str] | None = None, cases: pd.DataFrame | None = None,
           embedder: Embedder | None = None, diversity_weight: float = DIVERSITY_WEIGHT,
           adjudicator: str = ADJUDICATOR) -> pd.DataFrame:
    """Up to ``per_code`` indicative quotes for each code (every code with codings unless ``codes`` names some).

    Columns: ``code_id, code_name, rank, text, document, speaker``, the case's
    attributes, ``start, end, question`` (the interviewer's question before the
    passage). ``embedder`` defaults to qcode's (``load_embedder()``, cached);
    ``frame.attrs`` names the codings counted and the model.

    >>> import tempfile
    >>> from qcode.embed.fake import FakeEmbedder
    >>> from qcode.project.sample import build_sample_project
    >>> project = build_sample_project(tempfile.mkdtemp() + "/study")
    >>> for seg in project.segments().segment_id.iloc[[1, 3]]:
    ...     _ = project.decide("ann", seg, "funding", "accept")
    >>> quotes(project, per_code=1, embedder=FakeEmbedder())[["code_id", "rank", "question"]].values.tolist()
    [['funding', 1, 'How is the service paid for?']]
    """
    project = as_project(project)
    if per_code < 1:
        raise AnalysisError(f"--per-code {per_code}: give 1 or more")
    codebook = project.codebook_or_none()
    for code in codes or []:
        if codebook is not None and code not in codebook:
            found = codebook.find(code)
            hint = f" (did you mean {found.id!r}?)" if found is not None else ""
            raise AnalysisError(f"codebook {codebook.name!r} has no code {code!r}{hint}")
    if cases is None:
        cases = load_cases(project)
    counted = select_codings(project, coders, adjudicator)
    passages = coded_passages(project, counted, cases)
    if embedder is None:
        from ..embed import load_embedder

        embedder = load_embedder()
    out = quotes_from_passages(project, passages, attributes(cases), codes, per_code, embedder, diversity_weight)
    out.attrs.update({"codings": counted.label})
    return out


def quotes_from_passages(project: Project, passages: pd.DataFrame, attrs: Sequence[str],
                         codes: Sequence[str] | None, per_code: int, embedder: Embedder,
                         diversity_weight: float = DIVERSITY_WEIGHT) -> pd.DataFrame:
    """The quotes of :func:`quotes` from already counted passages (:func:`qcode.analysis.coded_passages`)."""
    codebook = project.codebook_or_none()
    table = _passage_table(passages, codebook, codes)
    columns = ["code_id", "code_name", "rank", "text", "document", "speaker", *attrs, "start", "end", "question"]
    rows: list[dict[str, Any]] = []
    if len(table):
        texts = table["text"].astype(str).tolist()
        unique = list(dict.fromkeys(texts))
        vectors = embedder.encode(unique)
        where = {t: i for i, t in enumerate(unique)}
        table = table.assign(_vec=[where[t] for t in texts])
        docs: dict[tuple[str, int], Document] = {}
        order = list(codes) if codes else _applied_order(codebook, table["for_code"])
        for code, group in table.groupby("for_code", sort=False):
            if code not in order:
                continue
            case_key = [c if isinstance(c, str) else f"document:{d}" for c, d in zip(group["case"], group["doc_id"])]
            words = [len(str(t).split()) for t in group["text"]]
            chosen = pick(vectors[group["_vec"].to_numpy()], case_key, words, per_code, diversity_weight)
            for rank, i in enumerate(chosen, start=1):
                row = group.iloc[i]
                key = (str(row["doc_id"]), int(row["doc_version"]))
                if key not in docs:
                    docs[key] = project.document(*key)
                rows.append({"code_id": code, "code_name": code_name(codebook, str(code)), "rank": rank,
                             "text": row["text"], "document": row["doc_id"], "speaker": row["speaker"],
                             **{a: row[a] for a in attrs}, "start": int(row["start"]), "end": int(row["end"]),
                             "question": question_before(docs[key], int(row["start"]), int(row["end"])),
                             "_order": order.index(code)})
    out = pd.DataFrame(rows, columns=[*columns, "_order"])
    out = out.sort_values(["_order", "rank"], kind="stable").drop(columns="_order").reset_index(drop=True)
    out["rank"] = out["rank"].astype("int64")
    out.attrs.update({"model": dict(embedder.identity), "per_code": per_code, "diversity_weight": diversity_weight})
    return out


def _applied_order(codebook: Any, codes: pd.Series) -> list[str]:
    from .matrix import code_order

    present = set(codes)
    return [c for c in code_order(codebook, sorted(present)) if c in present]


__all__ = ["DIVERSITY_WEIGHT", "READABLE_WORDS", "pick", "question_before", "quotes", "quotes_from_passages",
           "readability"]
