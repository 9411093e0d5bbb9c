"""Grants on stacks end to end (the API, real Redis, the host's worker, the real engine): a user
of no team, granted restart and deploy on one stack, restarts it and deploys a new version
(both jobs succeed on the host), may not stop it, and sees no other stack; a grant for a few
seconds is taken away by housekeeping when it ends (audited), and the stack is gone from
sight."""
import secrets

import pytest

from tests.e2e.test_grant_expiry import user
from tests.e2e.test_stack_governance import FILE, finished, on_host
from tests.stack import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.privileged]


@pytest.fixture
def stacks(stack):
    """Two stacks of the default team on host e2e; removed afterwards."""
    made = []
    for prefix in ("sg", "sh"):
        answer = stack.admin.ok("POST", "/api/stacks/?wait=1", {
            "name": prefix + secrets.token_hex(3), "host": "e2e", "team": "default",
            "compose": FILE})
        made.append(finished(stack, stack.admin, answer)["stack"])
    yield made
    for stack_id in made:
        stack.admin.call("DELETE", f"/api/stacks/{stack_id}/?wait=1")


def test_a_grantee_restarts_and_deploys_one_stack_and_the_grant_ends(stack, stacks):
    shop, other = stacks
    name, guest = user(stack)
    assert guest.call("GET", f"/api/stacks/{shop}/")[0] == 404
    stack.admin.ok("POST", f"/api/stacks/{shop}/grants/",
                   {"user": name, "actions": ["restart", "deploy"]})
    project = guest.ok("GET", f"/api/stacks/{shop}/")["name"]
    before = set(on_host(stack, project))
    finished(stack, guest, guest.ok("POST", f"/api/stacks/{shop}/restart/?wait=1"))
    status, answer = guest.post(f"/api/stacks/{shop}/stop/")
    assert status == 403, answer
    assert guest.call("GET", f"/api/stacks/{other}/")[0] == 404
    assert [s["id"] for s in guest.ok("GET", "/api/stacks/")["results"]] == [shop]
    deployed = guest.ok("PATCH", f"/api/stacks/{shop}/?wait=1",
                        {"message": "by a grantee", "compose": FILE.replace("600", "601")})
    finished(stack, guest, deployed)
    assert deployed["version"] == 2
    newest = guest.ok("GET", f"/api/stacks/{shop}/versions/")["results"][0]
    assert (newest["number"], newest["author"], newest["job"]["state"]) == \
        (2, name, "succeeded")
    # The changed services' containers were made again on the host.
    assert set(on_host(stack, project)).isdisjoint(before)
    # A grant for a few seconds: housekeeping takes it away when it ends.
    lasting = stack.admin.ok("GET", f"/api/stacks/{shop}/grants/")["results"]
    stack.admin.ok("DELETE", f"/api/stacks/{shop}/grants/{lasting[0]['id']}/")
    assert guest.call("GET", f"/api/stacks/{shop}/")[0] == 404
    stack.admin.ok("POST", f"/api/stacks/{shop}/grants/",
                   {"user": name, "actions": ["view"], "duration": 2})
    assert guest.call("GET", f"/api/stacks/{shop}/")[0] == 200
    wait_until(lambda: stack.admin.ok("GET", f"/api/stacks/{shop}/grants/")["count"] == 0,
               timeout=30, interval=0.3, what="the grant taken away")
    assert guest.call("GET", f"/api/stacks/{shop}/")[0] == 404
    expired = stack.admin.ok("GET", "/api/audit/?action=stack.grant.expire")["results"]
    assert any(entry["params"]["user"] == name for entry in expired), expired
