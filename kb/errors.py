"""Errors a user can cause and fix, raised where the problem is known; the CLI prints them as one line."""

from __future__ import annotations


class UnknownDocument(LookupError):
    """A document id that is not in the index."""

    def __init__(self, doc_id: str, where: str) -> None:
        self.doc_id = doc_id
        super().__init__(f"no document {doc_id!r} in {where} (see `kb docs`)")

    def __str__(self) -> str:
        return str(self.args[0])
