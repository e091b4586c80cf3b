"""Suggest codes for segments by sentence-embedding similarity to a codebook.

:class:`Suggester` is a thin front over three parts: the pure scoring (:mod:`.scoring`:
prototypes, index, scores, ranking), the learned layer (:mod:`.learned`: examples,
classifiers, calibration; the fine-tuned body through its model source) and the model
source (:class:`ModelSource`; :func:`qcode.suggest.make_suggester` resolves codebook
names, model names and the codebook-tuned model, :mod:`.models`). Saving and loading
what was learned is :mod:`.state`. The measured defaults are on the benchmarks page (docs/benchmarks.md).

Example
-------
>>> from qcode.suggest import make_suggester
>>> s = make_suggester("mcn-sst")
>>> [x.code_id for x in s.suggest(["We never know if the money will be there next year."])[0]][:1]
['infrastructure.funding']
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..codebook.model import Code, Codebook
from ..document import Segment
from ..errors import QcodeError
from . import abstain as _abstain
from . import calibration as _calibration
from . import context as _context
from . import learned as _learned
from .coders import scoped_no_code
from .learned import FINE_TUNE_FROM, LEARNING_KINDS
from .params import FineTuneParams
from .scoring import (
    Examples,
    RankingParams,
    Suggestion,
    build_index,
    description_text,
    evidence_texts,
    identity_of,
    lexical_model,
    prototype_scores,
    rank_scores,
)


class ModelSource:
    """Where a :class:`Suggester`'s embedding model comes from: here, one given as it is.

    :class:`qcode.suggest.models.PackagedModelSource` loads a model by name, tunes it to
    the codebook and fine-tunes it on decisions; this base class takes a loaded embedder
    and knows of no packaged model (so ``learning="fine-tune"`` is refused).
    """

    #: why the codebook-tuned model is not used (None: it is, or it was not asked for)
    note: str | None = None

    def __init__(self, embedder: Any = None) -> None:
        self._given = embedder

    def embedder(self) -> Any:
        return self._given

    def portable(self) -> ModelSource:
        """This source without a model it loaded itself (for another process, which loads its own)."""
        return self

    def packaged(self, embedder: Any) -> str | None:
        """The manifest name of a packaged model behind ``embedder`` (base or tuned), else None."""
        return None

    def fine_tune(self, suggester: Suggester, base: Any) -> tuple[Any, dict[str, int]]:
        """The embedding model fine-tuned on ``suggester``'s decisions, and the accepted passages codes lack."""
        raise QcodeError(f"learning='fine-tune' needs a packaged model (models/manifest.json), not "
                         f"{identity_of(base).get('name')!r}; use learning='blend'")

    def load_body(self, folder: Path) -> Any:
        """A fine-tuned body saved in ``folder``."""
        raise QcodeError(f"{folder}: a fine-tuned model needs the packaged model it was tuned from")


