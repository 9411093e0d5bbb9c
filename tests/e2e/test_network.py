"""Networking through the console, end to end: a container run through the API with a
published port serves on the host's loopback; a taken port fails the job clearly. Each team's
containers are on the team's own network: they reach each other by address, and never a
container of another team; networks of other teams are reported as missing ones. A port a
developer publishes is on the host's addresses, never on its loopback."""
import socket
import urllib.request
from types import SimpleNamespace

import pytest

from tests.stack import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.privileged]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_published_port_through_the_api(stack):
    api = stack.admin
    port = _free_port()
    job = api.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": "served", "network": "bridge",
        "ports": [f"{port}:80"],
        "cmd": ["sh", "-c", "mkdir -p /www && echo served-by-moorage > /www/index.html && "
                            "exec httpd -f -p 80 -h /www"]})
    assert job["state"] == "succeeded", job
    body = wait_until(lambda: _fetch(f"http://127.0.0.1:{port}/"), timeout=15,
                      what="the published port answers")
    assert body == "served-by-moorage\n"
    inspect = api.ok("GET", "/api/containers/served/inspect/")
    assert inspect["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"] == str(port)
    assert inspect["NetworkSettings"]["IPAddress"]
    api.ok("DELETE", "/api/containers/served/?force=1&wait=1")
    assert _fetch(f"http://127.0.0.1:{port}/") is None


def test_a_taken_port_fails_the_job_with_a_clear_error(stack):
    api = stack.admin
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        port = holder.getsockname()[1]
        job = api.ok("POST", "/api/containers/?wait=1", {
            "image": "busybox", "host": "e2e", "name": "clash", "ports": [f"{port}:80"],
            "cmd": ["sleep", "300"]})
        assert job["state"] == "failed"
        assert str(port) in job["error"] and "\n" not in job["error"]


def _fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode()
    except OSError:
        return None


# -- teams and their networks ------------------------------------------------------------------

SERVE = ("mkdir -p /www && echo served-by-{name} > /www/index.html && "
         "exec httpd -f -p 80 -h /www")


@pytest.fixture(scope="module")
def teams(stack):
    """Two teams granted host e2e, each with a developer who speaks through its own token."""
    made = {}
    for letter in ("a", "b"):
        team = stack.new_team(f"net{letter}-")
        made[letter] = SimpleNamespace(id=team["id"], name=team["name"],
                                       api=stack.new_user(f"net{letter}-", team)[2],
                                       network=f"team-{team['id']}")
    return made


@pytest.fixture
def containers(stack):
    """`containers(api, name, cmd, **options)` runs one through the API and waits for it;
    all are removed after the test."""
    names = []

    def run(api, name, cmd, expect="succeeded", **options):
        names.append(name)
        job = api.ok("POST", "/api/containers/?wait=1", {
            "image": "busybox", "host": "e2e", "name": name, "cmd": cmd, **options})
        assert job["state"] == expect, job
        return job

    yield run
    for name in names:
        stack.admin.call("DELETE", f"/api/containers/{name}/?force=1&wait=1")


def address_of(api, name) -> str:
    return api.ok("GET", f"/api/containers/{name}/inspect/")["NetworkSettings"]["IPAddress"]


def text_log(stack, name) -> str:
    request = urllib.request.Request(stack.base + f"/api/containers/{name}/logs/",
                                     headers={"Authorization": f"Token {stack.admin.token}"})
    with urllib.request.urlopen(request, timeout=20) as response:
        return response.read().decode()


PROBE = """
outcome() {{ if "$@" >/dev/null 2>&1; then echo ok; else echo refused; fi; }}
for target in {targets}; do
  name=${{target%%=*}}; address=${{target#*=}}
  echo "$name ping $(outcome ping -c 1 -W 2 "$address")"
  echo "$name tcp $(outcome timeout 3 wget -q -O - "http://$address/")"
done
echo probe-done
"""


