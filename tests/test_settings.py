"""Settings that hold: an index is answered with the settings it was built with, overrides are
explicit, and a change that needs a rebuild is refused or applied — never silently ignored."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, SAMPLE

from kb.errors import NeedsRebuild, SettingError
from kb.settings import Settings, in_force, parse_overrides

# ---- the object itself ---------------------------------------------------------------------------


def test_overrides_are_typed_and_unknown_keys_are_named():
    s = Settings().with_overrides(parse_overrides(["retrieval.depth=200", "answer.dense_margin=0.01"]))
    assert (s.retrieval.depth, s.answer.dense_margin) == (200, 0.01)
    with pytest.raises(SettingError, match="retrieval.dept"):
        parse_overrides(["retrieval.dept=1"])
    with pytest.raises(SettingError, match="whole number"):
        Settings().with_overrides({"retrieval.depth": "1.5"})
    with pytest.raises(SettingError, match="KEY=VALUE"):
        parse_overrides(["retrieval.depth"])
    with pytest.raises(SettingError, match="negative"):
        Settings().with_overrides({"answer.deep": "-3"})


def test_machine_sections_never_come_from_an_index():
    """A GPU machine's embedding batch recorded in an index is not this machine's."""
    built = Settings().with_overrides({"embed.batch": 256, "retrieval.depth": 150})
    recorded = Settings.from_dict(built.to_dict())
    assert recorded.embed.batch == Settings().embed.batch and recorded.retrieval.depth == 150
    assert "embed" not in built.index_dict() and "limits" not in built.index_dict()


def test_precedence_recorded_then_environment_then_explicit():
    recorded = Settings().with_overrides({"retrieval.depth": 150})
    env = {"KB_SETTINGS": "retrieval.depth=170,answer.deep=333", "KB_EMBED_BATCH": "8"}
    s = in_force(recorded, {"answer.deep": 400}, env)
    assert (s.retrieval.depth, s.answer.deep, s.embed.batch) == (170, 400, 8)


def test_a_rebuild_setting_names_the_command_that_applies_it():
    with pytest.raises(NeedsRebuild, match=r"kb reindex --set chunk\.max_chars=300"):
        Settings().refuse_rebuild(Settings().with_overrides({"chunk.max_chars": 300}))
    Settings().refuse_rebuild(Settings().with_overrides({"chunk.max_chars": 300}), allowed=("reindex",))
    with pytest.raises(NeedsRebuild, match="--reparse"):
        Settings().refuse_rebuild(Settings().with_overrides({"places.title": 4.0}))


# ---- through a real index ---------------------------------------------------------------------------


def _kb(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    full = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "kb.cli", *args], cwd=ROOT, env=full, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def small_chunks(tmp_path_factory):
    """One report indexed with non-default settings given at build time."""
    index = tmp_path_factory.mktemp("settings") / "index"
    r = _kb("ingest", str(SAMPLE["002"]), "--index", str(index), "--quiet",
            "--set", "chunk.max_chars=200", "--set", "answer.quote_max=40")
    assert r.returncode == 0, r.stderr
    return index


@pytest.mark.slow  # an index built by a real `kb ingest` (small_chunks)
def test_an_index_is_opened_with_the_settings_it_was_built_with(small_chunks):
    from kb import KnowledgeBase

    kb = KnowledgeBase.open(small_chunks)
    try:
        assert kb.settings.chunk.max_chars == 200 and kb.settings.answer.quote_max == 40
        chunks = kb.chunks_of(kb.documents()[0].doc_id)
        assert chunks and max(len(c.text) for c in chunks) <= 200  # the behaviour they imply
        answer = kb.ask("哪些地区推行综合查一次")
        quotes = [c.quote for e in answer.regions for c in e.citations]
        assert quotes and all(len(q) <= 40 + len("综合查一次") for q in quotes), quotes
    finally:
        kb.close()
    status = json.loads(_kb("status", "--index", str(small_chunks), "--json").stdout)
    assert status["settings"]["chunk"]["max_chars"] == 200
    assert status["settings"]["answer"]["quote_max"] == 40


@pytest.mark.slow  # an index built by a real `kb ingest` (small_chunks)
def test_a_query_time_override_applies_to_that_handle_only(small_chunks):
    from kb import KnowledgeBase

    kb = KnowledgeBase.open(small_chunks, overrides={"answer.quote_max": 120})
    try:
        assert kb.settings.answer.quote_max == 120
    finally:
        kb.close()
    again = KnowledgeBase.open(small_chunks)
    assert again.settings.answer.quote_max == 40
    again.close()


@pytest.mark.slow  # an index built by a real `kb ingest` (small_chunks)
def test_changing_chunk_sizes_is_refused_when_reading_and_applied_by_reindex(small_chunks, tmp_path):
    from kb import KnowledgeBase

    with pytest.raises(NeedsRebuild, match="kb reindex"):
        KnowledgeBase.open(small_chunks, overrides={"chunk.max_chars": 500})
    r = _kb("search", "综合查一次", "--index", str(small_chunks), "--set", "chunk.max_chars=500")
    assert r.returncode == 2 and "kb reindex --set chunk.max_chars=500" in r.stderr, r.stderr
    r = _kb("ingest", str(SAMPLE["002"]), "--index", str(small_chunks), "--set", "chunk.max_chars=500")
    assert r.returncode == 2 and "needs a rebuild" in r.stderr, r.stderr

    copy = tmp_path / "index"
    shutil.copytree(small_chunks, copy)
    r = _kb("reindex", "--index", str(copy), "--set", "chunk.max_chars=500")
    assert r.returncode == 0, r.stderr
    kb = KnowledgeBase.open(copy)
    try:
        assert kb.settings.chunk.max_chars == 500
        chunks = kb.chunks_of(kb.documents()[0].doc_id)
        assert max(len(c.text) for c in chunks) > 200  # re-chunked from the stored text
        assert kb.status()["embedded"] == kb.status()["chunks"]  # the new passages were embedded
        assert kb.search("综合查一次", k=3, mode="dense")  # and the dense leg has them
    finally:
        kb.close()


@pytest.mark.slow  # an index built by a real `kb ingest` (small_chunks)
def test_an_unknown_setting_is_one_line(small_chunks):
    r = _kb("ask", "综合查一次", "--index", str(small_chunks), "--set", "answer.quote_maxx=3")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "answer.quote_maxx" in r.stderr, r.stderr
