"""Events and health checks through the engine service: `/events` streams the engine's
journal as Docker's daemon does (replay with since/until, then follow; filters; Docker's
field names), each action's event once and in order; the service hosts the health checks,
and killing it mid-check leaves the container running, its health shown as not checked."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from tests.service.conftest import DOCKER, REPOSITORY, RunningService, _docker_config
from tests.stack import wait_until

pytestmark = pytest.mark.privileged

MOOR = os.path.join(REPOSITORY, "bin", "moor")


def events_of(docker, since: float, until: float, *filters: str) -> list[dict]:
    args = ["events", "--since", f"{since:.9f}", "--until", f"{until:.9f}",
            "--format", "{{json .}}"]
    for item in filters:
        args += ["--filter", item]
    return [json.loads(line) for line in docker(*args).stdout.splitlines()]


def test_every_action_once_in_order_with_dockers_fields(docker):
    since = time.time()
    container_id = docker("run", "--name", "journaled", "-l", "team=blue", "busybox", "sh",
                          "-c", "exit 3", check=False)
    assert container_id.returncode == 3
    docker("rename", "journaled", "renamed")
    docker("rm", "renamed")
    docker("volume", "create", "journal-vol")
    docker("volume", "rm", "journal-vol")
    until = time.time() + 0.5
    seen = events_of(docker, since, until, "container=journaled", "container=renamed")
    actions = [event["Action"] for event in seen]
    assert actions == ["create", "attach", "start", "die", "rename", "destroy"], actions
    die = seen[3]
    assert die["Type"] == "container" and die["status"] == "die" and die["from"] == "busybox"
    assert die["Actor"]["Attributes"]["exitCode"] == "3"
    assert die["Actor"]["Attributes"]["team"] == "blue"
    assert die["id"] == die["Actor"]["ID"] and len(die["id"]) == 64
    assert die["scope"] == "local" and die["time"] == die["timeNano"] // 1_000_000_000
    volumes = [event["Action"] for event in
               events_of(docker, since, until, "type=volume", "volume=journal-vol")]
    assert volumes == ["create", "destroy"]
    labelled = events_of(docker, since, until, "label=team=blue", "event=die")
    assert [event["Action"] for event in labelled] == ["die"]


def test_a_follower_sees_new_events_and_ends_at_until(docker):
    since = time.time()
    docker("volume", "create", "follow-marker")
    follower = subprocess.Popen(
        [DOCKER, "events", "--since", f"{since:.9f}", "--format",
         "{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}"],
        stdout=subprocess.PIPE, text=True, env=docker.environment)
    try:
        # The marker, replayed: the follower has read the journal up to now.
        assert follower.stdout.readline() == "volume create follow-marker <no value>\n"
        docker("run", "--rm", "--name", "followed", "busybox", "true")
        actions = []
        while "destroy" not in actions:
            line = follower.stdout.readline()
            assert line, f"the stream ended after {actions}"
            kind, action, _, name = line.split()[:4]
            if kind == "container" and name == "followed":
                actions.append(action)
        assert actions == ["create", "attach", "start", "die", "destroy"]
    finally:
        follower.kill()
        follower.wait()
        docker("volume", "rm", "follow-marker")
    # Until in the future: the stream waits for it, then ends by itself.
    started = time.time()
    result = docker("events", "--since", f"{started:.3f}", "--until", f"{started + 1:.3f}")
    assert result.returncode == 0 and time.time() >= started + 1


def test_bad_event_parameters_are_400(service, docker):
    import urllib.parse
    result = docker("events", "--filter", "colour=red", "--until", "1", check=False)
    assert result.returncode != 0 and "colour" in result.stderr
    # The CLI checks its own --since; what the service says to a bad one:
    for query, word in (({"since": "yesterday-ish"}, "since"), ({"until": "x"}, "until")):
        answer = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", "--unix-socket",
                                 service.socket_path, "http://docker/v1.41/events?" +
                                 urllib.parse.urlencode(query)],
                                capture_output=True, text=True, timeout=30).stdout
        body, status = answer.rsplit("\n", 1)
        assert status == "400" and word in json.loads(body)["message"]


def test_moor_events_since_replays_what_happened_while_nobody_listened(engine):
    since = time.time()
    engine.run({"image": "busybox", "name": "unwatched", "cmd": ["true"], "network": "none"})
    engine.wait("unwatched")
    engine.remove("unwatched")
    result = subprocess.run([MOOR, "--root", engine.paths.root, "events", "--since",
                             f"{since:.9f}", "--until", f"{time.time():.9f}", "--filter",
                             "container=unwatched", "--format", "{{.Action}}"],
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["create", "start", "die", "destroy"], result.stderr


@pytest.fixture
def own_root():
    """A root of its own, for a service of its own (one health checker runs per root)."""
    from runtime.api import Engine
    root = tempfile.mkdtemp(prefix="moorage-health-test-")
    engine = Engine(root)
    engine.bootstrap_busybox()
    yield engine
    engine.reset()


def test_killing_the_service_mid_check_leaves_the_container_running(own_root):
    engine = own_root
    directory = tempfile.mkdtemp(prefix="moorage-health-socket-")
    os.chmod(directory, 0o755)
    service = RunningService(engine.paths.root, os.path.join(directory, "docker.sock"),
                             os.path.join(directory, "log")).start()
    env = {**os.environ, "DOCKER_HOST": service.url, "DOCKER_CONFIG": _docker_config()}

    def docker(*args):
        return subprocess.run([DOCKER, *args], env=env, capture_output=True, text=True,
                              timeout=60, check=True).stdout
    try:
        docker("run", "-d", "--name", "slowcheck", "--health-cmd",
               "touch /tmp/checking; sleep 30", "--health-interval", "1s",
               "--health-timeout", "60s", "busybox", "sleep", "300")
        wait_until(lambda: engine.container("slowcheck") and subprocess.run(
            [MOOR, "--root", engine.paths.root, "exec", "slowcheck", "test", "-f",
             "/tmp/checking"]).returncode == 0, timeout=30, what="a check in progress")
        service.stop(signal.SIGKILL)
        state = engine.inspect("slowcheck")["State"]
        assert state["Status"] == "running"
        # Nobody checks it now: never a stale "healthy", and inspect says why.
        assert state["Health"]["Status"] == "starting"
        assert "not being checked" in state["Health"].get("Note", "")
        listing = subprocess.run([MOOR, "--root", engine.paths.root, "ps", "--format",
                                  "{{.Names}} {{.Status}}"], capture_output=True, text=True,
                                 timeout=60).stdout
        assert listing.startswith("slowcheck Up ") and "not checked" in listing
        engine.remove("slowcheck", force=True)
    finally:
        service.stop(signal.SIGKILL)
        shutil.rmtree(directory, ignore_errors=True)
