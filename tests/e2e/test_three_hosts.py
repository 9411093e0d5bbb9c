"""Three hosts on one machine: the console's own (`e2e`) and two more, each in a network
namespace of its own (tests/netns.py) with its own engine root, reaching the console and
Redis only through its link, each joined with `./moorage join URL TOKEN`. On each, through
the console's API and so by the host's agent: containers run, stop, open terminals and follow
logs; a container is committed and its image run; an image is pulled from a registry the host
reaches (Debian's docker-registry on the host's own loopback, at the address the console lets
users pull from) and run; a stack with a named volume is deployed, runs there and nowhere
else, and is taken down and removed. `host: "any"` goes to the one host not cordoned and
says why, and to another than the one whose memory a container holds. Killing one host's
agent takes it offline and `./moorage restart` brings it back."""
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import urllib.request

import pytest

from runtime.api import Engine
from tests.e2e.test_moorage_script import SCRIPT, alive, pids, private_env
from tests.netns import Namespace
from tests.runtime.registry_fixture import Registry
from tests.stack import REPO, TEST_REGISTRY_HOST, Api, Stack, wait_until
from tests.stream_client import TerminalClient, run

MOOR = os.path.join(REPO, "bin", "moor")

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
        self.namespace.run([MOOR, "--root", self.env["MOORAGE_ROOT"], "system", "reset",
                            "--force"], check=False)


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


# -- commit, pull and a stack on each host ------------------------------------------------------

class NamespacedRegistry(Registry):
    """Debian's docker-registry on the loopback of a namespace, at the address the stack's
    console lets users pull from (TEST_REGISTRY_HOST): the far host's own registry, which
    nothing outside its namespace reaches."""

    def __init__(self, namespace):
        super().__init__(host=TEST_REGISTRY_HOST)
        self.namespace = namespace

    def command(self, config):
        return self.namespace.argv(super().command(config))

    def answers(self):
        done = self.namespace.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                   "--max-time", "2", f"http://{self.address}/v2/"],
                                  check=False)
        return done.stdout in ("200", "401")


class Place:
    """One of the three hosts as a test reaches it: its name, how a command runs there (in
    its namespace, or as it is for `e2e`), its engine root and its registry."""

    def __init__(self, name, root, namespace=None):
        self.name, self.root, self.namespace = name, root, namespace
        self.registry = None

    def argv(self, argv) -> list:
        return self.namespace.argv(argv) if self.namespace else list(argv)

    def moor(self, *args, root=None) -> str:
        done = subprocess.run(self.argv([MOOR, "--root", root or self.root, *args]),
                              capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              timeout=120)
        assert done.returncode == 0, f"moor {' '.join(args)} on {self.name}: {done.stderr}"
        return done.stdout


@pytest.fixture(scope="module")
def places(hosts):
    """The three hosts, each with a registry of its own on its loopback."""
    stack, far = hosts
    found = [Place("e2e", stack.roots["e2e"])] + [
        Place(host.name, host.env["MOORAGE_ROOT"], host.namespace) for host in far]
    try:
        for place in found:
            place.registry = (NamespacedRegistry(place.namespace) if place.namespace
                              else Registry(host=TEST_REGISTRY_HOST))
            place.registry.start()
        yield found
    finally:
        for place in found:
            if place.registry is not None:
                place.registry.stop()


@pytest.fixture(scope="module")
def developer(hosts):
    """A developer of team default, to which all three hosts are granted."""
    stack, _ = hosts
    team = next(t for t in stack.admin.ok("GET", "/api/teams/")["results"]
                if t["name"] == "default")
    name, password = "th" + secrets.token_hex(3), secrets.token_urlsafe(16)
    stack.admin.ok("POST", "/api/users/", {"username": name, "password": password})
    stack.admin.ok("POST", f"/api/teams/{team['id']}/members/", {"user": name,
                                                                 "role": "developer"})
    token = Api(stack.base).ok("POST", "/api/auth/token/", {"username": name,
                                                            "password": password})["token"]
    return Api(stack.base, token)


@pytest.fixture
def containers(hosts):
    """Names of containers to remove (forced) after the test, whatever happened."""
    stack, _ = hosts
    names = []
    yield names
    for name in names:
        stack.admin.call("DELETE", f"/api/containers/{name}/?force=1&wait=1")


