"""The practice glossary: what the corpus itself says its practices are.

Reports define their practices — “综合查一次”（一次上门、全面体检）, X是指…, “X”即…, …（以下简称“X”）,
X又称…, or a quoted name followed by what it does (推进“平急两用”公共基础设施建设，确保平时用得着、
急时用得上). Each such (practice, definition) is mined from a passage when the index is built
(the cue patterns live in kb/data/glossary.txt), the definition is embedded like a sentence (same
cache, same key for the same words), and the segment keeps the entries with their vectors.

A plain-language question is then matched against these short definitions — short against short
is where e5-small is good — and read as the practice whose definition it is close to, so that
every passage stating that practice can be found by its name (search.py, `Searcher.practices_like`).
A name that most documents write (营商环境, a plan's name) is not a practice: entries are kept
only for names fewer than `semantic.glossary_max_doc_share` of the documents state.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from kb import rules
from kb.index.sentences import embed_text, sentence_key

RULES = "glossary.txt"
_CJK = re.compile(r"[\u4e00-\u9fff]")
_EDGE = ",、:;"


@dataclass(frozen=True)
class Definition:
    """A practice defined in a passage: `start`/`end` delimit the definition in the passage text."""

    name: str
    start: int
    end: int
    text: str  # the definition as embedded (folded, whitespace collapsed)
    key: str  # embedding-cache key (a sentence's: the same words share one vector)


@dataclass(frozen=True)
class Entry:
    """One glossary entry as the segment stores it."""

    name: str
    definition: str
    chunk_id: int
    start: int
    end: int
    documents: int  # documents that state the name


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern, ...]:
    out = []
    for line in rules.lines(RULES, "patterns"):
        pattern = re.compile(line)
        if not {"name", "definition"} <= set(pattern.groupindex):
            raise ValueError(f"kb/data/{RULES}: pattern {line[:60]!r} needs the groups (?P<name>…) and (?P<definition>…)")
        out.append(pattern)
    return tuple(out)


def slogans() -> frozenset[str]:
    return rules.word_set(RULES, "slogans")


def generic_words() -> frozenset[str]:
    """Words every report writes (营商环境, 依法行政): never a practice in common (kb/data/glossary.txt)."""
    return rules.word_set(RULES, "generic") | slogans()


def _annotation(definition: str) -> bool:
    return any(cue in definition for cue in rules.words(RULES, "not_definition"))


def plausible_name(name: str) -> bool:
    """A practice name: at least two Chinese characters, not a slogan, not a bare list of names, not
    a heading (推进依法行政: it starts with a verb of [heading_verbs])."""
    return (len(_CJK.findall(name)) >= 2 and name not in slogans() and not any(ch in name for ch in "。;,")
            and not name.startswith(rules.words(RULES, "heading_verbs")))


def definitions_in(folded: str) -> list[Definition]:
    """The practices a passage defines, with where the definitions are (first pattern wins a span)."""
    out: list[Definition] = []
    taken: list[tuple[int, int]] = []
    for pattern in _patterns():
        for m in pattern.finditer(folded):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            name = m.group("name").strip(" “”\"")
            s, e = m.span("definition")
            while s < e and (folded[s].isspace() or folded[s] in _EDGE):
                s += 1
            while e > s and (folded[e - 1].isspace() or folded[e - 1] in _EDGE):
                e -= 1
            body = embed_text(folded, s, e)
            if not plausible_name(name) or len(_CJK.findall(body)) < 2 or _annotation(body) or body == name:
                continue
            taken.append(m.span())
            out.append(Definition(name, s, e, body, sentence_key(body)))
    return sorted(out, key=lambda d: d.start)


class Glossary:
    """The entries of a segment and their definition vectors (rows aligned)."""

    def __init__(self, entries: list[Entry], vectors: np.ndarray) -> None:
        self.entries = entries
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)

    def __len__(self) -> int:
        return len(self.entries)

    @classmethod
    def build(cls, entries: Iterable[Entry], vectors: Iterable[np.ndarray], dim: int) -> Glossary:
        entries, vecs = list(entries), list(vectors)
        matrix = np.vstack(vecs).astype(np.float32) if vecs else np.zeros((0, dim), np.float32)
        return cls(entries, matrix)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        with (directory / "entries.jsonl").open("w", encoding="utf-8") as f:
            for e in self.entries:
                f.write(json.dumps(asdict(e), ensure_ascii=False) + "\n")
        np.save(directory / "vectors.npy", self.vectors)

    @classmethod
    def load(cls, directory: Path, dim: int) -> Glossary:
        entries = [Entry(**json.loads(line)) for line in
                   (directory / "entries.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
        vectors = np.load(directory / "vectors.npy")
        if vectors.shape != (len(entries), dim):
            raise ValueError(f"{directory}: {len(entries)} glossary entries but vectors of shape {vectors.shape}")
        return cls(entries, vectors)

    def names(self) -> list[str]:
        return sorted({e.name for e in self.entries})

    def like(self, query_vector: np.ndarray, k: int) -> list[tuple[str, Entry, float]]:
        """The k practices whose best definition is closest to the query vector: (name, that entry, cosine)."""
        if not len(self.entries) or k <= 0:
            return []
        sims = self.vectors @ np.asarray(query_vector, dtype=np.float32)
        best: dict[str, tuple[float, int]] = {}
        for i in np.argsort(-sims):
            name = self.entries[i].name
            if name not in best:
                best[name] = (float(sims[i]), int(i))
                if len(best) >= k:
                    break
        return [(name, self.entries[i], sim) for name, (sim, i) in best.items()]

    def entries_of(self, name: str) -> list[Entry]:
        return [e for e in self.entries if e.name == name]

    def vector_of(self, name: str) -> np.ndarray | None:
        """The mean of a practice's definition vectors, normalised (None when it has none)."""
        rows = [i for i, e in enumerate(self.entries) if e.name == name]
        if not rows:
            return None
        v = self.vectors[rows].mean(axis=0)
        return v / max(float(np.linalg.norm(v)), 1e-12)
