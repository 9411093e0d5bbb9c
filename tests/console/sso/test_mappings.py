"""The group → team mapping table: superusers add and remove rows (page and API, audited); a
team's admins see their team's rows; everyone else sees none; and how a login's groups become
roles (the highest role of the user's groups, per team the table names)."""
import pytest

from console.audit.models import AuditEntry
from console.sso.mapping import roles_from_groups
from console.sso.models import GroupMapping

pytestmark = pytest.mark.django_db


def test_superusers_add_and_remove_mappings_through_the_api(world, client_for):
    body = {"source": "oidc", "group": "platform", "team": "alpha", "role": "operator"}
    for persona in ("team_admin", "developer", "stranger"):
        assert client_for(persona).post("/api/sso-mappings/", body).status_code == 403
    assert not GroupMapping.objects.exists()
    root = client_for("superuser")
    made = root.post("/api/sso-mappings/", body)
    assert made.status_code == 201 and made.json()["team"] == "alpha"
    again = root.post("/api/sso-mappings/", {**body, "group": "PLATFORM"})
    assert again.status_code == 400 and "group" in again.json()
    bad = root.post("/api/sso-mappings/", {**body, "source": "saml", "role": "owner"})
    assert bad.status_code == 400 and {"source", "role"} <= set(bad.json())
    pk = made.json()["id"]
    assert client_for("team_admin").get(f"/api/sso-mappings/{pk}/").status_code == 200
    assert client_for("viewer").get(f"/api/sso-mappings/{pk}/").status_code == 404
    assert client_for("stranger").get("/api/sso-mappings/").json()["count"] == 0
    assert client_for("team_admin").delete(f"/api/sso-mappings/{pk}/").status_code == 403
    assert client_for("stranger").delete(f"/api/sso-mappings/{pk}/").status_code == 404
    assert root.delete(f"/api/sso-mappings/{pk}/").status_code == 204
    assert list(AuditEntry.objects.filter(action__startswith="sso.mapping", result="succeeded")
                .order_by("pk").values_list("action", "team_name")) == [
        ("sso.mapping.create", "alpha"), ("sso.mapping.delete", "alpha")]


def test_the_mapping_page(world, client_for):
    root = client_for("superuser")
    answer = root.post("/sso/mappings/", {"source": "ldap", "group": "cn=ops,ou=groups",
                                          "team": "beta", "role": "viewer"})
    assert answer.status_code == 302
    mapping = GroupMapping.objects.get()
    assert (mapping.team.name, mapping.role, mapping.created_by) == ("beta", "viewer",
                                                                     world.user("superuser"))
    assert b"cn=ops,ou=groups" in root.get("/sso/mappings/").content
    assert b"cn=ops,ou=groups" not in client_for("team_admin").get("/sso/mappings/").content
    assert client_for("team_admin").post("/sso/mappings/", {
        "source": "ldap", "group": "x", "team": "alpha", "role": "admin"}).status_code == 403
    assert client_for("team_admin").post(f"/sso/mappings/{mapping.pk}/delete/").status_code \
        == 404
    assert root.post(f"/sso/mappings/{mapping.pk}/delete/").status_code == 302
    assert not GroupMapping.objects.exists()


def test_a_login_gets_the_highest_role_of_its_groups_per_mapped_team(world):
    alpha, beta = world.teams["alpha"], world.teams["beta"]
    for group, team, role in (("devs", alpha, "developer"), ("Leads", alpha, "admin"),
                              ("ops", beta, "operator"), ("devs", beta, "viewer")):
        GroupMapping.objects.create(source="oidc", group=group, team=team, role=role)
    GroupMapping.objects.create(source="ldap", group="devs", team=alpha, role="viewer")
    managed, wanted = roles_from_groups("oidc", ["devs", "leads"])
    assert managed == {alpha.pk, beta.pk}
    assert wanted == {alpha.pk: "admin", beta.pk: "viewer"}
    assert roles_from_groups("oidc", []) == ({alpha.pk, beta.pk}, {})
    assert roles_from_groups("ldap", ["DEVS"]) == ({alpha.pk}, {alpha.pk: "viewer"})
