"""`moor events`: replaying what happened while nobody listened, following, filters, formats,
a clean end on Ctrl-C, and a follower that survives the journal's rotation."""

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from runtime import events
from runtime.events import journal
from tests.runtime.conftest import REPOSITORY
from tests.stack import wait_until

pytestmark = pytest.mark.privileged

PRETTY = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) (\S+) (.+?) "
                    r"([0-9a-f]{64}|\S+)( \((.*)\))?$")


def stamp(nanoseconds: int) -> str:
    return f"{nanoseconds // 10**9}.{nanoseconds % 10**9:09d}"


class Follower:
    """`moor events ...` running, its lines collected as they come."""

    def __init__(self, engine, *args):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "runtime", "events", *args], cwd=REPOSITORY,
            env={**os.environ, "MOORAGE_ROOT": engine.paths.root},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.seen = []

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def collect(self, count: int, timeout: float = 20.0) -> list[str]:
        def enough():
            while not self.lines.empty():
                self.seen.append(self.lines.get())
            return len(self.seen) >= count
        wait_until(enough, timeout=timeout, interval=0.02, what=f"{count} lines")
        return self.seen

    def interrupt(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(20)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        return self.process.returncode, self.process.stderr.read()


def test_since_replays_what_happened_while_nobody_listened(engine, moor):
    since = time.time_ns()
    container_id = engine.run({"image": "busybox", "cmd": ["sh", "-c", "exit 2"],
                               "name": "ev-replay"})
    assert engine.wait(container_id) == 2
    engine.remove(container_id)
    until = time.time_ns()
    result = moor("events", "--since", stamp(since), "--until", stamp(until),
                  "--filter", "container=ev-replay", check=True)
    parsed = [PRETTY.match(line) for line in result.stdout.splitlines()]
    assert all(parsed), result.stdout
    assert [(m.group(2), m.group(3)) for m in parsed] == [
        ("container", "create"), ("container", "start"), ("container", "die"),
        ("container", "destroy")]
    assert {m.group(4) for m in parsed} == {container_id}
    die = parsed[2].group(6)
    assert die.startswith("execDuration=") and ", exitCode=2, image=busybox, name=ev-replay" in die


def test_json_and_templates(engine, moor):
    since = time.time_ns()
    engine.tag("busybox", "ev-format:1")
    until = time.time_ns()
    window = ("--since", stamp(since), "--until", stamp(until), "--filter", "type=image")
    as_json = moor("events", *window, "--format", "json", check=True).stdout.splitlines()
    (event,) = [json.loads(line) for line in as_json]
    assert list(event) == ["status", "id", "Type", "Action", "Actor", "scope", "time",
                           "timeNano"]
    assert event["Actor"]["Attributes"]["name"] == "ev-format:1"
    template = moor("events", *window, "--format",
                    "{{.Type}} {{.Status}} {{.Actor.Attributes.name}} {{.Scope}}", check=True)
    assert template.stdout == "image tag ev-format:1 local\n"
    engine.remove_image("ev-format:1")


def test_bad_filters_and_times_are_one_line_errors(moor):
    result = moor("events", "--filter", "colour=red", "--until", "0s")
    assert result.returncode == 1 and result.stderr == "Error: invalid filter 'colour'\n"
    result = moor("events", "--since", "last tuesday")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: invalid value for --since: 'last tuesday'")


def test_until_in_the_past_ends_at_once_and_in_the_future_waits_for_it(engine, moor):
    started = time.monotonic()
    assert moor("events", "--until", "1s", check=True).stdout == ""
    now = time.time_ns()
    follower = Follower(engine, "--since", stamp(now), "--until", stamp(now + 3 * 10**9),
                        "--filter", "type=image", "--format", "{{.Action}}")
    engine.tag("busybox", "ev-until:1")
    assert follower.collect(1) == ["tag"]
    assert follower.process.wait(20) == 0, follower.process.stderr.read()
    assert time.monotonic() - started >= 3
    engine.remove_image("ev-until:1")


def test_following_prints_as_it_happens_and_ctrl_c_ends_quietly(engine):
    follower = Follower(engine, "--filter", "container=ev-follow",
                        "--format", "{{.Action}} {{.Actor.Attributes.name}}")
    # The follower starts at the end of the journal: wait until it is there.
    wait_until(lambda: _reads_journal(follower.process.pid), what="the follower to start")
    container_id = engine.run({"image": "busybox", "cmd": ["true"], "name": "ev-follow"})
    engine.wait(container_id)
    engine.remove(container_id)
    assert follower.collect(4) == ["create ev-follow", "start ev-follow", "die ev-follow",
                                   "destroy ev-follow"]
    code, errors = follower.interrupt()
    assert (code, errors) == (0, "")


def _reads_journal(pid: int) -> bool:
    directory = f"/proc/{pid}/fd"
    for fd in os.listdir(directory):
        try:
            if os.readlink(os.path.join(directory, fd)).endswith("/events/journal"):
                return True
        except OSError:
            continue
    return False


def test_a_follower_keeps_up_across_rotations(engine, monkeypatch):
    follower = Follower(engine, "--filter", "type=volume", "--format",
                        "{{.Actor.ID}}")
    wait_until(lambda: _reads_journal(follower.process.pid), what="the follower to start")
    monkeypatch.setattr(journal, "FILE_BYTES", 8_000)
    monkeypatch.setattr(journal, "FILES", 1000)
    before = len(os.listdir(journal.directory(engine.paths.root)))
    for number in range(400):
        events.volume(engine, "create", f"ev-rotation-{number}")
        if number % 100 == 99:
            follower.collect(number + 1)
    assert follower.collect(400) == [f"ev-rotation-{number}" for number in range(400)]
    assert len(os.listdir(journal.directory(engine.paths.root))) > before + 5
    assert follower.interrupt()[0] == 0
