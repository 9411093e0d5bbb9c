"""Grants on a stack: a team admin lets one user do some of a stack's verbs (view, start, stop,
restart, deploy) on one stack, for good or for a while. The grantee sees that stack (any grant
lets them) and does exactly what was granted; the team's other stacks, and other teams', stay
out of sight; an ended grant counts for nothing and housekeeping takes it away; each grant,
revocation, refusal and expiry is audited."""
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from console.audit.models import AuditEntry
from console.core.testing import PASSWORD
from console.grants.actions import expire_grants, grant_stack, seconds_to_next_expiry
from console.grants.models import StackGrant
from console.jobs.models import Job
from console.stacks.models import Stack
from tests.console.stacks.helpers import make_stack


@pytest.fixture
def stacks(world):
    return make_stack(world, "shop"), make_stack(world, "cart")


@pytest.fixture
def guest(world):
    """A user of no team at all."""
    return get_user_model().objects.create_user("guest", "guest@example.test", PASSWORD)


def client_of(user):
    client = Client()
    client.force_login(user)
    return client


def give(client, stack, **body):
    return client.post(f"/api/stacks/{stack.pk}/grants/", body, content_type="application/json")


def test_a_team_admin_grants_and_the_grantee_does_exactly_that(world, client_for, stacks,
                                                              guest):
    shop, cart = stacks
    answer = give(client_for("team_admin"), shop, user="guest", actions=["restart"])
    assert answer.status_code == 201, answer.content
    assert answer.json()["actions"] == ["restart"] and answer.json()["stack"] == shop.pk
    entry = AuditEntry.objects.get(action="stack.grant")
    assert entry.params["user"] == "guest" and entry.target_name == "shop"
    assert entry.actor_name == "team_admin"

    as_guest = client_of(guest)
    assert as_guest.get(f"/api/stacks/{shop.pk}/").status_code == 200
    assert as_guest.get(f"/stacks/{shop.pk}/").status_code == 200
    assert [s["id"] for s in as_guest.get("/api/stacks/").json()["results"]] == [shop.pk]
    assert as_guest.post(f"/api/stacks/{shop.pk}/restart/").status_code == 202
    assert Job.objects.count() == 1
    for verb in ("start", "stop", "down"):
        assert as_guest.post(f"/api/stacks/{shop.pk}/{verb}/").status_code == 403, verb
    assert as_guest.patch(f"/api/stacks/{shop.pk}/", {"env": "A=1"},
                          content_type="application/json").status_code == 403
    assert Job.objects.count() == 1
    assert AuditEntry.objects.filter(action="stack.stop", result="denied",
                                     actor_name="guest").count() == 1
    # The team's other stack, and another team's, stay out of sight.
    assert as_guest.get(f"/api/stacks/{cart.pk}/").status_code == 404
    assert as_guest.post(f"/api/stacks/{cart.pk}/restart/").status_code == 404
    beta = Stack.objects.create(name="beta-shop", host=world.hosts["h2"],
                                team=world.teams["beta"])
    assert as_guest.get(f"/api/stacks/{beta.pk}/").status_code == 404
    # The grantee sees their own grant, not to change it.
    assert [g["user"] for g in as_guest.get(f"/api/stacks/{shop.pk}/grants/").json()[
        "results"]] == ["guest"]
    grant = StackGrant.objects.get()
    assert as_guest.delete(f"/api/stacks/{shop.pk}/grants/{grant.pk}/").status_code == 403
    assert give(as_guest, shop, user="guest", actions=["stop"]).status_code == 403


def test_a_member_gets_more_on_one_stack_only(world, client_for, stacks):
    shop, cart = stacks
    grant_stack(world.user("team_admin"), world.user("viewer"), shop, ["stop"])
    viewer = client_for("viewer")
    assert viewer.post(f"/api/stacks/{shop.pk}/stop/").status_code == 202
    assert viewer.post(f"/api/stacks/{cart.pk}/stop/").status_code == 403
    assert viewer.post(f"/api/stacks/{shop.pk}/start/").status_code == 403


def test_a_view_grant_only_shows(world, stacks, guest):
    shop, _ = stacks
    grant_stack(world.user("team_admin"), guest, shop, ["view"])
    as_guest = client_of(guest)
    assert as_guest.get(f"/api/stacks/{shop.pk}/versions/").status_code == 200
    for verb in ("start", "stop", "restart"):
        assert as_guest.post(f"/api/stacks/{shop.pk}/{verb}/").status_code == 403
    assert not Job.objects.exists()


def test_a_deploy_grant_deploys(world, stacks, guest):
    shop, _ = stacks
    grant_stack(world.user("team_admin"), guest, shop, ["deploy"])
    answer = client_of(guest).patch(f"/api/stacks/{shop.pk}/", {"message": "by a grantee"},
                                    content_type="application/json")
    assert answer.status_code == 202, answer.content
    assert answer.json()["version"] == 2 and Job.objects.count() == 1


@pytest.mark.parametrize("persona", ["viewer", "operator", "developer", "stranger"])
def test_only_team_admins_grant(world, client_for, stacks, persona):
    shop, _ = stacks
    answer = give(client_for(persona), shop, user="guest", actions=["start"])
    assert answer.status_code == (404 if persona == "stranger" else 403)
    assert not StackGrant.objects.exists()
    action = AuditEntry.objects.get(action="stack.grant", result="denied")
    assert action.actor_name == persona