def run_to_exit(api, containers, host, image, cmd) -> dict:
    """Run `cmd` in a container of `image` on `host` and wait for it to exit; the container."""
    name = f"th-{host}-{secrets.token_hex(3)}"
    containers.append(name)
    job = api.ok("POST", "/api/containers/?wait=1", {"image": image, "host": host,
                                                      "name": name, "cmd": cmd})
    assert job["state"] == "succeeded", job
    assert job["host"] == host, job
    return wait_until(lambda: (lambda c: c if c["state"] == "exited" else None)(
        api.ok("GET", f"/api/containers/{name}/")), timeout=30, what=f"{name} exited")


def test_each_host_commits_a_container_and_runs_the_image(hosts, places, developer,
                                                           containers):
    stack, _ = hosts
    for place in places:
        host, mark = place.name, secrets.token_hex(4)
        builder = f"th-builder-{host}-{secrets.token_hex(2)}"
        containers.append(builder)
        job = developer.ok("POST", "/api/containers/?wait=1", {
            "image": "busybox", "host": host, "name": builder,
            "cmd": ["sh", "-c", f"echo {mark} > /committed.txt && exec sleep 600"]})
        assert job["state"] == "succeeded", job
        wait_until(lambda place=place, builder=builder: "committed.txt" in place.moor(
                       "diff", builder), timeout=15, what=f"the change in {builder}")
        reference = f"three/{host}:{mark}"
        job = developer.ok("POST", f"/api/containers/{builder}/commit/?wait=1", {
            "repository": f"three/{host}", "tag": mark})
        assert job["state"] == "succeeded", job
        assert job["result"]["reference"] == reference
        image = next(i for i in developer.ok("GET", f"/api/images/?host={host}")["results"]
                     if i["id"] == job["result"]["image_id"])
        assert image["tags"] == [reference] and image["team"] == "default"
        assert reference in place.moor("images", "--format", "{{.Repository}}:{{.Tag}}")
        done = run_to_exit(developer, containers, host, reference,
                           ["grep", "-qx", mark, "/committed.txt"])
        assert done["exit_code"] == 0, done


def push_from(place, engine, reference) -> None:
    """Push `reference` from `engine` (an engine root of the test's own) as if from the host
    `place`, whose registry answers only there."""
    place.moor("push", reference, root=engine.paths.root)


def test_each_host_pulls_from_its_registry_and_runs_the_image(hosts, places, developer,
                                                               containers):
    stack, _ = hosts
    elsewhere = Engine(tempfile.mkdtemp(prefix="moorage-e2e-three-"))
    context = tempfile.mkdtemp(prefix="moorage-e2e-three-context-")
    try:
        elsewhere.bootstrap_busybox()
        for place in places:
            mark = secrets.token_hex(4)
            reference = f"{place.registry.address}/three/{place.name}:{mark}"
            with open(os.path.join(context, "pulled.txt"), "w") as handle:
                handle.write(f"{mark}\n")
            with open(os.path.join(context, "Dockerfile"), "w") as handle:
                handle.write("FROM busybox\nCOPY pulled.txt /pulled.txt\n")
            pushed = elsewhere.build(context, tags=[reference])
            push_from(place, elsewhere, reference)

            job = developer.ok("POST", "/api/images/pull/?wait=1", {"reference": reference,
                                                                    "host": place.name})
            assert job["state"] == "succeeded", job
            assert job["result"] == {"image_id": pushed, "reference": reference}, job
            assert job["output"].splitlines()[-1] == \
                f"Status: Downloaded newer image for {reference}"
            assert pushed in place.moor("images", "-q", "--no-trunc")
            done = run_to_exit(developer, containers, place.name, reference,
                               ["grep", "-qx", mark, "/pulled.txt"])
            assert done["exit_code"] == 0, done
    finally:
        elsewhere.reset()
        shutil.rmtree(elsewhere.paths.root, ignore_errors=True)
        shutil.rmtree(context, ignore_errors=True)


COMPOSE = """services:
  app:
    image: busybox
    command: ["sh", "-c", "echo kept > /data/kept; exec sleep 600"]
    volumes: ["data:/data"]
    depends_on: [side]
    stop_grace_period: 1s
  side:
    image: busybox
    command: ["sleep", "600"]
    stop_grace_period: 1s
volumes:
  data: {}
"""


def finished(stack, api, answer):
    job = answer if answer["state"] in ("succeeded", "failed") else stack.wait_job(
        answer["id"], api=api, timeout=120)
    assert job["state"] == "succeeded", job
    return job


def project_containers(place, project) -> list:
    return place.moor("ps", "-aq", "--no-trunc", "--filter",
                      f"label=com.docker.compose.project={project}").split()


