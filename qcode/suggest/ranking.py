"""Suggest codes for segments by sentence-embedding similarity to a codebook.

The ranking is a *multi-prototype* nearest-code score. Each codable code is
represented by several embedded texts rather than one:

* a **description** prototype: the code's name and definition (with its
  parent's name, so that "Funding" under "Infrastructure" reads in context);
* **evidence** prototypes: each inclusion criterion and each example passage
  on its own, plus every segment a coder has accepted for the code.

A segment's score for a code is a weighted mix of its similarity to the
description and the mean of its ``evidence_top_n`` best evidence
similarities, optionally plus a share of its similarity to the parent
(``parent_weight``: a segment that is clearly about *Technology* lifts every
Technology theme; off by default, because on the shared sets it blurred the
choice between sibling themes more than it helped pick the domain), plus a share of a lexical TF-IDF similarity to the code's own words (fitted
on the codebook alone, so a segment's scores never depend on what else is in
the batch). Dense and sparse evidence fail differently: on the shared sets the
hybrid beat either alone (``bench/bench_quality.py``).
Passages that coders *rejected* for a code act as counter-evidence: when a
segment is closer to a rejected passage than to the code's evidence, the
score drops by the gap.

Once a code has enough decisions (``min_labels`` accepted and rejected), a
logistic regression on the embeddings is fitted per code and blended in with
weight ``classifier_weight``: measured on the shared evaluation sets by
``bench/bench_learning.py``.

Measured defaults (issue 12; ``bench/bench_quality.py``): the packaged model
tuned once on the codebook's own texts (``tuned="auto"``: where most codes
have at least three texts), the interviewer's question mixed into a
participant's turn with weight 0.5 (``context``), and "no code" for
housekeeping talk (``abstain``). With ``learning="fine-tune"`` the model
itself is fine-tuned on the decisions (:mod:`.finetune`) under the head.
Every suggestion carries a ``probability``, calibrated on the coder's own
decisions once there are 30 (:mod:`.calibration`).

Example
-------
>>> from qcode import Suggester, load_codebook
>>> s = Suggester(load_codebook("mcn-sst"))
>>> [x.code_id for x in s.suggest(["We never know if the money will be there next year."])[0]][:1]
['infrastructure.funding']
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..codebook.model import Code, Codebook
from ..document import Segment
from ..errors import QcodeError
from . import abstain as _abstain
from . import calibration as _calibration
from . import context as _context

#: How :meth:`Suggester.learn` may use decisions ("auto": "few-shot", see :meth:`Suggester.learning_for`).
LEARNING_KINDS = ("auto", "blend", "fine-tune", "few-shot")
#: Decisions from which learning="fine-tune" is worth its minutes: it was behind or level with the few-shot
#: head up to 100 decisions on SERDIF and the mcn-sst sets, ahead at 200 (``bench/bench_learning.py``); "auto"
#: does not fine-tune (a full model copy per version and a minute or more per training), a user may.
FINE_TUNE_FROM = 200


def _edge(module: str) -> Any:
    """A module at the edge (codebook files, model loading, atomic writes), imported when a convenience needs it.

    The ranking itself depends on no I/O module; only ``Suggester("name")``, a model
    given by name and :meth:`Suggester.save_state` reach out, at call time.
    """
    return importlib.import_module(module)


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
    """Weights of the multi-prototype score (see the module docstring)."""

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


def _identity_of(embedder: Any) -> dict[str, Any]:
    """An embedder's identity (a property of :class:`~qcode.embed.Embedder`; a method on some stand-ins)."""
    ident = embedder.identity
    ident = ident() if callable(ident) else ident
    return ident if isinstance(ident, dict) else {}


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def description_text(code: Code, parent: Code | None) -> str:
    """The text embedded as a code's description prototype."""
    head = f"{parent.name}: {code.name}" if parent is not None else code.name
    return f"{head}. {code.definition}" if code.definition else head


def evidence_texts(code: Code) -> list[str]:
    """Inclusion criteria and examples, each embedded on its own."""
    return [t for t in (*code.inclusion, *code.examples) if t.strip()]


@dataclass
class _Learned:
    """Decisions learned so far: texts per code, accepted and rejected, and passages given no code."""

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

    def no_code_passages(self) -> list[str]:
        """Passages said to fit no code: given "no code", or rejected for every code suggested
        (at least :data:`~.abstain.NULL_FROM_REJECTIONS` rejections, no accept)."""
        accepted = {t for ts in self.accepted.values() for t in ts}
        counts: dict[str, int] = {}
        for texts in self.rejected.values():
            for text in texts:
                counts[text] = counts.get(text, 0) + 1
        rejected_all = [t for t, n in counts.items() if n >= _abstain.NULL_FROM_REJECTIONS and t not in accepted]
        return list(dict.fromkeys([*[t for t in self.no_code if t not in accepted], *sorted(rejected_all)]))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"accepted": self.accepted, "rejected": self.rejected}
        if self.no_code:
            out["no_code"] = self.no_code
        return out


