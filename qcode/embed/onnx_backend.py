"""The ONNX Runtime backend: ``tokenizers`` + onnxruntime, no torch at run time.

The graph is built once from the packaged, hash-checked weights, straight from
the safetensors file with numpy and ``onnx`` (no torch; see
:mod:`qcode.embed._graph`, ~1-2 s), and kept in
``<user cache dir>/models/<model>-<weights sha256[:16]>/`` beside a record
(``fp32.json`` / ``int8.json``) of the weights hash it came from and its own
sha256. Each load re-hashes the graph against that record; a damaged or foreign
graph is rebuilt, never used.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._io import atomic_write_text, user_cache_dir
from ..errors import ModelError
from .base import Embedder, Progress, check_texts, l2_normalise, length_sorted_batches, physical_cores
from .manifest import ModelSpec, sha256_file

if TYPE_CHECKING:
    from tokenizers import Tokenizer

logger = logging.getLogger(__name__)

BUILDER_VERSION = 3  # bump when the exported graph changes, to rebuild cached graphs
_TOKENIZE_CHUNK = 4096  # texts tokenised (and length-sorted) at a time, to keep memory flat


def open_graph(graph: str | Path, tokenizer_file: str | Path, max_length: int, threads: int | None = None) -> tuple[Any, Any]:
    """An ONNX Runtime session on ``graph`` (CPU, sequential, ``threads`` or the physical cores) and its
    tokenizer (no padding, truncation at ``max_length`` word pieces)."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_length)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or physical_cores()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"]), tokenizer


def graph_folder(spec: ModelSpec) -> Path:
    """Where the ONNX graphs of ``spec`` are cached (keyed by its weights hash)."""
    return user_cache_dir() / "models" / f"{spec.name}-{spec.weights_sha256[:16]}"


def _record_path(folder: Path, variant: str) -> Path:
    return folder / f"{variant}.json"


def read_graph_record(spec: ModelSpec, variant: str) -> dict | None:
    """The build record of a cached graph if it exists, matches ``spec`` and hashes right; else None."""
    folder = graph_folder(spec)
    try:
        record = json.loads(_record_path(folder, variant).read_text(encoding="utf-8"))
        path = folder / record["file"]
        if (
            record.get("weights_sha256") != spec.weights_sha256
            or record.get("builder") != BUILDER_VERSION
            or not path.is_file()
        ):
            return None
        if sha256_file(path) != record["sha256"]:
            warnings.warn(f"{path}: cached ONNX graph does not match its recorded sha256; rebuilding", RuntimeWarning, stacklevel=2)
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    record["path"] = str(path)
    return record


