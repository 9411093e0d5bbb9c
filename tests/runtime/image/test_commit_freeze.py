"""A commit freezes its container while it copies the writable layer. The freeze is recorded
with its holder (PID and start time) before the freezer is touched, so when the committing
process dies at that moment (kill -9), the next command, `ps`, `inspect` or `system gc` thaws
the container; a container the user paused stays paused.

The moment is made observable with the commit's test hook ($MOORAGE_COMMIT_HOLD, a FIFO):
the commit writes "frozen" there once the container is frozen and holds until the reader
closes it, so the tests kill it exactly then, without sleeping."""

import contextlib
import json
import os
import select
import signal
import subprocess
import sys

import pytest

from runtime.container import cgroups
from tests.stack import wait_until

pytestmark = pytest.mark.privileged

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


@pytest.fixture
def sleeper(engine):
    return engine.run({"image": "busybox", "cmd": ["sleep", "100000"]})


def freezer_frozen(engine, container_id: str) -> bool:
    return cgroups.frozen(engine.paths.cgroup_parent, container_id)


@contextlib.contextmanager
def commit_held(engine, container_id: str, tmp_path, *args):
    """A real `moor commit` of the container, stopped at the moment it holds the container
    frozen; yields the process (the caller may kill it), then lets it go on."""
    fifo = str(tmp_path / "hold")
    os.mkfifo(fifo)
    process = subprocess.Popen(
        [sys.executable, "-m", "runtime", "--root", engine.paths.root, "commit", *args,
         container_id], cwd=REPOSITORY, env={**os.environ, "MOORAGE_COMMIT_HOLD": fifo},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with held_at(fifo, process):
            yield process
    finally:
        if process.poll() is None:
            process.communicate(timeout=60)


@contextlib.contextmanager
def held_at(fifo: str, process):
    """Wait until the commit writes "frozen" to `fifo` (failing if it ends first); it holds
    until this context closes the FIFO."""
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        wait_until(lambda: select.select([reader], [], [], 0.5)[0] or process.poll() is not None,
                   timeout=60, what="the commit to freeze the container")
        assert process.poll() is None, process.communicate()
        assert os.read(reader, 64) == b"frozen\n"
        yield
    finally:
        os.close(reader)


def status(moor, container_id: str) -> dict:
    return json.loads(moor("inspect", container_id, check=True).stdout)[0]["State"]


def killed_at_the_freeze(engine, container_id: str, tmp_path) -> None:
    with commit_held(engine, container_id, tmp_path) as process:
        assert freezer_frozen(engine, container_id)
        process.send_signal(signal.SIGKILL)
        process.wait()


def test_a_commit_shows_the_container_paused_while_it_holds_it(engine, moor, sleeper,
                                                                 tmp_path):
    with commit_held(engine, sleeper, tmp_path) as process:
        state = status(moor, sleeper)
        assert state["Status"] == "paused" and state["Paused"] is True
        assert freezer_frozen(engine, sleeper)
    assert process.returncode == 0, process.stderr.read()
    state = status(moor, sleeper)
    assert state["Status"] == "running" and state["Paused"] is False
    assert not freezer_frozen(engine, sleeper)


def test_exec_after_a_killed_commit_runs(engine, moor, sleeper, tmp_path):
    killed_at_the_freeze(engine, sleeper, tmp_path)
    result = moor("exec", sleeper, "echo", "alive")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "alive\n"
    assert not freezer_frozen(engine, sleeper)
    assert status(moor, sleeper)["Status"] == "running"


def test_unpause_after_a_killed_commit_thaws(engine, moor, sleeper, tmp_path):
    killed_at_the_freeze(engine, sleeper, tmp_path)
    result = moor("unpause", sleeper)
    assert result.returncode == 0, result.stderr
    assert not freezer_frozen(engine, sleeper)
    assert status(moor, sleeper)["Status"] == "running"


def test_inspect_after_a_killed_commit_tells_the_truth(engine, moor, sleeper, tmp_path):
    killed_at_the_freeze(engine, sleeper, tmp_path)
    state = status(moor, sleeper)
    assert (state["Status"], state["Paused"]) == ("running", False)
    assert not freezer_frozen(engine, sleeper)
    assert moor("ps", "-q", "--no-trunc", check=True).stdout.split().count(sleeper) == 1


def test_gc_thaws_a_container_whose_commit_was_killed(engine, sleeper, tmp_path):
    killed_at_the_freeze(engine, sleeper, tmp_path)
    report = engine.gc()
    assert any("thawed" in line and sleeper[:12] in line for line in report), report
    assert not freezer_frozen(engine, sleeper)
    with open(os.path.join(engine.paths.container(sleeper), "state.json")) as f:
        assert json.load(f)["Status"] == "running"


def test_gc_thaws_a_freeze_nobody_recorded(engine, sleeper):
    """What a commit killed by an engine without the record left: frozen, recorded running."""
    from runtime.container.lifecycle import oci_runtime
    oci_runtime(engine, engine.container(sleeper)).pause(sleeper)
    assert freezer_frozen(engine, sleeper)
    report = engine.gc()
    assert any("thawed" in line and sleeper[:12] in line for line in report), report
    assert not freezer_frozen(engine, sleeper)


def test_a_user_pause_survives_gc_and_a_killed_commit(engine, moor, sleeper, tmp_path):
    moor("pause", sleeper, check=True)
    engine.gc()
    assert status(moor, sleeper)["Status"] == "paused"
    assert freezer_frozen(engine, sleeper)
    # A commit of a paused container leaves the freeze to its owner, the user.
    with commit_held(engine, sleeper, tmp_path) as process:
        process.send_signal(signal.SIGKILL)
        process.wait()
    engine.gc()
    assert status(moor, sleeper)["Status"] == "paused"
    assert freezer_frozen(engine, sleeper)
    moor("unpause", sleeper, check=True)
    assert not freezer_frozen(engine, sleeper)


def test_pausing_during_a_commit_keeps_the_container_paused(engine, moor, sleeper,
                                                            tmp_path):
    with commit_held(engine, sleeper, tmp_path) as process:
        result = moor("pause", sleeper)
        assert result.returncode == 0, result.stderr
    assert process.returncode == 0, process.stderr.read()
    assert status(moor, sleeper)["Status"] == "paused"
    assert freezer_frozen(engine, sleeper)
    moor("unpause", sleeper, check=True)
    assert status(moor, sleeper)["Status"] == "running"


def test_stop_during_a_held_commit_stops(engine, moor, sleeper, tmp_path):
    with commit_held(engine, sleeper, tmp_path):
        result = moor("stop", "-t", "1", sleeper)
        assert result.returncode == 0, result.stderr
    assert status(moor, sleeper)["Status"] == "exited"
