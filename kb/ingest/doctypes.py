"""Document types from title, file name and body cues listed in `kb/data/doc_types.txt`.

The cues are data a user extends (one regular expression a line, see the file's header), so a
new kind of report is a line in a file, not a change to kb.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from kb.models import DOC_TYPES

CUES_FILE = Path(__file__).parents[1] / "data" / "doc_types.txt"
BODY_HEAD = 1500


@dataclass(frozen=True)
class Cue:
    doc_type: str
    where: str  # "title" | "body"
    pattern: re.Pattern[str]
    min_count: int = 1


@lru_cache(maxsize=4)
def load_cues(path: Path = CUES_FILE) -> tuple[Cue, ...]:
    """The cues of a cue file; a malformed line is an error naming the file and line."""
    cues = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) not in (3, 4) or parts[0] not in DOC_TYPES or parts[1] not in ("title", "body"):
            raise ValueError(f"{path}:{n}: expected TYPE<TAB>title|body<TAB>PATTERN[<TAB>MIN] with a known TYPE")
        try:
            pattern = re.compile(parts[2])
        except re.error as e:
            raise ValueError(f"{path}:{n}: bad pattern ({e})") from None
        cues.append(Cue(parts[0], parts[1], pattern, int(parts[3]) if len(parts) == 4 else 1))
    return tuple(cues)


def classify(titles: list[str], body: str, cues: tuple[Cue, ...] | None = None) -> tuple[str, str | None]:
    """(document type, the cue that decided it) from titles (title, file name …) then the body head.

    All texts are Simplified (folded) already. 其他 when nothing matches.
    """
    cues = load_cues() if cues is None else cues
    for title in titles:
        if not title:
            continue
        for cue in cues:
            if cue.where == "title" and cue.pattern.search(title):
                return cue.doc_type, f"title: {cue.pattern.pattern[:40]}"
    head = body[:BODY_HEAD]
    for cue in cues:
        if cue.where == "body" and len(cue.pattern.findall(head)) >= cue.min_count:
            return cue.doc_type, f"body: {cue.pattern.pattern[:40]}"
    return "其他", None
