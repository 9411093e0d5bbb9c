"""A build killed outright (kill -9) in a RUN step: `system gc`, or the next build, removes its
container, mounts, cgroups and directory; a build still at work keeps its own."""

import os
import select
import signal
import subprocess
import sys
import time
import uuid

import pytest

from runtime.container import state as records
from tests.runtime.conftest import REPOSITORY, leftovers
from tests.runtime.image.test_build import make_context

pytestmark = pytest.mark.privileged


class SleepingBuild:
    """`moor build` of a Dockerfile whose RUN step sleeps, started and followed until the step
    runs (its output says so), then ended by a signal."""

    def __init__(self, engine, tmp_path, name):
        self.token = uuid.uuid4().hex
        self.context = make_context(tmp_path, "FROM busybox\n"
                                    f"RUN echo started-{self.token}; sleep 300\n", name=name)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "runtime", "build", self.context], cwd=REPOSITORY,
            env={**os.environ, "MOORAGE_ROOT": engine.paths.root},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
        self.container_id = None

    def wait_running(self) -> str:
        """The short ID of the step's container, once its command printed (the output read
        as it comes, unbuffered: a line must not wait in a buffer select cannot see)."""
        output = b""
        deadline = time.monotonic() + 60
        while f"\nstarted-{self.token}\n".encode() not in output and \
                time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 1)
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 65536)
                if not chunk:
                    break
                output += chunk
        text = output.decode()
        assert f"\nstarted-{self.token}\n" in text, text
        running = [line for line in text.splitlines() if line.startswith(" ---> Running in ")]
        self.container_id = running[0].split()[-1]
        return self.container_id

    def kill(self, sig=signal.SIGKILL) -> None:
        self.process.send_signal(sig)
        self.process.communicate(timeout=60)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.kill()


def ids(engine) -> set[str]:
    return {c.id for c in records.all_containers(engine)}


def test_gc_removes_what_a_killed_build_left_and_spares_a_live_one(engine, moor, tmp_path):
    before = ids(engine)
    killed = SleepingBuild(engine, tmp_path, "killed")
    live = SleepingBuild(engine, tmp_path, "live")
    try:
        killed_id = killed.wait_running()
        live_id = live.wait_running()
        killed.kill()
        assert killed.process.returncode == -signal.SIGKILL
        # The killed build's container still runs; nothing else would ever remove it.
        assert [c for c in ids(engine) - before if c.startswith(killed_id)]

        result = moor("system", "gc")
        assert result.returncode == 0, result.stderr
        assert f"container {killed_id}: a step of a build that ended" in result.stdout

        remaining = ids(engine) - before
        assert len(remaining) == 1 and remaining.pop().startswith(live_id)
        assert engine.inspect(live_id)["State"]["Status"] == "running"
        assert live.process.poll() is None

        live.kill(signal.SIGINT)                  # its own clean-up removes its container
        assert live.process.returncode == 130
    finally:
        killed.stop()
        live.stop()
    assert ids(engine) == before
    assert leftovers(engine) == []


def test_the_next_build_removes_what_a_killed_build_left(engine, moor, tmp_path):
    before = ids(engine)
    killed = SleepingBuild(engine, tmp_path, "killed")
    try:
        killed.wait_running()
        killed.kill()
    finally:
        killed.stop()
    assert len(ids(engine) - before) == 1
    context = make_context(tmp_path, f"FROM busybox\nRUN echo {uuid.uuid4().hex}\n",
                           name="next")
    result = moor("build", context)
    assert result.returncode == 0, result.stderr
    assert ids(engine) == before
    assert leftovers(engine) == []
