"""Join tokens on the Hosts page (superusers): the form checks through the action the API
calls, the token is shown once with the command that uses it, the outstanding ones are listed
and revoked; for anyone else the pages do not exist (404) and what they post is refused and
audited. And the API's list and revocation. Real database; Redis's ACL is faked
(`redis_users`)."""
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from console.audit.models import AuditEntry
from console.hosts import keys
from console.hosts.models import Host, HostKey, JoinToken, digest

pytestmark = pytest.mark.django_db

PAGE = "/join-tokens/"


def make(client, secure=False, **fields):
    return client.post(PAGE, {"name": "node7", "teams": ["alpha"], "lifetime": "60", **fields},
                       secure=secure)


def secret_of(response) -> str:
    return re.search(r'id="join-token">(mjt_[^<]+)<', response.content.decode()).group(1)


def field_errors(response, name) -> list[str]:
    return response.context["form"].errors.get(name, [])


def join(secret):
    return Client().post("/api/agent/join/", {"token": secret}, content_type="application/json")


def test_the_dashboard_offers_it_to_superusers_only(world, client_for):
    assert 'id="add-host"' in client_for("superuser").get("/").content.decode()
    assert 'id="add-host"' not in client_for("team_admin").get("/").content.decode()


def test_a_token_is_made_and_shown_once_with_its_command(world, client_for):
    client = client_for("superuser")
    page = client.get(PAGE)
    assert page.status_code == 200
    assert page.context["form"]["lifetime"].value() == 60
    made = make(client, teams=["alpha", "beta"])
    assert made.status_code == 201, made.content
    assert made["Cache-Control"] == "no-store"
    secret = secret_of(made)
    text = made.content.decode()
    assert f"./moorage join http://testserver {secret}" in text
    assert "--ca FILE" not in text                  # not HTTPS
    token = JoinToken.objects.get(name="node7")
    assert token.digest == digest(secret) and secret not in (token.prefix, token.digest)
    assert sorted(token.teams.values_list("name", flat=True)) == ["alpha", "beta"]
    assert timedelta(minutes=59) < token.expires_at - timezone.now() <= timedelta(minutes=60)
    entry = AuditEntry.objects.get(action="host.join_token")
    assert (entry.actor_name, entry.target_name, entry.result) == ("root", "node7", "succeeded")
    assert entry.params["teams"] == ["alpha", "beta"] and secret not in str(entry.params)
    assert entry.params["prefix"] == token.prefix == secret[:12]
    # Listed from then on, by its first characters only: never again in full.
    listed = client.get(PAGE).content.decode()
    assert secret not in listed and token.prefix in listed and "node7" in listed


def test_over_https_the_command_says_so_and_names_the_ca(world, client_for):
    made = make(client_for("superuser"), name="node8", secure=True)
    text = made.content.decode()
    assert f"./moorage join https://testserver {secret_of(made)}" in text
    assert "--ca FILE" in text


def test_the_token_from_the_page_lets_one_machine_join_once(world, client_for, redis_users):
    secret = secret_of(make(client_for("superuser")))
    joined = join(secret)
    assert joined.status_code == 201, joined.content
    host = Host.objects.get(name="node7")
    assert host.grants.filter(team__name="alpha").exists() and HostKey.objects.filter(
        host=host).exists()
    assert join(secret).status_code == 403
    # Used, it is no longer outstanding.
    assert "node7" not in client_for("superuser").get(PAGE).content.decode()


@pytest.mark.parametrize("fields,field,words", [
    ({"name": "Bad Name"}, "name", "lowercase letters, digits and '-'"),
    ({"name": "any"}, "name", "lowercase letters, digits and '-'"),
    ({"name": ""}, "name", "This field is required."),
    ({"name": "x" * 64}, "name", "1 to 63"),
    ({"lifetime": "0"}, "lifetime", "From 1 minute to 7 days"),
    ({"lifetime": str(7 * 24 * 60 + 1)}, "lifetime", "From 1 minute to 7 days"),
    ({"lifetime": "soon"}, "lifetime", "whole number"),
    ({"teams": ["nosuchteam"]}, "teams", "not one of the available choices"),
])
def test_bad_input_is_said_beside_its_field(world, client_for, fields, field, words):
    response = make(client_for("superuser"), **fields)
    assert response.status_code == 400
    assert any(words in error for error in field_errors(response, field)), \
        response.context["form"].errors
    assert not JoinToken.objects.exists()
    assert not AuditEntry.objects.filter(action="host.join_token").exists()


def test_a_joined_hosts_name_is_refused_beside_the_name(world, client_for):
    keys.issue_key(world.hosts["h1"])
    response = make(client_for("superuser"), name="h1")
    assert response.status_code == 409
    assert "is joined" in " ".join(field_errors(response, "name"))
    assert not JoinToken.objects.exists()


