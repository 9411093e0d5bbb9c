"""The team pages: who sees which team, and what team admins and superusers change there
(members, roles, invitations, hosts, settings). Errors show beside their field and change
nothing; each change is audited and tells the affected users' open sockets to re-check."""
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from console.audit.models import AuditEntry
from console.hosts.models import HostGrant
from console.teams.models import Membership, Team
from tests.console.pages import field_errors


@pytest.fixture
def alpha(world):
    return world.teams["alpha"]


def test_the_list_shows_my_teams_with_my_role(world, client_for):
    html = client_for("operator").get("/teams/").content.decode()
    assert "alpha" in html and "beta" not in html and "role-operator" in html
    assert 'id="team-form"' not in html
    everything = client_for("superuser").get("/teams/").content.decode()
    assert "alpha" in everything and "beta" in everything and 'id="team-form"' in everything


def test_a_superuser_creates_a_team_and_a_duplicate_name_is_refused(world, client_for):
    client = client_for("superuser")
    response = client.post("/teams/new/", {"name": "gamma", "description": "third"})
    gamma = Team.objects.get(name="gamma")
    assert response.status_code == 302 and response.url == f"/teams/{gamma.pk}/"
    again = client.post("/teams/new/", {"name": "gamma"})
    assert again.status_code == 400
    assert field_errors(again.content.decode()) == ["A team named gamma exists."]
    assert Team.objects.filter(name="gamma").count() == 1


def test_members_see_the_team_read_only(world, client_for, alpha):
    html = client_for("viewer").get(f"/teams/{alpha.pk}/").content.decode()
    for name in ("viewer", "operator", "developer", "team_admin"):
        assert f'data-member="{name}"' in html
    assert "member-form" not in html and "settings-form" not in html and "Remove" not in html
    assert 'data-host="h1"' in html


def test_team_admins_see_the_forms_and_superusers_the_host_and_invite_forms(world, client_for,
                                                                             alpha):
    admin = client_for("team_admin").get(f"/teams/{alpha.pk}/").content.decode()
    assert "member-form" in admin and "settings-form" in admin and "host-form" not in admin
    assert "invite-form" not in admin
    root = client_for("superuser").get(f"/teams/{alpha.pk}/").content.decode()
    assert "host-form" in root and "invite-form" in root
    # The host form offers the hosts not granted yet.
    assert re.findall(r'<option value="(\d+)"', root.split('id="host-form"')[1]) == \
        [str(world.hosts["h2"].pk)]


def test_adding_a_member_and_changing_a_role(world, client_for, alpha, listen,
                                             django_capture_on_commit_callbacks):
    stranger = world.user("stranger")
    heard = listen(stranger)
    client = client_for("team_admin")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/teams/{alpha.pk}/members/", {"user": "stranger",
                                                                "role": "viewer"})
    assert response.status_code == 302
    assert Membership.objects.get(team=alpha, user=stranger).role == "viewer"
    assert [m["type"] for m in heard()] == ["permissions.changed"]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/teams/{alpha.pk}/members/stranger/role/", {"role": "developer"})
    assert Membership.objects.get(team=alpha, user=stranger).role == "developer"
    assert [m["type"] for m in heard()] == ["permissions.changed"]
    # The stranger now sees alpha's container.
    assert client_for("stranger").get(f"/containers/{world.containers['web'].engine_id}/") \
        .status_code == 200


def test_member_form_errors_are_beside_their_fields(world, client_for, alpha):
    response = client_for("team_admin").post(f"/teams/{alpha.pk}/members/",
                                             {"user": "nobody", "role": "captain"})
    assert response.status_code == 400
    errors = field_errors(response.content.decode())
    assert "No such user: nobody." in errors
    assert any("Select a valid choice" in e for e in errors)
    assert not Membership.objects.filter(user__username="nobody").exists()


