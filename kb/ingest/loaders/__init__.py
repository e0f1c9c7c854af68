"""Format readers load.py dispatches to: HTML, JSONL, PDF/OFD page furniture, legacy Word/WPS,
spreadsheets. Each returns RawDocument values (or LoadError values for what it cannot read)."""

from __future__ import annotations

import logging


def quiet(*loggers: str) -> None:
    """Parsers log their complaints to stderr; kb reports one line per file instead."""
    for name in loggers:
        logging.getLogger(name).setLevel(logging.ERROR)
