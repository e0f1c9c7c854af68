"""The store's rows for the dense leg: the embedding cache, and the sentences and definitions
derived from each passage (index/derive.py) that the sentence index and the glossary are built from.

`VectorTables` is a mixin of `Store` (store.py): its methods read and write through the store's
`db`, inside the store's transactions and snapshots. Vectors are float32 blobs keyed by embedder
and text hash, so a passage, sentence or definition whose text is unchanged is never embedded twice.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence

import numpy as np


class VectorTables:
    """Embedding-cache and derived-table methods of `Store`; `db` is the store's connection."""

    db: sqlite3.Connection

    # ---- embedding cache ---------------------------------------------------------------
    def chunks_to_embed(self, embedder: str, limit: int | None = None) -> list[tuple[int, str, str]]:
        """(chunk id, embed hash, embed input) for chunks whose text this embedder has not embedded."""
        sql = (
            "SELECT c.chunk_id, c.embed_hash, d.title, c.section, c.folded FROM chunks c "
            "JOIN documents d ON d.doc_id = c.doc_id "
            "WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.embedder = ? AND e.text_hash = c.embed_hash) "
            "ORDER BY c.chunk_id"
        )
        rows = self.db.execute(sql + (f" LIMIT {int(limit)}" if limit else ""), (embedder,)).fetchall()
        return [(cid, h, embed_input(title, tuple(json.loads(sec)), folded)) for cid, h, title, sec, folded in rows]

    def cached(self, embedder: str, text_hashes: Iterable[str]) -> set[str]:
        """Which of these embed hashes already have a vector from this embedder."""
        hashes, out = list(text_hashes), set()
        for i in range(0, len(hashes), 500):
            part = hashes[i : i + 500]
            rows = self.db.execute(
                f"SELECT text_hash FROM embeddings WHERE embedder = ? AND text_hash IN ({', '.join('?' * len(part))})",
                (embedder, *part),
            )
            out.update(r[0] for r in rows)
        return out

    def put_vectors(self, embedder: str, items: Iterable[tuple[str, np.ndarray]]) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO embeddings(embedder, text_hash, vector) VALUES (?, ?, ?)",
            [(embedder, h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in items],
        )

    def embedded_vectors(self, embedder: str, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """(chunk ids, vectors) for every chunk whose embedding is cached for this embedder."""
        rows = self.db.execute(
            "SELECT c.chunk_id, e.vector FROM chunks c JOIN embeddings e "
            "ON e.embedder = ? AND e.text_hash = c.embed_hash ORDER BY c.chunk_id",
            (embedder,),
        ).fetchall()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        vecs = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), dim) if rows else np.zeros((0, dim), np.float32)
        return ids, vecs

    def vectors_for(self, embedder: str, dim: int, chunk_ids: Sequence[int]) -> dict[int, np.ndarray]:
        """Cached vectors of some chunks (those embedded so far)."""
        out: dict[int, np.ndarray] = {}
        ids = list(chunk_ids)
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            rows = self.db.execute(
                "SELECT c.chunk_id, e.vector FROM chunks c JOIN embeddings e ON e.embedder = ? AND e.text_hash = c.embed_hash "
                f"WHERE c.chunk_id IN ({', '.join('?' * len(part))})",
                (embedder, *part),
            ).fetchall()
            out.update((cid, np.frombuffer(v, dtype=np.float32).reshape(dim)) for cid, v in rows)
        return out

    def count_embedded(self, embedder: str) -> int:
        return self.db.execute(
            "SELECT COUNT(*) FROM chunks c WHERE EXISTS "
            "(SELECT 1 FROM embeddings e WHERE e.embedder = ? AND e.text_hash = c.embed_hash)",
            (embedder,),
        ).fetchone()[0]


    # ---- sentences and definitions (derived from each passage: index/derive.py) ----------
    def underived(self, recipe: str) -> list[tuple[int, str, str]]:
        """(chunk id, text, folded) of the passages not derived with `recipe` (new, or an older recipe)."""
        return self.db.execute(
            "SELECT c.chunk_id, c.text, c.folded FROM chunks c LEFT JOIN derived d ON d.chunk_id = c.chunk_id "
            "WHERE d.recipe IS NULL OR d.recipe != ? ORDER BY c.chunk_id", (recipe,)).fetchall()

    def count_underived(self, recipe: str) -> int:
        return self.db.execute(
            "SELECT COUNT(*) FROM chunks c LEFT JOIN derived d ON d.chunk_id = c.chunk_id "
            "WHERE d.recipe IS NULL OR d.recipe != ?", (recipe,)).fetchone()[0]

    def set_derived(self, rows: Iterable[tuple[int, Sequence[tuple[int, int, str]], Sequence[tuple[str, int, int, str]]]],
                    recipe: str) -> None:
        """Replace what was derived from these passages: (chunk id, sentences as (start, end, key),
        definitions as (name, start, end, key))."""
        for chunk_id, sentences, definitions in rows:
            self.db.execute("DELETE FROM sentences WHERE chunk_id = ?", (chunk_id,))
            self.db.execute("DELETE FROM definitions WHERE chunk_id = ?", (chunk_id,))
            self.db.executemany(
                "INSERT INTO sentences(chunk_id, ordinal, start, end, embed_hash) VALUES (?, ?, ?, ?, ?)",
                [(chunk_id, i, s, e, key) for i, (s, e, key) in enumerate(sentences)])
            self.db.executemany(
                "INSERT INTO definitions(chunk_id, ordinal, name, start, end, embed_hash) VALUES (?, ?, ?, ?, ?, ?)",
                [(chunk_id, i, name, s, e, key) for i, (name, s, e, key) in enumerate(definitions)])
            self.db.execute("INSERT OR REPLACE INTO derived(chunk_id, recipe) VALUES (?, ?)", (chunk_id, recipe))

    def derived_to_embed(self, embedder: str) -> list[tuple[str, str, int, int]]:
        """(key, passage folded text, start, end) of derived sentences and definitions without a vector."""
        out = []
        for table in ("sentences", "definitions"):
            out += self.db.execute(
                f"SELECT s.embed_hash, c.folded, s.start, s.end FROM {table} s JOIN chunks c ON c.chunk_id = s.chunk_id "
                "WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.embedder = ? AND e.text_hash = s.embed_hash) "
                "ORDER BY s.chunk_id, s.ordinal", (embedder,)).fetchall()
        return out

    def sentence_vectors(self, embedder: str, dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sentence ids, their chunk ids, vectors) of every sentence with a cached vector, by sentence id."""
        rows = self.db.execute(
            "SELECT s.sentence_id, s.chunk_id, e.vector FROM sentences s JOIN embeddings e "
            "ON e.embedder = ? AND e.text_hash = s.embed_hash ORDER BY s.sentence_id", (embedder,)).fetchall()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        chunks = np.array([r[1] for r in rows], dtype=np.int64)
        vecs = (np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), dim)
                if rows else np.zeros((0, dim), np.float32))
        return ids, chunks, vecs

    def count_sentence_vectors(self, embedder: str) -> int:
        return self.db.execute(
            "SELECT COUNT(*) FROM sentences s JOIN embeddings e ON e.embedder = ? AND e.text_hash = s.embed_hash",
            (embedder,)).fetchone()[0]

    def definition_rows(self, embedder: str, dim: int) -> list[tuple[int, str, str, int, int, np.ndarray]]:
        """(chunk id, its doc id, name, start, end, vector) of every definition with a cached vector."""
        rows = self.db.execute(
            "SELECT d.chunk_id, c.doc_id, d.name, d.start, d.end, e.vector FROM definitions d "
            "JOIN chunks c ON c.chunk_id = d.chunk_id JOIN embeddings e ON e.embedder = ? AND e.text_hash = d.embed_hash "
            "ORDER BY d.chunk_id, d.ordinal", (embedder,)).fetchall()
        return [(c, doc, n, s, e, np.frombuffer(v, dtype=np.float32).reshape(dim)) for c, doc, n, s, e, v in rows]

    def sentences_of(self, chunk_ids: Sequence[int]) -> dict[int, list[tuple[int, int, str]]]:
        """Derived sentences of some passages: chunk id → [(start, end, key)] in order (derived ones only)."""
        out: dict[int, list[tuple[int, int, str]]] = {}
        ids = list(chunk_ids)
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            rows = self.db.execute(
                f"SELECT chunk_id, start, end, embed_hash FROM sentences WHERE chunk_id IN ({', '.join('?' * len(part))}) "
                "ORDER BY chunk_id, ordinal", part).fetchall()
            for cid, s, e, key in rows:
                out.setdefault(cid, []).append((s, e, key))
        return out

    def sentence_spans(self, sentence_ids: Sequence[int]) -> dict[int, tuple[int, int, int]]:
        """sentence id → (chunk id, start, end) for stored sentences."""
        ids, out = [int(i) for i in sentence_ids], {}
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            for sid, cid, s, e in self.db.execute(
                    f"SELECT sentence_id, chunk_id, start, end FROM sentences WHERE sentence_id IN ({', '.join('?' * len(part))})",
                    part):
                out[sid] = (cid, s, e)
        return out

    def derived_recipe(self, chunk_ids: Sequence[int]) -> dict[int, str]:
        ids, out = list(chunk_ids), {}
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            out.update(self.db.execute(
                f"SELECT chunk_id, recipe FROM derived WHERE chunk_id IN ({', '.join('?' * len(part))})", part).fetchall())
        return out

    def vectors_by_key(self, embedder: str, dim: int, keys: Iterable[str]) -> dict[str, np.ndarray]:
        """Cached vectors by embedding-cache key (those that have one)."""
        wanted, out = list(dict.fromkeys(keys)), {}
        for i in range(0, len(wanted), 500):
            part = wanted[i : i + 500]
            rows = self.db.execute(
                f"SELECT text_hash, vector FROM embeddings WHERE embedder = ? AND text_hash IN ({', '.join('?' * len(part))})",
                (embedder, *part)).fetchall()
            out.update((h, np.frombuffer(v, dtype=np.float32).reshape(dim)) for h, v in rows)
        return out


def embed_input(title: str, section: tuple[str, ...], folded: str) -> str:
    """What the dense leg embeds: title and section path give a short passage its context."""
    from kb.ingest.normalise import fold

    head = " > ".join((fold(title), *(fold(s) for s in section)))
    return f"{head}\n{folded}" if head else folded
