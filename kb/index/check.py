"""`kb check`: does the index on disk agree with the store it was built from?

Read-only. Each finding is one line with what is wrong and the command that repairs it; the
exit code says whether anything must be repaired. `kb reindex` rebuilds every index file from the
store; only a damaged database itself needs the original files again — and for an emptied,
replaced or foreign database the advice is never `kb reindex`, which would build an empty index.

The manifest and the index files are checked as untrusted input: a segment name kb would not
make, a file that leads outside the index folder, BM25 postings out of range and FAISS ids the
store does not know are each a problem, not a traceback and never "ok".
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.index.segment import (
    MANIFEST,
    IndexUnusable,
    Manifest,
    read_manifest,
    segment_path,
    verified_segment,
)
from kb.index.store import DB_NAME, DatabaseRefused, Store

Level = str  # "ok" | "warning" | "problem"


@dataclass(frozen=True)
class Finding:
    level: Level
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.message}"


def check(directory: Path) -> list[Finding]:
    """Everything found wrong (or right) with the index at `directory`."""
    if not (directory / DB_NAME).exists():
        return [Finding("problem", f"{directory}: no kb database ({DB_NAME}); build the index with `kb ingest PATH --index {directory}`")]
    try:
        store = Store(directory)
    except DatabaseRefused as e:
        return [Finding("problem", str(e))]
    except sqlite3.DatabaseError as e:
        return [Finding("problem", f"{directory / DB_NAME}: database unreadable ({e}); rebuild from your files with "
                                   "`kb ingest PATH --index NEW_DIR`")]
    try:
        with store.snapshot():
            return _check(directory, store)
    except sqlite3.DatabaseError as e:
        return [Finding("problem", f"{store.path}: database unreadable ({e}); rebuild from your files with `kb ingest PATH --index NEW_DIR`")]
    finally:
        store.close()


def _check(directory: Path, store: Store) -> list[Finding]:
    from kb.index.indexer import stored_manifest

    repair = f"repair: `kb reindex --index {directory}`"
    quick = store.db.execute("PRAGMA quick_check").fetchone()[0]
    if quick != "ok":
        return [Finding("problem", f"{store.path}: database damaged ({quick}); rebuild from your files with `kb ingest PATH --index NEW_DIR`")]
    out = [Finding("ok", f"database {store.path}: integrity ok")]
    try:
        manifest = stored_manifest(store)
    except IndexUnusable as e:
        return out + [Finding("problem", f"{e}; {repair}")]
    if manifest is None:
        try:
            mirror = read_manifest(directory)
        except IndexUnusable:
            mirror = None
        if mirror is not None and (mirror.counts.get("chunks") or 0) > store.count("chunks"):
            return out + [Finding("problem", _emptied(store, directory, mirror.counts.get("chunks")))]
        return out + [Finding("problem", f"{store.path}: no manifest recorded; {repair}")]
    if store.count("chunks") == 0 and (manifest.counts.get("chunks") or 0) > 0:
        return out + [Finding("problem", _emptied(store, directory, manifest.counts.get("chunks")))]
    out.append(Finding("ok", f"manifest: format {manifest.format_version}, embedder {manifest.embedder_id} "
                             f"({manifest.dim}-d), segment {manifest.segment}"))
    out += _check_counts(store, manifest, repair)
    out += _check_vectors(store, manifest)
    out += _check_segment(directory, store, manifest, repair)
    out += _check_mirror(directory, manifest)
    return out


def _emptied(store: Store, directory: Path, had: int | None) -> str:
    return (f"{store.path} holds {store.count('chunks')} passages, but the index was built from {had}: the database "
            "was emptied or replaced. Do not run `kb reindex` (it would build an empty index): restore kb.sqlite from "
            f"a backup, or rebuild from your files with `kb ingest PATH --index NEW_DIR`")


def _check_counts(store: Store, m: Manifest, repair: str) -> list[Finding]:
    actual = {"documents": store.count("documents"), "chunks": store.count("chunks"),
              "embedded": store.count_embedded(m.embedder_id)}
    wrong = [f"{k} {m.counts.get(k)} in the manifest, {actual[k]} in the store"
             for k in ("documents", "chunks") if m.counts.get(k) != actual[k]]
    if actual["embedded"] < m.counts.get("embedded", 0):
        wrong.append(f"embedded {m.counts.get('embedded')} in the manifest, only {actual['embedded']} vectors in the store")
    if wrong:
        return [Finding("problem", f"counts differ: {'; '.join(wrong)}; {repair}")]
    out = [Finding("ok", f"counts: {actual['documents']} documents, {actual['chunks']} chunks, "
                         f"{m.counts.get('embedded', 0)} in the dense index")]
    pending = actual["embedded"] - m.counts.get("embedded", 0)
    if pending:  # an interrupted `kb embed`: its vectors are cached, the dense index not rebuilt yet
        out.append(Finding("warning", f"{pending} passages have a cached vector that is not in the dense index yet "
                                      "(an interrupted `kb embed`?); run `kb embed` to add them"))
    missing = actual["chunks"] - actual["embedded"]
    if missing:
        out.append(Finding("warning", f"{missing} passages have no vector yet (BM25 finds them, semantic search not); "
                                      "run `kb embed`"))
    return out


def _check_vectors(store: Store, m: Manifest) -> list[Finding]:
    sizes = store.db.execute(
        "SELECT DISTINCT length(vector) FROM embeddings WHERE embedder = ?", (m.embedder_id,)).fetchall()
    bad = [s for (s,) in sizes if s != m.dim * 4]
    if bad:
        return [Finding("problem", f"cached vectors of {m.embedder_id} are not {m.dim}-d ({bad[0] // 4}-d found); "
                                   "this cache was written by another model: build a new index with `kb ingest --index NEW_DIR`")]
    return []


def _check_segment(directory: Path, store: Store, m: Manifest, repair: str) -> list[Finding]:
    from kb.index.bm25 import BM25Index
    from kb.index.dense import DenseIndex
    from kb.index.tokenize import Tokenizer

    try:
        seg = verified_segment(directory, m) if m.segment else segment_path(directory, m)
    except IndexUnusable as e:
        return [Finding("problem", f"{e}")]
    if not m.segment or not seg.is_dir():
        return [Finding("problem", f"segment {seg} is missing; {repair}")]
    out: list[Finding] = []
    chunk_ids, _ = store.chunk_table()
    try:
        terms = (seg / "lexicon.txt").read_text(encoding="utf-8").split("\n")
        if Tokenizer(terms).hash != m.lexicon_hash:
            out.append(Finding("problem", f"{seg / 'lexicon.txt'} does not match the manifest's lexicon; {repair}"))
        bm25 = BM25Index.load(seg / "bm25")  # raises on postings out of range (BM25Index.problems)
        if not np.array_equal(bm25.chunk_ids, chunk_ids):
            out.append(Finding("problem", f"BM25 index holds {len(bm25)} passages, the store {len(chunk_ids)} "
                                          f"(ids differ); {repair}"))
        else:
            out.append(Finding("ok", f"BM25 index: {len(bm25)} passages, ids and postings match the store"))
    except Exception as e:  # noqa: BLE001 - any unreadable file is the same finding
        out.append(Finding("problem", f"BM25 index in {seg} unreadable ({type(e).__name__}: {str(e)[:160]}); {repair}"))
    try:
        dense = DenseIndex.load(seg / "dense", m.dim)
        ids, vectors = store.embedded_vectors(m.embedder_id, m.dim)
        raw = dense.ids()
        indexed = np.sort(raw)
        known = np.isin(indexed, ids)
        duplicates = len(indexed) - len(np.unique(indexed))
        if len(dense) != m.counts.get("embedded") or not known.all() or duplicates:
            out.append(Finding("problem", f"FAISS index holds {len(dense)} vectors, the manifest says "
                                          f"{m.counts.get('embedded')}, {int((~known).sum())} of them for passages the "
                                          f"store has no vector for, {duplicates} ids twice; {repair}"))
        else:
            picks = np.isin(ids, indexed)
            if len(indexed) and not all(np.allclose(dense.vector(i), v, atol=1e-5)
                                        for i, v in _sample(ids[picks], vectors[picks])):
                out.append(Finding("problem", f"FAISS vectors differ from the cached embeddings; {repair}"))
            else:
                out.append(Finding("ok", f"FAISS index ({m.dense_kind}): {len(dense)} vectors, ids and vectors "
                                         "match the store"))
    except Exception as e:  # noqa: BLE001
        out.append(Finding("problem", f"FAISS index in {seg} unreadable ({type(e).__name__}: {str(e)[:100]}); {repair}"))
    out += _check_sentences(seg, store, m, repair)
    leftovers = sorted(p.name[:40] for p in (directory / "segments").iterdir() if p.name != m.segment)
    if len(leftovers) > 1:
        out.append(Finding("warning", f"{len(leftovers)} old or unfinished segments ({', '.join(leftovers)}); "
                                      "the next ingest or `kb reindex` removes them"))
    return out


def _check_sentences(seg: Path, store: Store, m: Manifest, repair: str) -> list[Finding]:
    """The sentence index (index/sentence_index.py): its ids are stored sentences of the passages
    it names, as many as the manifest counts. An index built before sentence vectors has none."""
    from kb.index.sentence_index import SentenceIndex

    if not (seg / "sentences").is_dir():
        if "sentences" in m.counts:
            return [Finding("problem", f"{seg / 'sentences'} is missing; {repair}")]
        return [Finding("warning", "no sentence vectors yet (an index built before them): `kb embed` adds them")]
    try:
        index = SentenceIndex.load(seg / "sentences", m.dim, 16)
        known = dict(store.db.execute("SELECT sentence_id, chunk_id FROM sentences").fetchall())
        wrong = sum(1 for sid, cid in zip(index.ids.tolist(), index.chunk_ids.tolist()) if known.get(sid) != cid)
        if len(index) != m.counts.get("sentences") or wrong:
            return [Finding("problem", f"sentence index holds {len(index)} vectors, the manifest says "
                                       f"{m.counts.get('sentences')}, {wrong} of them for sentences the store does not "
                                       f"have; {repair}")]
    except Exception as e:  # noqa: BLE001
        return [Finding("problem", f"sentence index in {seg} unreadable ({type(e).__name__}: {str(e)[:100]}); {repair}")]
    return [Finding("ok", f"sentence index ({index.dense.kind}): {len(index)} vectors, ids match the store")]


def _sample(ids: np.ndarray, vectors: np.ndarray, n: int = 20):
    picks = np.linspace(0, len(ids) - 1, num=min(n, len(ids))).astype(int)
    return ((ids[i], vectors[i]) for i in picks)


def _check_mirror(directory: Path, m: Manifest) -> list[Finding]:
    try:
        mirror = read_manifest(directory)
    except IndexUnusable as e:
        mirror, note = None, str(e)
    else:
        note = "missing"
    if mirror is None or json.dumps(mirror.to_json(), sort_keys=True) != json.dumps(m.to_json(), sort_keys=True):
        state = note if mirror is None else f"names segment {mirror.segment}"
        return [Finding("warning", f"{directory / MANIFEST} (a copy for people and tools) is out of date ({state}); "
                                   "the index uses the database's manifest; `kb reindex` rewrites the copy")]
    return [Finding("ok", f"{MANIFEST} matches the database")]