class Suggester:
    """Rank a codebook's codes for texts or segments.

    Parameters
    ----------
    codebook : Codebook or str
        A :class:`~qcode.codebook.Codebook`, a shipped codebook name or a path.
    model : Embedder, str or None
        An embedder from :func:`qcode.embed.load_embedder`, a model name, or
        ``None`` for the default (all-MiniLM-L6-v2, loaded offline).
    codes : "leaves" or "all"
        Which codes to rank: the codable leaves of the hierarchy (default) or
        every code.
    params : RankingParams, optional
        Weights of the score.
    learning : "auto", "blend" or "fine-tune"
        How :meth:`learn` uses decisions: examples, counter-examples and a
        classifier per code on the embeddings ("blend", seconds), or that on
        top of the embedding model fine-tuned on the decisions ("fine-tune",
        SetFit-style, about a minute on 2 cores, needs torch). "auto" (the
        default) fine-tunes a packaged model once there are at least
        ``FINE_TUNE_FROM`` (25) decisions and torch is installed, and blends
        otherwise: fine-tuning beat the blend at every point measured from 25
        decisions on SERDIF (+0.11 top-1 after 200, see ``bench/bench_learning.py``).
        :attr:`learned_with` says which one the last :meth:`learn` used.
    tuned : True, False or "auto"
        Use the packaged model fine-tuned once on the codebook's own text
        (cached; torch is needed the first time only, suggesting runs on ONNX).
        "auto": when qcode loads the packaged model itself and at least half
        of the codes have three or more texts (name, definition, criteria,
        examples); an embedder you pass in is used as it is. A model not yet
        cached is trained on first use (minutes; a line on stderr says how
        long), unless ``QCODE_TUNE_ON_MISS=base``; ``qcode codebook tune``
        builds it ahead (the installer does for the shipped codebooks).
    context : "auto", bool or float
        Weight of the interviewer's preceding question mixed into a
        participant's turn (0.5 when on; "auto": on for the packaged model).
        Applies where questions are given (:func:`~qcode.suggest.suggest_corpus` does).
    abstain : "auto", bool or float
        Give no code to greetings, thanks, consent and procedural talk (a
        float sets the margin; "auto": on for the packaged model, margin 0.1,
        0.0 with the tuned model). Turn it off for codebooks that code
        procedural talk.
    seed : training seed of ``learning="fine-tune"``.
    fine_tune_params : a :class:`~qcode.suggest.finetune.FineTuneParams` (steps, learning rate, ...);
        its seed is replaced by ``seed``.

    Examples
    --------
    >>> s = Suggester("mcn-sst")
    >>> out = s.suggest(["Nobody can see the hospice notes from the GP system."], top_k=3)
    >>> len(out[0])
    3
    """

    def __init__(self, codebook: Codebook | str, model: Any = None, *, codes: str = "leaves",
                 params: RankingParams | None = None, learning: str = "auto", tuned: bool | str = "auto",
                 context: bool | float | str = "auto", abstain: bool | float | str = "auto", seed: int = 0,
                 backend: str = "auto", fine_tune_params: Any = None, few_shot_params: Any = None) -> None:
        self.codebook = codebook if isinstance(codebook, Codebook) else _edge("qcode.codebook.io").load_codebook(codebook)
        if codes not in ("leaves", "all"):
            raise QcodeError(f"codes must be 'leaves' or 'all', not {codes!r}")
        self.codes = codes
        self.params = params or RankingParams()
        self._model_arg = model
        self._embedder = None
        self._index: dict[str, Any] | None = None
        self._tfidf: tuple[Any, Any] | None = None
        self._learned = _Learned()
        self._classifiers: dict[str, Any] = {}
        self._head: Any = None
        #: learning="fine-tune": the few-shot head on the fine-tuned body (True) or the blend's classifiers
        self.head_on_body = True
        if learning not in LEARNING_KINDS:
            raise QcodeError(f"learning must be one of {', '.join(LEARNING_KINDS)}, not {learning!r}")
        if tuned not in (True, False, "auto"):
            raise QcodeError(f"tuned must be True, False or 'auto', not {tuned!r}")
        self.learning = learning
        self.learned_with = "blend" if learning == "auto" else learning
        self.tuned = tuned
        self.context = context
        self.abstain = abstain
        self.seed = int(seed)
        self.backend = backend
        self.fine_tune_params = fine_tune_params
        self.few_shot_params = few_shot_params
        self.tuning_note: str | None = None
        self.learned_from: tuple[str, ...] | None = ()
        self.last_event_id: int | None = None
        self.body_root: Path | None = None
        self.learned_version: dict[str, Any] | None = None
        self.more_needed: dict[str, int] = {}
        self._body: Any = None
        self._null: np.ndarray | None = None
        self._learned_null: np.ndarray | None = None
        self.calibrator = _calibration.Calibrator()
        self._calibrates = True
        self._normaliser: tuple[np.ndarray, np.ndarray, float] | None = None

    # -- pieces ----------------------------------------------------------------
    @property
    def embedder(self):
        if self._body is not None:
            return self._body
        if self._embedder is None:
            load_embedder = _edge("qcode.embed").load_embedder
            model = self._model_arg
            base = load_embedder(backend=self.backend) if model is None else (
                load_embedder(model, backend=self.backend) if isinstance(model, str) else model)
            self._embedder = self._codebook_tuned(base)
        return self._embedder

    @staticmethod
    def _packaged(embedder: Any) -> str | None:
        """The manifest name of a packaged model behind ``embedder`` (base or tuned), else None."""
        ident = _identity_of(embedder)
        if ident.get("backend") == "fake":
            return None
        try:
            spec = _edge("qcode.embed.manifest").get_model_spec(str(ident.get("name")))
        except Exception:
            return None
        known = {spec.weights_sha256}
        return spec.name if {ident.get("weights_sha256"), ident.get("base_weights_sha256")} & known else None

    @property
    def measured(self) -> bool:
        """Whether the model is the packaged all-MiniLM-L6-v2 (base or tuned), on which the defaults were measured."""
        return self._packaged(self.embedder) == "all-MiniLM-L6-v2"

    def _codebook_tuned(self, base: Any) -> Any:
        if self.tuned is False or "tuned" in _identity_of(base):
            return base
        given = self._model_arg is not None and not isinstance(self._model_arg, str)
        name = self._packaged(base)
        if self.tuned == "auto" and given:
            return base
        if name is None:
            if self.tuned is True:
                raise QcodeError(f"tuned=True needs a packaged model (models/manifest.json), not "
                                 f"{_identity_of(base).get('name')!r}")
            return base
        tuning = _edge("qcode.suggest.tuning")
        thin = tuning.auto_skip_reason(self.codebook)
        if self.tuned == "auto" and thin is not None:
            self.tuning_note = thin
            return base
        if importlib.util.find_spec("torch") is None or importlib.util.find_spec("sentence_transformers") is None:
            if self.tuned is True:
                raise QcodeError("tuning the model to the codebook needs torch and sentence-transformers "
                                 "(once per codebook version)")
            self.tuning_note = "torch is not installed: the base model is used (tuning needs it once per codebook)"
            return base
        tuned, report = tuning.tune_for_codebook(self.codebook, base_model=name,
                                                 train=self.tuned is True or tuning.train_on_miss())
        if tuned is None:
            self.tuning_note = report.reason
            return base
        if report.skipped:
            self.tuning_note = f"codebook tuning skipped {len(report.skipped)} code(s) with too little text"
        return tuned

    @property
    def context_weight(self) -> float:
        value = self.context
        if value == "auto":
            return _context.DEFAULT_CONTEXT_WEIGHT if self.measured else 0.0
        if value is True:
            return _context.DEFAULT_CONTEXT_WEIGHT
        return float(value or 0.0)

    @property
    def abstain_margin(self) -> float | None:
        """The abstention margin in use, or None when abstention is off."""
        value = self.abstain
        if value == "auto" and not self.measured:
            return None
        if value in ("auto", True):
            return 0.0 if "tuned" in _identity_of(self.embedder) else _abstain.DEFAULT_MARGIN
        if value is False or value is None:
            return None
        return float(value)

    @property
    def target_codes(self) -> list[Code]:
        return self.codebook.leaves() if self.codes == "leaves" else list(self.codebook.codes)

    def identity(self) -> dict[str, Any]:
        """Everything that determines the output: model, codebook version, parameters, learned state."""
        learned = json.dumps(self._learned.to_dict(), sort_keys=True)
        import hashlib

        return {
            "model": self.embedder.identity,
            "codebook": {"name": self.codebook.name, "version": self.codebook.version},
            "codes": self.codes,
            "params": self.params.to_dict(),
            "learned_state": hashlib.sha256(learned.encode("utf-8")).hexdigest()[:16],
            "learned_decisions": self._decision_count(),
            "learned_from": None if self.learned_from is None else list(self.learned_from),
            "learning": self.learned_with,
            "context_weight": self.context_weight,
            "abstain_margin": self.abstain_margin,
            "calibration": self.calibrator.record(),
            "normalise": None if self._normaliser is None else self._normaliser[2],
            **({"learned_model": dict(self.learned_version)} if self.learned_version else {}),
        }

    def _embed(self, texts: Sequence[str], progress=None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        return np.asarray(self.embedder.encode(list(texts), progress=progress), dtype=np.float32)

    def _build_index(self) -> dict[str, Any]:
        """Embed every prototype text once (the embedder's cache makes rebuilds cheap)."""
        if self._index is not None:
            return self._index
        cb = self.codebook
        targets = self.target_codes
        parent_of = {c.id: (cb.root_of(c.id) if c.parent is not None else None) for c in targets}
        desc_texts = [description_text(c, cb.get(c.parent) if c.parent else None) for c in targets]
        roots = cb.roots()
        root_texts = [self._root_text(r) for r in roots]
        evid_owner: list[int] = []
        evid_texts: list[str] = []
        for i, code in enumerate(targets):
            written = evidence_texts(code)
            learned = self._learned.accepted.get(code.id, [])[-self.params.learned_example_limit:]
            for text in [*written, *learned]:
                evid_owner.append(i)
                evid_texts.append(text)
        counter_owner: list[int] = []
        counter_texts: list[str] = []
        for i, code in enumerate(targets):
            for text in self._learned.rejected.get(code.id, [])[-self.params.learned_example_limit:]:
                counter_owner.append(i)
                counter_texts.append(text)
        vectors = self._embed(desc_texts + root_texts + evid_texts + counter_texts)
        n_d, n_r, n_e = len(desc_texts), len(root_texts), len(evid_texts)
        root_pos = {r.id: j for j, r in enumerate(roots)}
        self._index = {
            "desc": vectors[:n_d],
            "roots": vectors[n_d:n_d + n_r],
            "root_of_target": np.array([root_pos[root.id] if (root := parent_of[c.id]) else -1 for c in targets],
                                       dtype=int),
            "evidence": vectors[n_d + n_r:n_d + n_r + n_e],
            "evidence_owner": np.array(evid_owner, dtype=int),
            "counter": vectors[n_d + n_r + n_e:],
            "counter_owner": np.array(counter_owner, dtype=int),
        }
        return self._index

    def anchor_texts(self) -> tuple[list[str], list[int]]:
        """The codebook's own texts (each target's description, criteria and examples) and their columns:
        the labelled anchors of learning="few-shot" (:mod:`.fewshot`)."""
        cb = self.codebook
        texts: list[str] = []
        owners: list[int] = []
        for j, code in enumerate(self.target_codes):
            for text in [description_text(code, cb.get(code.parent) if code.parent else None), *evidence_texts(code)]:
                texts.append(text)
                owners.append(j)
        return texts, owners

    def _root_text(self, root: Code) -> str:
        """A top-level code described by its own definition and its children's names."""
        children = [c.name for c in self.codebook.children(root.id)]
        text = f"{root.name}. {root.definition}".strip()
        if children:
            text += " Includes: " + "; ".join(children) + "."
        return text

    # -- scoring ---------------------------------------------------------------
    def _lexical(self) -> tuple[Any, np.ndarray]:
        """TF-IDF over each target code's own text (name, definition, criteria, examples, learned examples)."""
        if self._tfidf is None:
            from .lexical import TfidfModel

            docs = []
            for code in self.target_codes:
                learned = self._learned.accepted.get(code.id, [])[-self.params.learned_example_limit:]
                docs.append(" ".join([code.name, code.definition, *code.inclusion, *code.examples, *learned]))
            model = TfidfModel().fit(docs)
            self._tfidf = (model, model.transform(docs))
        return self._tfidf

    def score_embeddings(self, X: np.ndarray, texts: Sequence[str] | None = None) -> np.ndarray:
        """Scores of shape (n_texts, n_codes) for L2-normalised embeddings ``X`` (n_texts, dim).

        ``texts`` (the same n texts) enables the lexical part of the score.
        """
        idx = self._build_index()
        p = self.params
        k = len(self.target_codes)
        desc = X @ idx["desc"].T
        evidence = self._top_n_mean(X @ idx["evidence"].T, idx["evidence_owner"], k, p.evidence_top_n)
        has_evidence = np.bincount(idx["evidence_owner"], minlength=k) > 0
        mixed = np.where(has_evidence[None, :],
                         p.description_weight * desc + p.evidence_weight * evidence, desc)
        if len(idx["roots"]) and (idx["root_of_target"] >= 0).any():
            root_sims = X @ idx["roots"].T
            lift = np.where(idx["root_of_target"] >= 0, root_sims[:, np.maximum(idx["root_of_target"], 0)], 0.0)
            mixed = mixed + p.parent_weight * lift
        if len(idx["counter"]):
            counter = self._top_n_mean(X @ idx["counter"].T, idx["counter_owner"], k, 1)
            best_evidence = np.where(has_evidence[None, :], evidence, desc)
            gap = np.clip(counter - best_evidence, 0.0, None)  # codes without counters score -1: no gap
            mixed = mixed - p.counter_weight * gap
        if texts is not None and p.lexical_weight:
            model, code_matrix = self._lexical()
            mixed = mixed + p.lexical_weight * model.similarity(texts, code_matrix)
        if self._classifiers:
            mixed = self._blend_classifiers(X, mixed)
        if self._head is not None:
            mixed = self._head.combine(mixed, X)
        if self._normaliser is not None:
            mean, spread, weight = self._normaliser
            mixed = mixed + weight * (mixed - mean) / spread
        return mixed.astype(np.float32)

    def normalise_against(self, reference: Sequence[str], weight: float = 0.05) -> Suggester:
        """Opt-in: add ``weight`` times each code's z-score against its scores on ``reference`` texts.

        A code that scores high on everything (a hub) then needs more to win. The
        reference statistics are fixed here, so a segment's score still does not
        depend on its batch. Measured (``bench/bench_quality.py --ablation``, 0.05
        against the set itself): +0.03 top-1 on the demo study, -0.006 on SERDIF,
        so it is not a default. ``weight=0`` turns it off again.
        """
        self._normaliser = None
        if weight and len(reference):
            scores = self.score(list(reference))
            self._normaliser = (scores.mean(axis=0), scores.std(axis=0) + 1e-6, float(weight))
        return self

    @staticmethod
    def _top_n_mean(sims: np.ndarray, owner: np.ndarray, k: int, top_n: int) -> np.ndarray:
        """For each code, the mean of the ``top_n`` highest similarities among its prototypes."""
        out = np.full((sims.shape[0], k), -1.0, dtype=np.float32)
        for code in np.unique(owner):
            cols = sims[:, owner == code]
            m = min(top_n, cols.shape[1])
            best = -np.partition(-cols, m - 1, axis=1)[:, :m] if m < cols.shape[1] else cols
            out[:, code] = best.mean(axis=1)
        return out

    def _blend_classifiers(self, X: np.ndarray, zero_shot: np.ndarray) -> np.ndarray:
        """Replace part of a code's score with its classifier's probability, on the same scale.

        A probability of 1 maps to the code's mean zero-shot score on its accepted
        training passages, 0 to the mean on its negatives (both fixed when the
        classifier is fitted), so a segment's score never depends on its batch.
        """
        out = zero_shot.copy()
        w = self.params.classifier_weight
        for j, code in enumerate(self.target_codes):
            fitted = self._classifiers.get(code.id)
            if fitted is None:
                continue
            clf, negative_level, positive_level = fitted
            prob = clf.predict_proba(X)[:, 1]
            out[:, j] = (1 - w) * zero_shot[:, j] + w * (negative_level + prob * (positive_level - negative_level))
        return out

    def score(self, items: Sequence[str | Segment], progress=None,
              questions: Sequence[str | None] | None = None) -> np.ndarray:
        """Scores of shape (n_items, n_codes); columns follow :attr:`target_codes`.

        ``questions`` (one per item, ``None`` where there is none): the interviewer's
        question each item answers, mixed in with :attr:`context_weight`.
        """
        return self.score_details(items, progress=progress, questions=questions)[0]

    def score_details(self, items: Sequence[str | Segment], progress=None,
                      questions: Sequence[str | None] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Scores and, per item, whether it abstains ("no code": see :mod:`.abstain`)."""
        texts = [it.text if isinstance(it, Segment) else str(it) for it in items]
        X = self._embed(texts, progress=progress)
        mixed = X
        weight = self.context_weight
        if questions is not None and weight:
            if len(questions) != len(texts):
                raise QcodeError(f"questions: {len(questions)} given for {len(texts)} items")
            has = np.array([q is not None and bool(str(q).strip()) for q in questions], dtype=bool)
            if has.any():
                Q = np.zeros_like(X)
                Q[has] = self._embed([str(q) for q, h in zip(questions, has) if h])
                mixed = _context.mix_context(X, Q, has, weight)
        scores = self.score_embeddings(mixed, texts)
        margin = self.abstain_margin
        if margin is None or not len(texts):
            return scores, np.zeros(len(texts), dtype=bool)
        if self._null is None:
            self._null = self._embed(list(_abstain.NULL_PROTOTYPES))
        null = _abstain.null_similarity(X, self._null)
        abstained = _abstain.abstain_mask(scores, null, margin=margin)
        if self._learned_null is None:
            self._learned_null = self._embed(self._learned.no_code_passages())
        if len(self._learned_null):
            nearest = _abstain.null_similarity(X, self._learned_null, top_n=1)
            abstained |= _abstain.abstain_mask(scores, nearest, margin=margin + _abstain.LEARNED_NULL_MARGIN)
        return scores, abstained

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        """Per-code probabilities of a score matrix (softmax with the calibrated temperature)."""
        return self.calibrator.probabilities(scores)

    def rank(self, scores: np.ndarray, top_k: int | None = 3, threshold: float | None = None,
             multi_label: bool = False, min_probability: float | None = None,
             abstained: Sequence[bool] | np.ndarray | None = None) -> list[list[Suggestion]]:
        """Turn a score matrix into ranked :class:`Suggestion` lists.

        ``top_k=None`` keeps every code. With ``threshold`` (on scores), codes
        below it are dropped; ``multi_label=False`` still keeps the best code of
        each row when all fall below (so every segment gets a suggestion),
        ``multi_label=True`` returns every code above it (possibly none).
        ``min_probability`` (on the calibrated probabilities) drops every code
        below it, the best one too, so that what is kept is as likely as asked.
        Rows marked in ``abstained`` get no suggestion.
        """
        targets = self.target_codes
        cb = self.codebook
        roots = {c.id: cb.root_of(c.id) if c.parent is not None else None for c in targets}
        order = np.argsort(-scores, axis=1, kind="stable")
        probs = self.probabilities(scores) if len(scores) else np.zeros_like(scores)
        calibrated = self.calibrator.source == "decisions"
        out: list[list[Suggestion]] = []
        for i, (row, ranking) in enumerate(zip(scores, order)):
            picked: list[Suggestion] = []
            if abstained is not None and abstained[i]:
                out.append(picked)
                continue
            for j in ranking[: (top_k or len(targets))]:
                s = round(float(row[j]), 6)  # compare what is reported
                p = round(float(probs[i, j]), 6)
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

    def suggest(self, items: Sequence[str | Segment] | str, top_k: int | None = 3,
                threshold: float | None = None, multi_label: bool = False,
                progress=None, questions: Sequence[str | None] | None = None,
                min_probability: float | None = None) -> list[list[Suggestion]]:
        """Top-``top_k`` suggestions for each text or :class:`~qcode.document.Segment`.

        Returns a list (one entry per input, in order) of lists of
        :class:`Suggestion`, best first; an empty list where the item abstains
        (housekeeping talk: see ``abstain``) or nothing passes the thresholds in
        ``multi_label`` mode.
        """
        if isinstance(items, (str, Segment)):
            items = [items]
        items = list(items)
        if not items:
            return []
        scores, abstained = self.score_details(items, progress=progress, questions=questions)
        return self.rank(scores, top_k=top_k, threshold=threshold, multi_label=multi_label,
                         min_probability=min_probability, abstained=abstained)

    # -- learning --------------------------------------------------------------
    def learn(self, texts: Sequence[str], code_ids: Sequence[str], accepted: Sequence[bool], *,
              learned_from: Sequence[str] | None = None, last_event_id: int | None = None,
              no_code: Sequence[str] = ()) -> Suggester:
        """Learn from coders' verdicts: ``accepted[i]`` says whether ``code_ids[i]`` fits ``texts[i]``.

        Accepted passages become examples of their code, rejected ones
        counter-examples; codes with at least ``params.min_labels`` accepted
        and rejected passages also get a logistic-regression classifier on the
        embeddings. With ``learning="fine-tune"`` the embedding model is first
        fine-tuned on all decisions learned so far (:mod:`.finetune`). With at
        least 30 accepted passages the probabilities are calibrated on the
        decisions (two-fold: each half scored by a model that learned the other).

        ``no_code``: passages a coder said fit no code. They, and passages rejected for
        every code suggested (three rejections, no accept), become learned "no code"
        examples: while abstention is on, a passage nearer one of them than to its best
        code (by the abstention margin) gets no suggestion (:mod:`.abstain`).

        ``learned_from`` names the coders whose decisions these are; a run
        records them (``learned_from``) and a blind coder is shown only runs
        trained on their own decisions. Without it the coders are unknown and
        such a run counts as trained by others. Returns ``self``.
        """
        if not (len(texts) == len(code_ids) == len(accepted)):
            raise QcodeError(f"learn() needs lists of equal length, got texts={len(texts)}, "
                             f"code_ids={len(code_ids)}, accepted={len(accepted)}")
        for text, code_id, ok in zip(texts, code_ids, accepted):
            if code_id not in self.codebook:
                raise QcodeError(f"learn(): code {code_id!r} is not in codebook {self.codebook.name!r}")
            self._learned.add(str(text), code_id, bool(ok))
        for text in no_code:
            if str(text) not in self._learned.no_code:
                self._learned.no_code.append(str(text))
        self._learned_null = None
        if len(texts) or len(no_code):
            if learned_from is None or self.learned_from is None:
                self.learned_from = None
            else:
                self.learned_from = tuple(sorted(set(self.learned_from) | {str(c) for c in learned_from}))
        if last_event_id is not None:
            self.last_event_id = int(last_event_id)
        self._index = None
        self._tfidf = None
        self.learned_with = self.learning_for(self._decision_count())
        if self.learned_with == "fine-tune" and len(texts):
            self._fine_tune_body()
        self._fit_learned()
        if self._calibrates:
            self.calibrator = self._calibrate()
        return self

    def learn_from(self, project: Any, coder: str | None = None, coders: Sequence[str] | None = None) -> Suggester:
        """Learn from the accept/reject decisions that currently stand in a project.

        Undone decisions and skips are left out and a change of mind keeps only
        the latest verdict (see :meth:`qcode.project.Project.labels`). With
        ``coder`` (or ``coders``), only those coders' decisions are used;
        otherwise every coder's, and the run is then no blind coder's to see.
        """
        import pandas as pd

        names = list(coders) if coders else ([coder] if coder else list(project.coders()))
        known = set(project.coders())
        frames = [project.labels(name) for name in names if name in known]
        labels = pd.concat(frames, ignore_index=True) if frames else project.labels().iloc[0:0]
        labels = labels[labels["code_id"].isin([c.id for c in self.codebook.codes])]
        return self.learn(labels["text"].tolist(), labels["code_id"].tolist(), labels["accepted"].tolist(),
                          learned_from=names)

    @property
    def learned_no_code(self) -> list[str]:
        """The passages learned as "no code": given no code, or rejected for every code suggested."""
        return self._learned.no_code_passages()

    def _decision_count(self) -> int:
        return sum(len(v) for v in self._learned.accepted.values()) + sum(len(v) for v in self._learned.rejected.values())

    def learning_for(self, decisions: int) -> str:
        """The learning :meth:`learn` uses for ``decisions`` decisions: ``learning`` unless it is "auto",
        which is "few-shot" (:mod:`.fewshot`): ahead of the blend, of the fine-tuning up to 100 decisions and
        of the setfit library at every point measured (``bench/bench_learning.py --vs-setfit``), in seconds,
        without torch, and saved as its decisions alone."""
        if self.learning != "auto":
            return self.learning
        return "few-shot"

    def _decisions(self) -> tuple[list[str], list[str], list[bool]]:
        rows = [(t, c, True) for c, ts in self._learned.accepted.items() for t in ts]
        rows += [(t, c, False) for c, ts in self._learned.rejected.items() for t in ts]
        rows.sort()
        return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]

    def _fine_tune_body(self) -> None:
        """learning="fine-tune": the embedding model fine-tuned on every decision learned so far."""
        finetune = _edge("qcode.suggest.finetune")
        coders = _edge("qcode.suggest.coders")
        self._body = None
        base = self.embedder
        name = self._packaged(base)
        if name is None:
            raise QcodeError(f"learning='fine-tune' needs a packaged model (models/manifest.json), not "
                             f"{_identity_of(base).get('name')!r}; use learning='blend'")
        texts, code_ids, accepted = self._decisions()
        params = self._fine_tune_params()
        self.more_needed = finetune.more_needed(self.codebook, code_ids, accepted, params.min_accepted)
        body, report = finetune.fine_tune(self.codebook, texts, code_ids, accepted,
                                     scope=coders.LearningScope(tuple(self.learned_from or ())), params=params,
                                     base_model=name, root=self.body_root, last_event_id=self.last_event_id,
                                     start=self._codebook_tuned_folder(base))
        if body is None and report.reason:
            self.tuning_note = report.reason
        self._body = body
        self._index = None
        self._null = None
        self._learned_null = None

    @staticmethod
    def _codebook_tuned_folder(embedder: Any) -> Path | None:
        """The folder of the codebook-tuned model behind ``embedder`` (fine-tuning continues from it)."""
        inner = getattr(embedder, "inner", embedder)
        provenance = getattr(inner, "provenance", None)
        folder = getattr(inner, "folder", None)
        if isinstance(provenance, dict) and provenance.get("kind") == "codebook" and folder is not None:
            return Path(folder)
        return None

    def _fine_tune_params(self) -> Any:
        from dataclasses import replace

        finetune = _edge("qcode.suggest.finetune")
        given = self.fine_tune_params or finetune.FineTuneParams()
        return replace(given, seed=self.seed)

    def _calibrate(self) -> Any:
        """A temperature fitted on the decisions (two-fold cross-fit), or the default below 30 accepted passages."""
        gold: dict[str, set[str]] = {}
        for code_id, texts in self._learned.accepted.items():
            for text in texts:
                gold.setdefault(text, set()).add(code_id)
        column = {c.id: j for j, c in enumerate(self.target_codes)}
        items = sorted(t for t, codes in gold.items() if codes & set(column))
        if len(items) < _calibration.MIN_CALIBRATION_LABELS:
            return _calibration.Calibrator(n_labels=len(items))
        folds = [items[0::2], items[1::2]]
        rows: list[np.ndarray] = []
        labels: list[set[int]] = []
        texts, code_ids, accepted = self._decisions()
        for k in (0, 1):
            held = set(folds[k])
            helper = Suggester(self.codebook, model=self.embedder, codes=self.codes, params=self.params,
                               context=0.0, abstain=False, few_shot_params=self.few_shot_params,
                               learning="few-shot" if self._uses_head else "blend")
            helper._calibrates = False
            keep = [i for i, t in enumerate(texts) if t not in held]
            helper.learn([texts[i] for i in keep], [code_ids[i] for i in keep], [accepted[i] for i in keep])
            rows.append(helper.score(folds[k]))
            labels.extend({column[c] for c in gold[t] if c in column} for t in folds[k])
        return _calibration.Calibrator.fit(np.vstack(rows), labels)

    def learning_params(self) -> dict[str, Any]:
        """The parameters of what :meth:`learn` trains (saved with a learned model)."""
        out: dict[str, Any] = {"ranking": self.params.to_dict(), "learning": self.learned_with, "seed": self.seed,
                               "tuned": _identity_of(self.embedder).get("tuned")}
        if self.learned_with == "fine-tune":
            out["fine_tune"] = self._fine_tune_params().to_dict()
        if self.learned_with == "few-shot":
            out["few_shot"] = (self._head.params if self._head is not None else
                               _edge("qcode.suggest.fewshot").FewShotParams()).to_dict()
        return out

    def body_folder_name(self, root: Path) -> str | None:
        """Where the fine-tuned body lives, relative to ``root`` when inside it (None: no body)."""
        if self._body is None:
            return None
        folder = Path(getattr(self._body, "inner", self._body).folder)
        try:
            return folder.resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            return str(folder)

    def load_learned(self, folder: Path, info: dict[str, Any]) -> Suggester:
        """Load a model saved in a project (:mod:`.learning`): body, learned state, coders, calibration."""
        folder = Path(folder)
        if info.get("body"):
            body_dir = folder.parent / info["body"]
            self._body = _edge("qcode.suggest.tuning").load_tuned_embedder(body_dir, backend=self.backend)
            self._null = None
            self._learned_null = None
        kind = str(info.get("learned_with") or info.get("learning") or self.learned_with)
        self.load_state(folder / "state.json", learned_with=kind)
        self.learned_from = tuple(info.get("learned_from") or ())
        self.last_event_id = info.get("last_event_id")
        cal = info.get("calibration") or {}
        self.calibrator = _calibration.Calibrator(float(cal.get("temperature", _calibration.DEFAULT_TEMPERATURE)),
                                                  str(cal.get("source", "default")), int(cal.get("n_labels", 0)))
        return self

    def _fit_learned(self) -> None:
        """The learned layer on top of the examples: the few-shot head, or the blend's classifiers."""
        self._head = None
        self._classifiers = {}
        if self._uses_head:
            self._fit_head()
        else:
            self._fit_classifiers()

    @property
    def _uses_head(self) -> bool:
        return self.learned_with == "few-shot" or (self.learned_with == "fine-tune" and self.head_on_body)

    def _fit_head(self) -> None:
        """learning="few-shot": :class:`~.fewshot.FewShotHead` on the codebook-only scores (:mod:`.fewshot`)."""
        from .fewshot import FewShotHead

        texts, code_ids, accepted = self._decisions()
        if not texts:
            return
        column = {c.id: j for j, c in enumerate(self.target_codes)}
        rows = [i for i, c in enumerate(code_ids) if c in column]
        texts, code_ids, accepted = [texts[i] for i in rows], [code_ids[i] for i in rows], [accepted[i] for i in rows]
        prior_model = Suggester(self.codebook, model=self.embedder, codes=self.codes, params=self.params,
                                context=0.0, abstain=False, learning="blend")
        prior_model._calibrates = False
        anchor_texts, anchor_codes = self.anchor_texts()
        A = self._embed(anchor_texts)
        X = self._embed(texts)
        self._head = FewShotHead(self.few_shot_params).fit(
            A, anchor_codes, prior_model.score_embeddings(A, anchor_texts), X, prior_model.score_embeddings(X, texts),
            [column[c] for c in code_ids], accepted)

    def _fit_classifiers(self) -> None:
        from sklearn.linear_model import LogisticRegression

        self._classifiers = {}
        p = self.params
        targets = [c.id for c in self.target_codes]
        all_accepted = {t: set(v) for t, v in self._learned.accepted.items()}
        fitted = {}
        for j, code_id in enumerate(targets):
            pos = self._learned.accepted.get(code_id, [])
            # negatives: passages rejected for this code, and passages accepted for other codes only
            neg = list(self._learned.rejected.get(code_id, []))
            for other, texts in all_accepted.items():
                if other != code_id:
                    neg.extend(t for t in texts if t not in all_accepted.get(code_id, set()))
            neg = list(dict.fromkeys(neg))
            if len(pos) < p.min_labels or len(neg) < p.min_labels:
                continue
            X = self._embed(pos + neg)
            y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
            clf = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)
            clf.fit(X, y)
            zero_shot = self.score_embeddings(X, pos + neg)[:, j]  # no classifier is active yet
            fitted[code_id] = (clf, float(zero_shot[len(pos):].mean()), float(zero_shot[:len(pos)].mean()))
        self._classifiers = fitted

    def save_state(self, path: str | Path) -> Path:
        """Save what was learned (the decisions, not the model) as JSON, atomically."""
        state = {"format": "qcode-suggester-state/1", "codebook": self.codebook.name,
                 "codebook_version": self.codebook.version, "params": self.params.to_dict(),
                 "learned": self._learned.to_dict()}
        _edge("qcode._io").atomic_write_text(path, json.dumps(state, ensure_ascii=False, indent=1))
        return Path(path)

    def load_state(self, path: str | Path, learned_with: str | None = None) -> Suggester:
        """Reload a state saved by :meth:`save_state` (the learned layer is refitted deterministically).

        ``learned_with``: the learning the state was saved with (a saved model's provenance says);
        else the one :meth:`learning_for` picks for its decisions (never a new fine-tuning).
        """
        path = Path(path)
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            learned = state["learned"]
        except (OSError, ValueError, KeyError) as exc:
            raise QcodeError(f"{path}: not a qcode suggester state ({exc})") from None
        self._learned = _Learned(accepted={k: list(v) for k, v in learned["accepted"].items()},
                                 rejected={k: list(v) for k, v in learned["rejected"].items()},
                                 no_code=[str(t) for t in learned.get("no_code", [])])
        self._learned_null = None
        self._index = None
        self._tfidf = None
        if learned_with is not None:
            self.learned_with = learned_with
        elif self.learned_with != "fine-tune":
            picked = self.learning_for(self._decision_count())
            self.learned_with = "blend" if picked == "fine-tune" else picked
        self._fit_learned()
        if self._learned.accepted or self._learned.rejected:
            self.learned_from = None if self.learned_from == () else self.learned_from
        if self._calibrates:
            self.calibrator = self._calibrate()
        return self


__all__ = ["Suggester", "Suggestion", "RankingParams", "description_text", "evidence_texts"]
