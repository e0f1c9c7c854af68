"""Benchmark: the phrase index that question understanding asks "is this span attested, how often?".

Builds a kb store (the real schema and its triggers) with N passages made by recombining the
sentences of the real corpora in ../shared (seeds, national reports, realworld reports), then times:
  - inserting the passages with and without the FTS5 trigram index (the triggers' cost),
  - the database size with and without it,
  - PhraseIndex.count / rows for phrases from rare to very common,
  - resolving the practice of real questions end to end (question.read_question), which asks
    the index about every span of the question.

    python scripts/bench_phrases.py --passages 200000
    python scripts/bench_phrases.py --passages 1000000 --workdir /tmp/bp
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sqlite3
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.index.phrases import PhraseIndex  # noqa: E402
from kb.index.store import DB_NAME, Store  # noqa: E402
from kb.index.tokenize import Tokenizer  # noqa: E402
from kb.ingest.normalise import fold  # noqa: E402
from kb.query.question import read_question
from kb.settings import Settings  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpus"
PHRASES = ["综合查一次", "行政争议调解中心", "首违不罚", "一网通办", "高效办成一件事", "双随机一公开", "营商环境",
           "行政复议", "人民群众", "推进", "府院联动", "量子纠缠猫咪"]
QUESTIONS = ["哪些地区推行综合查一次", "哪些地区设立行政争议调解中心", "哪些地区推行首违不罚清单制度",
             "哪些地区为群众提供一网通办服务", "哪些地区坚持便民利企", "哪些地区把执法权交给乡镇和街道",
             "哪些地区建立府院联动机制", "哪些地区推进高效办成一件事", "哪些地区实行包容审慎监管",
             "哪些地区推行量子区块链执法"]


def sentences() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted((SHARED / "seeds").glob("*.txt"))]
    for name in ("national/government_work_reports.jsonl", "realworld/reports.jsonl"):
        for line in (SHARED / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            texts.append(row.get("content") or "")
    out = []
    for t in texts:
        out += [s for s in re.split(r"(?<=[。；！？])", fold(t)) if 8 <= len(s) <= 300]
    return out


def passages(pool: list[str], n: int, seed: int = 7):
    rng = random.Random(seed)
    for _ in range(n):
        text, target = "", rng.randint(250, 500)
        while len(text) < target:
            text += rng.choice(pool)
        yield text


class IndexCorpus:
    """The question.Corpus protocol over a bare store (no BM25 segment needed for the bench)."""

    settings = Settings()

    def __init__(self, db: sqlite3.Connection, tokenizer: Tokenizer) -> None:
        self.index, self.tokenizer = PhraseIndex(db), tokenizer

    def phrase_count(self, phrase: str) -> int:
        return self.index.count(phrase)

    def pattern_count(self, pattern: str, needs: tuple[str, ...]) -> int:
        rows = [set(self.index.rows(n, limit=5000)) for n in needs if self.index.usable(n)]
        return len(set.intersection(*rows)) if rows else 0

    def cut(self, folded: str) -> list[str]:
        return self.tokenizer.cut(folded)

    def abbreviations(self):
        return ()


def build(workdir: Path, texts: list[str], with_fts: bool) -> tuple[float, int]:
    shutil.rmtree(workdir, ignore_errors=True)
    store = Store(workdir, create=True)
    if not with_fts:
        store.db.executescript("DROP TRIGGER chunk_phrases_insert; DROP TRIGGER chunk_phrases_delete; "
                               "DROP TRIGGER chunk_phrases_update; DROP TABLE chunk_phrases;")
    t0 = time.process_time()
    with store.transaction():
        store.db.execute("INSERT INTO documents(doc_id, source, content_hash, title, text) VALUES ('d', 's', 'h', 't', '')")
        store.db.executemany(
            "INSERT INTO chunks(doc_id, ordinal, section, start, end, text, folded, embed_hash) VALUES ('d', ?, '[]', 0, 0, ?, ?, '')",
            ((i, t, t) for i, t in enumerate(texts)),
        )
    took = time.process_time() - t0  # CPU seconds: the machine may be shared
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return took, (workdir / DB_NAME).stat().st_size


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--passages", type=int, default=200_000)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/kb-bench-phrases"))
    args = ap.parse_args()

    pool = sentences()
    texts = list(passages(pool, args.passages))
    chars = sum(map(len, texts))
    print(f"{args.passages:,} passages, {chars / 1e6:.0f}M characters, from {len(pool):,} real sentences")
    plain_s, plain_bytes = build(args.workdir / "plain", texts, with_fts=False)
    fts_s, fts_bytes = build(args.workdir / "fts", texts, with_fts=True)
    print(f"insert without phrase index {plain_s:6.1f} CPU s, database {plain_bytes / 2**20:7.0f} MiB")
    print(f"insert with phrase index    {fts_s:6.1f} CPU s, database {fts_bytes / 2**20:7.0f} MiB "
          f"(index {(fts_bytes - plain_bytes) / 2**20:.0f} MiB = {(fts_bytes - plain_bytes) / plain_bytes:.2f}× the store)")

    db = sqlite3.connect(args.workdir / "fts" / DB_NAME)
    index = PhraseIndex(db)
    print("\nphrase                 passages   count ms   rows ms (all ids)")
    for phrase in PHRASES:
        times_c, times_r = [], []
        for _ in range(5):
            t0 = time.perf_counter()
            n = index.count(phrase)
            times_c.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            index.rows(phrase)
            times_r.append((time.perf_counter() - t0) * 1000)
        print(f"{phrase:<14} {n:>14,} {statistics.median(times_c):10.2f} {statistics.median(times_r):9.2f}")

    corpus = IndexCorpus(db, Tokenizer())
    corpus.cut("预热")
    print("\nquestion                                   practice            resolve ms")
    took = []
    for q in QUESTIONS:
        t0 = time.perf_counter()
        r = read_question(fold(q), (), (), corpus)
        ms = (time.perf_counter() - t0) * 1000
        took.append(ms)
        p = r.practice
        print(f"{q:<32} {(p.term if p and p.attested else '—'):<18} {ms:10.1f}")
    print(f"\nresolve: median {statistics.median(took):.1f} ms, max {max(took):.1f} ms "
          f"({args.passages:,} passages; every span of the question checked against the index)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
