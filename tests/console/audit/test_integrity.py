"""The audit log is append-only everywhere: no page, API call, admin action or ORM call edits or
deletes an entry, even for a superuser. Only the retention setting prunes, through
`manage.py prune_audit`, and by default it keeps everything."""
from datetime import datetime, timedelta, timezone
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from console import audit
from console.audit.models import AppendOnly, AuditEntry


@pytest.fixture
def entry(world):
    return audit.record("container.stop", actor=world.user("operator"),
                        team=world.teams["alpha"], target=world.containers["web"],
                        host=world.hosts["h1"], result="requested")


def row(entry):
    return AuditEntry.objects.filter(pk=entry.pk).values_list().first()


def test_the_pages_have_no_way_to_change_an_entry(entry, client_for):
    before = row(entry)
    client = client_for("superuser")
    for method in ("post", "put", "patch", "delete"):
        for url in (f"/audit/{entry.pk}/", "/audit/", "/audit/export/csv/"):
            assert getattr(client, method)(url).status_code == 405, (method, url)
    assert row(entry) == before


def test_the_api_refuses_to_change_or_delete_entries(entry, client_for):
    before = row(entry)
    client = client_for("superuser")
    for method in ("put", "patch", "delete"):
        response = getattr(client, method)(f"/api/audit/{entry.pk}/", {"action": "x"},
                                           content_type="application/json")
        assert response.status_code == 405
    assert client.post("/api/audit/", {"action": "x"},
                       content_type="application/json").status_code == 405
    assert row(entry) == before and AuditEntry.objects.count() == 1


def test_the_admin_shows_entries_read_only(entry, client_for):
    before = row(entry)
    client = client_for("superuser")
    assert client.get(f"/admin/audit/auditentry/{entry.pk}/change/").status_code == 200
    assert client.post(f"/admin/audit/auditentry/{entry.pk}/change/",
                       {"action": "x"}).status_code == 403
    assert client.post(f"/admin/audit/auditentry/{entry.pk}/delete/",
                       {"post": "yes"}).status_code == 403
    assert client.get("/admin/audit/auditentry/add/").status_code == 403
    response = client.post("/admin/audit/auditentry/", {
        "action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"})
    assert response.status_code in (200, 302)
    assert row(entry) == before


def test_the_orm_refuses_every_way_of_changing_entries(entry):
    entry.result = "succeeded"
    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        entry.delete()
    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(result="succeeded")
    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(AppendOnly):
        AuditEntry.objects.restrict(entry.actor, "view").delete()
    assert AuditEntry.objects.get(pk=entry.pk).result == "requested"


def age(entry, days):
    moment = datetime.now(timezone.utc) - timedelta(days=days)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET time = %s WHERE id = %s",
                       [connection.ops.adapt_datetimefield_value(moment), entry.pk])


def test_retention_keeps_everything_by_default(world, settings):
    settings.AUDIT_RETENTION_DAYS = None
    old = audit.record("auth.login", actor=world.user("viewer"))
    age(old, 3650)
    out = StringIO()
    call_command("prune_audit", stdout=out)
    assert "kept forever" in out.getvalue()
    assert AuditEntry.objects.filter(pk=old.pk).exists()


def test_retention_prunes_only_what_is_older_than_the_setting(world, settings):
    settings.AUDIT_RETENTION_DAYS = 30
    old = audit.record("auth.login", actor=world.user("viewer"))
    recent = audit.record("auth.login", actor=world.user("operator"))
    age(old, 31)
    age(recent, 29)
    out = StringIO()
    call_command("prune_audit", stdout=out)
    assert "Pruned 1 audit entries older than 30 days." in out.getvalue()
    assert list(AuditEntry.objects.values_list("pk", flat=True)) == [recent.pk]
