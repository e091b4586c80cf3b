"""learning="fine-tune": SetFit-style learning from a coder's accepts and rejects.

The body: the embedder (the codebook-tuned model where the suggester uses one,
else the base weights) fine-tuned with the supervised contrastive loss of
:mod:`.tuning` on groups made of each code's own definitions and examples
(anchors) plus the passages coders accepted for it. The head: the existing
per-code logistic-regression blend of :class:`~qcode.suggest.Suggester`
(rejected passages as negatives), fitted on the tuned embeddings.

Decisions are taken from one :class:`~.coders.LearningScope` only; the tuned
model is keyed by the scope, the codebook version, the base weights, the
decisions themselves and the parameters, so the same decisions and seed give
the same folder. Codes with fewer than ``min_accepted`` accepted passages keep
their anchors only; :func:`more_needed` says how many more each needs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..codebook import Codebook
from ..errors import ModelError, QcodeError
from .coders import LearningScope
from .params import FineTuneParams
from .scoring import description_text, evidence_texts
from .tuning import (
    FORMAT,
    TuningReport,
    contrastive_tune,
    load_base_sentence_transformer,
    load_tuned_embedder,
    out_of_memory,
    read_provenance,
    save_tuned,
    tuned_root,
)


def _check(codebook: Codebook, texts: Sequence[str], code_ids: Sequence[str], accepted: Sequence[bool]) -> None:
    if not (len(texts) == len(code_ids) == len(accepted)):
        raise QcodeError(f"fine-tune needs lists of equal length, got texts={len(texts)}, "
                         f"code_ids={len(code_ids)}, accepted={len(accepted)}")
    unknown = sorted({c for c in code_ids if c not in codebook})
    if unknown:
        raise QcodeError(f"fine-tune: decisions name code(s) not in codebook {codebook.name!r}: {', '.join(unknown)}")


def decision_groups(codebook: Codebook, texts: Sequence[str], code_ids: Sequence[str],
                    accepted: Sequence[bool]) -> dict[str, list[str]]:
    """Per leaf: its anchors (description, criteria, examples) and the passages accepted for it."""
    _check(codebook, texts, code_ids, accepted)
    groups: dict[str, list[str]] = {}
    for code in codebook.leaves():
        parent = codebook.get(code.parent) if code.parent else None
        groups[code.id] = [description_text(code, parent), *evidence_texts(code), code.name]
    for text, code_id, ok in zip(texts, code_ids, accepted):
        if ok and code_id in groups and text not in groups[code_id]:
            groups[code_id].append(str(text))
    return {k: list(dict.fromkeys(t for t in v if t.strip())) for k, v in groups.items()}


def more_needed(codebook: Codebook, code_ids: Sequence[str], accepted: Sequence[bool],
                min_accepted: int = 2) -> dict[str, int]:
    """For each leaf, how many more accepted passages it needs before its decisions shape the body."""
    counts = {c.id: 0 for c in codebook.leaves()}
    for code_id, ok in zip(code_ids, accepted):
        if ok and code_id in counts:
            counts[code_id] += 1
    return {k: max(0, min_accepted - n) for k, n in counts.items() if n < min_accepted}


def fine_tune_key(codebook: Codebook, base_sha: str, scope: LearningScope, texts: Sequence[str],
                  code_ids: Sequence[str], accepted: Sequence[bool], params: FineTuneParams,
                  start_sha: str | None = None) -> str:
    decisions = sorted(zip(map(str, texts), map(str, code_ids), map(bool, accepted)))
    payload: dict[str, Any] = {"format": FORMAT, "kind": "decisions", "codebook": codebook.version, "base": base_sha,
                               "scope": scope.key, "decisions": decisions, "params": params.to_dict()}
    if start_sha is not None:
        payload["start"] = start_sha
    payload_text = json.dumps(payload, sort_keys=True)
    return hashlib.sha256(payload_text.encode("utf-8")).hexdigest()[:20]


def fine_tune(codebook: Codebook, texts: Sequence[str], code_ids: Sequence[str], accepted: Sequence[bool], *,
              scope: LearningScope, params: FineTuneParams | None = None, base_model: str = "all-MiniLM-L6-v2",
              root: Path | None = None, last_event_id: int | None = None,
              start: Path | None = None) -> tuple[Any, TuningReport]:
    """The body fine-tuned on the scope's decisions (cached), or ``None`` and why (no usable decisions).

    ``start``: the folder of the codebook-tuned model to continue from (else the base weights); its
    weights' sha256 is part of the key and of the provenance.
    """
    from ..embed.manifest import get_model_spec

    params = params or FineTuneParams()
    spec = get_model_spec(base_model)
    groups = decision_groups(codebook, texts, code_ids, accepted)
    missing = more_needed(codebook, code_ids, accepted, params.min_accepted)
    report = TuningReport(used=[k for k in groups if k not in missing], skipped=sorted(missing))
    if not any(accepted):
        report.reason = "no accepted decisions to learn from: the base model is used"
        return None, report
    started = read_provenance(start) if start is not None else None
    start_sha = started["weights_sha256"] if started else None
    key = fine_tune_key(codebook, spec.weights_sha256, scope, texts, code_ids, accepted, params, start_sha)
    folder = (root or tuned_root()) / key
    if folder.exists():
        try:
            report.folder, report.cached = folder, True
            return load_tuned_embedder(folder, read_provenance(folder)), report
        except ModelError:
            pass
    began = time.perf_counter()
    logging.getLogger("qcode.embed.tuning").info(
        "fine-tuning %s on %d decisions of %s (%d steps; about a CPU-minute per 100 decisions)",
        spec.name, len(texts), " + ".join(scope.coders) or "the codebook", params.steps)
    try:
        model = load_base_sentence_transformer(base_model, params.max_seq_length, start=start)
        contrastive_tune(model, list(groups.values()), steps=params.steps, per_code=params.per_code,
                         learning_rate=params.learning_rate, temperature=params.temperature, seed=params.seed)
    except (MemoryError, RuntimeError) as exc:
        if isinstance(exc, RuntimeError) and not out_of_memory(exc):
            raise
        report.reason = ("fine-tuning on the decisions ran out of memory: the model is used as it is; retry with "
                         "`qcode learn PROJECT` when more memory is free")
        return None, report
    provenance = {"format": FORMAT, "kind": "decisions", "key": key, "base_model": spec.name,
                  "base_weights_sha256": spec.weights_sha256, "codebook": codebook.name,
                  "codebook_version": codebook.version, "params": params.to_dict(), "scope": scope.key,
                  "learned_from_coders": list(scope.coders), "decisions": len(texts),
                  "last_event_id": last_event_id, "dim": spec.dim,
                  "started_from": {"tuned": f"{started['kind']}-{started['key']}", "weights_sha256": start_sha}
                  if started else None}
    folder.parent.mkdir(parents=True, exist_ok=True)
    save_tuned(model, folder, provenance)
    report.folder, report.seconds = folder, time.perf_counter() - began
    return load_tuned_embedder(folder, read_provenance(folder)), report


__all__ = ["decision_groups", "fine_tune", "fine_tune_key", "more_needed"]
