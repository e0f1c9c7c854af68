"""Is a phrase attested in the corpus, and where? A substring index over every passage.

Answers must be decided against the corpus, not guessed from the question's wording: "does any
report say 行政争议调解中心?" and "in how many passages?" are asked for every span of a question.
An SQLite FTS5 table with the trigram tokenizer answers both with exact substring semantics (a
phrase inside a longer jieba token is still found, unlike a lookup in the BM25 vocabulary) in the
same database and the same snapshot as the chunks it indexes. Triggers keep it in step with the
`chunks` table, so every writer (ingest, re-parse, corrections, removal) maintains it for free.

The indexed form is *squashed*: folded text without quote marks, brackets, 、, middle dots, plus
signs and whitespace, so “一网通办”平台 matches 一网通办平台 and 双随机、一公开 matches 双随机一公开.
The table is contentless (the text is already in `chunks`), which keeps it to about the size of
the text itself (measured: scripts/bench_phrases.py).
"""

from __future__ import annotations

import re
import sqlite3
from functools import lru_cache

# Characters a phrase match ignores: quotes, book-title marks, enumeration comma, dots, plus, spaces.
SQUASHED = "“”‘’\"'「」『』《》〈〉、·•・+ \t\r\n\u3000"
_DROP = {ord(c): None for c in SQUASHED}


def _sql_squash(column: str) -> str:
    """The same squash as an SQL expression (triggers run in any connection, no Python function)."""
    expr = column
    for c in SQUASHED:
        expr = f"replace({expr}, char({ord(c)}), '')"
    return expr


def squash(text: str) -> str:
    """The form phrases are matched in (see module docstring). Input must already be folded."""
    return text.translate(_DROP)


# Schema migration (statements, applied in order by store.py): the index, its triggers, and the
# passages already stored.
MIGRATION: tuple[str, ...] = (
    "CREATE VIRTUAL TABLE chunk_phrases USING fts5(squashed, tokenize='trigram', content='')",
    f"""CREATE TRIGGER chunk_phrases_insert AFTER INSERT ON chunks BEGIN
        INSERT INTO chunk_phrases(rowid, squashed) VALUES (new.chunk_id, {_sql_squash('new.folded')});
    END""",
    f"""CREATE TRIGGER chunk_phrases_delete AFTER DELETE ON chunks BEGIN
        INSERT INTO chunk_phrases(chunk_phrases, rowid, squashed)
        VALUES ('delete', old.chunk_id, {_sql_squash('old.folded')});
    END""",
    f"""CREATE TRIGGER chunk_phrases_update AFTER UPDATE OF folded ON chunks BEGIN
        INSERT INTO chunk_phrases(chunk_phrases, rowid, squashed)
        VALUES ('delete', old.chunk_id, {_sql_squash('old.folded')});
        INSERT INTO chunk_phrases(rowid, squashed) VALUES (new.chunk_id, {_sql_squash('new.folded')});
    END""",
    f"INSERT INTO chunk_phrases(rowid, squashed) SELECT chunk_id, {_sql_squash('folded')} FROM chunks",
)


@lru_cache(maxsize=4096)
def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """A regex that finds `phrase` in folded text with any squashed characters between its letters."""
    letters = squash(phrase)
    gap = "[" + re.escape(SQUASHED) + "]*"
    return re.compile(gap.join(re.escape(c) for c in letters))


def locate(phrase: str, folded: str) -> tuple[int, int] | None:
    """[start, end) of the first occurrence of `phrase` in `folded` (squash-insensitive), or None."""
    if not squash(phrase):
        return None
    m = phrase_pattern(phrase).search(folded)
    return (m.start(), m.end()) if m else None


class PhraseIndex:
    """Queries against the `chunk_phrases` table of one store connection (inside its snapshot)."""

    MIN_LENGTH = 3  # trigrams: shorter phrases go through the caller's token vocabulary

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    @staticmethod
    def _match(phrase: str) -> str:
        return '"' + squash(phrase).replace('"', '""') + '"'

    def usable(self, phrase: str) -> bool:
        return len(squash(phrase)) >= self.MIN_LENGTH

    def count(self, phrase: str, cap: int = 10_000) -> int:
        """Passages containing the phrase (counted up to `cap`: enough to rank specificity)."""
        if not self.usable(phrase):
            return 0
        row = self.db.execute(
            "SELECT count(*) FROM (SELECT 1 FROM chunk_phrases WHERE chunk_phrases MATCH ? LIMIT ?)",
            (self._match(phrase), cap),
        ).fetchone()
        return int(row[0])

    def rows(self, phrase: str, limit: int | None = None) -> list[int]:
        """Chunk ids of the passages containing the phrase, ascending."""
        if not self.usable(phrase):
            return []
        sql = "SELECT rowid FROM chunk_phrases WHERE chunk_phrases MATCH ? ORDER BY rowid"
        args: tuple = (self._match(phrase),)
        if limit is not None:
            sql += " LIMIT ?"
            args += (limit,)
        return [r[0] for r in self.db.execute(sql, args)]
