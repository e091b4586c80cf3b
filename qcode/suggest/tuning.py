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
``scripts/install.sh`` builds the shipped codebooks' models at install time
(:func:`build_tuned`, ``qcode codebook tune --shipped``). Where a model is
missing when suggesting, it is trained then, after a line on stderr saying
how long it will take and with a bar of its steps; ``QCODE_TUNE_ON_MISS=base``
uses the base model instead, with a note on how to build the tuned one.
Measured on 2 shared CPU cores: mcn-sst (30 steps of 76 texts) 288 s at load
average 5.6 (191 s of CPU); clinical-networks (30 x 72) 67 s and npt (30 x 16)
20 s at load ~2. Fewer steps are not cheaper for free: 15 or 20 steps drop dev
top-1 from 0.750 to 0.583 (demo 0.674 -> 0.663 / 0.652), so 30 stays.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..codebook import Codebook
from ..errors import InputError, ModelError
from .params import TuningParams
from .scoring import description_text, evidence_texts

FORMAT = "qcode-tuned-model/1"
#: ``progress(steps_done, steps_total)``, called before the first step and after each one.
Progress = Callable[[int, int], None]
_PROGRESS: ContextVar[Progress | None] = ContextVar("qcode_tuning_progress", default=None)
#: Seconds per training text (forward and backward) on 2 CPU cores when this machine has measured none yet:
#: mcn-sst, 2,280 texts in 288 s on 2 shared cores (load average 5.6), rounded up; and on 2 quiet cores
#: (clinical-networks, 2,160 texts in 67 s at load ~2). The first tuning on a machine quotes the range.
FALLBACK_SECONDS_PER_TEXT = 0.13
QUIET_SECONDS_PER_TEXT = 0.027
#: Seconds of a tuning that do not grow with its steps: loading the base weights, saving, the ONNX export.
OVERHEAD_SECONDS = 10.0


@dataclass
class TuningReport:
    """What a tuning did (or why it did not): codes used and skipped, seconds, the model folder."""

    used: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    folder: Path | None = None
    seconds: float = 0.0
    cached: bool = False
    reason: str | None = None
    missing: bool = False


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
                     learning_rate: float, temperature: float, seed: int,
                     progress: Progress | None = None) -> Any:
    """Fine-tune a SentenceTransformer in place on ``groups`` (texts of one label per group)."""
    import torch

    rng = random.Random(seed)
    torch.manual_seed(seed)
    usable = [i for i, g in enumerate(groups) if len(g) >= 2]
    if len(usable) < 2:
        return model
    optimiser = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    model.train()
    if progress is not None:
        progress(0, steps)
    for step in range(steps):
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
        if progress is not None:
            progress(step + 1, steps)
    model.eval()
    return model


def load_base_sentence_transformer(model_name: str = "all-MiniLM-L6-v2", max_seq_length: int = 128, *,
                                   start: Path | None = None) -> Any:
    """The packaged base weights as a SentenceTransformer, hub off (hash-checked by the manifest).

    ``start``: a saved tuned model's folder to start from instead (its weights checked against its
    provenance by :func:`read_provenance` first).
    """
    from ..embed.base import physical_cores
    from ..embed.manifest import get_model_spec
    from ..embed.st_backend import force_offline

    spec = get_model_spec(model_name)
    if start is not None:
        read_provenance(start)
        folder = Path(start)
    else:
        folder = spec.verify()
    force_offline()
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # its "Loading weights" / "Writing model shards" bars would cut through qcode's
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
    graph = Path(folder) / ONNX_FILE
    checks: list[tuple[Path | None, Any, str]] = [(weights, info.get("weights_sha256"), "weights")]
    if info.get("onnx_sha256"):
        checks.append((graph, info["onnx_sha256"], "ONNX graph"))
    stamp = _stamp(checks)
    if stamp is not None and _read_stamp(folder) == stamp:
        return info
    for file, expected, what in checks:
        if file is None or not file.is_file() or _sha256_file(file) != expected:
            raise ModelError(f"{folder}: tuned {what} missing or damaged (sha256 differs from provenance.json)")
    if stamp is not None:
        _write_stamp(folder, stamp)
    return info


