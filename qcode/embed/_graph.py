"""Build the sentence-embedding ONNX graph of a BERT model straight from its safetensors weights.

No torch: the weights are read with numpy and the graph is written with the
``onnx`` helper functions, using ONNX Runtime's fused transformer kernels
(``com.microsoft`` domain: EmbedLayerNormalization, Attention,
SkipLayerNormalization, BiasGelu), the same kernels its optimiser fuses a
torch export into. The graph takes ``input_ids``, ``attention_mask`` and
``token_type_ids`` (int64, ``(batch, seq)``, padding on the right) and returns
``sentence_embedding`` (float32, ``(batch, hidden)``): the last hidden state
mean-pooled over the attention mask and L2-normalised, the sentence-transformers
pipeline Transformer -> Pooling(mean) -> Normalize.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError

OPSET = 17
_MS = "com.microsoft"
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}
_PREFIXES = ("", "bert.")


def read_safetensors(path: str | Path) -> dict[str, np.ndarray]:
    """Every tensor of a ``.safetensors`` file as a read-only numpy array over the file's bytes."""
    path = Path(path)
    data = path.read_bytes()
    try:
        (header_len,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8 : 8 + header_len])
    except (struct.error, ValueError) as exc:
        raise ModelError(f"{path}: not a safetensors file ({exc})") from None
    base = 8 + header_len
    tensors: dict[str, np.ndarray] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(entry["dtype"])
        if dtype is None:
            raise ModelError(f"{path}: tensor {name!r} has dtype {entry['dtype']}, which the graph builder does not read")
        begin, end = entry["data_offsets"]
        little = np.dtype(dtype).newbyteorder("<")
        array = np.frombuffer(data, dtype=little, count=(end - begin) // little.itemsize, offset=base + begin)
        tensors[name] = array.reshape(entry["shape"])
    return tensors


class _Weights:
    def __init__(self, tensors: Mapping[str, np.ndarray], source: Path):
        self.tensors = tensors
        self.source = source
        prefix = next((p for p in _PREFIXES if f"{p}embeddings.word_embeddings.weight" in tensors), None)
        if prefix is None:
            raise ModelError(f"{source}: no BERT embeddings (embeddings.word_embeddings.weight) in the weights")
        self.prefix: str = prefix

    def __call__(self, name: str) -> np.ndarray:
        try:
            return np.asarray(self.tensors[self.prefix + name], dtype=np.float32)
        except KeyError:
            raise ModelError(f"{self.source}: the weights lack the tensor {self.prefix + name!r}") from None


def build_bert_embedding_graph(model_dir: str | Path) -> Any:
    """The ``onnx.ModelProto`` of the pooled, normalised sentence embedding of the BERT in ``model_dir``.

    ``model_dir`` holds ``config.json`` and ``model.safetensors`` (the files of a
    sentence-transformers BERT model).
    """
    import onnx
    from onnx import TensorProto, helper

    model_dir = Path(model_dir)
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    if config.get("model_type") != "bert" or config.get("hidden_act", "gelu") != "gelu":
        raise ModelError(f"{model_dir}: the graph builder knows BERT with GELU only, not {config.get('model_type')!r}")
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise ModelError(f"{model_dir}: only absolute position embeddings are supported")
    hidden = int(config["hidden_size"])
    heads = int(config["num_attention_heads"])
    layers = int(config["num_hidden_layers"])
    eps = float(config.get("layer_norm_eps", 1e-12))
    w = _Weights(read_safetensors(model_dir / "model.safetensors"), model_dir / "model.safetensors")

    model = onnx.ModelProto()
    graph = model.graph
    nodes = graph.node

    def const(name: str, value: np.ndarray) -> str:
        tensor = graph.initializer.add()  # filled in place: make_graph would copy ~90 MB once more
        tensor.name = name
        tensor.data_type = helper.np_dtype_to_tensor_dtype(value.dtype.newbyteorder("="))
        tensor.dims.extend(value.shape)
        tensor.raw_data = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<")).tobytes()
        return name

    def node(op: str, inputs: list[str], output: str, domain: str = "", **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain, **attrs))
        return output

    ids32 = node("Cast", ["input_ids"], "input_ids_i32", to=TensorProto.INT32)
    types32 = node("Cast", ["token_type_ids"], "token_type_ids_i32", to=TensorProto.INT32)
    mask32 = node("Cast", ["attention_mask"], "attention_mask_i32", to=TensorProto.INT32)
    nodes.append(
        helper.make_node(
            "EmbedLayerNormalization",
            [
                ids32,
                types32,
                const("word_embeddings", w("embeddings.word_embeddings.weight")),
                const("position_embeddings", w("embeddings.position_embeddings.weight")),
                const("token_type_embeddings", w("embeddings.token_type_embeddings.weight")),
                const("embeddings_ln_gamma", w("embeddings.LayerNorm.weight")),
                const("embeddings_ln_beta", w("embeddings.LayerNorm.bias")),
                mask32,
            ],
            ["embeddings", "mask_index"],
            name="embeddings",
            domain=_MS,
            epsilon=eps,
        )
    )
    state = "embeddings"
    for i in range(layers):
        p = f"encoder.layer.{i}."
        qkv_weight = np.concatenate([w(p + f"attention.self.{k}.weight").T for k in ("query", "key", "value")], axis=1)
        qkv_bias = np.concatenate([w(p + f"attention.self.{k}.bias") for k in ("query", "key", "value")])
        attended = node(
            "Attention",
            [state, const(f"l{i}_qkv_w", qkv_weight), const(f"l{i}_qkv_b", qkv_bias), "mask_index"],
            f"l{i}_attention",
            domain=_MS,
            num_heads=heads,
        )
        projected = node("MatMul", [attended, const(f"l{i}_attn_out_w", w(p + "attention.output.dense.weight").T)], f"l{i}_attn_out")
        state = node(
            "SkipLayerNormalization",
            [
                projected,
                state,
                const(f"l{i}_attn_ln_g", w(p + "attention.output.LayerNorm.weight")),
                const(f"l{i}_attn_ln_b", w(p + "attention.output.LayerNorm.bias")),
                const(f"l{i}_attn_out_b", w(p + "attention.output.dense.bias")),
            ],
            f"l{i}_attn_ln",
            domain=_MS,
            epsilon=eps,
        )
        inner = node("MatMul", [state, const(f"l{i}_ffn_in_w", w(p + "intermediate.dense.weight").T)], f"l{i}_ffn_in")
        inner = node("BiasGelu", [inner, const(f"l{i}_ffn_in_b", w(p + "intermediate.dense.bias"))], f"l{i}_gelu", domain=_MS)
        outer = node("MatMul", [inner, const(f"l{i}_ffn_out_w", w(p + "output.dense.weight").T)], f"l{i}_ffn_out")
        state = node(
            "SkipLayerNormalization",
            [
                outer,
                state,
                const(f"l{i}_ffn_ln_g", w(p + "output.LayerNorm.weight")),
                const(f"l{i}_ffn_ln_b", w(p + "output.LayerNorm.bias")),
                const(f"l{i}_ffn_out_b", w(p + "output.dense.bias")),
            ],
            f"l{i}_ffn_ln",
            domain=_MS,
            epsilon=eps,
        )

    mask = node("Cast", ["attention_mask"], "mask_f32", to=TensorProto.FLOAT)
    mask = node("Unsqueeze", [mask, const("axis_last", np.array([-1], dtype=np.int64))], "mask_3d")
    summed = node("ReduceSum", [node("Mul", [state, mask], "masked"), const("axis_seq", np.array([1], dtype=np.int64))], "summed", keepdims=0)
    counts = node("ReduceSum", [mask, "axis_seq"], "counts", keepdims=0)
    counts = node("Max", [counts, const("count_floor", np.array(1e-9, dtype=np.float32))], "counts_clamped")
    pooled = node("Div", [summed, counts], "pooled")
    norm = node("ReduceL2", [pooled], "norm", axes=[1], keepdims=1)
    norm = node("Max", [norm, const("norm_floor", np.array(1e-12, dtype=np.float32))], "norm_clamped")
    node("Div", [pooled, norm], "sentence_embedding")

    graph.name = "sentence_embedding"
    for name in ("input_ids", "attention_mask", "token_type_ids"):
        graph.input.append(helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "seq"]))
    graph.output.append(helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", hidden]))
    model.opset_import.extend([helper.make_opsetid("", OPSET), helper.make_opsetid(_MS, 1)])
    model.ir_version = 8
    model.producer_name = "qcode.embed._graph"
    return model


def write_bert_embedding_graph(model_dir: str | Path, out_path: str | Path) -> dict:
    """Write the graph of :func:`build_bert_embedding_graph` to ``out_path``; returns build facts."""
    import onnx

    model = build_bert_embedding_graph(model_dir)
    with open(out_path, "wb") as handle:
        handle.write(model.SerializeToString())
    ops: dict[str, int] = {}
    for n in model.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    return {"graph_builder": "qcode.embed._graph (numpy + onnx, no torch)", "onnx": onnx.__version__, "opset": OPSET, "ops": ops}
