"""Build ONNX graphs of a manifest model from its packaged weights (run once, offline).

Run as a child process so that torch is imported only there and the process that
embeds stays torch-free::

    python -m qcode.embed._export fp32 MODEL_DIR OUT.onnx     # export + fuse
    python -m qcode.embed._export int8 FP32.onnx OUT.onnx     # dynamic uint8 quantisation

The fp32 graph takes ``input_ids``, ``attention_mask``, ``token_type_ids`` (int64,
``(batch, seq)``) and returns ``sentence_embedding`` (float32, ``(batch, dim)``):
the transformer's last hidden state mean-pooled over the attention mask and
L2-normalised -- the sentence-transformers pipeline of all-MiniLM-L6-v2
(Transformer -> Pooling(mean) -> Normalize). ONNX Runtime's transformer
optimiser then fuses attention, layer norms and GELU into single kernels.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path


def export_fp32(model_dir: str, out_path: str, opset: int = 17, fuse: bool = True) -> dict:
    """Write the pooled, normalised sentence-embedding graph of ``model_dir``; returns build facts."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import warnings

    import torch
    import transformers
    from transformers import AutoConfig, AutoModel

    warnings.filterwarnings("ignore")
    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    config = AutoConfig.from_pretrained(model_dir, local_files_only=True)
    bert = AutoModel.from_pretrained(model_dir, local_files_only=True, attn_implementation="eager")
    bert.eval()

    class PooledEncoder(torch.nn.Module):
        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    wrapper = PooledEncoder(bert).eval()
    sample = torch.ones((2, 8), dtype=torch.int64)
    with tempfile.TemporaryDirectory(dir=Path(out_path).parent) as tmp:
        raw = str(Path(tmp) / "raw.onnx")
        with torch.no_grad():
            torch.onnx.export(
                wrapper,
                (sample, sample, torch.zeros_like(sample)),
                raw,
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["sentence_embedding"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "seq"},
                    "attention_mask": {0: "batch", 1: "seq"},
                    "token_type_ids": {0: "batch", 1: "seq"},
                    "sentence_embedding": {0: "batch"},
                },
                opset_version=opset,
                do_constant_folding=True,
                dynamo=False,
            )
        fused = {}
        if fuse:
            from onnxruntime.transformers.optimizer import optimize_model

            optimized = optimize_model(
                raw,
                model_type="bert",
                num_heads=config.num_attention_heads,
                hidden_size=config.hidden_size,
                opt_level=1,
            )
            fused = {k: v for k, v in optimized.get_fused_operator_statistics().items() if v}
            optimized.save_model_to_file(out_path)
        else:
            os.replace(raw, out_path)
    return {"torch": torch.__version__, "transformers": transformers.__version__, "opset": opset, "fused": fused}


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
