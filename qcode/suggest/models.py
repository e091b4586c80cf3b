"""Model choice: :func:`make_suggester` loads the codebook and the model a :class:`~.ranking.Suggester` ranks with.

The suggester itself takes loaded objects. Here a codebook name or file becomes a
:class:`~qcode.codebook.Codebook`, a model name an embedder, and ``tuned`` picks the
packaged model tuned once to the codebook's own text (:mod:`.tuning`), loaded (or
trained) when the model is first needed. :class:`PackagedModelSource` also fine-tunes
the model on coders' decisions (``learning="fine-tune"``, :mod:`.finetune`).
"""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path
from typing import Any

from .. import embed as _embed
from ..codebook.io import load_codebook
from ..codebook.model import Codebook
from ..embed.manifest import get_model_spec
from ..errors import ProjectError, QcodeError
from . import finetune as _finetune
from . import tuning as _tuning
from .coders import LearningScope
from .learned import codebook_tuned_folder
from .ranking import ModelSource, Suggester
from .scoring import identity_of


def packaged_name(embedder: Any) -> str | None:
    """The manifest name of a packaged model behind ``embedder`` (base or tuned), else None."""
    ident = identity_of(embedder)
    if ident.get("backend") == "fake":
        return None
    try:
        spec = get_model_spec(str(ident.get("name")))
    except Exception:
        return None
    known = {spec.weights_sha256}
    return spec.name if {ident.get("weights_sha256"), ident.get("base_weights_sha256")} & known else None


class PackagedModelSource(ModelSource):
    """A model given by name (or ``None``: the default) or as an embedder, tuned to ``codebook`` as ``tuned`` asks.

    The model is loaded on first use, so building a suggester costs nothing until it ranks.
    """

    def __init__(self, codebook: Codebook, model: Any = None, *, backend: str = "auto",
                 tuned: bool | str = "auto") -> None:
        super().__init__(None)
        if tuned not in (True, False, "auto"):
            raise QcodeError(f"tuned must be True, False or 'auto', not {tuned!r}")
        self.codebook = codebook
        self.model = model
        self.backend = backend
        self.tuned = tuned
        self._embedder: Any = None

    def embedder(self) -> Any:
        if self._embedder is None:
            model = self.model
            # looked up at call time, so that a stand-in set on qcode.embed (tests) is the one used
            base = _embed.load_embedder(backend=self.backend) if model is None else (
                _embed.load_embedder(model, backend=self.backend) if isinstance(model, str) else model)
            self._embedder = self._codebook_tuned(base)
        return self._embedder

    def packaged(self, embedder: Any) -> str | None:
        return packaged_name(embedder)

    def portable(self) -> PackagedModelSource:
        clone = copy.copy(self)
        clone._embedder = None
        return clone

    def _codebook_tuned(self, base: Any) -> Any:
        if self.tuned is False or "tuned" in identity_of(base):
            return base
        given = self.model is not None and not isinstance(self.model, str)
        name = packaged_name(base)
        if self.tuned == "auto" and given:
            return base
        if name is None:
            if self.tuned is True:
                raise QcodeError(f"tuned=True needs a packaged model (models/manifest.json), not "
                                 f"{identity_of(base).get('name')!r}")
            return base
        thin = _tuning.auto_skip_reason(self.codebook)
        if self.tuned == "auto" and thin is not None:
            self.note = thin
            return base
        if importlib.util.find_spec("torch") is None or importlib.util.find_spec("sentence_transformers") is None:
            if self.tuned is True:
                raise QcodeError("tuning the model to the codebook needs torch and sentence-transformers "
                                 "(once per codebook version)")
            self.note = "torch is not installed: the base model is used (tuning needs it once per codebook)"
            return base
        tuned, report = _tuning.tune_for_codebook(self.codebook, base_model=name,
                                                  train=self.tuned is True or _tuning.train_on_miss())
        if tuned is None:
            self.note = report.reason
            return base
        if report.skipped:
            self.note = f"codebook tuning skipped {len(report.skipped)} code(s) with too little text"
        return tuned

    def fine_tune(self, suggester: Suggester, base: Any) -> tuple[Any, dict[str, int]]:
        name = packaged_name(base)
        if name is None:
            return super().fine_tune(suggester, base)
        texts, code_ids, accepted = suggester.examples.decisions()
        params = suggester.fine_tune_settings()
        more = _finetune.more_needed(suggester.codebook, code_ids, accepted, params.min_accepted)
        body, report = _finetune.fine_tune(suggester.codebook, texts, code_ids, accepted,
                                      scope=LearningScope(tuple(suggester.learned_from or ())), params=params,
                                      base_model=name, root=suggester.body_root,
                                      last_event_id=suggester.last_event_id, start=codebook_tuned_folder(base))
        if body is None and report.reason:
            self.note = report.reason
        return body, more

    def load_body(self, folder: Path) -> Any:
        return _tuning.load_tuned_embedder(folder, backend=self.backend)


#: The codebook of a run that names none and has no project (or a project without one).
DEFAULT_CODEBOOK = "mcn-sst"


def choose_codebook(codebook: Codebook | str | None, project: Any = None) -> Codebook | str:
    """The codebook a run ranks against: ``codebook`` if given, else the project's own, else ``mcn-sst``."""
    if codebook is not None:
        return codebook
    if project is not None:
        try:
            book: Codebook = project.codebook
            return book
        except ProjectError:  # a project made without a codebook takes the default
            pass
    return DEFAULT_CODEBOOK


def make_suggester(codebook: Codebook | str, model: Any = None, *, backend: str = "auto",
                   tuned: bool | str = "auto", **options: Any) -> Suggester:
    """A :class:`~qcode.suggest.Suggester` for a codebook and model given by name or loaded.

    Parameters
    ----------
    codebook : a :class:`~qcode.codebook.Codebook`, a shipped codebook name or a file.
    model : an embedder from :func:`qcode.embed.load_embedder`, a model name, or ``None``
        for the default (all-MiniLM-L6-v2, loaded offline on first use).
    backend : the embedding backend of a model given by name.
    tuned : True, False or "auto"
        Use the packaged model fine-tuned once on the codebook's own text (cached; torch
        is needed the first time only, suggesting runs on ONNX). "auto": when qcode
        loads the packaged model itself and at least half of the codes have three or
        more texts (name, definition, criteria, examples); an embedder you pass in is
        used as it is. A model not yet cached is trained on first use (minutes; a line
        on stderr says how long), unless ``QCODE_TUNE_ON_MISS=base``; ``qcode codebook
        tune`` builds it ahead (the installer does for the shipped codebooks).
    options : the :class:`~qcode.suggest.Suggester`'s own (``codes``, ``params``,
        ``learning``, ``context``, ``abstain``, ``seed``, ``fine_tune_params``).

    Example
    -------
    >>> from qcode.embed.fake import FakeEmbedder
    >>> make_suggester("mcn-sst", model=FakeEmbedder()).codebook.name
    'mcn-sst'
    """
    book = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)
    return Suggester(book, PackagedModelSource(book, model, backend=backend, tuned=tuned), **options)


__all__ = ["DEFAULT_CODEBOOK", "PackagedModelSource", "choose_codebook", "make_suggester", "packaged_name"]
