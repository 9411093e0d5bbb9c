"""Stacks and volumes end to end: the API, real Redis, the host's real worker and the real
engine with `runtime.compose`. A developer plans and deploys a stack, changes it (the plan
says what is recreated and why), rolls back, stops and starts it, removes it with its
volumes; a viewer sees but may not deploy, another team sees nothing and cannot take its
volume; a project made with `moor compose` on the host appears without a team until a
superuser gives it one; a team's volumes are made, used and removed; a container's removal
takes its anonymous volume only when asked; bad files are refused with nothing made."""
import os
import secrets
import socket
import urllib.request
from types import SimpleNamespace

import pytest

from tests.stack import Api, free_port, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.privileged]

FILE = """services:
  web:
    image: busybox
    command: ["sh", "-c",
              "echo web says $$GREETING | tee /srv/index.html; exec httpd -f -p 80 -h /srv"]
    environment:
      GREETING: ${GREETING}
    ports: ["${PORT}:80"]
    volumes: ["data:/srv"]
    depends_on: [db]
    stop_grace_period: 1s
  db:
    image: busybox
    command: ["sh", "-c", "echo db ready; exec sleep 600"]
    stop_grace_period: 1s
volumes:
  data: {}
"""


def member(stack, team, role) -> Api:
    """A new user with `role` in `team`, signed in to the API."""
    return stack.new_user(f"st{role[:3]}", team, role)[2]


@pytest.fixture(scope="module")
def teams(stack):
    """Two teams granted host e2e: a developer and a viewer of the first, a developer of the
    second."""
    made = [stack.new_team("stk"), stack.new_team("stk")]
    return SimpleNamespace(ours=made[0], theirs=made[1],
                           developer=member(stack, made[0], "developer"),
                           viewer=member(stack, made[0], "viewer"),
                           rival=member(stack, made[1], "developer"))


def project(stack, name) -> dict:
    """service -> (container ID, state, env) of project `name` on the host, from moor."""
    ids = stack.moor("e2e", "ps", "-aq", "--no-trunc", "--filter",
                     f"label=com.docker.compose.project={name}").stdout.split()
    found = {}
    for container in ids:
        service, state, env = stack.moor("e2e", "inspect", "-f", (
            '{{index .Config.Labels "com.docker.compose.service"}}|{{.State.Status}}|'
            '{{json .Config.Env}}'), container).stdout.strip().split("|", 2)
        found[service] = (container, state, env)
    return found


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode()
    except OSError:
        return None


def finished(stack, api, answer, expect="succeeded"):
    job = answer if answer["state"] in ("succeeded", "failed") else stack.wait_job(
        answer["id"], api=api, timeout=120)
    assert job["state"] == expect, job
    return job


