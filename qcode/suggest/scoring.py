"""The pure scoring of :class:`~qcode.suggest.Suggester`: prototypes, index, scores and ranking.

A code is represented by several embedded texts (its description, each criterion and
example, the passages coders accepted for it); a segment's score for a code mixes its
similarity to them with a lexical TF-IDF similarity and, where coders rejected passages,
counter-evidence. The measurements behind the weights are on the benchmarks page (docs/benchmarks.md).

Nothing here reads or writes files or loads a model: the embeddings come in as arrays
(or through an ``embed`` callable), so every function can be tested on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..codebook.model import Code, Codebook
from .abstain import NULL_FROM_REJECTIONS
from .lexical import TfidfModel

#: texts -> L2-normalised embeddings of shape (len(texts), dim)
Embed = Callable[[Sequence[str]], np.ndarray]


#: the least and (1 minus) the most a shown probability can be: a softmax that rounds to 0.0 or 1.0
#: would read as certainty, which an embedding model never has
_P_FLOOR = 1e-6


@dataclass(frozen=True)
class Suggestion:
    """One candidate code for one segment.

    ``score`` is the blended similarity (higher is better; roughly in [-1, 1]);
    ``rank`` starts at 1. ``parent_id``/``parent_name`` name the top-level code
    (for ``mcn-sst``, the SST domain) that the code rolls up to.
    """

    code_id: str
    code_name: str
    score: float
    rank: int
    parent_id: str | None = None
    parent_name: str | None = None
    #: softmax of the scores over the codes with the suggester's temperature; ``calibrated`` says whether
    #: that temperature was fitted on at least 30 of the coder's decisions (else the codebook default)
    probability: float | None = None
    calibrated: bool = False


@dataclass(frozen=True)
class RankingParams:
    """Weights of the multi-prototype score (see :mod:`qcode.suggest.scoring`)."""

    description_weight: float = 0.5
    evidence_weight: float = 0.5
    evidence_top_n: int = 2
    parent_weight: float = 0.0
    lexical_weight: float = 0.5
    counter_weight: float = 1.0
    min_labels: int = 8
    classifier_weight: float = 0.5
    learned_example_limit: int = 200

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Examples:
    """Passages coders decided on, per code: accepted (examples) and rejected (counter-examples), and
    passages given no code."""

    accepted: dict[str, list[str]] = field(default_factory=dict)
    rejected: dict[str, list[str]] = field(default_factory=dict)
    no_code: list[str] = field(default_factory=list)

    def add(self, text: str, code_id: str, accepted: bool) -> None:
        book = self.accepted if accepted else self.rejected
        bucket = book.setdefault(code_id, [])
        if text not in bucket:
            bucket.append(text)
        other = self.rejected if accepted else self.accepted
        if text in other.get(code_id, []):  # a change of mind: the latest verdict wins
            other[code_id].remove(text)

    def count(self) -> int:
        return sum(len(v) for v in self.accepted.values()) + sum(len(v) for v in self.rejected.values())

    def decisions(self) -> tuple[list[str], list[str], list[bool]]:
        """Every decision as (texts, code ids, accepted), in a fixed order."""
        rows = [(t, c, True) for c, ts in self.accepted.items() for t in ts]
        rows += [(t, c, False) for c, ts in self.rejected.items() for t in ts]
        rows.sort()
        return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]

    def no_code_passages(self) -> list[str]:
        """Passages said to fit no code: given "no code", or rejected for every code suggested
        (at least :data:`~.abstain.NULL_FROM_REJECTIONS` rejections, no accept)."""
        accepted = {t for ts in self.accepted.values() for t in ts}
        counts: dict[str, int] = {}
        for texts in self.rejected.values():
            for text in texts:
                counts[text] = counts.get(text, 0) + 1
        rejected_all = [t for t, n in counts.items() if n >= NULL_FROM_REJECTIONS and t not in accepted]
        return list(dict.fromkeys([*[t for t in self.no_code if t not in accepted], *sorted(rejected_all)]))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"accepted": self.accepted, "rejected": self.rejected}
        if self.no_code:
            out["no_code"] = self.no_code
        return out


def identity_of(embedder: Any) -> dict[str, Any]:
    """An embedder's identity (a property of :class:`~qcode.embed.Embedder`; a method on some stand-ins)."""
    ident = embedder.identity
    ident = ident() if callable(ident) else ident
    return ident if isinstance(ident, dict) else {}