@pytest.mark.parametrize("body,field", [
    ({"actions": ["kill"]}, "actions"), ({"actions": []}, "actions"),
    ({"actions": ["start"], "user": "nobody"}, "user"),
    ({"actions": ["start"], "duration": 0}, "duration"),
    ({"actions": ["start"], "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
])
def test_bad_grants_are_refused_and_leave_nothing(world, client_for, stacks, guest, body,
                                                  field):
    shop, _ = stacks
    answer = give(client_for("team_admin"), shop, **{"user": "guest", **body})
    assert answer.status_code == 400 and field in answer.json(), answer.content
    assert not StackGrant.objects.exists()


def test_revoking_takes_it_back_and_is_audited(world, client_for, stacks, guest):
    shop, _ = stacks
    grant = grant_stack(world.user("team_admin"), guest, shop, ["restart"])
    answer = client_for("team_admin").delete(f"/api/stacks/{shop.pk}/grants/{grant.pk}/")
    assert answer.status_code == 204
    assert not StackGrant.objects.exists()
    assert AuditEntry.objects.get(action="stack.revoke").params["user"] == "guest"
    assert client_of(guest).get(f"/api/stacks/{shop.pk}/").status_code == 404


def test_a_grant_is_named_through_its_own_stack_only(world, client_for, stacks, guest):
    """IDOR: a grant's number under another stack (of the same team) names nothing."""
    shop, cart = stacks
    grant = grant_stack(world.user("team_admin"), guest, shop, ["restart"])
    admin = client_for("team_admin")
    assert admin.get(f"/api/stacks/{cart.pk}/grants/{grant.pk}/").status_code == 404
    assert admin.delete(f"/api/stacks/{cart.pk}/grants/{grant.pk}/").status_code == 404
    assert admin.post(f"/stacks/{cart.pk}/grants/{grant.pk}/revoke/").status_code == 404
    assert admin.get(f"/api/stacks/{cart.pk}/grants/").json()["count"] == 0
    assert StackGrant.objects.filter(pk=grant.pk).exists()


def test_an_ended_grant_counts_for_nothing_and_housekeeping_takes_it(world, stacks, guest):
    shop, _ = stacks
    grant = grant_stack(world.user("team_admin"), guest, shop, ["restart"],
                        expires_at=timezone.now() + timedelta(hours=1))
    assert Stack.objects.restrict(guest, "restart").filter(pk=shop.pk).exists()
    assert 3500 < seconds_to_next_expiry() <= 3600
    StackGrant.objects.filter(pk=grant.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1))
    assert not Stack.objects.restrict(guest, "view").filter(pk=shop.pk).exists()
    assert client_of(guest).get(f"/api/stacks/{shop.pk}/").status_code == 404
    assert expire_grants() == 1
    assert not StackGrant.objects.exists()
    entry = AuditEntry.objects.get(action="stack.grant.expire")
    assert entry.params["user"] == "guest" and entry.target_name == "shop"
    assert expire_grants() == 0


def test_a_grant_for_a_while_through_the_api(world, client_for, stacks, guest):
    shop, _ = stacks
    answer = give(client_for("team_admin"), shop, user="guest", actions=["start"], duration=60)
    assert answer.status_code == 201, answer.content
    grant = StackGrant.objects.get()
    assert timedelta(seconds=58) < grant.expires_at - timezone.now() <= timedelta(seconds=60)
    assert AuditEntry.objects.get(action="stack.grant").params["expires_at"] == \
        grant.expires_at.isoformat()


def test_the_stack_page_grants_and_revokes(world, client_for, stacks, guest):
    shop, _ = stacks
    admin = client_for("team_admin")
    page = admin.get(f"/stacks/{shop.pk}/").content.decode()
    assert 'id="grant-form"' in page and f"/stacks/{shop.pk}/grants/" in page
    answer = admin.post(f"/stacks/{shop.pk}/grants/", {"user": "guest", "actions": ["stop"],
                                                       "duration": "3600"})
    assert answer.status_code == 302
    grant = StackGrant.objects.get()
    assert grant.actions == ["stop"] and grant.expires_at is not None
    page = admin.get(f"/stacks/{shop.pk}/").content.decode()
    assert f"/stacks/{shop.pk}/grants/{grant.pk}/revoke/" in page
    own = client_of(guest).get(f"/stacks/{shop.pk}/").content.decode()
    assert "You may stop on this stack" in own and 'id="grant-form"' not in own
    assert admin.post(f"/stacks/{shop.pk}/grants/", {"user": "guest"}).status_code == 400
    assert admin.post(f"/stacks/{shop.pk}/grants/{grant.pk}/revoke/").status_code == 302
    assert not StackGrant.objects.exists()
    assert 'id="grant-form"' not in client_for("developer").get(
        f"/stacks/{shop.pk}/").content.decode()


def test_the_schema_documents_stack_grants(world, client_for):
    text = client_for("viewer").get("/api/schema/").content.decode()
    for path in ("/api/stacks/{stack_pk}/grants/:", "/api/stacks/{stack_pk}/grants/{id}/:"):
        assert path in text, path
    assert "StackGrant" in text