def running_stack(api, stack_id):
    """The stack once it and its two containers run (seen by separate syncs), else None."""
    shown = api.ok("GET", f"/api/stacks/{stack_id}/")
    states = [c["state"] for service in shown["services"] for c in service["containers"]]
    return shown if shown["state"] == "running" and states == ["running", "running"] else None


def test_each_host_runs_a_stack_of_its_own(hosts, places, developer):
    stack, _ = hosts
    made = []
    try:
        for place in places:
            name = f"three{place.name}{secrets.token_hex(2)}"
            answer = developer.ok("POST", "/api/stacks/?wait=1", {
                "name": name, "host": place.name, "team": "default", "compose": COMPOSE,
                "env": "", "message": "first"})
            stack_id = answer["stack"]
            made.append(stack_id)
            finished(stack, developer, answer)
            shown = wait_until(lambda stack_id=stack_id: running_stack(developer, stack_id),
                               timeout=30, what=f"stack {name} running")
            assert shown["host"] == place.name
            engine_ids = [c["id"] for service in shown["services"]
                          for c in service["containers"]]
            assert sorted(project_containers(place, name)) == sorted(engine_ids)
            for container in engine_ids:
                row = developer.ok("GET", f"/api/containers/{container}/")
                assert (row["host"], row["team"]) == (place.name, "default"), row
            for other in places:
                if other is not place:
                    assert project_containers(other, name) == [], other.name
            assert f"{name}_data" in place.moor("volume", "ls", "-q").split()
            assert place.moor("volume", "inspect", "-f", '{{index .Labels "moorage.team"}}',
                              f"{name}_data").strip().startswith("team-")

            finished(stack, developer, developer.ok("POST", f"/api/stacks/{stack_id}/down/"
                                                            "?wait=1"))
            assert project_containers(place, name) == []
            assert f"{name}_data" in place.moor("volume", "ls", "-q").split()
            finished(stack, developer, developer.ok(
                "DELETE", f"/api/stacks/{stack_id}/?volumes=1&wait=1"))
            made.remove(stack_id)
            assert f"{name}_data" not in place.moor("volume", "ls", "-q").split()
            assert developer.ok("GET", f"/api/stacks/?name={name}")["count"] == 0
    finally:
        for stack_id in made:
            stack.admin.call("DELETE", f"/api/stacks/{stack_id}/?volumes=1&wait=1")


# -- placement across the three ------------------------------------------------------------------

def test_any_host_skips_cordoned_hosts_and_spreads_by_free_memory(hosts, developer,
                                                                  containers):
    stack, far = hosts
    names = ["e2e", *(host.name for host in far)]
    ids = {name: stack.host(name)["id"] for name in names}
    only, cordoned = far[0].name, [name for name in names if name != far[0].name]
    try:
        for name in cordoned:
            stack.admin.ok("POST", f"/api/hosts/{ids[name]}/cordon/")
        holder = f"th-any-{secrets.token_hex(3)}"
        containers.append(holder)
        job = developer.ok("POST", "/api/containers/?wait=1", {
            "image": "busybox", "host": "any", "name": holder, "memory": "4g",
            "cmd": ["sleep", "600"]})
        assert job["state"] == "succeeded" and job["host"] == only, job
        output = developer.ok("GET", f"/api/jobs/{job['id']}/")["output"]
        assert output.startswith(f"placed on {only}: ") and "the only host that can take it" \
            in output, output
        assert output.rstrip().endswith("left out: " + ", ".join(
            f"{name} (cordoned)" for name in cordoned)), output
        assert holder in far[0].namespace.run([MOOR, "--root", far[0].env["MOORAGE_ROOT"],
                                               "ps"]).stdout
        status, answer = developer.post("/api/containers/", {
            "image": "busybox", "host": cordoned[-1], "cmd": ["true"]})
        assert status == 400 and "cordoned" in answer["host"][0], answer
    finally:
        for name in cordoned:
            stack.admin.ok("POST", f"/api/hosts/{ids[name]}/uncordon/")
    # Uncordoned, the next goes where the most memory is free: not where 4 GiB is held.
    second = f"th-any-{secrets.token_hex(3)}"
    containers.append(second)
    job = developer.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "any", "name": second, "memory": "64m",
        "cmd": ["sleep", "600"]})
    assert job["state"] == "succeeded" and job["host"] in cordoned, job
    output = developer.ok("GET", f"/api/jobs/{job['id']}/")["output"]
    assert output.startswith(f"placed on {job['host']}: ") and ", the most among " in output
    assert all(f"{name} (" in output.split("the most among ", 1)[1] for name in names), output
    assert "left out" not in output, output


# -- last, as it restarts an agent ----------------------------------------------------------------

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
