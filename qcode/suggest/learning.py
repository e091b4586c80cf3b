"""Learned models kept inside a project: one folder per learning scope, one numbered version per training.

``qcode learn PROJECT`` and ``qcode suggest --project P --learn`` train a
:class:`~qcode.suggest.Suggester` on the standing decisions of one
:class:`~qcode.suggest.coders.LearningScope` (a coder in blind mode, or the
coders named with ``--learn-from``) and save it here::

    PROJECT/models/<scope folder>/v0001/provenance.json   what made it (below)
    PROJECT/models/<scope folder>/v0001/state.json        the decisions the head learned
    PROJECT/models/<scope folder>/bodies/<key>/           fine-tuned weights (learning="fine-tune")

``provenance.json`` names the learning kind, the coders, the base weights'
sha256, the codebook version, the last event id used, the parameters, the
seed, the number of decisions and the sha256 of ``state.json``. The same
decisions and seed give the same files, and a training whose result equals
the newest version saves nothing new.

Bad input never loses anything: no decisions, decisions only for codes no
longer in the codebook, a saved model trained on other base weights or one
whose files are damaged each give a one-line warning and the codebook-only
model for that scope, and nothing in the project is changed.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._io import atomic_write_text
from ..codebook.io import load_codebook
from ..codebook.model import Codebook
from ..errors import InputError, ModelError
from .coders import LearningScope, scoped_labels, scoped_no_code
from .learned import LEARNING_KINDS
from .models import make_suggester
from .pipeline import suggest_corpus
from .ranking import Suggester
from .state import read_state, save_state

FORMAT = "qcode-learned-model/1"
MODELS_DIR = "models"


@dataclass
class LearnOutcome:
    """What learning for one scope did: the suggester to use, the saved version (if any), warnings."""

    scope: LearningScope
    suggester: Any
    version: int | None = None
    folder: Path | None = None
    decisions: int = 0
    reused: bool = False
    fallback: bool = False
    warnings: list[str] = field(default_factory=list)
    more_needed: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def learned_from(self) -> list[str]:
        return [] if self.fallback else list(self.scope.coders)


def scope_folder(project_path: str | Path, scope: LearningScope) -> Path:
    """The folder of a scope's versions (coder names may hold any character: the folder name is a hash)."""
    name = "codebook-only" if not scope.coders else \
        "coders-" + hashlib.sha256(scope.key.encode("utf-8")).hexdigest()[:16]
    return Path(project_path) / MODELS_DIR / name


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def versions(project_path: str | Path, scope: LearningScope) -> list[tuple[int, Path]]:
    """The saved versions of a scope, oldest first."""
    root = scope_folder(project_path, scope)
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        if child.is_dir() and child.name.startswith("v") and child.name[1:].isdigit():
            found.append((int(child.name[1:]), child))
    return sorted(found)


def read_version(folder: Path) -> dict[str, Any]:
    """The provenance of a saved version, checked against its files; :class:`ModelError` if damaged."""
    path = folder / "provenance.json"
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: saved model unreadable ({exc.__class__.__name__})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise ModelError(f"{path}: not a qcode learned model ({FORMAT} expected)")
    state = folder / "state.json"
    if not state.is_file() or _sha256(state) != info.get("state_sha256"):
        raise ModelError(f"{folder}: saved model damaged (state.json missing or its sha256 differs from provenance.json)")
    if info.get("body"):
        from .tuning import read_provenance

        read_provenance(folder.parent / info["body"])
    return info


def last_event_id(project: Any, scope: LearningScope) -> int | None:
    """The newest event id among the scope's coders' decisions (``None``: no decisions)."""
    known = set(project.coders())
    ids = []
    for coder in scope.coders:
        if coder in known:
            frame = project.decisions(coder)
            if len(frame):
                ids.append(int(frame["event_id"].max()))
    return max(ids) if ids else None


