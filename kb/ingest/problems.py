"""A problem with one input, as a value: a bad file (or JSONL line, or spreadsheet row) becomes a
LoadError in place of its documents, so one broken input never stops a batch; the report prints
each as one line (`failed:`, `warning:`, `skipped:`)."""

from __future__ import annotations

import os


class LoadError(Exception):
    """A file (or `file:line`) that could not be turned into a document; str() is one line."""

    def __init__(self, source: str | os.PathLike[str], reason: str) -> None:
        self.source = str(source)
        self.reason = " ".join(str(reason).split()) or "unknown error"
        super().__init__(f"{self.source}: {self.reason}")

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"

    def __reduce__(self):  # picklable across worker processes despite the two-argument __init__
        return (type(self), (self.source, self.reason))


class LoadWarning(LoadError):
    """Something the user should hear about that is not a failed input (a skipped symlink loop)."""


class Skipped(LoadError):
    """A file in a folder that kb does not read (its type): named and counted, never silent."""



def replaced_warning(source: str, replaced: int) -> list[LoadError]:
    """The warning for a text that went in with `replaced` undecodable byte sequences (none when 0)."""
    if not replaced:
        return []
    return [LoadWarning(source, f"{replaced} undecodable byte sequence(s) replaced with U+FFFD; the rest of the text went in")]
