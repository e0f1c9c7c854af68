"""What the dense leg derives from each passage besides its own vector: sentences and definitions.

One function (`derive`) decides both, from the passage's text alone, so the writer can embed them
before it stores the passage (ingest) and store the same rows when it builds the segment. The
*recipe* names how they were derived — sentence lengths and the glossary rules — and is stored per
passage: a passage derived by another recipe (an index built before sentence vectors, a changed
setting or rule file) is derived again at the next build, and `kb embed` embeds what is new.
Vectors are cached by what is embedded (the same sentence in two passages is embedded once).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from kb import rules
from kb.index.glossary import RULES, definitions_in
from kb.index.sentences import embed_text, sentences_of
from kb.settings import SemanticSettings


@dataclass(frozen=True)
class Derived:
    sentences: list[tuple[int, int, str]]  # (start, end, key)
    definitions: list[tuple[str, int, int, str]]  # (name, start, end, key)
    inputs: dict[str, str]  # key → text to embed


def recipe(cfg: SemanticSettings) -> str:
    rule_lines = "\n".join("\n".join(rules.lines(RULES, section)) for section in ("patterns", "not_definition", "heading_verbs", "slogans"))
    digest = hashlib.sha1(rule_lines.encode("utf-8")).hexdigest()[:12]
    return f"sentences {cfg.sentence_min_chars}-{cfg.sentence_max_chars}; glossary {digest}"


def derive(text: str, folded: str, cfg: SemanticSettings) -> Derived:
    sentences = sentences_of(text, folded, cfg.sentence_min_chars, cfg.sentence_max_chars)
    definitions = definitions_in(folded)
    inputs = {s.key: s.text for s in sentences}
    inputs.update((d.key, d.text) for d in definitions)
    return Derived([(s.start, s.end, s.key) for s in sentences],
                   [(d.name, d.start, d.end, d.key) for d in definitions], inputs)


def input_text(folded: str, start: int, end: int) -> str:
    """The text embedded for a stored sentence or definition span."""
    return embed_text(folded, start, end)