class Suggester:
    """Rank a codebook's codes for texts or segments.

    Build one with :func:`qcode.suggest.make_suggester` (codebook and model by name,
    the codebook-tuned model); the constructor takes loaded objects.

    Parameters
    ----------
    codebook : Codebook
        A loaded :class:`~qcode.codebook.Codebook`.
    model : Embedder or ModelSource
        An embedder (used as it is) or a :class:`ModelSource`.
    codes : "leaves" or "all"
        Which codes to rank: the codable leaves of the hierarchy (default) or
        every code.
    params : RankingParams, optional
        Weights of the score.
    learning : "auto", "blend" or "fine-tune"
        How :meth:`learn` uses decisions: examples, counter-examples and a
        classifier per code on the embeddings ("blend", seconds), or that on
        top of the embedding model fine-tuned on the decisions ("fine-tune",
        SetFit-style, needs torch). "auto" (the default) fine-tunes a packaged model from
        ``FINE_TUNE_FROM`` (25) decisions where torch is installed, and blends otherwise
        (measured: docs/benchmarks.md); :attr:`learning_used` says which the last :meth:`learn` used.
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
    >>> from qcode.suggest import make_suggester
    >>> s = make_suggester("mcn-sst")
    >>> out = s.suggest(["Nobody can see the hospice notes from the GP system."], top_k=3)
    >>> len(out[0])
    3
    """

    def __init__(self, codebook: Codebook, model: Any, *, codes: str = "leaves",
                 params: RankingParams | None = None, learning: str = "auto",
                 context: bool | float | str = "auto", abstain: bool | float | str = "auto", seed: int = 0,
                 fine_tune_params: Any = None, few_shot_params: Any = None) -> None:
        if not isinstance(codebook, Codebook):
            raise QcodeError(f"Suggester needs a loaded Codebook, not {type(codebook).__name__} "
                             "(qcode.suggest.make_suggester loads one by name)")
        self.codebook = codebook
        if codes not in ("leaves", "all"):
            raise QcodeError(f"codes must be 'leaves' or 'all', not {codes!r}")
        self.codes = codes
        self.params = params or RankingParams()
        self.source = model if isinstance(model, ModelSource) else ModelSource(model)
        self._index: dict[str, Any] | None = None
        self._tfidf: tuple[Any, Any] | None = None
        self.examples = Examples()
        self._classifiers: dict[str, Any] = {}
        self._head: Any = None  # learning="few-shot" (:mod:`.fewshot`)
        self.head_on_body = True  # learning="fine-tune": the few-shot head on the body, else the classifiers
        if learning not in LEARNING_KINDS:
            raise QcodeError(f"learning must be one of {', '.join(LEARNING_KINDS)}, not {learning!r}")
        self.learning = learning
        self.learning_used = "blend" if learning == "auto" else learning
        self.context = context
        self.abstain = abstain
        self.seed = int(seed)
        self.fine_tune_params = fine_tune_params
        self.few_shot_params = few_shot_params
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

    # -- the model -------------------------------------------------------------
    @property
    def embedder(self) -> Any:
        """The embedding model in use: the fine-tuned body once there is one, else the source's."""
        if self._body is not None:
            return self._body
        return self.source.embedder()

    @property
    def body(self) -> Any:
        """The embedding model fine-tuned on the decisions (``learning="fine-tune"``), or None."""
        return self._body

    @property
    def tuning_note(self) -> str | None:
        """Why the codebook-tuned model is not used, where it was asked for and is not."""
        return self.source.note

    @property
    def measured(self) -> bool:
        """Whether the model is the packaged all-MiniLM-L6-v2 (base or tuned), on which the defaults were measured."""
        return self.source.packaged(self.embedder) == "all-MiniLM-L6-v2"

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
            return 0.0 if "tuned" in identity_of(self.embedder) else _abstain.DEFAULT_MARGIN
        if value is False or value is None:
            return None
        return float(value)

    @property
    def target_codes(self) -> list[Code]:
        return self.codebook.leaves() if self.codes == "leaves" else list(self.codebook.codes)

    def identity(self) -> dict[str, Any]:
        """Everything that determines the output: model, codebook version, parameters, learned state."""
        learned = json.dumps(self.examples.to_dict(), sort_keys=True)
        return {
            "model": self.embedder.identity,
            "codebook": {"name": self.codebook.name, "version": self.codebook.version},
            "codes": self.codes,
            "params": self.params.to_dict(),
            "learned_state": hashlib.sha256(learned.encode("utf-8")).hexdigest()[:16],
            "learned_decisions": self.examples.count(),
            "learned_from": None if self.learned_from is None else list(self.learned_from),
            "learning": self.learning_used,
            "context_weight": self.context_weight,
            "abstain_margin": self.abstain_margin,
            "calibration": self.calibrator.record(),
            "normalise": None if self._normaliser is None else self._normaliser[2],
            **({"learned_model": dict(self.learned_version)} if self.learned_version else {}),
        }

    # -- scoring ---------------------------------------------------------------
    def _embed(self, texts: Sequence[str], progress: Any = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        return np.asarray(self.embedder.encode(list(texts), progress=progress), dtype=np.float32)

    def _build_index(self) -> dict[str, Any]:
        """Embed every prototype text once (the embedder's cache makes rebuilds cheap)."""
        if self._index is None:
            self._index = build_index(self.codebook, self.target_codes, self.examples, self.params, self._embed)
        return self._index

    def _zero_shot(self, X: np.ndarray, texts: Sequence[str] | None) -> np.ndarray:
        p = self.params
        if texts is not None and p.lexical_weight and self._tfidf is None:
            self._tfidf = lexical_model(self.target_codes, self.examples, p)
        return prototype_scores(X, self._build_index(), p, len(self.target_codes), texts, self._tfidf)

    def score_embeddings(self, X: np.ndarray, texts: Sequence[str] | None = None) -> np.ndarray:
        """Scores of shape (n_texts, n_codes) for L2-normalised embeddings ``X`` (n_texts, dim).

        ``texts`` (the same n texts) enables the lexical part of the score.
        """
        mixed = self._zero_shot(X, texts)
        if self._classifiers:
            mixed = _learned.blend_classifiers(X, mixed, self._classifiers, self.target_codes,
                                               self.params.classifier_weight)
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
        depend on its batch. Not a default (measured: see docs/benchmarks.md);
        ``weight=0`` turns it off again.
        """
        self._normaliser = None
        if weight and len(reference):
            scores = self.score(list(reference))
            self._normaliser = (scores.mean(axis=0), scores.std(axis=0) + 1e-6, float(weight))
        return self

    def score(self, items: Sequence[str | Segment], progress: Any = None,
              questions: Sequence[str | None] | None = None) -> np.ndarray:
        """Scores of shape (n_items, n_codes); columns follow :attr:`target_codes`.

        ``questions`` (one per item, ``None`` where there is none): the interviewer's
        question each item answers, mixed in with :attr:`context_weight`.
        """
        return self.score_details(items, progress=progress, questions=questions)[0]

    def score_details(self, items: Sequence[str | Segment], progress: Any = None,
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
        if self._learned_null is None:
            self._learned_null = self._embed(self.examples.no_code_passages())
        return scores, _abstain.abstain_learned(scores, X, self._null, self._learned_null, margin)

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
        probs = self.probabilities(scores) if len(scores) else np.zeros_like(scores)
        return rank_scores(scores, probs, self.target_codes, self.codebook,
                           calibrated=self.calibrator.source == "decisions", top_k=top_k, threshold=threshold,
                           multi_label=multi_label, min_probability=min_probability, abstained=abstained)

    def suggest(self, items: Sequence[str | Segment] | str, top_k: int | None = 3,
                threshold: float | None = None, multi_label: bool = False,
                progress: Any = None, questions: Sequence[str | None] | None = None,
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
              coders: Sequence[str] | None = None, last_event_id: int | None = None,
              no_code: Sequence[str] = ()) -> Suggester:
        """Learn from coders' verdicts: ``accepted[i]`` says whether ``code_ids[i]`` fits ``texts[i]``.

        Accepted passages become examples of their code, rejected ones
        counter-examples; codes with at least ``params.min_labels`` accepted
        and rejected passages also get a logistic-regression classifier on the
        embeddings. With ``learning="fine-tune"`` the embedding model is first
        fine-tuned on all decisions learned so far (:mod:`.finetune`). With at
        least 30 accepted passages the probabilities are calibrated on the
        decisions (two-fold: each half scored by a model that learned the other).

        ``no_code``: passages a coder said fit no code (learned by abstention, :mod:`.abstain`).
        ``coders`` names the coders whose decisions these are; a run records
        them (``learned_from``) and a blind coder is shown only runs trained on
        their own decisions. Without it the coders are unknown and such a run
        counts as trained by others. Returns ``self``.
        """
        if not len(texts) == len(code_ids) == len(accepted):
            raise QcodeError(f"learn() needs lists of equal length, got texts={len(texts)}, "
                             f"code_ids={len(code_ids)}, accepted={len(accepted)}")
        for text, code_id, ok in zip(texts, code_ids, accepted):
            if code_id not in self.codebook:
                raise QcodeError(f"learn(): code {code_id!r} is not in codebook {self.codebook.name!r}")
            self.examples.add(str(text), code_id, bool(ok))
        self.examples.no_code.extend(t for t in dict.fromkeys(map(str, no_code)) if t not in self.examples.no_code)
        self._learned_null = None
        if len(texts):
            if coders is None or self.learned_from is None:
                self.learned_from = None
            else:
                self.learned_from = tuple(sorted(set(self.learned_from) | {str(c) for c in coders}))
        if last_event_id is not None:
            self.last_event_id = int(last_event_id)
        self._index = None
        self._tfidf = None
        self.learning_used = self.learning_for(self.examples.count())
        if self.learning_used == "fine-tune" and len(texts):
            self._body = None
            base = self.embedder
            self._body, self.more_needed = self.source.fine_tune(self, base)
            self._index = None
            self._null = None
            self._learned_null = None
        self._refit()
        return self

    def learn_decisions(self, project: Any, coder: str | None = None,
                      coders: Sequence[str] | None = None) -> Suggester:
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
                          coders=names, no_code=scoped_no_code(project, names))

    def learning_for(self, decisions: int) -> str:
        """``learning``, or for "auto" "few-shot" (:mod:`.fewshot`; measured by ``bench_learning.py --vs-setfit``)."""
        return "few-shot" if self.learning == "auto" else self.learning

    def fine_tune_settings(self) -> Any:
        """The fine-tuning parameters in use (``fine_tune_params`` with this suggester's seed)."""
        return replace(self.fine_tune_params or FineTuneParams(), seed=self.seed)

    def _refit(self) -> None:
        """Refit the learned layer and, with enough decisions, the calibration (:func:`.learned.refit`)."""
        _learned.refit(self)

    def learning_params(self) -> dict[str, Any]:
        """The parameters of what :meth:`learn` trains (saved with a learned model)."""
        return _learned.learning_params(self, identity_of(self.embedder).get("tuned"))

    # -- state -----------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """What was learned (the decisions, not the model), as saved by :func:`qcode.suggest.state.save_state`."""
        return {"format": "qcode-suggester-state/1", "codebook": self.codebook.name,
                "codebook_version": self.codebook.version, "params": self.params.to_dict(),
                "learned": self.examples.to_dict()}

    def restore(self, learned: dict[str, Any], kind: str | None = None) -> Suggester:
        """Take the decisions of a saved state's ``learned`` part (classifiers are refitted deterministically)."""
        self.examples = Examples(accepted={k: list(v) for k, v in learned["accepted"].items()},
                                 rejected={k: list(v) for k, v in learned["rejected"].items()},
                                 no_code=[str(t) for t in learned.get("no_code", [])])
        self._learned_null = None  # kind: the learning a saved model was made with (its provenance says)
        fresh = self.learning_for(self.examples.count()) if self.learning_used != "fine-tune" else "fine-tune"
        self.learning_used = kind or fresh
        self._index = None
        self._tfidf = None
        if self.examples.accepted or self.examples.rejected:
            self.learned_from = None if self.learned_from == () else self.learned_from
        self._refit()
        return self

    def adopt(self, body: Any, learned: dict[str, Any], info: dict[str, Any]) -> Suggester:
        """Take a model saved in a project (:mod:`.learning`): its body (or None), learned state and provenance."""
        if body is not None:
            self._body = body
            self._null = None
            self._learned_null = None
        self.restore(learned, kind=str(info.get("learned_with") or info.get("learning") or self.learning_used))
        self.learned_from = tuple(info.get("learned_from") or ())
        self.last_event_id = info.get("last_event_id")
        self.calibrator = _learned.calibrator_from(info.get("calibration"))
        return self


__all__ = ["FINE_TUNE_FROM", "LEARNING_KINDS", "ModelSource", "RankingParams", "Suggester", "Suggestion",
           "description_text", "evidence_texts"]
