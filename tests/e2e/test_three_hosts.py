"""Three hosts on one machine: the console's own (`e2e`) and two more, each in a network
namespace of its own (tests/netns.py) with its own engine root, reaching the console and
Redis only through its link, each joined with `./moorage join URL TOKEN`. Containers run,
stop, open terminals and follow logs on each; killing one host's agent takes it offline and
`./moorage restart` brings it back."""
import os
import secrets
import signal
import subprocess
import urllib.request

import pytest

from tests.e2e.test_moorage_script import SCRIPT, alive, pids, private_env
from tests.netns import Namespace
from tests.stack import REPO, Stack, wait_until
from tests.stream_client import TerminalClient, run

pytestmark = [pytest.mark.e2e, pytest.mark.privileged]


class Far:
    """A host in a namespace: its name, namespace and `./moorage` environment."""

    def __init__(self, name, namespace, env):
        self.name, self.namespace, self.env = name, namespace, env

    def moorage(self, *args, check=True):
        done = subprocess.run(self.namespace.argv([SCRIPT, *args]), env=self.env,
                              capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              timeout=240)
        if check:
            assert done.returncode == 0, f"./moorage {' '.join(args)} in {self.name}: " \
                                         f"{done.stdout}{done.stderr}"
        return done

    def remove(self):
        self.moorage("down", check=False)
        for pid in pids(self.env).values():
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.namespace.run([os.path.join(REPO, "bin", "moor"), "--root", self.env["MOORAGE_ROOT"],
                            "system", "reset", "--force"], check=False)


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("namespaces and the engine need root")
    spaces, far, stack = [], [], None
    try:
        spaces = [Namespace(), Namespace()]
        stack = Stack(listen=[space.outer for space in spaces])
        stack.start()
        for number, space in enumerate(spaces):
            name = f"far{number}"
            env = private_env(tmp_path_factory.mktemp(name))
            token = stack.admin.ok("POST", "/api/hosts/join-tokens/", {
                "name": name, "teams": ["default"]})["token"]
            host = Far(name, space, env)
            far.append(host)
            host.moorage("join", f"http://{space.outer}:{stack.web_port}", token,
                         "--redis", f"redis://{space.outer}:{stack.redis_port}/0")
        for host in far:
            stack.wait_host_online(host.name, timeout=60)
        yield stack, far
    finally:
        for host in far:
            host.remove()
        if stack is not None:
            stack.stop()
        for space in spaces:
            space.remove()


def log_text(stack, container) -> str:
    """The container's log over HTTP (read through its host's bridge)."""
    request = urllib.request.Request(stack.base + f"/api/containers/{container}/logs/",
                                     headers={"Authorization": f"Token {stack.admin.token}"})
    with urllib.request.urlopen(request, timeout=20) as response:
        return response.read().decode(errors="replace")


def test_each_host_runs_stops_and_streams_its_containers(hosts):
    stack, far = hosts
    for host in ["e2e", *(h.name for h in far)]:
        job = stack.admin.ok("POST", "/api/containers/?wait=1", {
            "image": "busybox", "host": host, "name": f"on-{host}-{secrets.token_hex(2)}",
            "team": "default",
            "cmd": ["sh", "-c", f"echo hello from {host}; exec sleep 600"]})
        assert job["state"] == "succeeded", job
        container = job["container"]

        async def scenario(container=container):
            client = await TerminalClient.open(stack.base, stack.admin.token, container)
            await client.send(b"hostname; echo done-$((6*7))\r")
            await client.expect(b"done-42")
            await client.close()
        run(scenario())
        wait_until(lambda host=host, container=container: f"hello from {host}" in log_text(
                       stack, container),
                   what=f"the log of the container on {host}")
        stopped = stack.admin.ok("POST", f"/api/containers/{container}/stop/?wait=1",
                                 {"timeout": 1})
        assert stopped["state"] == "succeeded", stopped
        stack.admin.ok("DELETE", f"/api/containers/{container}/?force=1&wait=1")


def test_a_host_whose_agent_dies_goes_offline_and_comes_back(hosts):
    stack, far = hosts
    host = far[0]
    worker = pids(host.env)["worker"]
    os.kill(worker, signal.SIGKILL)
    wait_until(lambda: stack.host(host.name)["state"] == "offline", timeout=30,
               what=f"{host.name} offline")
    assert stack.host(far[1].name)["state"] == "online"
    host.moorage("restart", "worker")
    stack.wait_host_online(host.name, timeout=60)