def decisions_key(texts: Sequence[str], code_ids: Sequence[str], accepted: Sequence[bool]) -> str:
    rows = sorted(zip(map(str, texts), map(str, code_ids), map(bool, accepted)))
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode("utf-8")).hexdigest()


def learn_scope(project: Any, codebook: Codebook, scope: LearningScope,
                make: Callable[..., Suggester], *, learning: str = "auto", seed: int = 0,
                save: bool = True, retrain: bool = False) -> LearnOutcome:
    """Train (or reuse) the model of ``scope`` on its standing decisions in ``project``.

    ``make(learning=..., seed=...)`` builds a fresh codebook-only
    :class:`~qcode.suggest.Suggester` (same model and options as the run).
    ``retrain`` (``qcode learn``): train a new version even when the newest is
    damaged or was made on other base weights (it is left in place). Without it
    (``qcode suggest --learn``), such a version makes the scope fall back to the
    codebook-only model, with a warning.
    """
    if learning not in LEARNING_KINDS:
        raise ModelError(f"learning must be one of {', '.join(LEARNING_KINDS)}, not {learning!r}")
    start = time.perf_counter()
    who = " + ".join(scope.coders) or "nobody"
    base = make(learning=learning, seed=seed)
    outcome = LearnOutcome(scope, base)

    def fallback(message: str) -> LearnOutcome:
        outcome.warnings.append(f"{message}; {who}'s suggestions come from the codebook alone (no learned model)")
        outcome.suggester = make(learning=learning, seed=seed)
        outcome.fallback = True
        outcome.seconds = time.perf_counter() - start
        return outcome

    labels = scoped_labels(project, scope)
    if not len(labels):
        return fallback(f"no accept/reject decisions by {who} to learn from")
    known = {c.id for c in codebook.codes}
    gone = sorted(set(labels["code_id"]) - known)
    if gone:
        kept = labels[labels["code_id"].isin(known)]
        outcome.warnings.append(f"{len(labels) - len(kept)} decision(s) by {who} name code(s) no longer in codebook "
                                f"{codebook.name!r} ({', '.join(gone[:5])}{', ...' if len(gone) > 5 else ''}): "
                                "left out of learning")
        labels = kept
        if not len(labels):
            return fallback(f"no decisions by {who} for codes of the current codebook")
    texts = labels["text"].tolist()
    code_ids = labels["code_id"].tolist()
    accepted = [bool(a) for a in labels["accepted"]]
    last_id = last_event_id(project, scope)
    no_code = scoped_no_code(project, scope.coders)  # a coder's "no code" passages, learned by abstention
    key = decisions_key([*texts, *no_code], [*code_ids, *[""] * len(no_code)], [*accepted, *[False] * len(no_code)])
    base_sha = str(base.embedder.identity.get("base_weights_sha256") or base.embedder.identity.get("weights_sha256"))
    saved = versions(project.path, scope)
    if saved:
        number, folder = saved[-1]
        try:
            info = read_version(folder)
        except ModelError as exc:
            if not retrain:
                return fallback(f"{exc}; run `qcode learn` to train a new version (the damaged one is kept)")
            outcome.warnings.append(f"{exc}; left as it is, a new version is trained")
            info = None
        if info is not None and info.get("base_weights_sha256") != base_sha:
            message = (f"saved model v{number} of {who} was trained on other base weights "
                       f"({str(info.get('base_weights_sha256'))[:12]}..., installed {base_sha[:12]}...)")
            if not retrain:
                return fallback(message + "; run `qcode learn` to train it again")
            outcome.warnings.append(message + "; it is kept, a new version is trained")
            info = None
        if (info is not None and info.get("decisions_sha256") == key and info.get("learning") == learning
                and info.get("seed") == seed and info.get("codebook", {}).get("version") == codebook.version):
            suggester = make(learning=learning, seed=seed)
            _load_version(suggester, folder, info)
            suggester.learned_version = _version_record(scope, number, info)
            outcome.suggester, outcome.version, outcome.folder, outcome.reused = suggester, number, folder, True
            outcome.decisions = len(texts)
            outcome.seconds = time.perf_counter() - start
            return outcome
    suggester = make(learning=learning, seed=seed)
    suggester.body_root = scope_folder(project.path, scope) / "bodies"
    suggester.learn(texts, code_ids, accepted, coders=scope.coders, last_event_id=last_id, no_code=no_code)
    outcome.suggester, outcome.decisions = suggester, len(texts)
    outcome.more_needed = dict(getattr(suggester, "more_needed", {}) or {})
    if save:
        number = (saved[-1][0] if saved else 0) + 1
        folder = scope_folder(project.path, scope) / f"v{number:04d}"
        provenance = {
            "format": FORMAT, "version": number, "learning": learning, "learned_with": suggester.learning_used,
            "learned_from": list(scope.coders),
            "scope": scope.key, "base_model": base.embedder.identity.get("name"), "base_weights_sha256": base_sha,
            "codebook": {"name": codebook.name, "version": codebook.version}, "last_event_id": last_id,
            "decisions": len(texts), "accepted": sum(accepted), "decisions_sha256": key, "seed": seed,
            "params": suggester.learning_params(), "calibration": {**suggester.calibrator.record(), "temperature": suggester.calibrator.temperature},
            "body": body_folder_name(suggester, scope_folder(project.path, scope)),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        _save_version(folder, suggester, provenance)  # adds the state's sha256 to provenance
        suggester.learned_version = _version_record(scope, number, provenance)
        outcome.version, outcome.folder = number, folder
    outcome.seconds = time.perf_counter() - start
    return outcome


def body_folder_name(suggester: Suggester, root: Path) -> str | None:
    """Where ``suggester``'s fine-tuned body lives, relative to ``root`` when inside it (None: no body)."""
    if suggester.body is None:
        return None
    folder = Path(getattr(suggester.body, "inner", suggester.body).folder)
    try:
        return folder.resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return str(folder)


def _version_record(scope: LearningScope, number: int, provenance: dict[str, Any]) -> dict[str, Any]:
    """What a run records of the saved model it used (``learned_model``)."""
    return {"scope": scope.key, "version": number, "state_sha256": provenance.get("state_sha256")}


def _load_version(suggester: Suggester, folder: Path, info: dict[str, Any]) -> None:
    """Give ``suggester`` a version saved in a project: its fine-tuned body, learned state, coders, calibration."""
    body = suggester.source.load_body(folder.parent / info["body"]) if info.get("body") else None
    suggester.adopt(body, read_state(folder / "state.json"), info)


def _save_version(folder: Path, suggester: Suggester, provenance: dict[str, Any]) -> None:
    """Write state.json and provenance.json aside, then rename the folder into place."""
    tmp = folder.with_name(f".{folder.name}.tmp-{time.time_ns()}")
    tmp.mkdir(parents=True)
    save_state(suggester, tmp / "state.json")
    provenance["state_sha256"] = _sha256(tmp / "state.json")
    atomic_write_text(tmp / "provenance.json", json.dumps(provenance, indent=1, sort_keys=True, ensure_ascii=False))
    tmp.rename(folder)


__all__ = ["FORMAT", "LEARNING_KINDS", "LearnOutcome", "MODELS_DIR", "body_folder_name", "decisions_key", "last_event_id",
           "learn_scope", "read_version", "scope_folder", "versions"]


def scopes_for(project: Any, coders: Sequence[str] = (), learn_from: Sequence[str] = ()) -> list[LearningScope]:
    """The scopes to learn: one shared scope for ``learn_from``, else one per coder (given, or every coder)."""
    if learn_from:
        return [LearningScope(tuple(learn_from))]
    names = list(coders) or list(project.coders())
    return [LearningScope((name,)) for name in dict.fromkeys(names)]


def suggester_factory(codebook: Codebook, *, model: Any = None, backend: str = "auto",
                      **suggester_kwargs: Any) -> Callable[..., Any]:
    """A maker of fresh :class:`~qcode.suggest.Suggester` objects sharing one base embedder."""
    shared: dict[str, Any] = {}

    def make(**kwargs: Any) -> Suggester:
        options = {**suggester_kwargs, **kwargs}
        if "embedder" in shared:
            return make_suggester(codebook, model=shared["embedder"], **options)
        suggester = make_suggester(codebook, model=model, backend=backend, **options)
        shared["embedder"] = suggester.embedder
        return suggester

    return make


def learn_project(project: Any, *, coders: Sequence[str] = (), learn_from: Sequence[str] = (),
                  learning: str = "auto", seed: int = 0, model: Any = None, backend: str = "auto",
                  tuned: bool | str = "auto", retrain: bool = True, codebook: Codebook | None = None,
                  **suggester_kwargs: Any) -> list[LearnOutcome]:
    """Train and save the model of each scope (``qcode learn``): per coder, or one for ``learn_from``."""

    book = codebook or project.codebook
    scopes = scopes_for(project, coders, learn_from)
    if not scopes:
        raise InputError(f"{project.path}: no coders have made decisions yet, so there is nothing to learn from")
    make = suggester_factory(book, model=model, backend=backend, tuned=tuned, **suggester_kwargs)
    return [learn_scope(project, book, scope, make, learning=learning, seed=seed, retrain=retrain)
            for scope in scopes]


def suggest_by_scope(path: str | Path, project: Any, options: Any = None, *, codebook: Codebook | str | None = None,
                    coders: Sequence[str] = (), learn_from: Sequence[str] = (), learning: str = "auto",
                    seed: int = 0, model: Any = None, backend: str = "auto", tuned: bool | str = "auto",
                    context: bool | float | str = "auto", abstain: bool | float | str = "auto",
                    out: str | Path | None = None, on_scope: Callable[[str, int], None] | None = None,
                    **run_kwargs: Any) -> list[tuple[LearnOutcome | None, Any]]:
    """``qcode suggest --project P --learn``: one run per learning scope, each recording ``learned_from``.

    Blind (no ``learn_from``): a codebook-only run (for coders with no
    decisions yet) and one run per coder, each trained only on that coder's
    decisions, so a blind coder is never shown a model another coder taught.
    With ``learn_from``: one run, trained on those coders (not blind).
    ``out`` is written for the ``learn_from`` run only (per-coder runs live in the project).
    ``on_scope(coders, decisions)`` is called before each scope learns (progress for the CLI).
    """
    if out is not None and not learn_from:
        raise InputError("--out with --learn: each coder gets a run of their own in the project; name the coders "
                         "of one shared model with --learn-from CODER[,CODER] to write a file")
    if codebook is None:
        book = project.codebook
    elif isinstance(codebook, str):
        book = load_codebook(codebook)
    else:
        book = codebook
    make = suggester_factory(book, model=model, backend=backend, tuned=tuned, context=context, abstain=abstain)
    results: list[tuple[LearnOutcome | None, Any]] = []
    if not learn_from:
        results.append((None, suggest_corpus(path, make(learning=learning, seed=seed), options, project=project,
                                             **run_kwargs)))
    for scope in scopes_for(project, coders, learn_from):
        if on_scope is not None:
            on_scope(" + ".join(scope.coders), len(scoped_labels(project, scope)))
        outcome = learn_scope(project, book, scope, make, learning=learning, seed=seed, retrain=False)
        if outcome.fallback and not learn_from:
            results.append((outcome, None))  # the codebook-only run above serves this coder
            continue
        run = suggest_corpus(path, outcome.suggester, options, project=project, out=out, **run_kwargs)
        results.append((outcome, run))
    return results


__all__ += ["learn_project", "scopes_for", "suggest_by_scope", "suggester_factory"]