def test_a_stack_from_plan_to_removal(stack, teams):
    dev, team = teams.developer, teams.ours["name"]
    name, port = "shop" + secrets.token_hex(2), free_port()
    body = {"name": name, "host": "e2e", "team": team, "compose": FILE,
            "env": f"GREETING=hello\nPORT={port}\n", "message": "first"}
    plan = dev.ok("POST", "/api/stacks/?dry_run=1", body)
    assert plan["job"]["state"] == "succeeded", plan
    assert [(s["service"], s["action"]) for s in plan["plan"]["services"]] == [
        ("db", "create"), ("web", "create")]
    assert dev.ok("GET", f"/api/stacks/?name={name}")["count"] == 0       # nothing made

    stack_id = finished(stack, dev, dev.ok("POST", "/api/stacks/?wait=1", body))["stack"]
    shown = dev.ok("GET", f"/api/stacks/{stack_id}/")
    assert (shown["state"], shown["version"], shown["team"]) == ("running", 1, team)
    web = next(s for s in shown["services"] if s["name"] == "web")
    assert web["ports"] == [f"0.0.0.0:{port}->80/tcp"]
    first = project(stack, name)
    assert first["web"][1] == first["db"][1] == "running"
    assert "GREETING=hello" in first["web"][2]
    labels = stack.moor("e2e", "inspect", "-f", '{{index .Config.Labels "moorage.team"}}',
                        first["web"][0]).stdout.strip()
    assert labels == team
    volume = stack.moor("e2e", "volume", "inspect", "-f", '{{index .Labels "moorage.team"}}',
                        f"{name}_data").stdout.strip()
    assert volume == f"team-{teams.ours['id']}"
    # Served on the host's addresses, never on its loopback (the rule for all but superusers).
    gateway = stack.moor("e2e", "inspect", "-f", "{{range .NetworkSettings.Networks}}"
                         "{{.Gateway}}{{end}}", first["web"][0]).stdout.strip()
    assert wait_until(lambda: fetch(f"http://{gateway}:{port}/"), timeout=15,
                      what="the published port") == "web says hello\n"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    # Each container has a row of the team: its page, its logs.
    row = dev.ok("GET", f"/api/containers/{first['web'][0]}/")
    assert row["team"] == team and row["name"] == f"{name}-web-1"

    # A viewer sees it but may not deploy; the other team does not see it.
    assert teams.viewer.ok("GET", f"/api/stacks/{stack_id}/")["env"] == \
        "GREETING=[redacted]\nPORT=[redacted]\n"
    status, _ = teams.viewer.call("PATCH", f"/api/stacks/{stack_id}/", {"env": "GREETING=x"})
    assert status == 403
    status, _ = teams.rival.get(f"/api/stacks/{stack_id}/")
    assert status == 404

    # A change: the plan says web is recreated, and why; db is left alone.
    change = {"env": f"GREETING=bonjour\nPORT={port}\n", "message": "in french"}
    status, plan = dev.call("PATCH", f"/api/stacks/{stack_id}/?dry_run=1", change)
    assert status == 200, plan
    actions = {s["service"]: (s["action"], s["reasons"]) for s in plan["plan"]["services"]}
    assert actions == {"db": ("keep", []),
                       "web": ("recreate", ["configuration changed: environment"])}
    status, job = dev.call("PATCH", f"/api/stacks/{stack_id}/?wait=1", change)
    finished(stack, dev, job)
    second = project(stack, name)
    assert second["db"][0] == first["db"][0] and second["web"][0] != first["web"][0]
    assert "GREETING=bonjour" in second["web"][2]
    assert "web: recreate (configuration changed: environment)" in dev.ok(
        "GET", f"/api/jobs/{job['id']}/")["output"]

    # The history, and back to version 1.
    versions = dev.ok("GET", f"/api/stacks/{stack_id}/versions/")["results"]
    assert [(v["number"], v["message"]) for v in versions] == [(2, "in french"), (1, "first")]
    finished(stack, dev, dev.ok("POST", f"/api/stacks/{stack_id}/versions/1/deploy/?wait=1",
                                {"message": "back to english"}))
    assert "GREETING=hello" in project(stack, name)["web"][2]
    assert dev.ok("GET", f"/api/stacks/{stack_id}/")["version"] == 3

    # Stop, start; the rows follow.
    finished(stack, dev, dev.ok("POST", f"/api/stacks/{stack_id}/stop/?wait=1"))
    assert {state for _, state, _ in project(stack, name).values()} == {"exited"}
    assert dev.ok("GET", f"/api/stacks/{stack_id}/")["state"] == "stopped"
    finished(stack, dev, dev.ok("POST", f"/api/stacks/{stack_id}/start/?wait=1"))
    assert {state for _, state, _ in project(stack, name).values()} == {"running"}

    # Its volume is the team's: the other team cannot take its name.
    wait_until(lambda: any(v["name"] == f"{name}_data" for v in dev.ok(
        "GET", "/api/volumes/?host=e2e")["results"]), timeout=30, what="the volume synced")
    status, answer = teams.rival.post("/api/stacks/", {
        "name": "grab" + secrets.token_hex(2), "host": "e2e", "team": teams.theirs["name"],
        "compose": f"services:\n  x:\n    image: busybox\n    volumes: ['d:/d']\nvolumes:\n"
                   f"  d:\n    external: true\n    name: {name}_data\n"})
    assert status == 400 and "no such volume" in answer["compose"][0]

    # Removed with its volumes.
    finished(stack, dev, dev.ok("DELETE", f"/api/stacks/{stack_id}/?volumes=1&wait=1"))
    assert project(stack, name) == {}
    assert f"{name}_data" not in stack.moor("e2e", "volume", "ls", "-q").stdout.split()
    status, _ = dev.get(f"/api/stacks/{stack_id}/")
    assert status == 404


def test_a_project_made_on_the_host_appears_until_given_to_a_team(stack, teams, tmp_path):
    name = "outside" + secrets.token_hex(2)
    directory = str(tmp_path)
    with open(os.path.join(directory, "compose.yaml"), "w") as file:
        file.write("services:\n  app:\n    image: busybox\n    command: sleep 600\n"
                   "    stop_grace_period: 1s\n")
    result = stack.moor("e2e", "compose", "-f", os.path.join(directory, "compose.yaml"), "-p",
                        name, "up", "-d")
    assert result.returncode == 0, result.stderr
    try:
        # The project and its containers' rows come from two syncs of the host: the project
        # may be listed a moment before its service has a container to show.
        found = wait_until(lambda: next((s for s in stack.admin.ok(
            "GET", f"/api/stacks/?name={name}")["results"] if s["services"]), None),
            timeout=30, what="the project found with its service")
        assert (found["made_outside"], found["team"], found["version"]) == (True, None, None)
        assert found["services"][0]["name"] == "app"
        status, _ = teams.developer.get(f"/api/stacks/{found['id']}/")
        assert status == 404
        stack.admin.ok("POST", f"/api/stacks/{found['id']}/team/",
                       {"team": teams.ours["name"]})
        finished(stack, teams.developer, teams.developer.ok(
            "POST", f"/api/stacks/{found['id']}/stop/?wait=1"))
        assert {state for _, state, _ in project(stack, name).values()} == {"exited"}
        finished(stack, teams.developer, teams.developer.ok(
            "DELETE", f"/api/stacks/{found['id']}/?wait=1"))
        assert project(stack, name) == {}
    finally:
        stack.moor("e2e", "compose", "-p", name, "down", check=False)