def test_removing_a_member_ends_their_access(world, client_for, alpha, listen,
                                            django_capture_on_commit_callbacks):
    viewer = world.user("viewer")
    heard = listen(viewer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for("team_admin").post(f"/teams/{alpha.pk}/members/viewer/remove/")
    assert response.status_code == 302
    assert not Membership.objects.filter(team=alpha, user=viewer).exists()
    assert [m["type"] for m in heard()] == ["permissions.changed"]
    assert client_for("viewer").get(f"/teams/{alpha.pk}/").status_code == 404
    assert client_for("team_admin").post(f"/teams/{alpha.pk}/members/viewer/remove/") \
        .status_code == 404
    entry = AuditEntry.objects.get(action="team.member.remove")
    assert (entry.actor_name, entry.target_name, entry.team_name) == ("team_admin", "viewer",
                                                                      "alpha")


def test_a_superuser_invites_a_new_user_who_can_then_log_in(world, client_for, alpha):
    response = client_for("superuser").post(f"/teams/{alpha.pk}/members/new/", {
        "username": "newbie", "email": "newbie@example.test",
        "password": "a long enough password 7", "role": "operator"})
    assert response.status_code == 302
    newbie = get_user_model().objects.get(username="newbie")
    assert Membership.objects.get(user=newbie, team=alpha).role == "operator"
    client = Client()
    assert client.login(username="newbie", password="a long enough password 7")
    assert client.get(f"/teams/{alpha.pk}/").status_code == 200


@pytest.mark.parametrize("data,error", [
    ({"username": "viewer", "password": "a long enough password 7"},
     "The username viewer is taken."),
    ({"username": "newbie", "password": "short"}, "This password is too short."),
    ({"username": "new bie", "password": "a long enough password 7"}, "Letters, digits"),
])
def test_invitation_errors_are_beside_their_fields(world, client_for, alpha, data, error):
    response = client_for("superuser").post(f"/teams/{alpha.pk}/members/new/",
                                            {**data, "role": "viewer"})
    assert response.status_code == 400
    assert any(e.startswith(error) for e in field_errors(response.content.decode())), \
        field_errors(response.content.decode())
    assert not get_user_model().objects.filter(username__in=["newbie", "new bie"]).exists()


def test_team_admins_cannot_invite_new_users(world, client_for, alpha):
    response = client_for("team_admin").post(f"/teams/{alpha.pk}/members/new/", {
        "username": "newbie", "password": "a long enough password 7", "role": "admin"})
    assert response.status_code == 403
    assert not get_user_model().objects.filter(username="newbie").exists()
    assert AuditEntry.objects.filter(action="user.create", result="denied",
                                     actor_name="team_admin").count() == 1


def test_granting_and_revoking_a_host(world, client_for, alpha, listen,
                                      django_capture_on_commit_callbacks):
    h2 = world.hosts["h2"]
    heard = listen(world.user("viewer"))
    client = client_for("superuser")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/teams/{alpha.pk}/hosts/", {"host": h2.pk}).status_code == 302
    assert HostGrant.objects.filter(team=alpha, host=h2).exists()
    assert [m["type"] for m in heard()] == ["permissions.changed"]
    hosts = [h["name"] for h in client_for("viewer").get("/api/hosts/").json()["results"]]
    assert hosts == ["h1", "h2"]
    again = client.post(f"/teams/{alpha.pk}/hosts/", {"host": h2.pk})
    assert again.status_code == 400 and field_errors(again.content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/teams/{alpha.pk}/hosts/{h2.pk}/revoke/").status_code == 302
    assert not HostGrant.objects.filter(team=alpha, host=h2).exists()
    assert client.post(f"/teams/{alpha.pk}/hosts/{h2.pk}/revoke/").status_code == 404
    assert [e.action for e in AuditEntry.objects.order_by("pk")] == ["team.host.grant",
                                                                      "team.host.revoke"]


def test_team_settings_pin_the_terminal_user(world, client_for, alpha, listen,
                                             django_capture_on_commit_callbacks):
    heard = listen(world.user("operator"))
    client = client_for("team_admin")
    bad = client.post(f"/teams/{alpha.pk}/settings/", {"description": "x",
                                                      "terminal_user": "root; rm -rf /"})
    assert bad.status_code == 400
    assert field_errors(bad.content.decode())[0].startswith("A user inside the container")
    alpha.refresh_from_db()
    assert alpha.terminal_user == "" and alpha.description == ""
    with django_capture_on_commit_callbacks(execute=True):
        ok = client.post(f"/teams/{alpha.pk}/settings/", {"description": "the web team",
                                                          "terminal_user": "1000:1000"})
    assert ok.status_code == 302
    alpha.refresh_from_db()
    assert (alpha.terminal_user, alpha.description) == ("1000:1000", "the web team")
    assert [m["type"] for m in heard()] == ["permissions.changed"]
    entry = AuditEntry.objects.get(action="team.settings")
    assert entry.params["changed"] == {"description": "the web team",
                                       "terminal_user": "1000:1000"}
    assert entry.params["previous"] == {"description": "", "terminal_user": ""}
    html = client_for("viewer").get(f"/teams/{alpha.pk}/").content.decode()
    assert "1000:1000" in html
    # Saving the same values again changes nothing and records nothing.
    client.post(f"/teams/{alpha.pk}/settings/", {"description": "the web team",
                                                 "terminal_user": "1000:1000"})
    assert AuditEntry.objects.filter(action="team.settings").count() == 1
