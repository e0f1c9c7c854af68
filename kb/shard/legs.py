"""One shard's search legs, loaded and answering: top n by BM25 or by vector, inside a mask.

A leg server knows nothing of documents or filters: the router sends the tokens (or the query
vector, embedded once), how many it wants, and which of the shard's passages may answer (a packed
bit per passage, in the shard's row order), and gets chunk ids with their scores back.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kb.errors import IndexUnusable
from kb.index.bm25 import BM25Index
from kb.index.dense import DenseIndex
from kb.shard.split import FORMAT, SHARD_FILE


def unpack(bits: bytes | None, n: int) -> np.ndarray | None:
    return None if bits is None else np.unpackbits(np.frombuffer(bits, dtype=np.uint8), count=n).astype(bool)


def pack(mask: np.ndarray | None) -> bytes | None:
    return None if mask is None else np.packbits(mask).tobytes()


class Legs:
    """The BM25 and FAISS legs of one shard directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        try:
            self.info = json.loads((self.directory / SHARD_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise IndexUnusable(f"{self.directory}: not a kb shard ({SHARD_FILE} unreadable: {e}); "
                                "make shards with `kb shard --index DIR --out DIR`") from e
        if self.info.get("format") != FORMAT:
            raise IndexUnusable(f"{self.directory}: shard format {self.info.get('format')} is not {FORMAT}; cut it again")
        self.bm25 = BM25Index.load(self.directory / "bm25")
        self.dense = DenseIndex.load(self.directory / "dense", int(self.info["dim"]))
        self.chunk_ids = self.bm25.chunk_ids

    def describe(self) -> dict:
        return {**self.info, "path": str(self.directory), "chunk_ids": self.chunk_ids}

    def bm25_top(self, tokens: list[str], n: int, bits: bytes | None) -> tuple[np.ndarray, np.ndarray]:
        rows, scores = self.bm25.top(tokens, n, unpack(bits, len(self.chunk_ids)))
        return self.chunk_ids[rows], scores

    def dense_top(self, vector: np.ndarray, n: int, bits: bytes | None) -> tuple[np.ndarray, np.ndarray]:
        mask = unpack(bits, len(self.chunk_ids))
        return self.dense.search(vector, n, None if mask is None else self.chunk_ids[mask])

    def rows_with(self, token: str) -> np.ndarray:
        return self.chunk_ids[self.bm25.rows_with(token)]
