"""API tokens (hashed, shown once, header only), users, teams, members, host grants and
per-container grants through the API, each change audited."""
import hashlib

from console.accounts.models import ApiToken
from console.audit.models import AuditEntry
from console.core.testing import PASSWORD
from console.teams.models import Membership


def test_a_token_is_shown_once_and_stored_hashed(world, client):
    answer = client.post("/api/auth/token/", {"username": "operator", "password": PASSWORD},
                         content_type="application/json")
    assert answer.status_code == 201
    key = answer.json()["token"]
    token = ApiToken.objects.get()
    assert token.digest == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(ApiToken.objects.values_list()) and key.startswith(token.prefix)
    assert AuditEntry.objects.filter(action="token.create", actor_name="operator").count() == 1
    listed = client.get("/api/tokens/", HTTP_AUTHORIZATION=f"Token {key}").json()["results"]
    assert listed[0]["prefix"] == token.prefix and "token" not in listed[0]


def test_token_auth_by_header_only(world, client):
    token, key = ApiToken.objects.create_for(world.user("operator"))
    assert client.get("/api/containers/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    assert client.get(f"/api/containers/?token={key}").status_code == 401
    assert client.get("/api/containers/", HTTP_AUTHORIZATION="Token mrg_wrong").status_code == 401
    token.delete()
    assert client.get("/api/containers/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_wrong_password_gets_no_token(world, client):
    answer = client.post("/api/auth/token/", {"username": "operator", "password": "nope"},
                         content_type="application/json")
    assert answer.status_code == 401 and not ApiToken.objects.exists()
    assert AuditEntry.objects.filter(action="auth.token", result="failed").exists()


def test_only_superusers_create_users_and_teams(world, client_for):
    body = {"username": "newbie", "password": "a long enough password"}
    assert client_for("team_admin").post("/api/users/", body).status_code == 403
    answer = client_for("superuser").post("/api/users/", body)
    assert answer.status_code == 201 and answer.json()["username"] == "newbie"
    assert "password" not in answer.json()
    entry = AuditEntry.objects.get(action="user.create", result="succeeded")
    assert entry.params["password"] == "[redacted]"
    assert client_for("team_admin").post("/api/teams/", {"name": "gamma"}).status_code == 403
    assert client_for("superuser").post("/api/teams/", {"name": "gamma"}).status_code == 201


def test_team_admins_manage_members_and_roles(world, client_for):
    url = f"/api/teams/{world.teams['alpha'].pk}/members/"
    assert client_for("operator").post(url, {"user": "stranger", "role": "viewer"}).status_code \
        == 403
    assert client_for("stranger").post(url, {"user": "stranger", "role": "admin"}).status_code \
        == 404
    admin = client_for("team_admin")
    assert admin.post(url, {"user": "stranger", "role": "viewer"}).status_code == 201
    assert admin.post(url, {"user": "stranger", "role": "operator"}).status_code == 201
    assert Membership.objects.get(user__username="stranger", team__name="alpha").role == \
        "operator"
    listing = client_for("viewer").get(url).json()        # paginated, like every list
    roles = {m["user"]: m["role"] for m in listing["results"]}
    assert roles["stranger"] == "operator" and listing["count"] == len(roles)
    assert list(roles) == sorted(roles)
    assert admin.delete(f"{url}stranger/").status_code == 204
    actions = list(AuditEntry.objects.filter(team_name="alpha").order_by("pk")
                   .values_list("action", "result"))
    assert actions == [("team.member.set", "denied"),
                       ("team.member.add", "succeeded"),
                       ("team.member.role", "succeeded"), ("team.member.remove", "succeeded")]
    # The stranger's attempt names the team only as they typed it.
    assert AuditEntry.objects.filter(action="team.member.set", actor_name="stranger",
                                     team_name="", target_name=str(world.teams["alpha"].pk),
                                     result="denied").count() == 1


def test_host_grants_are_for_superusers(world, client_for):
    url = f"/api/teams/{world.teams['alpha'].pk}/hosts/"
    assert client_for("team_admin").post(url, {"host": "h2"}).status_code == 403
    answer = client_for("superuser").post(url, {"host": "h2"})
    assert answer.status_code == 201 and answer.json()["hosts"] == ["h1", "h2"]
    hosts = [h["name"] for h in client_for("viewer").get("/api/hosts/").json()["results"]]
    assert hosts == ["h1", "h2"]


def test_container_grants_by_the_team_admin(world, client_for):
    web = world.containers["web"]
    body = {"user": "stranger", "container": web.engine_id, "actions": ["start", "stop"]}
    assert client_for("developer").post("/api/grants/", body,
                                        content_type="application/json").status_code == 403
    assert client_for("stranger").post("/api/grants/", body,
                                       content_type="application/json").status_code == 404
    answer = client_for("team_admin").post("/api/grants/", body, content_type="application/json")
    assert answer.status_code == 201 and answer.json()["actions"] == ["start", "stop"]
    bad = client_for("team_admin").post("/api/grants/", {**body, "actions": ["fly"]},
                                        content_type="application/json")
    assert bad.status_code == 400
    grant_id = answer.json()["id"]
    assert client_for("stranger").get("/api/grants/").json()["count"] == 1
    assert client_for("stranger").delete(f"/api/grants/{grant_id}/").status_code == 403
    assert client_for("team_admin").delete(f"/api/grants/{grant_id}/").status_code == 204
