"""The team API: a team's settings and taking a host back (members, roles and host grants
through the API are in accounts/test_api.py, with users and tokens)."""
import re

from console.audit.models import AuditEntry


def test_the_api_changes_team_settings(world, client_for):
    alpha = world.teams["alpha"]
    url = f"/api/teams/{alpha.pk}/"
    assert client_for("operator").patch(url, {"terminal_user": "app"},
                                        content_type="application/json").status_code == 403
    bad = client_for("team_admin").patch(url, {"terminal_user": "bad user!"},
                                         content_type="application/json")
    assert bad.status_code == 400 and "terminal_user" in bad.json()
    ok = client_for("team_admin").patch(url, {"terminal_user": "app"},
                                        content_type="application/json")
    assert ok.status_code == 200 and ok.json()["terminal_user"] == "app"
    assert client_for("viewer").get(url).json()["terminal_user"] == "app"
    assert client_for("team_admin").patch(url, {"name": "renamed"},
                                          content_type="application/json").json()["name"] == \
        "alpha"
    assert [(e.action, e.result) for e in AuditEntry.objects.order_by("pk")] == [
        ("team.settings", "denied"), ("team.settings", "succeeded")]


def test_the_api_revokes_a_host(world, client_for):
    alpha = world.teams["alpha"]
    assert client_for("team_admin").delete(f"/api/teams/{alpha.pk}/hosts/h1/").status_code == 403
    assert client_for("superuser").delete(f"/api/teams/{alpha.pk}/hosts/h2/").status_code == 404
    assert client_for("superuser").delete(f"/api/teams/{alpha.pk}/hosts/h1/").status_code == 204
    assert client_for("viewer").get("/api/hosts/").json()["count"] == 0
    assert re.search("hosts", str(client_for("viewer").get(f"/api/teams/{alpha.pk}/").json()))
