"""Sharding: the memory-heavy search legs of one index split across machines, answers unchanged.

What takes the memory of a large index is its two legs — the BM25 postings and the FAISS vectors
(≈ 1.5 kB a passage for 384-d float32) — not its catalogue (documents, passages, the phrase index),
which SQLite reads from disk as needed. So a sharded deployment keeps the catalogue with the router
and splits the legs:

- `kb shard` (split.py) cuts the legs of one committed index into N shards by a partition key
  (province by default: documents of one province stay together). Each shard's BM25 is the global
  index's postings restricted to its passages — scored with the *whole* corpus's IDF and average
  length — and its FAISS index holds its passages' vectors.
- A leg server (legs.py) loads one shard and answers "your top n for these tokens / this vector,
  inside this mask" with scores.
- The router (router.py) is a `KnowledgeBase` over the catalogue whose searcher's legs are the
  shards: each leg's top n per shard, merged by score, is exactly the global leg's top n (the
  same scores, the same tie order); fusion, filters, the reading of a question and the evidence
  ranking then run unchanged on the router. So every read the API offers — search in each mode,
  ask, similar, atlas — answers as the unsharded index does (tests/test_api_ray.py checks the
  top-10 on the evaluation queries). Exact for flat (exact) FAISS indexes; an HNSW index is an
  approximation on both sides, with a graph of its own per shard.
"""
