"""What `moor` does where a Docker user's script relies on Docker's answer: one-line errors
with Docker's words and statuses, a closed pipe that ends only the output, a container in
restart back-off shown and kept as one."""

import json
import os
import subprocess
import sys

import pytest

from tests.runtime.conftest import REPOSITORY
from tests.stack import wait_until

pytestmark = pytest.mark.privileged


def test_cp_of_a_missing_path_is_dockers_one_line(engine, moor, tmp_path):
    engine.create({"image": "busybox", "cmd": ["true"], "name": "cp-missing"})
    for source in ("/missing/x", "/missing", "/etc/hostname/x"):
        result = moor("cp", f"cp-missing:{source}", str(tmp_path / "out"))
        assert (result.returncode, result.stderr) == (
            1, f"Error: Could not find the file {source} in container cp-missing\n"), source
    assert os.listdir(tmp_path) == []


def test_build_into_a_closed_pipe_ends_the_output_not_the_build(engine, tmp_path):
    """`moor build ... | head -1`: the build goes on to its end, silently, status 0."""
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN seq 1 20000\nRUN echo done\n")
    build = subprocess.Popen(
        [sys.executable, "-m", "runtime", "--root", engine.paths.root, "build", "-t",
         "piped:1", "--no-cache", str(tmp_path)], cwd=REPOSITORY, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    assert build.stdout.readline() == b"Step 1/3 : FROM busybox\n"
    build.stdout.close()                    # what `head -1` does once it has its line
    stderr = build.stderr.read()
    assert (build.wait(120), stderr) == (0, b"")
    try:
        config = engine.image_inspect("piped:1")["Config"]
        assert engine.history("piped:1")[0]["CreatedBy"].endswith("echo done")
        assert config is not None
    finally:
        engine.remove_image("piped:1", force=True)


def test_a_container_in_restart_back_off_is_restarting_and_prune_keeps_it(engine, moor):
    container_id = engine.run({"image": "busybox", "cmd": ["true"], "name": "backoff",
                               "restart": "always"})

    def backing_off():
        # From the 6th restart on, the back-off lasts 3.2 s and more: time to look at it.
        with open(os.path.join(engine.paths.container(container_id), "state.json")) as f:
            state = json.load(f)
        return state["Status"] == "restarting" and state["RestartCount"] >= 5
    wait_until(backing_off, timeout=30, interval=0.02, what="a restart back-off")
    status = moor("ps", "--filter", "name=backoff", "--format", "{{.State}}|{{.Status}}")
    assert status.stdout.startswith("restarting|Restarting (0) "), status.stdout
    assert status.stdout.endswith(" ago\n")
    assert moor("inspect", "-f", "{{.State.Restarting}} {{.State.Status}}",
                "backoff").stdout == "true restarting\n"
    pruned = moor("container", "prune", "-f", check=True)
    assert container_id not in pruned.stdout
    assert engine.inspect(container_id)["State"]["Status"] in ("restarting", "running")
    engine.stop(container_id)
    assert engine.inspect(container_id)["State"]["Status"] == "exited"


def test_a_back_off_nobody_waits_on_any_more_is_an_exited_container(engine):
    """After a reboot (or the end of the process waiting out the delay) nobody will restart
    it: it is exited, as `system boot` then finds it, and prune may take it."""
    from runtime.container import state as records
    container_id = engine.create({"image": "busybox", "cmd": ["true"], "name": "orphan"})
    container = records.find(engine, container_id)
    container.state.update({"Status": "restarting", "ExitCode": 3,
                            "RestartWaiterPid": 2 ** 22 + 1, "RestartWaiterStartTime": 1})
    container.save_state()
    assert engine.inspect(container_id)["State"]["Status"] == "exited"
    assert container_id in engine.prune_containers()


def test_top_of_a_stopped_container_is_an_error(engine, moor):
    container_id = engine.create({"image": "busybox", "cmd": ["true"], "name": "top-stopped"})
    result = moor("top", "top-stopped")
    assert (result.returncode, result.stdout, result.stderr) == (
        1, "", f"Error: container {container_id} is not running\n")


def test_an_unknown_user_is_126_as_in_docker(engine, moor):
    before = set(os.listdir(engine.paths.containers))
    result = moor("run", "--rm", "-u", "nosuchuser", "busybox", "true")
    assert (result.returncode, result.stderr) == (
        126, "Error: unable to find user nosuchuser: no matching entries in passwd file\n")
    assert set(os.listdir(engine.paths.containers)) == before
    engine.run({"image": "busybox", "cmd": ["sleep", "60"], "name": "exec-user"})
    result = moor("exec", "-u", "nosuchuser", "exec-user", "true")
    assert (result.returncode, result.stderr) == (
        126, "Error: unable to find user nosuchuser: no matching entries in passwd file\n")
    result = moor("exec", "-u", "root:nosuchgroup", "exec-user", "true")
    assert (result.returncode, result.stderr) == (
        126, "Error: unable to find group nosuchgroup: no matching entries in group file\n")


def test_exec_t_without_i_needs_no_terminal(engine, moor, runtime_name):
    engine.run({"image": "busybox", "cmd": ["sleep", "60"], "name": "exec-t",
                "runtime": runtime_name})
    result = subprocess.run(
        [sys.executable, "-m", "runtime", "--root", engine.paths.root, "exec", "-t", "exec-t",
         "sh", "-c", "echo hi; [ -t 0 ] && echo terminal"], cwd=REPOSITORY,
        stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"hi\r\nterminal\r\n", b"")
    # With -i the terminal would be ours: that one needs a terminal, as in Docker.
    result = moor("exec", "-it", "exec-t", "true")
    assert (result.returncode, result.stderr) == (1, "the input device is not a TTY\n")
