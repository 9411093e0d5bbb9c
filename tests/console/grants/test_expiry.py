"""Grants that end: made with an end (`expires_at` or `duration`), they count for nothing once
it passes, even before housekeeping takes them away; housekeeping deletes them, audits it, and
tells the holder's sockets, so a terminal the grant opened closes (4403)."""
from datetime import timedelta

import pytest
from django.utils import timezone

from console import housekeeping
from console.audit.models import AuditEntry
from console.containers.models import Container
from console.grants.actions import expire_grants, grant_container, seconds_to_next_expiry
from console.grants.models import ContainerGrant
from console.streams import access


@pytest.fixture
def web(world):
    return world.containers["web"]


def end(grant, seconds_ago=1):
    ContainerGrant.objects.filter(pk=grant.pk).update(
        expires_at=timezone.now() - timedelta(seconds=seconds_ago))


def test_a_grant_for_a_while_through_the_api(world, client_for, web):
    response = client_for("team_admin").post("/api/grants/", {
        "user": "stranger", "container": web.engine_id, "actions": ["terminal"],
        "duration": 3}, content_type="application/json")
    assert response.status_code == 201, response.content
    grant = ContainerGrant.objects.get(user=world.user("stranger"))
    assert timedelta(seconds=2) < grant.expires_at - timezone.now() <= timedelta(seconds=3)
    assert response.json()["expires_at"]
    entry = AuditEntry.objects.get(action="container.grant")
    assert entry.params["expires_at"] == grant.expires_at.isoformat()


@pytest.mark.parametrize("body,field", [
    ({"duration": 0}, "duration"), ({"duration": 10 ** 9}, "duration"),
    ({"expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
    ({"duration": 5, "expires_at": "2999-01-01T00:00:00Z"}, "expires_at"),
])
def test_ends_in_the_past_or_too_far_are_refused(world, client_for, web, body, field):
    response = client_for("team_admin").post("/api/grants/", {
        "user": "stranger", "container": web.engine_id, "actions": ["start"], **body},
        content_type="application/json")
    assert response.status_code == 400 and field in response.json(), response.content
    assert not ContainerGrant.objects.exists()


def test_an_ended_grant_counts_for_nothing_before_housekeeping_runs(world, client_for, web):
    stranger = world.user("stranger")
    grant = grant_container(world.user("team_admin"), stranger, web, ["terminal", "stop"],
                            expires_at=timezone.now() + timedelta(hours=1))
    assert Container.objects.restrict(stranger, "terminal").filter(pk=web.pk).exists()
    assert access.still_allowed(stranger, web.pk, "terminal")
    end(grant)
    assert not Container.objects.restrict(stranger, "view").filter(pk=web.pk).exists()
    assert not access.still_allowed(stranger, web.pk, "terminal")
    assert client_for("stranger").get(f"/containers/{web.engine_id}/").status_code == 404


def test_housekeeping_takes_ended_grants_away_audited_and_tells_their_holders(
        world, web, listen, django_capture_on_commit_callbacks):
    stranger = world.user("stranger")
    told = listen(stranger)
    grant = grant_container(world.user("team_admin"), stranger, web, ["terminal"],
                            expires_at=timezone.now() + timedelta(hours=1))
    told()
    end(grant)
    with django_capture_on_commit_callbacks(execute=True):
        assert housekeeping.run_once()["grants"] == 1
    assert not ContainerGrant.objects.exists()
    entry = AuditEntry.objects.get(action="container.grant.expire")
    assert (entry.actor, entry.team_name, entry.target_id) == (None, "alpha", web.engine_id)
    assert entry.params["user"] == "stranger" and entry.params["actions"] == ["terminal"]
    assert [message["type"] for message in told()] == ["permissions.changed"]
    assert expire_grants() == 0


def test_a_lasting_grant_outlives_one_for_a_while(world, web):
    stranger, admin = world.user("stranger"), world.user("team_admin")
    grant_container(admin, stranger, web, ["logs"])
    ending = grant_container(admin, stranger, web, ["terminal"],
                             expires_at=timezone.now() + timedelta(hours=1))
    assert ContainerGrant.objects.count() == 2
    assert Container.objects.restrict(stranger, "terminal").filter(pk=web.pk).exists()
    end(ending)
    expire_grants()
    assert list(ContainerGrant.objects.values_list("actions", flat=True)) == [["logs"]]
    assert Container.objects.restrict(stranger, "view").filter(pk=web.pk).exists()
    assert not Container.objects.restrict(stranger, "terminal").filter(pk=web.pk).exists()


def test_the_next_round_comes_early_for_a_grant_about_to_end(world, web):
    assert seconds_to_next_expiry() is None
    assert housekeeping.next_round_in(10) == 10
    grant_container(world.user("team_admin"), world.user("stranger"), web, ["start"],
                    expires_at=timezone.now() + timedelta(seconds=3))
    assert 2 < housekeeping.next_round_in(10) <= 3
