"""The index, opened once per process and shared by every session; what is cached per index state.

A `KnowledgeBase` follows the committed manifest on every read, so new ingests and metadata edits
need no new handle; results are cached per index *state* (segment + commit time), so an edit or
an ingest shows at once without a restart.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st
from messages import error_zh

from kb.index.store import DB_NAME
from kb.knowledgebase import KnowledgeBase, QueryResult, default_index_path
from kb.models import Filters


@dataclass
class Loaded:
    kb: KnowledgeBase
    warming: threading.Thread


@dataclass(frozen=True)
class Current:
    path: Path
    loaded: Loaded | None
    state: str | None  # segment, commit time, documents version: keys every per-state cache

    @property
    def kb(self) -> KnowledgeBase:
        assert self.loaded is not None
        return self.loaded.kb

    def ready(self) -> KnowledgeBase:
        """The index once its warm-up is done: a first query started while the warm-up thread still
        loads (and compiles numba's BM25) would pay for it inside its work deadline (query/budget.py)
        and come back cut short."""
        assert self.loaded is not None
        self.loaded.warming.join()
        return self.loaded.kb


def database_id(path: Path) -> int | None:
    """Identifies the index's database file: changes only when the index is rebuilt from scratch."""
    try:
        return (path / DB_NAME).stat().st_ino
    except OSError:
        return None


@st.cache_resource(max_entries=2, show_spinner="正在打开索引…")
def open_index(path: str, database: int) -> Loaded:
    kb = KnowledgeBase.open(path)
    warming = threading.Thread(target=kb.warm, kwargs={"numba": True}, name="kb-warm", daemon=True)
    warming.start()  # indexes, embedder, numba BM25: the first query need not pay for them
    return Loaded(kb, warming)


def current() -> Current:
    path = default_index_path().resolve()
    database = database_id(path)
    if database is None:
        return Current(path, None, None)
    try:
        loaded = open_index(str(path), database)
        status = loaded.kb.status()
        state = f"{database}:{status['segment']}:{status['updated_at']}:{status.get('docs_version')}"
        return Current(path, loaded, state)
    except Exception as e:  # an unusable index: say why, keep the ingest page usable
        st.error("索引无法打开：" + error_zh(e))
        return Current(path, None, None)


# ---- cached per index state (the `state` argument is the key; `_kb` is not hashed) -----------------
@st.cache_data(max_entries=8, show_spinner=False)
def documents_frame(state: str, _kb: KnowledgeBase) -> pd.DataFrame:
    return pd.DataFrame([d.to_dict() for d in _kb.documents()])


@st.cache_resource(max_entries=64, show_spinner="正在检索…")
def query(state: str, text: str, k: int, mode: str, filters: Filters, _kb: KnowledgeBase) -> QueryResult:
    """One library call, one snapshot (answer, passages, parse); never mutated once cached."""
    return _kb.query(text, k=k, mode=mode, filters=filters)


@st.cache_resource(max_entries=16, show_spinner="正在统计各地做法…")
def atlas(state: str, practices: tuple[str, ...], filters: Filters, _kb: KnowledgeBase):
    return _kb.atlas(list(practices) or None, filters)


@st.cache_resource(max_entries=16, show_spinner=False)
def region_profile(state: str, region: str, _kb: KnowledgeBase):
    return _kb.region_profile(region)
