"""A full engine root: `stop`, `kill` and `rm -f` still stop containers (they signal first and
record after, rewriting their records in place when no new block can be had), and every
command that fails says why in one line, never with a traceback.

The engine root lives on a small tmpfs of its own, filled up by a container that floods its
log (or by a file), so the test never touches the disk others use."""

import contextlib
import json
import os
import subprocess
import sys
import tempfile

import pytest

from runtime.api import Engine
from tests.stack import wait_until

pytestmark = pytest.mark.privileged

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
FLOOD = ["sh", "-c", "while :; do echo 0123456789012345678901234567890123456789; done"]


@pytest.fixture
def small_root():
    """An engine root with busybox on a 24 MiB tmpfs of its own."""
    mountpoint = tempfile.mkdtemp(prefix="moorage-full-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "moorage-full",
                    mountpoint], check=True)
    engine = Engine(os.path.join(mountpoint, "root"))
    try:
        engine.bootstrap_busybox()
        yield engine
    finally:
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(mountpoint, "filler"))
        engine.reset()
        subprocess.run(["umount", mountpoint], check=True)
        os.rmdir(mountpoint)


def moor(engine, *args):
    return subprocess.run([sys.executable, "-m", "runtime", "--root", engine.paths.root, *args],
                          cwd=REPOSITORY, capture_output=True, text=True, timeout=120)


def free_bytes(engine) -> int:
    stats = os.statvfs(engine.paths.root)
    return stats.f_bavail * stats.f_frsize


def fill(engine) -> None:
    """Take what space is left with a file beside the root."""
    with open(os.path.join(os.path.dirname(engine.paths.root), "filler"), "wb") as f:
        with contextlib.suppress(OSError):
            while True:
                f.write(b"\0" * 65536)
                f.flush()
    assert free_bytes(engine) == 0


def flooded(engine) -> str:
    """A container whose output fills the disk (the host's default log cap, 100 MB, is more
    than this disk has)."""
    container_id = engine.run({"image": "busybox", "cmd": FLOOD, "network": "none"})
    wait_until(lambda: free_bytes(engine) == 0, timeout=60, interval=0.05,
               what="the flood to fill the disk")
    return container_id


def state_of(engine, container_id: str) -> dict:
    return json.loads(moor(engine, "inspect", container_id).stdout)[0]["State"]


def one_line_error(result) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) <= 1, result.stderr


def test_stop_stops_a_container_that_filled_the_disk(small_root):
    container_id = flooded(small_root)
    result = moor(small_root, "stop", "-t", "1", container_id)
    one_line_error(result)
    assert result.returncode == 0, result.stderr
    state = state_of(small_root, container_id)
    assert state["Running"] is False and state["Status"] in ("exited", "dead")


def test_kill_kills_on_a_full_disk(small_root):
    container_id = flooded(small_root)
    result = moor(small_root, "kill", container_id)
    one_line_error(result)
    assert result.returncode == 0, result.stderr
    wait_until(lambda: not state_of(small_root, container_id)["Running"], timeout=30,
               what="the container to end")


def test_rm_force_removes_on_a_full_disk(small_root):
    container_id = flooded(small_root)
    result = moor(small_root, "rm", "-f", container_id)
    one_line_error(result)
    assert result.returncode == 0, result.stderr
    assert moor(small_root, "ps", "-a", "-q").stdout.strip() == ""


def test_a_stopped_restart_always_container_stays_stopped(small_root):
    container_id = small_root.run({"image": "busybox", "cmd": ["sleep", "100000"],
                                   "network": "none", "restart": "always"})
    fill(small_root)
    result = moor(small_root, "stop", "-t", "1", container_id)
    one_line_error(result)
    assert result.returncode == 0, result.stderr
    with open(os.path.join(small_root.paths.container(container_id), "state.json")) as f:
        assert json.load(f)["ManualStop"] is True


def test_commands_on_a_full_disk_fail_in_one_line(small_root):
    fill(small_root)
    result = moor(small_root, "run", "-d", "--network", "none", "busybox", "true")
    one_line_error(result)
    assert result.returncode == 125
    assert "no space left on device" in result.stderr.lower()
    result = moor(small_root, "create", "--network", "none", "busybox", "true")
    one_line_error(result)
    assert result.returncode != 0
    result = moor(small_root, "commit", "--help")
    assert result.returncode == 0
    for args in (("tag", "busybox", "another:name"), ("ps", "-a"), ("system", "gc")):
        one_line_error(moor(small_root, *args))


def test_the_api_reports_a_full_disk_as_its_own_one_line_error(small_root):
    """What the console's worker calls: a MoorError its job shows, not an OSError."""
    from runtime.errors import MoorError
    fill(small_root)
    with pytest.raises(MoorError) as raised:
        small_root.run({"image": "busybox", "cmd": ["true"], "network": "none"})
    assert "no space left on device" in raised.value.message
    assert "\n" not in raised.value.message
    assert small_root.containers(all=True) == []
