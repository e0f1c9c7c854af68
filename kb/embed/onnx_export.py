"""ONNX graphs of the exported encoder, made on first use of an ONNX Runtime engine.

`onnx/model.onnx` is the fp32 encoder (input_ids, attention_mask → last_hidden_state), traced
from the torch model and then fused by ONNX Runtime's transformer optimizer (attention, skip
LayerNorm, GELU become single kernels). `onnx/model_int8.onnx` quantises its weights to int8 per
output channel (dynamic activations): ≈ 2× faster on CPUs with int8 dot products, but lossy —
its vectors get their own embedder id. Files are written aside and renamed into place.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

VARIANTS = {"fp32": "model.onnx", "int8": "model_int8.onnx"}


def onnx_model(folder: Path, variant: str) -> Path:
    if variant not in VARIANTS:
        raise ValueError(f"unknown ONNX variant {variant!r}: {', '.join(VARIANTS)}")
    target = folder / "onnx" / VARIANTS[variant]
    if target.exists():
        return target
    target.parent.mkdir(exist_ok=True)
    with open(folder / "onnx" / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.exists():
            if variant == "fp32":
                _export_fp32(folder, target)
            else:
                _quantise_int8(onnx_model(folder, "fp32"), target)
    return target


def _export_fp32(folder: Path, target: Path) -> None:
    import torch
    from onnxruntime.transformers.optimizer import optimize_model
    from transformers import BertModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    model = BertModel.from_pretrained(str(folder), add_pooling_layer=False, attn_implementation="eager").eval()
    raw = target.with_name(f"raw.{os.getpid()}.onnx")
    tmp = target.with_name(f"{target.stem}.{os.getpid()}.tmp.onnx")
    class Encoder(torch.nn.Module):  # keyword arguments: transformers' positional order is not stable
        def __init__(self) -> None:
            super().__init__()
            self.bert = model

        def forward(self, input_ids, attention_mask):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    ids = torch.ones((2, 16), dtype=torch.long)
    try:
        with torch.no_grad():
            torch.onnx.export(
                Encoder().eval(), (ids, torch.ones_like(ids)), str(raw), input_names=["input_ids", "attention_mask"],
                output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                              "last_hidden_state": {0: "batch", 1: "seq"}},
            )
        fused = optimize_model(str(raw), model_type="bert", num_heads=model.config.num_attention_heads,
                               hidden_size=model.config.hidden_size, opt_level=1)
        fused.save_model_to_file(str(tmp))
        os.replace(tmp, target)
    finally:
        for p in (raw, tmp):
            p.unlink(missing_ok=True)


def _quantise_int8(source: Path, target: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_name(f"{target.stem}.{os.getpid()}.tmp.onnx")
    try:
        quantize_dynamic(str(source), str(tmp), per_channel=True, weight_type=QuantType.QInt8,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
