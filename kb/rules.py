"""Domain knowledge as data: every word list, cue and pattern kb reads lives in `kb/data/*.txt`,
and this is the one reader of those files.

Format (every file; its header says what it is for and which layout it uses):
- UTF-8 text; `#` starts a comment (a `#` inside a regular expression is written `\\#`); blank lines
  are ignored;
- `[section]` lines start a section; entries before the first section belong to section "";
- `lines(name)` gives each entry line whole (patterns, `a = b` groups, tab-separated rows);
  `words(name, section)` splits entry lines at whitespace (word lists).

Users extend the rules without editing kb: a file of the same name in the folder named by
`$KB_RULES_DIR` is read after the shipped one — its entries are added, and an entry written `-word`
(or `-` followed by a whole line) removes a shipped one. Files are read once per process.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

_COMMENT = re.compile(r"(?<!\\)#.*$")


def _read(name: str) -> list[str]:
    texts = [resources.files("kb").joinpath("data", name).read_text(encoding="utf-8")]
    extra = os.environ.get("KB_RULES_DIR")
    if extra and (Path(extra) / name).is_file():
        texts.append((Path(extra) / name).read_text(encoding="utf-8"))
    return [line for text in texts for line in text.splitlines()]


@lru_cache(maxsize=None)
def _parsed(name: str) -> tuple[dict[str, tuple[str, ...]], dict[str, frozenset[str]]]:
    """({section: entry lines}, {section: removed entries}) of kb/data/NAME and the user's file."""
    out: dict[str, list[str]] = {"": []}
    removed: dict[str, set[str]] = {}
    current = ""
    for raw in _read(name):
        line = _COMMENT.sub("", raw).replace("\\#", "#").strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            out.setdefault(current, [])
        elif line.startswith("-") and len(line) > 1:
            removed.setdefault(current, set()).add(line[1:].strip())
        else:
            out.setdefault(current, []).append(line)
    gone = {k: frozenset(v) for k, v in removed.items()}
    return {k: tuple(e for e in v if e not in gone.get(k, ())) for k, v in out.items()}, gone


def sections(name: str) -> dict[str, tuple[str, ...]]:
    """{section: entry lines} of kb/data/NAME (comments stripped, the user's file applied)."""
    return _parsed(name)[0]


def lines(name: str, section: str = "") -> tuple[str, ...]:
    """The entry lines of one section (default: the file's unsectioned lines)."""
    return sections(name).get(section, ())


@lru_cache(maxsize=None)
def words(name: str, section: str = "") -> tuple[str, ...]:
    """The whitespace-separated words of one section, in file order, without repeats."""
    gone = _parsed(name)[1].get(section, frozenset())
    out: dict[str, None] = {}
    for line in lines(name, section):
        for word in line.split():
            if word not in gone:
                out[word] = None
    return tuple(out)


def word_set(name: str, section: str = "") -> frozenset[str]:
    return frozenset(words(name, section))


def longest_first(name: str, section: str = "") -> tuple[str, ...]:
    """Words of a section, longest first (for alternations where the longer form must win)."""
    return tuple(sorted(words(name, section), key=len, reverse=True))


def alternation(name: str, section: str = "") -> str:
    """A regex alternation of a section's words, longest first, each escaped."""
    return "|".join(re.escape(w) for w in longest_first(name, section))


def data_files() -> list[str]:
    """The names of the shipped rule files."""
    return sorted(p.name for p in resources.files("kb").joinpath("data").iterdir() if p.name.endswith(".txt"))
