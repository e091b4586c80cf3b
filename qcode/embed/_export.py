"""Build ONNX graphs of a manifest model from its packaged weights (run once, offline).

    python -m qcode.embed._export fp32 MODEL_DIR OUT.onnx     # graph from the safetensors weights
    python -m qcode.embed._export int8 FP32.onnx OUT.onnx     # dynamic uint8 quantisation

The fp32 graph (:mod:`qcode.embed._graph`, no torch) takes ``input_ids``,
``attention_mask``, ``token_type_ids`` (int64, ``(batch, seq)``) and returns
``sentence_embedding`` (float32, ``(batch, dim)``): the transformer's last hidden
state mean-pooled over the attention mask and L2-normalised -- the
sentence-transformers pipeline of all-MiniLM-L6-v2 (Transformer -> Pooling(mean)
-> Normalize), written with ONNX Runtime's fused attention, layer-norm and GELU
kernels. The int8 variant runs here, in a child process, because the quantiser
imports much that the embedding process never needs.
"""

from __future__ import annotations

import json
import sys


def export_fp32(model_dir: str, out_path: str) -> dict:
    """Write the pooled, normalised sentence-embedding graph of ``model_dir``; returns build facts."""
    from ._graph import write_bert_embedding_graph

    return write_bert_embedding_graph(model_dir, out_path)


def quantize_int8(fp32_path: str, out_path: str) -> dict:
    """Dynamic uint8 quantisation of the weights of ``fp32_path``, per output channel.

    Weights are stored as uint8 with one scale per channel; activations are quantised
    on the fly per batch. Needs the ``onnx`` package.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # fused ops (Attention, SkipLayerNormalization) are in the com.microsoft domain, which
    # ONNX shape inference cannot type; their outputs are float32
    quantize_dynamic(
        fp32_path,
        out_path,
        weight_type=QuantType.QUInt8,
        per_channel=True,  # per-tensor scales cost ~0.98 mean cosine to fp32; per-channel ~0.99
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    return {"quantization": "dynamic", "weight_type": "QUInt8", "per_channel": True}


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[1] not in ("fp32", "int8"):
        print("usage: python -m qcode.embed._export {fp32 MODEL_DIR | int8 FP32.onnx} OUT.onnx", file=sys.stderr)
        return 2
    facts = export_fp32(argv[2], argv[3]) if argv[1] == "fp32" else quantize_int8(argv[2], argv[3])
    import onnxruntime

    facts["onnxruntime"] = onnxruntime.__version__
    print(json.dumps(facts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
