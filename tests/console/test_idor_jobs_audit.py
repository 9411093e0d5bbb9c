"""A user of team B cannot read team A's jobs or audit entries by ID, through pages or API;
login needs a CSRF token like every other form."""
from console import audit
from console.jobs.models import Job


def test_a_stranger_cannot_read_another_teams_job(world, client_for):
    job = Job.objects.create(kind="stop", host=world.hosts["h1"], team=world.teams["alpha"],
                             container=world.containers["web"],
                             target_id=world.containers["web"].engine_id)
    stranger = client_for("stranger")
    assert stranger.get(f"/api/jobs/{job.pk}/").status_code == 404
    assert stranger.get(f"/jobs/{job.pk}/").status_code == 404
    assert stranger.get("/api/jobs/").json()["count"] == 0
    assert client_for("viewer").get(f"/api/jobs/{job.pk}/").status_code == 200
    assert client_for("viewer").get(f"/jobs/{job.pk}/").status_code == 200


def test_a_stranger_cannot_read_another_teams_audit_entry(world, client_for):
    entry = audit.record("container.stop", actor=world.user("operator"),
                         team=world.teams["alpha"], target=world.containers["web"])
    assert client_for("stranger").get(f"/api/audit/{entry.pk}/").status_code == 404
    assert client_for("viewer").get(f"/api/audit/{entry.pk}/").status_code == 200


def test_login_needs_a_csrf_token(world):
    from django.test import Client

    from console.core.testing import PASSWORD

    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "viewer", "password": PASSWORD})
    assert response.status_code == 403
    assert client.get("/").status_code == 302
