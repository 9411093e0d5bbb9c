"""Nothing is left behind: after many containers, after a killed process, after a root is
deleted with its bridges up."""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from runtime.network import gc, store
from runtime.paths import Paths

from .conftest import Sandbox, host_rules, leftovers

pytestmark = pytest.mark.privileged


def test_fifty_containers_leave_nothing(fresh_paths):
    ids = []
    for number in range(50):
        box = Sandbox(fresh_paths, ports=["80"] if number % 5 == 0 else ()).attach()
        ids.append(box.id)
        assert os.path.exists(f"/sys/class/net/mrg{box.id[:12]}")
        box.close()
    assert leftovers(fresh_paths) == []
    assert not [line for line in host_rules(fresh_paths) if ":ctr:" in line]
    assert gc(fresh_paths, set()) == []


_WORKER = """
import os, secrets, sys
from runtime.network import NetworkRequest, attach
from runtime.paths import Paths
paths = Paths(sys.argv[1])
while True:
    cid = secrets.token_hex(32)
    directory = paths.container(cid)
    os.makedirs(directory)
    print(cid, flush=True)
    attach(paths, NetworkRequest(cid, "c" + cid[:6], cid[:12], "bridge", ports=["80"],
                                 container_dir=directory))
"""


def test_a_worker_killed_mid_attach_leaves_nothing_after_gc(fresh_paths):
    started = []
    repository = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
    # Killed at moments after its first attach began (counted from the line it prints
    # then, not from its start, which a loaded machine delays), and once only after its
    # first attach ended: so at least one veth is certainly there to be collected.
    for delay in (0.0, 0.02, 0.05, 0.09, 0.14, 0.2, 0.3, None):
        worker = subprocess.Popen([sys.executable, "-c", _WORKER, fresh_paths.root],
                                  cwd=repository, stdout=subprocess.PIPE, text=True)
        try:
            seen = worker.stdout.readline()
            if delay is None:
                seen += worker.stdout.readline()
            else:
                time.sleep(delay)
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
        started += (seen + worker.stdout.read()).split()
    assert len(started) >= 9, "the worker never got to attach anything"
    removed = gc(fresh_paths, set())
    assert any("veth" in line for line in removed)
    assert leftovers(fresh_paths) == []
    assert not [line for line in host_rules(fresh_paths) if ":ctr:" in line]


def test_gc_keeps_what_live_containers_hold(fresh_paths):
    live, dead = Sandbox(fresh_paths).attach(), Sandbox(fresh_paths).attach()
    try:
        removed = gc(fresh_paths, {live.id})
        assert f"veth mrg{dead.id[:12]} (container {dead.id[:12]})" in removed
        assert leftovers(fresh_paths, {dead.id}) == []
        assert os.path.exists(f"/sys/class/net/mrg{live.id[:12]}")
        assert gc(fresh_paths, {live.id}) == []
    finally:
        live.close()
        dead.close()


def test_gc_removes_what_a_deleted_root_left_up(tmp_path, fresh_paths):
    doomed = Paths(str(tmp_path / "doomed")).ensure()
    box = Sandbox(doomed, ports=["80"]).attach()
    bridge = store.default_network(doomed).bridge
    shutil.rmtree(doomed.root)
    removed = gc(fresh_paths, set())
    assert f"bridge {bridge} of deleted root {doomed.root}" in removed
    assert not os.path.exists(f"/sys/class/net/{bridge}")
    assert not os.path.exists(f"/sys/class/net/mrg{box.id[:12]}")
    assert not os.path.exists(box.attachment.netns)
    assert host_rules(doomed) == []