def description_text(code: Code, parent: Code | None) -> str:
    """The text embedded as a code's description prototype."""
    head = f"{parent.name}: {code.name}" if parent is not None else code.name
    return f"{head}. {code.definition}" if code.definition else head


def evidence_texts(code: Code) -> list[str]:
    """Inclusion criteria and examples, each embedded on its own."""
    return [t for t in (*code.inclusion, *code.examples) if t.strip()]


def anchor_texts(codebook: Codebook, targets: list[Code]) -> tuple[list[str], list[int]]:
    """The codebook's own texts (each target's description, criteria and examples) and their columns:
    the labelled anchors of learning="few-shot" (:mod:`.fewshot`)."""
    texts: list[str] = []
    owners: list[int] = []
    for j, code in enumerate(targets):
        for text in [description_text(code, codebook.get(code.parent) if code.parent else None), *evidence_texts(code)]:
            texts.append(text)
            owners.append(j)
    return texts, owners


def root_text(codebook: Codebook, root: Code) -> str:
    """A top-level code described by its own definition and its children's names."""
    children = [c.name for c in codebook.children(root.id)]
    text = f"{root.name}. {root.definition}".strip()
    if children:
        text += " Includes: " + "; ".join(children) + "."
    return text


def build_index(codebook: Codebook, targets: list[Code], examples: Examples, params: RankingParams,
                embed: Embed) -> dict[str, Any]:
    """Every prototype text of the ``targets`` embedded once, with the code each belongs to."""
    parent_of = {c.id: (codebook.root_of(c.id) if c.parent is not None else None) for c in targets}
    desc_texts = [description_text(c, codebook.get(c.parent) if c.parent else None) for c in targets]
    roots = codebook.roots()
    root_texts = [root_text(codebook, r) for r in roots]
    evid_owner: list[int] = []
    evid_texts: list[str] = []
    for i, code in enumerate(targets):
        written = evidence_texts(code)
        learned = examples.accepted.get(code.id, [])[-params.learned_example_limit:]
        for text in [*written, *learned]:
            evid_owner.append(i)
            evid_texts.append(text)
    counter_owner: list[int] = []
    counter_texts: list[str] = []
    for i, code in enumerate(targets):
        for text in examples.rejected.get(code.id, [])[-params.learned_example_limit:]:
            counter_owner.append(i)
            counter_texts.append(text)
    vectors = embed(desc_texts + root_texts + evid_texts + counter_texts)
    n_d, n_r, n_e = len(desc_texts), len(root_texts), len(evid_texts)
    root_pos = {r.id: j for j, r in enumerate(roots)}
    return {
        "desc": vectors[:n_d],
        "roots": vectors[n_d:n_d + n_r],
        "root_of_target": np.array([root_pos[root.id] if (root := parent_of[c.id]) else -1 for c in targets],
                                   dtype=int),
        "evidence": vectors[n_d + n_r:n_d + n_r + n_e],
        "evidence_owner": np.array(evid_owner, dtype=int),
        "counter": vectors[n_d + n_r + n_e:],
        "counter_owner": np.array(counter_owner, dtype=int),
    }


def lexical_model(targets: list[Code], examples: Examples, params: RankingParams) -> tuple[TfidfModel, Any]:
    """TF-IDF over each target code's own text (name, definition, criteria, examples, learned examples)."""
    docs = []
    for code in targets:
        learned = examples.accepted.get(code.id, [])[-params.learned_example_limit:]
        docs.append(" ".join([code.name, code.definition, *code.inclusion, *code.examples, *learned]))
    model = TfidfModel().fit(docs)
    return model, model.transform(docs)