def probe(stack, containers, team, name, targets: dict) -> dict:
    """Run a container of `team` that pings each target address and opens a TCP connection
    to its port 80; {target: (ping, tcp)}, each "ok" or "refused"."""
    script = PROBE.format(targets=" ".join(f"{key}={value}" for key, value in targets.items()))
    containers(team.api, name, ["sh", "-c", script])
    wait_until(lambda: team.api.ok("GET", f"/api/containers/{name}/")["state"] == "exited",
               timeout=60, what=f"{name} done")
    lines = text_log(stack, name).splitlines()
    assert lines[-1] == "probe-done", lines
    results = {}
    for line in lines[:-1]:
        target, kind, outcome = line.split()
        results.setdefault(target, {})[kind] = outcome
    return {target: (found["ping"], found["tcp"]) for target, found in results.items()}


def test_teams_reach_their_own_containers_and_never_another_teams(stack, teams, containers):
    a, b = teams["a"], teams["b"]
    containers(a.api, "net-a-web", ["sh", "-c", SERVE.format(name="a")])
    containers(b.api, "net-b-web", ["sh", "-c", SERVE.format(name="b")])
    for team, name in ((a, "net-a-web"), (b, "net-b-web")):
        shown = team.api.ok("GET", f"/api/containers/{name}/")
        assert shown["network"] == team.network, shown
        settings = team.api.ok("GET", f"/api/containers/{name}/inspect/")["NetworkSettings"]
        assert list(settings["Networks"]) == [team.network]
    own, other = address_of(a.api, "net-a-web"), address_of(b.api, "net-b-web")
    wait_until(lambda: "served-by-a" in (stack.moor("e2e", "exec", "net-a-web", "wget", "-q",
                                                    "-O", "-", "http://127.0.0.1/").stdout),
               what="the server of team a")
    assert probe(stack, containers, a, "net-a-probe", {"own": own, "other": other}) == {
        "own": ("ok", "ok"), "other": ("refused", "refused")}
    assert probe(stack, containers, b, "net-b-probe", {"other": own}) == {
        "other": ("refused", "refused")}


def test_another_teams_network_is_no_such_network(stack, teams, containers):
    a, b = teams["a"], teams["b"]
    status, answer = b.api.post("/api/containers/", {
        "image": "busybox", "host": "e2e", "cmd": ["true"], "network": a.network})
    assert status == 400 and answer["network"] == [f"No such network: {a.network} (on host e2e)."]
    stack.moor("e2e", "network", "create", "--label", f"moorage.team={a.network}", "net-a-tools")
    try:
        containers(a.api, "net-a-tool", ["sleep", "300"], network="net-a-tools")
        assert a.api.ok("GET", "/api/containers/net-a-tool/")["network"] == "net-a-tools"
        foreign = containers(b.api, "net-b-tool", ["sleep", "300"], expect="failed",
                             network="net-a-tools")
        missing = containers(b.api, "net-b-none", ["sleep", "300"], expect="failed",
                             network="net-nowhere")
        assert foreign["error"] == "network net-a-tools not found"
        assert missing["error"] == "network net-nowhere not found"
        assert a.name not in foreign["error"] and a.network not in foreign["error"]
    finally:
        stack.admin.call("DELETE", "/api/containers/net-a-tool/?force=1&wait=1")
        stack.moor("e2e", "network", "rm", "net-a-tools")


def test_a_developers_port_is_on_the_hosts_addresses_never_on_loopback(stack, teams,
                                                                       containers):
    a = teams["a"]
    port = _free_port()
    status, answer = a.api.post("/api/containers/", {
        "image": "busybox", "host": "e2e", "cmd": ["true"], "ports": [f"127.0.0.1:{port}:80"]})
    assert status == 400 and "the host's loopback, is not allowed" in answer["ports"][0]
    status, answer = a.api.post("/api/containers/", {
        "image": "busybox", "host": "e2e", "cmd": ["true"], "ports": ["80:80"]})
    assert status == 400 and "host port 80 is not allowed" in answer["ports"][0]
    containers(a.api, "net-a-published", ["sh", "-c", SERVE.format(name="published")],
               ports=[f"{port}:80"])
    gateway = a.api.ok("GET", "/api/containers/net-a-published/inspect/")[
        "NetworkSettings"]["Gateway"]             # an address of the host
    body = wait_until(lambda: _fetch(f"http://{gateway}:{port}/"), timeout=15,
                      what="the published port on a host address")
    assert body == "served-by-published\n"
    for address in ("127.0.0.1", "127.0.0.2"):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((address, port), timeout=2).close()
