"""A host worker killed while its commit job holds the container frozen: the freeze was
recorded with the worker's process as its holder, so the restarted worker's next sync (or
any command) thaws the container, and the job is failed, not left running."""
import os
import select

import pytest

from runtime.container import cgroups, groups
from runtime.paths import Paths
from tests.stack import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.privileged]


def frozen(stack, container_id):
    """Whether the kernel has the container frozen, in its cgroup (under its team's group)."""
    paths = Paths(stack.roots["e2e"])
    group = stack.admin.ok("GET", f"/api/containers/{container_id}/inspect/")["HostConfig"].get(
        "CgroupParent")
    return cgroups.frozen(groups.cgroup_path(paths, group) if group else paths.cgroup_parent,
                          container_id)


def test_a_worker_killed_mid_commit_leaves_the_container_recoverable(stack, tmp_path):
    api = stack.admin
    job = api.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": "mid-commit",
        "cmd": ["sh", "-c", "echo data > /data && sleep 300"]})
    assert job["state"] == "succeeded", job
    container_id = api.ok("GET", "/api/containers/mid-commit/")["id"]
    fifo = str(tmp_path / "hold")
    os.mkfifo(fifo)
    stack.end("worker-e2e")
    stack.start_worker("e2e", extra_env={"MOORAGE_COMMIT_HOLD": fifo})
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        commit = api.ok("POST", "/api/containers/mid-commit/commit/", {
            "repository": "e2e/held", "tag": "v1"})
        wait_until(lambda: select.select([reader], [], [], 0.5)[0], timeout=60,
                   what="the commit job to freeze the container")
        assert os.read(reader, 64) == b"frozen\n"
        assert frozen(stack, container_id)
        stack.kill_worker("e2e")
    finally:
        os.close(reader)
        stack.start_worker("e2e")
    stack.wait_host_online("e2e")
    failed = stack.wait_job(commit["id"], timeout=60)
    assert failed["state"] == "failed"
    # The new worker's sync found the freeze's holder gone and thawed the container.
    wait_until(lambda: api.ok("GET", "/api/containers/mid-commit/")["state"] == "running"
               and not frozen(stack, container_id), timeout=30, what="the container thawed")
    result = stack.moor("e2e", "exec", "mid-commit", "cat", "/data", check=False)
    assert result.returncode == 0 and result.stdout == "data\n", result.stderr
    job = api.ok("DELETE", "/api/containers/mid-commit/?force=1&wait=1")
    assert job["state"] == "succeeded", job
