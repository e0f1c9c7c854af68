"""A real two-node Ray cluster on 127.0.0.1 for tests: a head and a second node, separate processes.

Small on purpose (one CPU per node, an 80 MB object store) and always torn down: every process of
both nodes' sessions is ended by its id, also when a test fails. Ray is told its node address
(`--node-ip-address=127.0.0.1`): otherwise it finds one by a UDP connect to an outside address.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAY = Path(sys.executable).with_name("ray")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def session_pids(sid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":  # field 6 of stat: session id
            out.append(int(stat.parent.name))
    return out


def end_sessions(sids: list[int]) -> None:
    """SIGTERM every process of these sessions, wait for them to go, then SIGKILL what is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for sid in sids:
            for pid in session_pids(sid):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 30
        while any(session_pids(s) for s in sids) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not any(session_pids(s) for s in sids):
            return


def start_node(args: list[str], log: Path, cpus: int = 1) -> int:
    """`ray start` in a session of its own; it returns once the node is up (its daemons stay in the session)."""
    with open(log, "ab") as out:
        proc = subprocess.Popen([str(RAY), "start", *args, f"--num-cpus={cpus}", "--object-store-memory=80000000",
                                 "--node-ip-address=127.0.0.1", "--disable-usage-stats"],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)
        rc = proc.wait(timeout=300)
    if rc != 0:
        raise RuntimeError(f"ray start failed ({rc}):\n{log.read_text()[-3000:]}")
    return proc.pid  # = the session id of everything the node started


@contextmanager
def two_nodes(cpus: int = 1) -> Iterator[str]:
    """A head and a second node on 127.0.0.1; yields the head's address."""
    assert RAY.exists(), "Ray is not installed: pip install 'kb[ray]' (scripts/test.sh does)"
    tmp = Path(tempfile.mkdtemp(prefix="kbray", dir="/tmp"))  # short: Ray's socket paths must fit 107 bytes
    port = free_port()
    sids: list[int] = []
    try:
        sids.append(start_node(["--head", f"--port={port}", f"--temp-dir={tmp}", "--include-dashboard=false"],
                               tmp / "head.log", cpus))
        sids.append(start_node([f"--address=127.0.0.1:{port}"], tmp / "node2.log", cpus))
        address = f"127.0.0.1:{port}"
        check = ("import ray,time\nray.init(address='%s',logging_level='ERROR')\n"
                 "t=time.monotonic()\nwhile sum(n['Alive'] for n in ray.nodes())<2 and time.monotonic()-t<120: time.sleep(0.2)\n"
                 "print(sum(n['Alive'] for n in ray.nodes()), int(ray.cluster_resources()['CPU']))" % address)
        out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=300)
        assert out.stdout.split() == ["2", str(2 * cpus)], out.stdout + out.stderr
        yield address
    finally:
        end_sessions(sids)
        shutil.rmtree(tmp, ignore_errors=True)
    assert not any(session_pids(s) for s in sids), "Ray processes left behind"
