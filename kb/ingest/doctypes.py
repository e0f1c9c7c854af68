"""Document types from title, file name and body cues listed in `kb/data/doc_types.txt`.

The cues are data a user extends (one regular expression a line, see the file's header; a file of
the same name in $KB_RULES_DIR adds cues), so a new kind of report is a line in a file, not a
change to kb. A cue typed 其他 stops the cues after it: a title that names another kind of report
(关于…预算执行情况…的报告) is not typed by body cues that report shares with a 政府工作报告.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from kb import rules
from kb.models import DOC_TYPES

CUES_FILE = Path(__file__).parents[1] / "data" / "doc_types.txt"
BODY_HEAD = 1500


@dataclass(frozen=True)
class Cue:
    doc_type: str
    where: str  # "title" | "body"
    pattern: re.Pattern[str]
    min_count: int = 1


def _parse(lines: list[tuple[str, str]]) -> tuple[Cue, ...]:
    """Cues from (where, line) pairs; a malformed line is an error naming where it is."""
    cues = []
    for where, line in lines:
        parts = line.split("\t")
        if len(parts) not in (3, 4) or parts[0] not in DOC_TYPES or parts[1] not in ("title", "body"):
            raise ValueError(f"{where}: expected TYPE<TAB>title|body<TAB>PATTERN[<TAB>MIN] with a known TYPE "
                             f"(one of {', '.join(DOC_TYPES)})")
        try:
            pattern = re.compile(parts[2])
        except re.error as e:
            raise ValueError(f"{where}: bad pattern ({e})") from None
        cues.append(Cue(parts[0], parts[1], pattern, int(parts[3]) if len(parts) == 4 else 1))
    return tuple(cues)


@lru_cache(maxsize=4)
def load_cues(path: Path | None = None) -> tuple[Cue, ...]:
    """The cues of kb/data/doc_types.txt (with the user's $KB_RULES_DIR file), or of one cue file."""
    if path is None:
        return _parse([(f"doc_types.txt: {line[:40]!r}", line) for line in rules.lines("doc_types.txt")])
    cues, section = [], ""
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = re.sub(r"(?<!\\)#.*$", "", raw).replace("\\#", "#").strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif line and not section:  # cues are the unsectioned lines; [dated when issued] is a word list
            cues.append((f"{path}:{n}", line))
    return _parse(cues)


def classify(titles: list[str], body: str, cues: tuple[Cue, ...] | None = None) -> tuple[str, str | None]:
    """(document type, the cue that decided it) from titles (title, file name …) then the body head.

    All texts are Simplified (folded) already. 其他 when nothing matches, or when a 其他 cue does.
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
