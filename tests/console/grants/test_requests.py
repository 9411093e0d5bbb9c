"""Requests for access: a member asks for actions on a container for a while, saying why; the
team's admins see the pending ones (a page, a count in the navigation), approve (a grant that
ends after the duration) or refuse (nothing granted); the requester is told on the page;
everything is audited."""
from datetime import timedelta

import pytest
from django.utils import timezone

from console.audit.models import AuditEntry
from console.containers.models import Container
from console.grants.actions import expire_grants
from console.grants.models import AccessRequest, ContainerGrant

ASK = {"actions": ["terminal"], "duration": 3600, "reason": "debugging the 502s"}


@pytest.fixture
def web(world):
    return world.containers["web"]


def ask(client, web, **body):
    return client.post("/api/access-requests/", {"container": web.engine_id, **ASK, **body},
                       content_type="application/json")


def test_a_viewer_asks_and_the_team_admins_are_told(world, client_for, web, listen,
                                                   django_capture_on_commit_callbacks):
    admins = listen(world.user("team_admin"))
    with django_capture_on_commit_callbacks(execute=True):
        response = ask(client_for("viewer"), web)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["user"], body["state"], body["actions"], body["team"]) == (
        "viewer", "pending", ["terminal"], "alpha")
    entry = AuditEntry.objects.get(action="access.request")
    assert entry.params["reason"] == "debugging the 502s" and entry.actor_name == "viewer"
    assert [m["type"] for m in admins()] == ["permissions.changed"]
    html = client_for("team_admin").get("/").content.decode()
    assert 'id="pending-requests" title="requests waiting for your decision">1<' in html
    assert 'id="pending-requests"' not in client_for("developer").get("/").content.decode()


@pytest.mark.parametrize("body,field", [
    ({"reason": ""}, "reason"), ({"reason": "   "}, "reason"), ({"actions": ["view"]}, "actions"),
    ({"actions": []}, "actions"), ({"duration": 0}, "duration"),
])
def test_bad_requests_are_refused_by_field(world, client_for, web, body, field):
    response = ask(client_for("viewer"), web, **body)
    assert response.status_code == 400 and field in response.json(), response.content
    assert not AccessRequest.objects.exists()


def test_a_stranger_cannot_ask_for_what_they_cannot_see(world, client_for, web):
    assert ask(client_for("stranger"), web).status_code == 404
    assert not AccessRequest.objects.exists()
    assert AuditEntry.objects.get(action="container.request").result == "denied"


def test_an_approved_request_is_a_grant_that_ends(world, client_for, web, listen,
                                                  django_capture_on_commit_callbacks):
    viewer = world.user("viewer")
    asked = ask(client_for("viewer"), web).json()
    told = listen(viewer)
    assert not Container.objects.restrict(viewer, "terminal").filter(pk=web.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for("team_admin").post(
            f"/api/access-requests/{asked['id']}/approve/", {"note": "an hour"},
            content_type="application/json")
    assert response.status_code == 200, response.content
    decided = AccessRequest.objects.get()
    grant = ContainerGrant.objects.get(user=viewer)
    assert decided.state == "approved" and decided.grant == grant
    assert grant.actions == ["terminal"] and grant.expires_at == decided.expires_at
    assert timedelta(minutes=59) < grant.expires_at - timezone.now() <= timedelta(hours=1)
    assert Container.objects.restrict(viewer, "terminal").filter(pk=web.pk).exists()
    messages = told()
    assert "permissions.changed" in [m["type"] for m in messages]
    # The requester's pages are told the answer as it comes.
    answer = next(m["request"] for m in messages if m["type"] == "access.decided")
    assert answer["id"] == asked["id"] and answer["state"] == "approved"
    assert answer["words"].startswith(" until ") and answer["words"].endswith(
        " by team_admin — “an hour”")
    assert [e.action for e in AuditEntry.objects.order_by("pk")] == [
        "access.request", "container.grant", "access.approve"]
    page = client_for("viewer").get(f"/containers/{web.engine_id}/").content.decode()
    assert '<strong class="state">approved</strong><span class="answer"> until' in page
    assert "an hour" in page
    # ... and then it ends.
    ContainerGrant.objects.filter(pk=grant.pk).update(expires_at=timezone.now())
    assert expire_grants() == 1
    assert not Container.objects.restrict(viewer, "terminal").filter(pk=web.pk).exists()
    assert "(ended)" in client_for("viewer").get("/requests/").content.decode()


def test_a_refused_request_leaves_no_grant(world, client_for, web):
    asked = ask(client_for("viewer"), web).json()
    admin = client_for("team_admin")
    response = admin.post(f"/requests/{asked['id']}/refuse/", {"note": "use the logs"})
    assert response.status_code == 302
    assert AccessRequest.objects.get().state == "refused"
    assert not ContainerGrant.objects.exists()
    entry = AuditEntry.objects.get(action="access.refuse")
    assert entry.params["note"] == "use the logs" and entry.params["user"] == "viewer"
    again = admin.post(f"/api/access-requests/{asked['id']}/approve/", {},
                       content_type="application/json")
    assert again.status_code == 409 and not ContainerGrant.objects.exists()
    page = client_for("viewer").get("/requests/").content.decode()
    assert '<strong class="state">refused</strong>' in page and "use the logs" in page


@pytest.mark.parametrize("persona,status", [("viewer", 403), ("operator", 404),
                                            ("developer", 404), ("stranger", 404)])
def test_only_the_teams_admins_decide(world, client_for, web, persona, status):
    asked = ask(client_for("viewer"), web).json()
    response = client_for(persona).post(f"/api/access-requests/{asked['id']}/approve/", {},
                                        content_type="application/json")
    assert response.status_code == status
    assert AccessRequest.objects.get().state == "pending"
    assert not ContainerGrant.objects.exists()


def test_the_requests_page_lists_what_waits_for_a_decision(world, client_for, web):
    ask(client_for("viewer"), web)
    ask(client_for("developer"), web, actions=["kill"], reason="it hangs")
    html = client_for("team_admin").get("/requests/").content.decode()
    assert html.count("data-request=") == 2 and "debugging the 502s" in html
    assert "<td>1 hour</td>" in html
    assert 'id="to-decide"' not in client_for("operator").get("/requests/").content.decode()


def test_asking_from_the_container_page(world, client_for, web):
    client = client_for("operator")
    response = client.post(f"/containers/{web.engine_id}/requests/", {
        "actions": ["remove"], "duration": 900, "reason": "clean up"})
    assert response.status_code == 302
    assert AccessRequest.objects.get().duration == 900
    bad = client.post(f"/containers/{web.engine_id}/requests/", {"actions": ["remove"],
                                                                 "duration": 900})
    assert bad.status_code == 400 and "Say why you need it." in bad.content.decode()