#: Beside a tuned model: the size and mtime of each file when its sha256 last matched provenance.json,
#: so that a warm run does not re-read 170 MB to find them unchanged (a file written since is hashed again).
STAMP_FILE = ".verified.json"


def _stamp(checks: list[tuple[Path | None, Any, str]]) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for path, expected, _ in checks:
        if path is None:
            return None
        try:
            stat = path.stat()
        except OSError:
            return None
        out[path.name] = [stat.st_size, stat.st_mtime_ns, expected]
    return out


def _read_stamp(folder: Path) -> Any:
    try:
        return json.loads((Path(folder) / STAMP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_stamp(folder: Path, stamp: dict[str, Any]) -> None:
    from .._io import atomic_write_text

    try:
        atomic_write_text(Path(folder) / STAMP_FILE, json.dumps(stamp, sort_keys=True))
    except OSError:  # a read-only cache: hash on every load instead
        pass


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
            self._model.max_seq_length = inference_max_tokens(self.provenance)
            self._model.eval()
        out = self._model.encode(items, batch_size=64, convert_to_numpy=True, normalize_embeddings=True,
                                 show_progress_bar=False)
        if progress is not None:
            progress(len(items))
        return l2_normalise(np.asarray(out, dtype=np.float32))


def inference_max_tokens(provenance: dict[str, Any]) -> int:
    """Where a tuned model truncates when it embeds: the base model's limit (256 word pieces for
    MiniLM), not the shorter one it was trained at, so a long turn is read as far as the base reads it."""
    from ..embed.manifest import get_model_spec

    return int(get_model_spec(provenance["base_model"]).max_seq_length)


def tuned_identity(provenance: dict[str, Any], backend: str) -> dict[str, Any]:
    """The identity of vectors from a tuned model: the base model's name, the tuned weights' hash."""
    return {"name": provenance["base_model"], "backend": backend, "weights_sha256": provenance["weights_sha256"],
            "dim": int(provenance.get("dim", 384)), "normalize": True,
            "tuned": f"{provenance['kind']}-{provenance['key']}",
            "base_weights_sha256": provenance["base_weights_sha256"],
            "max_tokens": inference_max_tokens(provenance)}


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
            from ..embed.onnx_backend import open_graph

            self._session, self._tokenizer = open_graph(self.folder / ONNX_FILE, self.folder / "tokenizer.json",
                                                        inference_max_tokens(self.provenance), self.threads)

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
    from .._io import user_cache_dir

    folder = os.environ.get("QCODE_TUNED_DIR")
    return Path(folder) if folder else user_cache_dir() / "tuned"


def train_on_miss() -> bool:
    """Whether a missing tuned model is trained when suggesting (``QCODE_TUNE_ON_MISS``: train, the default, or base)."""
    value = os.environ.get("QCODE_TUNE_ON_MISS", "train").strip().lower()
    if value not in ("train", "base"):
        raise InputError(f"QCODE_TUNE_ON_MISS must be 'train' or 'base', not {value!r}")
    return value == "train"


def auto_skip_reason(codebook: Codebook, min_texts: int | None = None) -> str | None:
    """Why ``tuned="auto"`` keeps the base model for ``codebook`` (fewer than half its codes have enough text)."""
    min_texts = TuningParams().min_texts if min_texts is None else min_texts
    groups, skipped = codebook_groups(codebook, min_texts)
    leaves = len(codebook.leaves())
    if len(groups) * 2 < leaves:
        return (f"codebook {codebook.name!r}: {len(skipped)} of {leaves} codes have fewer than {min_texts} texts "
                "(name, definition, criteria, examples); the base model is used")
    return None


@contextmanager
def tuning_progress(callback: Progress | None) -> Iterator[None]:
    """Report the steps of any codebook tuning started inside the block to ``callback(done, total)``."""
    token = _PROGRESS.set(callback)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


def _texts_per_step(groups: dict[str, list[str]], per_code: int) -> int:
    return sum(min(per_code, len(g)) for g in groups.values() if len(g) >= 2)


def measured_seconds_per_text(root: Path | None = None) -> float | None:
    """Seconds per training text of the latest tuning saved under ``root`` (None: none recorded there)."""
    folder = root or tuned_root()
    seen: list[tuple[float, float]] = []
    for info_file in folder.glob("*/provenance.json") if folder.is_dir() else ():
        try:
            info = json.loads(info_file.read_text(encoding="utf-8"))
            if float(info.get("texts_seen") or 0) > 0 and float(info.get("seconds") or 0) > 0:
                rate = max(float(info["seconds"]) - OVERHEAD_SECONDS, 1.0) / float(info["texts_seen"])
                seen.append((info_file.stat().st_mtime, rate))
        except (OSError, ValueError, TypeError):
            continue
    return max(seen)[1] if seen else None


def _core_scale() -> float:
    from ..embed.base import physical_cores

    return 2 / max(1, min(physical_cores(), 8))


def seconds_per_text(root: Path | None = None) -> float:
    """Seconds per training text on this machine: from the latest tuning saved under ``root``, else
    :data:`FALLBACK_SECONDS_PER_TEXT` (busy cores) scaled to the cores this process may use."""
    measured = measured_seconds_per_text(root)
    return measured if measured is not None else FALLBACK_SECONDS_PER_TEXT * _core_scale()


def describe_seconds(seconds: float) -> str:
    """'about 40 s', 'about 5 min'."""
    return f"about {max(10, round(seconds, -1)):.0f} s" if seconds < 90 else f"about {max(2, round(seconds / 60)):.0f} min"


def estimate_seconds(codebook: Codebook, params: TuningParams | None = None, root: Path | None = None) -> float:
    """How long tuning ``codebook`` will take on this machine (see :func:`seconds_per_text`)."""
    params = params or TuningParams()
    groups, _ = codebook_groups(codebook, params.min_texts)
    return OVERHEAD_SECONDS + params.steps * _texts_per_step(groups, params.per_code) * seconds_per_text(root)


def _default_progress(label: str) -> tuple[Progress, Callable[[], None]]:
    """Steps counted on one line of stderr where it is a terminal (nothing elsewhere: the tuning line said how long)."""
    import sys

    stream = sys.stderr
    if not stream.isatty():
        return (lambda done, total: None), (lambda: None)
    shown: list[bool] = []

    def update(done: int, total: int) -> None:
        shown.append(True)
        stream.write(f"\r{label}: step {done}/{total}")
        stream.flush()

    def close() -> None:
        if shown:
            stream.write("\n")
            stream.flush()

    return update, close


def tune_for_codebook(codebook: Codebook, params: TuningParams | None = None, *,
                      base_model: str = "all-MiniLM-L6-v2", root: Path | None = None, train: bool = True,
                      progress: Progress | None = None) -> tuple[Any, TuningReport]:
    """The codebook-tuned embedder (trained once, then read from the cache), or ``None`` and why.

    A cached folder whose provenance or weights are damaged is retrained, never trusted.
    ``train=False``: a model not in the cache is not trained (``None``, ``report.missing``,
    the reason naming the command that builds it). Training first logs one line saying how
    long it will take (a warning of ``qcode.embed.tuning``, so it shows without logging set
    up), then reports its steps to ``progress``, else to the callback of
    :func:`tuning_progress`, else to a bar on stderr.
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
    root = root or tuned_root()
    folder = root / key
    if folder.exists():
        try:
            info = read_provenance(folder)
            report.folder, report.cached = folder, True
            return load_tuned_embedder(folder, info), report
        except ModelError:
            pass
    texts_seen = params.steps * _texts_per_step(groups, params.per_code)
    estimate = describe_seconds(estimate_seconds(codebook, params, root))
    if measured_seconds_per_text(root) is None:  # nothing measured here yet: quiet to busy cores
        quiet = OVERHEAD_SECONDS + texts_seen * QUIET_SECONDS_PER_TEXT * _core_scale()
        estimate = f"{describe_seconds(quiet)} to {estimate.removeprefix('about ')}"
    if not train:
        report.missing = True
        report.reason = (f"no model tuned to codebook {codebook.name!r} (version {codebook.version}) is cached: the "
                         f"base model is used; build it once with `qcode codebook tune {codebook.name}` ({estimate})")
        return None, report
    start = time.perf_counter()
    logging.getLogger("qcode.embed.tuning").warning(
        "tuning %s to codebook %r once: %d codes, %d steps, %s on this machine, then cached in %s "
        "(--no-tune or tuned=False skips it)", spec.name, codebook.name, len(groups), params.steps, estimate, root)
    close: Callable[[], None] = lambda: None
    progress = progress or _PROGRESS.get()
    if progress is None:
        progress, close = _default_progress(f"tuning to {codebook.name}")
    try:
        model = load_base_sentence_transformer(base_model, params.max_seq_length)
        contrastive_tune(model, [groups[k] for k in groups], steps=params.steps, per_code=params.per_code,
                         learning_rate=params.learning_rate, temperature=params.temperature, seed=params.seed,
                         progress=progress)
    except (MemoryError, RuntimeError, OSError, ImportError) as exc:
        if not out_of_memory(exc):
            raise
        report.reason = (f"tuning to codebook {codebook.name!r} ran out of memory: the base model is used; "
                         f"retry with `qcode codebook tune {codebook.name}` when more memory is free")
        return None, report
    finally:
        close()
    provenance = {"format": FORMAT, "kind": "codebook", "key": key, "base_model": spec.name,
                  "base_weights_sha256": spec.weights_sha256, "codebook": codebook.name,
                  "codebook_version": codebook.version, "params": params.to_dict(), "codes_used": list(groups),
                  "codes_skipped": skipped, "dim": spec.dim, "texts_seen": texts_seen,
                  "seconds": round(time.perf_counter() - start, 1)}
    folder.parent.mkdir(parents=True, exist_ok=True)
    save_tuned(model, folder, provenance)
    report.folder, report.seconds = folder, time.perf_counter() - start
    return load_tuned_embedder(folder, read_provenance(folder)), report


def out_of_memory(exc: BaseException) -> bool:
    """Whether an error is the allocator's (torch raises RuntimeError for a failed CPU allocation; a shared
    library that cannot be mapped raises ImportError or OSError)."""
    if isinstance(exc, MemoryError):
        return True
    text = str(exc).lower()
    return any(s in text for s in ("out of memory", "can't allocate memory", "cannot allocate memory",
                                   "defaultcpuallocator", "not enough memory",
                                   "failed to map segment"))


def build_tuned(codebook: Codebook | str, *, base_model: str = "all-MiniLM-L6-v2", params: TuningParams | None = None,
                root: Path | None = None, progress: Progress | None = None) -> TuningReport:
    """Build (or find cached) the model ``make_suggester(tuned="auto")`` uses for ``codebook``, ahead of suggesting.

    ``qcode codebook tune`` and ``scripts/install.sh`` call this. A codebook that "auto"
    would not tune (too little text) is not tuned: ``report.reason`` says why.
    """
    import importlib.util

    if isinstance(codebook, str):
        from ..codebook import load_codebook

        codebook = load_codebook(codebook)
    reason = auto_skip_reason(codebook, (params or TuningParams()).min_texts)
    if reason is not None:
        return TuningReport(reason=reason)
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("sentence_transformers") is None:
        raise ModelError("tuning the model to a codebook needs torch and sentence-transformers (pip install torch "
                         "sentence-transformers)")
    _, report = tune_for_codebook(codebook, params, base_model=base_model, root=root, progress=progress)
    return report


__all__ = ["ONNX_FILE", "TunedEmbedder", "TuningReport", "auto_skip_reason", "build_tuned",
           "codebook_groups", "contrastive_tune", "estimate_seconds", "export_onnx", "load_tuned_embedder", "out_of_memory",
           "read_provenance", "supervised_contrastive_loss", "train_on_miss", "tune_for_codebook", "tuned_identity",
           "tuned_root", "tuning_key", "tuning_progress"]
