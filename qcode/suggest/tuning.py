"""A codebook-tuned embedder: MiniLM fine-tuned once per codebook version on the codebook's own text.

No labelled data is needed. Each codable code contributes its texts (the
description prototype, inclusion criteria, examples, name); a supervised
contrastive loss pulls texts of the same code together and pushes the other
codes' texts away, sibling codes included (they sit in every batch). A batch
holds ``per_code`` texts of every usable code, so each step sees every code.

Codes with fewer than ``min_texts`` texts are skipped and named in
:attr:`TuningReport.skipped` (a name and one definition sentence teach
nothing: on SERDIF, 2 texts per code, tuning changed nothing); with fewer than
two usable codes no model is tuned and the base model stays in use.

Measured (``bench/bench_quality.py``; base -> tuned, top-1/top-3/domain):
dev quotes 0.500/0.917/0.583 -> 0.750/1.000/0.833; demo gold
0.562/0.753/0.663 -> 0.674/0.809/0.730; SERDIF unchanged.

The tuned weights are cached under the user cache folder
(``$QCODE_CACHE_DIR/tuned/<key>``), the key hashing the codebook version,
the base weights' sha256 and the training parameters, so the same codebook
and base give the same folder and the training runs once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..codebook import Codebook
from ..errors import ModelError
from .ranking import description_text, evidence_texts

FORMAT = "qcode-tuned-model/1"


@dataclass(frozen=True)
class TuningParams:
    """Training parameters of the contrastive fine-tuning (all part of the cache key)."""

    steps: int = 30
    per_code: int = 4
    learning_rate: float = 2e-5
    temperature: float = 0.05
    min_texts: int = 3
    seed: int = 0
    max_seq_length: int = 128

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TuningReport:
    """What a tuning did (or why it did not): codes used and skipped, seconds, the model folder."""

    used: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    folder: Path | None = None
    seconds: float = 0.0
    cached: bool = False
    reason: str | None = None


def codebook_groups(codebook: Codebook, min_texts: int = 3) -> tuple[dict[str, list[str]], list[str]]:
    """The training texts of each codable leaf, and the ids of leaves with fewer than ``min_texts``."""
    groups: dict[str, list[str]] = {}
    skipped: list[str] = []
    for code in codebook.leaves():
        parent = codebook.get(code.parent) if code.parent else None
        texts = [description_text(code, parent), *evidence_texts(code), code.name]
        unique = list(dict.fromkeys(t.strip() for t in texts if t and t.strip()))
        if len(unique) >= min_texts:
            groups[code.id] = unique
        else:
            skipped.append(code.id)
    return groups, skipped


def tuning_key(codebook: Codebook, base_weights_sha256: str, params: TuningParams) -> str:
    """A stable hash of what determines the tuned weights."""
    payload = json.dumps({"format": FORMAT, "codebook": codebook.name, "version": codebook.version,
                          "base": base_weights_sha256, "params": params.to_dict()}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:20]


def supervised_contrastive_loss(embeddings: Any, labels: Sequence[int], temperature: float) -> Any:
    """SupCon: for each text, the mean log-probability of its same-label texts among all others."""
    import torch
    import torch.nn.functional as F

    z = F.normalize(embeddings, dim=1)
    n = z.shape[0]
    sim = z @ z.T / temperature
    lab = torch.tensor(list(labels))
    eye = torch.eye(n, dtype=torch.bool)
    positive = (lab[:, None] == lab[None, :]) & ~eye
    sim = sim.masked_fill(eye, -1e9)
    log_p = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    has = positive.any(dim=1)
    if not bool(has.any()):
        return (z * 0).sum()
    return (-(log_p * positive).sum(dim=1)[has] / positive.sum(dim=1)[has]).mean()


def contrastive_tune(model: Any, groups: Sequence[Sequence[str]], *, steps: int, per_code: int,
                     learning_rate: float, temperature: float, seed: int) -> Any:
    """Fine-tune a SentenceTransformer in place on ``groups`` (texts of one label per group)."""
    import torch

    rng = random.Random(seed)
    torch.manual_seed(seed)
    usable = [i for i, g in enumerate(groups) if len(g) >= 2]
    if len(usable) < 2:
        return model
    optimiser = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    model.train()
    for _ in range(steps):
        texts: list[str] = []
        labels: list[int] = []
        for i in usable:
            pick = rng.sample(list(groups[i]), min(per_code, len(groups[i])))
            texts.extend(pick)
            labels.extend([i] * len(pick))
        features = model.tokenize(texts) if not hasattr(model, "preprocess") else model.preprocess(texts)
        loss = supervised_contrastive_loss(model(features)["sentence_embedding"], labels, temperature)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    return model


def load_base_sentence_transformer(model_name: str = "all-MiniLM-L6-v2", max_seq_length: int = 128) -> Any:
    """The packaged base weights as a SentenceTransformer, hub off (hash-checked by the manifest)."""
    from ..embed.base import physical_cores
    from ..embed.manifest import get_model_spec
    from ..embed.st_backend import force_offline

    spec = get_model_spec(model_name)
    folder = spec.verify()
    force_offline()
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(physical_cores())
    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    model.max_seq_length = max_seq_length
    return model


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_tuned(model: Any, folder: Path, provenance: dict[str, Any]) -> Path:
    """Save weights and ``provenance.json`` into ``folder`` atomically (written aside, then renamed)."""
    from .._io import atomic_write_text

    folder = Path(folder)
    tmp = folder.with_name(folder.name + f".tmp-{int(time.time() * 1e6)}")
    model.save(str(tmp))
    weights = next(iter(sorted(tmp.glob("*.safetensors"))), None)
    info = dict(provenance, weights_sha256=_sha256_file(weights) if weights else None)
    graph = export_onnx(tmp)
    if graph is not None:
        info["onnx_sha256"] = _sha256_file(graph)
    atomic_write_text(tmp / "provenance.json", json.dumps(info, indent=1, sort_keys=True))
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)
    return folder


ONNX_FILE = "model.onnx"


def export_onnx(folder: Path) -> Path | None:
    """Write the tuned weights' sentence-embedding graph beside them (no torch: :mod:`qcode.embed._graph`).

    Suggesting with a tuned model then needs ONNX Runtime only, like the base model.
    Returns the graph's path, or ``None`` when the ``onnx`` package is missing (the
    sentence-transformers backend is used then).
    """
    try:
        from ..embed._graph import write_bert_embedding_graph
    except ImportError:
        return None
    out = Path(folder) / ONNX_FILE
    try:
        write_bert_embedding_graph(folder, out)
    except ImportError:
        return None
    return out


def read_provenance(folder: Path) -> dict[str, Any]:
    """The provenance of a saved tuned model; :class:`ModelError` when it is missing or damaged."""
    path = Path(folder) / "provenance.json"
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: tuned model provenance unreadable ({exc.__class__.__name__})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise ModelError(f"{path}: not a qcode tuned model ({FORMAT} expected)")
    weights = next(iter(sorted(Path(folder).glob("*.safetensors"))), None)
    if weights is None or _sha256_file(weights) != info.get("weights_sha256"):
        raise ModelError(f"{folder}: tuned weights missing or damaged (sha256 differs from provenance.json)")
    graph = Path(folder) / ONNX_FILE
    if info.get("onnx_sha256") and (not graph.is_file() or _sha256_file(graph) != info["onnx_sha256"]):
        raise ModelError(f"{folder}: tuned ONNX graph missing or damaged (sha256 differs from provenance.json)")
    return info


class TunedEmbedder:
    """An :class:`~qcode.embed.Embedder`-compatible wrapper of a tuned model folder (sentence-transformers)."""

    backend = "sentence-transformers"

    def __init__(self, folder: Path, provenance: dict[str, Any]):
        self.folder = Path(folder)
        self.provenance = provenance
        self._model: Any = None

    @property
    def identity(self) -> dict[str, Any]:
        return tuned_identity(self.provenance, self.backend)

    @property
    def dim(self) -> int:
        return int(self.identity["dim"])

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def encode(self, texts: Sequence[str], *, progress: Any = None) -> np.ndarray:
        from ..embed.base import check_texts, l2_normalise

        items = check_texts(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._model is None:
            from ..embed.st_backend import force_offline

            force_offline()
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(str(self.folder), device="cpu", local_files_only=True)
            self._model.eval()
        out = self._model.encode(items, batch_size=64, convert_to_numpy=True, normalize_embeddings=True,
                                 show_progress_bar=False)
        if progress is not None:
            progress(len(items))
        return l2_normalise(np.asarray(out, dtype=np.float32))


def tuned_identity(provenance: dict[str, Any], backend: str) -> dict[str, Any]:
    """The identity of vectors from a tuned model: the base model's name, the tuned weights' hash."""
    return {"name": provenance["base_model"], "backend": backend, "weights_sha256": provenance["weights_sha256"],
            "dim": int(provenance.get("dim", 384)), "normalize": True,
            "tuned": f"{provenance['kind']}-{provenance['key']}",
            "base_weights_sha256": provenance["base_weights_sha256"]}


def _onnx_class() -> Any:
    from ..embed.onnx_backend import OnnxEmbedder

    class TunedOnnxEmbedder(OnnxEmbedder):
        """A tuned model on ONNX Runtime: the graph and tokenizer saved in its folder, no torch."""

        def __init__(self, folder: Path, provenance: dict[str, Any]):
            from ..embed.manifest import get_model_spec

            super().__init__(get_model_spec(provenance["base_model"]))
            self.folder = Path(folder)
            self.provenance = provenance

        @property
        def identity(self) -> dict:
            return tuned_identity(self.provenance, self.backend)

        def load(self) -> None:
            if self._session is not None:
                return
            import onnxruntime as ort
            from tokenizers import Tokenizer

            from ..embed.base import physical_cores

            tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
            tokenizer.no_padding()
            tokenizer.enable_truncation(max_length=int(self.provenance.get("params", {}).get("max_seq_length", 128)))
            options = ort.SessionOptions()
            options.intra_op_num_threads = self.threads or physical_cores()
            options.inter_op_num_threads = 1
            options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.log_severity_level = 3
            self._session = ort.InferenceSession(str(self.folder / ONNX_FILE), options,
                                                 providers=["CPUExecutionProvider"])
            self._tokenizer = tokenizer

    return TunedOnnxEmbedder


def load_tuned_embedder(folder: Path, provenance: dict[str, Any] | None = None, *, backend: str = "auto",
                        cache: bool = True) -> Any:
    """The embedder of a saved tuned model: ONNX Runtime when its graph and onnxruntime are there
    (no torch), else sentence-transformers; cached on disk like the base model (its identity differs)."""
    import importlib.util

    info = provenance or read_provenance(folder)
    onnx_ok = (Path(folder) / ONNX_FILE).is_file() and all(
        importlib.util.find_spec(m) is not None for m in ("onnxruntime", "tokenizers"))
    inner: Any = _onnx_class()(folder, info) if onnx_ok and backend in ("auto", "onnx") else TunedEmbedder(folder, info)
    if not cache:
        return inner
    from ..embed.cache import CachedEmbedder, EmbeddingCache

    return CachedEmbedder(inner, EmbeddingCache.default())


def tuned_root() -> Path:
    """Where codebook-tuned models are cached: ``$QCODE_TUNED_DIR``, else ``<user cache dir>/tuned``."""
    import os

    from .._io import user_cache_dir

    folder = os.environ.get("QCODE_TUNED_DIR")
    return Path(folder) if folder else user_cache_dir() / "tuned"


def tune_for_codebook(codebook: Codebook, params: TuningParams | None = None, *,
                      base_model: str = "all-MiniLM-L6-v2", root: Path | None = None) -> tuple[Any, TuningReport]:
    """The codebook-tuned embedder (trained once, then read from the cache), or ``None`` and why.

    A cached folder whose provenance or weights are damaged is retrained, never trusted.
    """
    from ..embed.manifest import get_model_spec

    params = params or TuningParams()
    spec = get_model_spec(base_model)
    groups, skipped = codebook_groups(codebook, params.min_texts)
    report = TuningReport(used=list(groups), skipped=skipped)
    if len(groups) < 2:
        report.reason = (f"codebook {codebook.name!r}: {len(groups)} code(s) with at least {params.min_texts} texts "
                         "(name, definition, criteria, examples); the base model is used")
        return None, report
    key = tuning_key(codebook, spec.weights_sha256, params)
    folder = (root or tuned_root()) / key
    if folder.exists():
        try:
            info = read_provenance(folder)
            report.folder, report.cached = folder, True
            return load_tuned_embedder(folder, info), report
        except ModelError:
            pass
    start = time.perf_counter()
    logging.getLogger("qcode.embed.tuning").info(
        "tuning %s to codebook %r once (%d codes, %d steps; minutes on a CPU, then cached)",
        spec.name, codebook.name, len(groups), params.steps)
    model = load_base_sentence_transformer(base_model, params.max_seq_length)
    contrastive_tune(model, [groups[k] for k in groups], steps=params.steps, per_code=params.per_code,
                     learning_rate=params.learning_rate, temperature=params.temperature, seed=params.seed)
    provenance = {"format": FORMAT, "kind": "codebook", "key": key, "base_model": spec.name,
                  "base_weights_sha256": spec.weights_sha256, "codebook": codebook.name,
                  "codebook_version": codebook.version, "params": params.to_dict(), "codes_used": list(groups),
                  "codes_skipped": skipped, "dim": spec.dim}
    folder.parent.mkdir(parents=True, exist_ok=True)
    save_tuned(model, folder, provenance)
    report.folder, report.seconds = folder, time.perf_counter() - start
    return load_tuned_embedder(folder, read_provenance(folder)), report


__all__ = ["ONNX_FILE", "TunedEmbedder", "TuningParams", "TuningReport", "codebook_groups", "contrastive_tune",
           "export_onnx", "load_tuned_embedder", "read_provenance", "supervised_contrastive_loss",
           "tune_for_codebook", "tuned_identity", "tuning_key"]
