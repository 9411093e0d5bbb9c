"""The audit log: one entry per action with the right fields, secrets redacted, append-only."""
import pytest

from console.audit.models import AppendOnly, AuditEntry
from console.core.testing import PASSWORD


def test_login_failed_login_and_logout_are_recorded(world, client):
    client.post("/login/", {"username": "viewer", "password": "wrong"},
                HTTP_USER_AGENT="pytest-agent")
    client.post("/login/", {"username": "viewer", "password": PASSWORD})
    client.post("/logout/")
    entries = list(AuditEntry.objects.order_by("pk"))
    assert [(e.action, e.result) for e in entries] == [
        ("auth.login", "failed"), ("auth.login", "succeeded"), ("auth.logout", "succeeded")]
    assert entries[0].target_name == "viewer" and entries[0].actor is None
    assert entries[0].user_agent == "pytest-agent" and entries[0].source_ip == "127.0.0.1"
    assert entries[1].actor == world.user("viewer") and entries[1].actor_name == "viewer"
    assert PASSWORD not in str([e.params for e in entries])


def test_too_many_failures_lock_the_login(world, client, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post("/login/", {"username": "viewer", "password": "wrong"})
    page = client.post("/login/", {"username": "viewer", "password": PASSWORD})
    assert page.status_code == 200 and "Too many failed attempts" in page.content.decode()
    assert AuditEntry.objects.filter(action="auth.login", result="denied").count() == 1


def test_entries_cannot_be_changed_or_deleted(world):
    from console import audit

    entry = audit.record("container.stop", actor=world.user("operator"),
                         target=world.containers["web"], params={"password": "x"})
    assert entry.params == {"password": "[redacted]"}
    entry.action = "nothing.happened"
    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        entry.delete()
    with pytest.raises(AppendOnly):
        AuditEntry.objects.all().delete()
    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(result="denied")
    assert AuditEntry.objects.get(pk=entry.pk).action == "container.stop"


def test_the_api_and_admin_cannot_edit_entries(world, client_for):
    from console import audit

    entry = audit.record("auth.login", actor=world.user("superuser"))
    client = client_for("superuser")
    assert client.delete(f"/api/audit/{entry.pk}/").status_code == 405
    assert client.patch(f"/api/audit/{entry.pk}/", {"result": "x"},
                        content_type="application/json").status_code == 405
    client.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"})
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_members_see_their_team_entries_and_superusers_all(world, client_for):
    from console import audit

    audit.record("container.stop", actor=world.user("operator"), team=world.teams["alpha"])
    audit.record("container.stop", actor=world.user("stranger"), team=world.teams["beta"])
    def teams(persona):
        rows = client_for(persona).get("/api/audit/").json()["results"]
        return sorted(row["team"] for row in rows)
    assert teams("viewer") == ["alpha"]
    assert teams("stranger") == ["beta"]
    assert teams("superuser") == ["alpha", "beta"]


def test_prune_only_through_retention(world):
    from datetime import timedelta

    from django.utils import timezone

    from console import audit

    audit.record("auth.login", actor=world.user("viewer"))
    assert AuditEntry.objects.prune_before(timezone.now() - timedelta(days=1)) == 0
    assert AuditEntry.objects.prune_before(timezone.now() + timedelta(days=1)) == 1
