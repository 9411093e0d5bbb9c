"""Stacks under their team's rules end to end (the API, real Redis, the host's worker, the real
engine): with a quota of three running containers, a two-service stack deploys and its
containers count; a second one is refused saying the quota, with nothing made on the host;
the first redeployed (replacing its own containers) still fits; a team that requires a reason
for deploys gets it in the audit log."""
import secrets

import pytest

from tests.stack import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.privileged]

FILE = """services:
  web:
    image: busybox
    command: ["sleep", "600"]
    stop_grace_period: 1s
  db:
    image: busybox
    command: ["sleep", "600"]
    stop_grace_period: 1s
"""


@pytest.fixture
def team(stack):
    """A new team granted host e2e, with a developer speaking through their own token; its
    stacks are removed afterwards."""
    made = stack.new_team("stq-")
    made["api"] = stack.new_user("stq-", made)[2]
    yield made
    for found in stack.admin.ok("GET", f"/api/stacks/?team={made['name']}")["results"]:
        stack.admin.call("DELETE", f"/api/stacks/{found['id']}/?wait=1")


def finished(stack, api, answer):
    job = answer if answer["state"] in ("succeeded", "failed") else stack.wait_job(
        answer["id"], api=api, timeout=120)
    assert job["state"] == "succeeded", job
    return job


def on_host(stack, project: str) -> list[str]:
    return stack.moor("e2e", "ps", "-aq", "--filter",
                      f"label=com.docker.compose.project={project}").stdout.split()


def test_a_stack_deploy_is_held_to_the_teams_quota(stack, team):
    dev = team["api"]
    quota = stack.admin.ok("POST", "/api/quotas/", {"team": team["name"], "host": "e2e",
                                                    "containers": 3})
    assert stack.wait_job(quota["job"])["state"] == "succeeded"
    first = "one" + secrets.token_hex(2)
    stack_id = finished(stack, dev, dev.ok("POST", "/api/stacks/?wait=1", {
        "name": first, "host": "e2e", "team": team["name"], "compose": FILE}))["stack"]
    # The host's containers of the stack are the team's and running: they count.
    wait_until(lambda: dev.ok("GET", f"/api/stacks/{stack_id}/")["state"] == "running",
               timeout=60, interval=0.5, what="the stack running")
    second = "two" + secrets.token_hex(2)
    status, answer = dev.post("/api/stacks/", {"name": second, "host": "e2e",
                                               "team": team["name"], "compose": FILE})
    assert status == 403, answer
    assert answer == {"detail": f"team {team['name']}'s quota on e2e: 3 containers "
                                "(2 in use)."}
    assert dev.ok("GET", f"/api/stacks/?name={second}")["count"] == 0
    assert on_host(stack, second) == []
    denied = stack.admin.ok("GET", "/api/audit/?action=stack.create&result=denied")["results"]
    assert any(entry["target_name"] == second for entry in denied), denied
    # A new version of the first replaces its own two containers: it fits, and a reason the
    # team now requires is kept.
    stack.admin.ok("PATCH", f"/api/teams/{team['id']}/",
                   {"reasons_required_for": ["stack-deploy"]})
    status, answer = dev.call("POST", f"/api/stacks/{stack_id}/versions/1/deploy/", {})
    assert status == 400 and "reason" in answer, answer
    finished(stack, dev, dev.ok("POST", f"/api/stacks/{stack_id}/versions/1/deploy/?wait=1",
                                {"reason": "refresh"}))
    assert len(on_host(stack, first)) == 2
    versions = dev.ok("GET", f"/api/stacks/{stack_id}/versions/")["results"]
    assert (versions[0]["number"], versions[0]["reason"]) == (2, "refresh")
    entries = stack.admin.ok("GET", "/api/audit/?action=stack.deploy")["results"]
    assert any(entry["params"].get("reason") == "refresh" for entry in entries), entries
