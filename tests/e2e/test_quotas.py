"""Team quotas end to end: a superuser sets a team's quota on the host through the API, the
host's worker gives the team's group those limits, and the kernel holds the team to them. Two
containers asking 100 MiB each in a team of 128 MiB both start (limits overcommit); when both
allocate, the OOM kill happens inside the team's group, never outside it. A PIDs limit above
the team's is capped by the team's. The console refuses the 11th running container of a team
limited to 10, saying so. What the usage API reports is what the cgroup files say."""
import secrets
from types import SimpleNamespace

import pytest

from runtime.api import Engine
from tests.runtime.container.test_groups import (
    HOLD_90_MIB,
    memory_current,
    memory_failures,
    memory_max,
    oom_kills,
    pids_current,
    pids_max,
    place,
)
from tests.stack import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.privileged]


@pytest.fixture
def team(stack):
    """A new team granted host e2e, with a developer speaking through their own token; its
    containers are removed afterwards."""
    made = stack.new_team("quota-")
    name = made["name"]
    yield SimpleNamespace(name=name, group=f"team-{made['id']}",
                          api=stack.new_user("quota-", made)[2], engine=Engine(stack.roots["e2e"]))
    for container in stack.admin.ok("GET", f"/api/containers/?team={name}&page_size=100")[
            "results"]:
        stack.admin.call("DELETE", f"/api/containers/{container['id']}/?force=1&wait=1")


def set_quota(stack, team, **limits) -> dict:
    quota = stack.admin.ok("POST", "/api/quotas/", {"team": team.name, "host": "e2e", **limits})
    assert stack.wait_job(quota["job"])["state"] == "succeeded"
    return quota


def run(api, name, cmd, **options) -> dict:
    job = api.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": name, "cmd": cmd, **options})
    assert job["state"] == "succeeded", job
    return job


def test_overcommitting_containers_are_oom_killed_inside_the_teams_group(stack, team):
    set_quota(stack, team, memory="128m")
    engine = team.engine
    relative = place(engine, team.group)
    assert memory_max(relative) == 128 << 20
    outsider = run(stack.admin, f"outsider-{secrets.token_hex(2)}", ["sh", "-c", HOLD_90_MIB],
                   team="default")["container"]
    try:
        check_the_oom_kill(stack, team, relative, outsider)
    finally:
        stack.admin.call("DELETE", f"/api/containers/{outsider}/?force=1&wait=1")


def check_the_oom_kill(stack, team, relative, outsider):
    engine = team.engine
    first = run(team.api, "first", ["sh", "-c", HOLD_90_MIB], memory="100m")["container"]
    wait_until(lambda: memory_current(place(engine, team.group, first)) >= 88 << 20,
               what="the first container to hold its 90 MiB")
    # Docker lets limits overcommit: 2 x 100 MiB asked in a team of 128 MiB both start.
    second = run(team.api, "second", ["sh", "-c", HOLD_90_MIB], memory="100m")["container"]

    def one_killed():
        states = {ref: team.api.ok("GET", f"/api/containers/{ref}/inspect/")["State"]
                  for ref in (first, second)}
        return next((ref for ref, state in states.items() if state["Status"] == "exited"), None)
    killed = wait_until(one_killed, timeout=30, what="the OOM kill in the team's group")
    survivor = second if killed == first else first
    state = team.api.ok("GET", f"/api/containers/{killed}/inspect/")["State"]
    assert (state["ExitCode"], state["OOMKilled"]) == (137, True)
    assert team.api.ok("GET", f"/api/containers/{survivor}/")["state"] == "running"
    assert memory_failures(relative) > 0 and memory_current(relative) <= 128 << 20
    # Nothing outside the group was touched: the other team's container holds its memory.
    assert stack.admin.ok("GET", f"/api/containers/{outsider}/")["state"] == "running"
    default = next(t for t in stack.admin.ok("GET", "/api/teams/")["results"]
                   if t["name"] == "default")
    outside = place(engine, f"team-{default['id']}", outsider)
    assert oom_kills(outside) == 0 and memory_current(outside) >= 88 << 20


def test_a_pids_limit_above_the_teams_is_capped_by_the_teams(stack, team):
    set_quota(stack, team, pids=20)
    container = run(team.api, "pids", ["sleep", "300"], pids_limit=1000)["container"]
    assert pids_max(place(team.engine, team.group)) == 20
    assert pids_max(place(team.engine, team.group, container)) == 20
    assert team.api.ok("GET", f"/api/containers/{container}/inspect/")["HostConfig"][
        "PidsLimit"] == 1000                       # kept as asked, as Docker shows it


def test_the_eleventh_running_container_of_a_team_limited_to_ten_is_refused(stack, team):
    set_quota(stack, team, containers=10)
    for number in range(10):
        run(team.api, f"c{number}", ["sleep", "300"])
    status, answer = team.api.post("/api/containers/", {
        "image": "busybox", "host": "e2e", "name": "c10", "cmd": ["sleep", "300"]})
    assert status == 403
    assert answer == {"detail": f"team {team.name}'s quota on e2e: 10 containers (10 in use)."}
    assert team.api.get("/api/containers/c10/")[0] == 404
    # One stopped: one more may run.
    assert team.api.ok("POST", "/api/containers/c0/stop/?wait=1")["state"] == "succeeded"
    run(team.api, "c10", ["sleep", "300"])


def test_the_usage_reported_is_what_the_cgroup_files_say(stack, team):
    set_quota(stack, team, memory="64m", pids=30, containers=5)
    run(team.api, "steady", ["sleep", "300"])
    relative = place(team.engine, team.group)

    def reading():
        quota = stack.admin.ok("GET", f"/api/quotas/?team={team.name}")["results"][0]
        usage = quota["usage"]
        return usage if usage and usage["containers_running"] == 1 else None
    usage = wait_until(reading, timeout=30, what="a reading with the container running")
    assert usage["memory_max"] == memory_max(relative) == 64 << 20
    assert usage["pids_max"] == pids_max(relative) == 30
    assert usage["pids"] == pids_current(relative)            # one sleep: steady
    assert usage["containers"] == 1
    assert usage["disk"] >= 0 and usage["read_at"]