@contextmanager
def _build_lock(folder: Path):
    """An exclusive lock on ``folder/build.lock`` (POSIX); a no-op where fcntl is missing."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: concurrent builders each write a complete file, last one wins
        yield
        return
    with open(folder / "build.lock", "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _build_fp32(model_dir: Path, out_path: Path, what: str) -> dict:
    try:
        from ._graph import write_bert_embedding_graph

        return write_bert_embedding_graph(model_dir, out_path)
    except ImportError as exc:
        module = (exc.name or "onnx").split(".")[0]
        raise ModelError(f"building the {what} needs the package {module!r} (once per machine); "
                         f"install it with `pip install {module}`") from None


def _run_builder(args: list[str], what: str) -> dict:
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run(
        [sys.executable, "-m", "qcode.embed._export", *args], capture_output=True, text=True, env=env
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        if "No module named" in last:
            module = last.split("No module named", 1)[1].strip(" '\"").split(".")[0]
            raise ModelError(f"building the {what} needs the package {module!r} (once per machine); install it with `pip install {module}`")
        raise ModelError(f"building the {what} failed: {last}")
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {}


def ensure_graph(spec: ModelSpec, variant: str = "fp32") -> dict:
    """Return the build record of the ``variant`` ("fp32" or "int8") graph, building it if needed.

    Building fp32 hashes the packaged weights against the manifest first and writes
    the graph from the safetensors weights in this process, without torch (~1-2 s,
    ~0.3 GB peak, once per machine and weights hash); int8 quantises the fp32 graph
    in a child process.
    """
    record = read_graph_record(spec, variant)
    if record is not None:
        return record
    if variant not in ("fp32", "int8"):
        raise ModelError(f"unknown ONNX graph variant {variant!r}")
    source = ensure_graph(spec, "fp32")["path"] if variant == "int8" else ""  # before the lock: flock is not re-entrant
    folder = graph_folder(spec)
    with _build_lock(folder):
        record = read_graph_record(spec, variant)  # another process may have built it meanwhile
        if record is not None:
            return record
        if variant == "fp32":
            model_dir = spec.verify()
        logger.info("building the %s ONNX graph of %s once for this machine (a few seconds)", variant, spec.name)
        what = f"ONNX {variant} graph of {spec.name}"
        tmp = folder / f".{variant}-{os.getpid()}-{time.time_ns()}.onnx"
        try:
            if variant == "fp32":
                facts = _build_fp32(model_dir, tmp, what)
            else:
                facts = _run_builder(["int8", source, str(tmp)], what)
            digest = sha256_file(tmp)
            final = folder / f"model-{variant}-{digest[:16]}.onnx"
            os.replace(tmp, final)
        finally:
            if tmp.exists():
                tmp.unlink()
        record = {
            **facts,
            "model": spec.name,
            "variant": variant,
            "file": final.name,
            "sha256": digest,
            "weights_sha256": spec.weights_sha256,
            "builder": BUILDER_VERSION,
            "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        atomic_write_text(_record_path(folder, variant), json.dumps(record, indent=2, sort_keys=True))
        record["path"] = str(final)
        return record


class OnnxEmbedder(Embedder):
    """all-MiniLM-L6-v2 (or another manifest model) on ONNX Runtime, tokenised by ``tokenizers``.

    Parameters
    ----------
    spec : the manifest entry of the model.
    quantized : use the dynamic-uint8 graph (backend ``"onnx-int8"``) instead of fp32.
    batch_size : most texts per forward pass; texts are sorted by token count so a batch
        pads little, and results come back in input order.
    max_tokens : cap on padded tokens per batch (batch size x longest text), so batches of
        long texts shrink.
    threads : intra-op threads; default the physical cores available (``QCODE_THREADS``).

    Tokenisation matches sentence-transformers: the model's ``tokenizer.json``, no
    padding, truncation at ``spec.max_seq_length`` (256) tokens, [CLS] and [SEP] kept.
    """

    def __init__(
        self,
        spec: ModelSpec,
        quantized: bool = False,
        batch_size: int = 16,
        max_tokens: int | None = 2048,
        threads: int | None = None,
    ):
        self.spec = spec
        self.quantized = quantized
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self.threads = threads
        self._session: Any = None
        self._tokenizer: Tokenizer | None = None
        self.graph_record: dict | None = None

    @property
    def backend(self) -> str:
        return "onnx-int8" if self.quantized else "onnx"

    @property
    def identity(self) -> dict:
        return self.spec.identity(self.backend)

    @property
    def loaded(self) -> bool:
        return self._session is not None

    def load(self) -> None:
        """Build or find the graph, check the tokenizer's hash, open the session (once)."""
        if self._session is not None:
            return
        try:  # asked here for the one-line error; open_graph uses them
            import onnxruntime  # noqa: F401
            import tokenizers  # noqa: F401
        except ImportError as exc:
            raise ModelError(f"backend {self.backend!r} needs {exc.name}; install it with `pip install onnxruntime tokenizers`") from None
        record = ensure_graph(self.spec, "int8" if self.quantized else "fp32")
        folder = self.spec.locate()
        tokenizer_file = folder / "tokenizer.json"
        expected = self.spec.sha256.get("tokenizer.json")
        if expected is not None and sha256_file(tokenizer_file) != expected:
            self.spec.verify(folder)  # raises the one-line mismatch error
        self._session, self._tokenizer = open_graph(record["path"], tokenizer_file, self.spec.max_seq_length,
                                                    self.threads)
        self.graph_record = record

    def encode(self, texts: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        items = check_texts(texts)
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        if not items:
            return out
        self.load()
        for start in range(0, len(items), _TOKENIZE_CHUNK):
            block = items[start : start + _TOKENIZE_CHUNK]
            out[start : start + len(block)] = self._encode_block(block, progress)
        return l2_normalise(out)

    def _encode_block(self, texts: list[str], progress: Progress | None) -> np.ndarray:
        assert self._tokenizer is not None, "load() first"
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=True)
        lengths = [len(e.ids) for e in encodings]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for batch in length_sorted_batches(lengths, self.batch_size, self.max_tokens):
            width = lengths[batch[0]]
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, index in enumerate(batch):
                n = lengths[index]
                ids[row, :n] = encodings[index].ids
                mask[row, :n] = 1
            (vectors,) = self._session.run(
                ["sentence_embedding"],
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )
            out[batch] = vectors
            if progress is not None:
                progress(len(batch))
        return out