def top_n_mean(sims: np.ndarray, owner: np.ndarray, k: int, top_n: int) -> np.ndarray:
    """For each code, the mean of the ``top_n`` highest similarities among its prototypes."""
    out = np.full((sims.shape[0], k), -1.0, dtype=np.float32)
    for code in np.unique(owner):
        cols = sims[:, owner == code]
        m = min(top_n, cols.shape[1])
        best = -np.partition(-cols, m - 1, axis=1)[:, :m] if m < cols.shape[1] else cols
        out[:, code] = best.mean(axis=1)
    return out


def prototype_scores(X: np.ndarray, idx: dict[str, Any], params: RankingParams, k: int,
                     texts: Sequence[str] | None = None,
                     lexical: tuple[TfidfModel, Any] | None = None) -> np.ndarray:
    """The zero-shot part of the score: description, evidence, parent lift, counter-evidence, lexical."""
    p = params
    desc = X @ idx["desc"].T
    evidence = top_n_mean(X @ idx["evidence"].T, idx["evidence_owner"], k, p.evidence_top_n)
    has_evidence = np.bincount(idx["evidence_owner"], minlength=k) > 0
    mixed = np.where(has_evidence[None, :], p.description_weight * desc + p.evidence_weight * evidence, desc)
    if len(idx["roots"]) and (idx["root_of_target"] >= 0).any():
        root_sims = X @ idx["roots"].T
        lift = np.where(idx["root_of_target"] >= 0, root_sims[:, np.maximum(idx["root_of_target"], 0)], 0.0)
        mixed = mixed + p.parent_weight * lift
    if len(idx["counter"]):
        counter = top_n_mean(X @ idx["counter"].T, idx["counter_owner"], k, 1)
        best_evidence = np.where(has_evidence[None, :], evidence, desc)
        gap = np.clip(counter - best_evidence, 0.0, None)  # codes without counters score -1: no gap
        mixed = mixed - p.counter_weight * gap
    if texts is not None and p.lexical_weight and lexical is not None:
        model, code_matrix = lexical
        mixed = mixed + p.lexical_weight * model.similarity(texts, code_matrix)
    return np.asarray(mixed)


def codebook_scores(codebook: Codebook, targets: list[Code], params: RankingParams, embed: Embed, X: np.ndarray,
                    texts: Sequence[str] | None) -> np.ndarray:
    """Scores from the codebook alone, no decisions (the few-shot head's prior, :mod:`.fewshot`)."""
    index = build_index(codebook, targets, Examples(), params, embed)
    tfidf = lexical_model(targets, Examples(), params) if params.lexical_weight else None
    return prototype_scores(X, index, params, len(targets), texts, tfidf)


def rank_scores(scores: np.ndarray, probs: np.ndarray, targets: list[Code], codebook: Codebook, *,
                calibrated: bool, top_k: int | None = 3, threshold: float | None = None,
                multi_label: bool = False, min_probability: float | None = None,
                abstained: Sequence[bool] | np.ndarray | None = None) -> list[list[Suggestion]]:
    """Turn a score matrix (and its probabilities) into ranked :class:`Suggestion` lists.

    See :meth:`qcode.suggest.Suggester.rank` for the meaning of the options.
    """
    roots = {c.id: codebook.root_of(c.id) if c.parent is not None else None for c in targets}
    order = np.argsort(-scores, axis=1, kind="stable")
    out: list[list[Suggestion]] = []
    for i, (row, ranking) in enumerate(zip(scores, order)):
        picked: list[Suggestion] = []
        if abstained is not None and abstained[i]:
            out.append(picked)
            continue
        for j in ranking[: (top_k or len(targets))]:
            s = round(float(row[j]), 6)  # compare what is reported
            p = round(min(max(float(probs[i, j]), _P_FLOOR), 1 - _P_FLOOR), 6)  # never shown as certain
            if threshold is not None and s < threshold and (multi_label or picked):
                break
            if min_probability is not None and p < min_probability:
                break
            code = targets[j]
            root = roots[code.id]
            picked.append(Suggestion(code.id, code.name, s, len(picked) + 1,
                                     root.id if root else None, root.name if root else None, p, calibrated))
        out.append(picked)
    return out


__all__ = ["Embed", "Examples", "RankingParams", "Suggestion", "build_index", "description_text",
           "evidence_texts", "identity_of", "lexical_model", "prototype_scores", "rank_scores", "root_text",
           "top_n_mean"]