def test_outstanding_tokens_only_are_listed(world):
    superuser = world.user("superuser")
    fresh, _ = keys.make_join_token(superuser, "fresh", ["alpha"])
    used, _ = keys.make_join_token(superuser, "used", [])
    old, _ = keys.make_join_token(superuser, "old", [])
    JoinToken.objects.filter(pk=used.pk).update(used_at=timezone.now())
    JoinToken.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    client = Client()
    client.force_login(superuser)
    rows = client.get(PAGE).context["tokens"]
    assert [token.name for token in rows] == ["fresh"]
    listed = client.get("/api/hosts/join-tokens/")
    assert listed.status_code == 200
    assert listed.json() == [{"id": fresh.pk, "name": "fresh", "teams": ["alpha"],
                              "created_by": "root",
                              "expires_at": listed.json()[0]["expires_at"]}]


def test_a_token_is_revoked_on_the_page(world, client_for, redis_users):
    client = client_for("superuser")
    secret = secret_of(make(client))
    token = JoinToken.objects.get()
    response = client.post(f"/join-tokens/{token.pk}/revoke/")
    assert response.status_code == 302 and response.url == PAGE
    assert not JoinToken.objects.exists()
    entry = AuditEntry.objects.get(action="host.join_token.revoke")
    assert (entry.actor_name, entry.target_name, entry.result) == ("root", "node7", "succeeded")
    assert entry.params["prefix"] == token.prefix and entry.params["teams"] == ["alpha"]
    assert "is revoked" in client.get(PAGE).content.decode()
    assert join(secret).status_code == 403
    assert not Host.objects.filter(name="node7").exists()


def test_a_used_token_is_not_revoked(world, client_for, redis_users):
    client = client_for("superuser")
    secret = secret_of(make(client))
    assert join(secret).status_code == 201
    token = JoinToken.objects.get()
    response = client.post(f"/join-tokens/{token.pk}/revoke/", HTTP_REFERER="http://testserver/")
    assert response.status_code == 302 and response.url == PAGE
    assert "revoke that host&#x27;s key instead" in client.get(PAGE).content.decode()
    assert JoinToken.objects.filter(pk=token.pk).exists()


@pytest.mark.parametrize("persona", ["viewer", "operator", "developer", "team_admin",
                                     "stranger"])
def test_for_anyone_else_the_pages_are_not_there(world, client_for, persona):
    token, _ = keys.make_join_token(world.user("superuser"), "node9", ["alpha"])
    client = client_for(persona)
    assert client.get(PAGE).status_code == 404
    assert make(client).status_code == 404
    assert client.post(f"/join-tokens/{token.pk}/revoke/").status_code == 404
    assert client.post("/join-tokens/999999/revoke/").status_code == 404
    assert list(JoinToken.objects.values_list("name", flat=True)) == ["node9"]
    refused = AuditEntry.objects.filter(actor_name=persona, result="denied")
    assert sorted(refused.values_list("action", flat=True)) == [
        "host.join_token", "host.join_token.revoke", "host.join_token.revoke"]


def test_anonymous_is_sent_to_log_in(world):
    assert Client().get(PAGE).status_code == 302
    assert Client().post(PAGE, {"name": "node7"}).status_code == 302
    assert not JoinToken.objects.exists()


# -- the API -----------------------------------------------------------------------------------

def test_the_api_revokes_a_token(world, client_for, redis_users):
    client = client_for("superuser")
    made = client.post("/api/hosts/join-tokens/", {"name": "node7", "teams": ["alpha"]},
                       content_type="application/json")
    assert made.status_code == 201
    body = made.json()
    assert body["id"] == JoinToken.objects.get().pk and body["created_by"] == "root"
    for persona in ("team_admin", "stranger"):
        refused = client_for(persona).delete(f"/api/hosts/join-tokens/{body['id']}/")
        assert refused.status_code == 403 and refused.json()["detail"]
        assert client_for(persona).get("/api/hosts/join-tokens/").status_code == 403
    assert client.delete(f"/api/hosts/join-tokens/{body['id']}/").status_code == 204
    assert client.delete(f"/api/hosts/join-tokens/{body['id']}/").status_code == 404
    assert join(body["token"]).status_code == 403
    assert AuditEntry.objects.filter(action="host.join_token.revoke",
                                     result="succeeded").count() == 1


def test_the_api_says_every_problem_at_once(world, client_for):
    response = client_for("superuser").post(
        "/api/hosts/join-tokens/", {"name": "Bad", "teams": ["nosuch"], "expires_in": 5},
        content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()) == {"name", "teams", "expires_in"}
    assert response.json()["teams"] == ["No team 'nosuch'."]


def test_the_schema_describes_them(world, client_for):
    text = client_for("viewer").get("/api/schema/").content.decode()
    assert "/api/hosts/join-tokens/{id}/:" in text and "hosts_join_tokens_destroy" in text
    assert "hosts_join_tokens_list" in text