def test_a_teams_volume_from_creation_to_removal(stack, teams):
    dev = teams.developer
    name = "vol" + secrets.token_hex(3)
    finished(stack, dev, dev.ok("POST", "/api/volumes/?wait=1", {"name": name, "host": "e2e"}))
    label = stack.moor("e2e", "volume", "inspect", "-f", '{{index .Labels "moorage.team"}}',
                       name).stdout.strip()
    assert label == f"team-{teams.ours['id']}"
    job = finished(stack, dev, dev.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": name + "-user",
        "cmd": ["sh", "-c", "head -c 3000 /dev/zero > /data/f; exec sleep 600"],
        "binds": [f"{name}:/data"]}))
    volume = wait_until(lambda: next((v for v in dev.ok("GET", "/api/volumes/?host=e2e")[
        "results"] if v["name"] == name and v["used_by"] and v["size"]), None), timeout=90,
        what="the volume's user and size synced")
    assert volume["used_by"] == [{"id": job["container"], "name": name + "-user"}]
    assert volume["team"] == teams.ours["name"] and volume["size"] >= 3000
    status, answer = dev.delete(f"/api/volumes/{volume['id']}/")
    assert status == 409 and "in use" in answer["detail"]
    status, _ = teams.rival.delete(f"/api/volumes/{volume['id']}/")
    assert status == 404
    status, answer = teams.rival.post("/api/containers/", {
        "image": "busybox", "host": "e2e", "binds": [f"{name}:/stolen"]})
    assert status == 400 and "No such volume" in answer["binds"][0]
    finished(stack, dev, dev.ok("DELETE", f"/api/containers/{job['container']}/?force=1&wait=1"))
    wait_until(lambda: (lambda v: not v["used_by"] and not v["used_by_others"])(next(
        v for v in dev.ok("GET", "/api/volumes/?host=e2e")["results"] if v["name"] == name)),
        timeout=30, what="unused")
    finished(stack, dev, dev.ok("DELETE", f"/api/volumes/{volume['id']}/?wait=1"))
    assert name not in stack.moor("e2e", "volume", "ls", "-q").stdout.split()


def test_bad_files_against_the_real_stack(stack, teams):
    dev = teams.developer
    base = {"name": "bad" + secrets.token_hex(2), "host": "e2e", "team": teams.ours["name"]}
    bomb = ("x-a: &a [" + ",".join(["lol"] * 10) + "]\n" + "".join(
        f"x-{b}: &{b} [" + ",".join([f"*{a}"] * 10) + "]\n"
        for a, b in zip("abcde", "bcdef", strict=True)) + "services:\n  web:\n    image: busybox\n"
                                             "    labels: *f\n")
    cases = [(bomb, 400, "expands to more than"),
             ("#" * (10 << 20), 413, "larger than"),
             ("services:\n  a:\n    image: busybox\n    depends_on: [b]\n  b:\n"
              "    image: busybox\n    depends_on: [a]\n", 400, "dependency cycle"),
             ("services:\n  a:\n    image: busybox\n    privileged: true\n", 403,
              "only a superuser")]
    for text, status, words in cases:
        got, answer = dev.post("/api/stacks/", {**base, "compose": text})
        assert got == status and words in str(answer), (status, str(answer)[:300])
    assert dev.ok("GET", f"/api/stacks/?name={base['name']}")["count"] == 0


def test_a_containers_removal_takes_its_anonymous_volume_only_when_asked(stack, teams):
    dev = teams.developer

    def run_one() -> tuple[str, str]:
        job = finished(stack, dev, dev.ok("POST", "/api/containers/?wait=1", {
            "image": "busybox", "host": "e2e", "cmd": ["sleep", "600"], "binds": ["/data"]}))
        volume = stack.moor("e2e", "inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}",
                            job["container"]).stdout.strip()
        assert volume in stack.moor("e2e", "volume", "ls", "-q").stdout.split()
        return job["container"], volume

    kept_by, kept = run_one()
    finished(stack, dev, dev.ok("DELETE", f"/api/containers/{kept_by}/?force=1&wait=1"))
    assert kept in stack.moor("e2e", "volume", "ls", "-q").stdout.split()
    stack.moor("e2e", "volume", "rm", kept)
    taken_by, taken = run_one()
    finished(stack, dev, dev.ok("DELETE",
                                f"/api/containers/{taken_by}/?force=1&volumes=1&wait=1"))
    assert taken not in stack.moor("e2e", "volume", "ls", "-q").stdout.split()
