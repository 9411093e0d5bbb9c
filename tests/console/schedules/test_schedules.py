"""Scheduled actions: a developer of a container's team schedules start, stop, restart or
commit at a cron expression; each run is a normal job with its audit entry, made as the owner
with the rights they have when it fires; a run they may no longer make fails and says so;
schedules pause, resume and are deleted."""
from datetime import datetime, timedelta, timezone
from itertools import pairwise

import pytest
from django.utils import timezone as django_timezone

from console.audit.models import AuditEntry
from console.jobs.models import Job
from console.schedules import cron, tasks
from console.schedules.actions import tag_for
from console.schedules.models import Schedule
from console.schedules.runs import fire_due
from console.teams.models import Membership


@pytest.fixture
def web(world):
    return world.containers["web"]


def schedule(client, web, **body):
    return client.post("/api/schedules/", {"container": web.engine_id, "action": "restart",
                                           "cron": "*/5 * * * *", **body},
                       content_type="application/json")


def due(pk):
    Schedule.objects.filter(pk=pk).update(next_run_at=django_timezone.now() - timedelta(seconds=1))


def test_a_developer_schedules_and_sees_the_next_runs(world, client_for, web):
    response = schedule(client_for("developer"), web)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["owner"], body["action"], body["cron"], body["team"]) == (
        "developer", "restart", "*/5 * * * *", "alpha")
    runs = [datetime.fromisoformat(moment) for moment in body["next_runs"]]
    assert len(runs) == 5 and all(moment.minute % 5 == 0 for moment in runs)
    assert all(later - earlier == timedelta(minutes=5) for earlier, later in pairwise(runs))
    assert AuditEntry.objects.get(action="schedule.create").params["cron"] == "*/5 * * * *"


@pytest.mark.parametrize("persona,status", [("viewer", 403), ("operator", 403),
                                            ("stranger", 404), ("team_admin", 201),
                                            ("superuser", 201)])
def test_who_may_schedule(world, client_for, web, persona, status):
    assert schedule(client_for(persona), web).status_code == status
    assert Schedule.objects.exists() == (status == 201)


@pytest.mark.parametrize("body,field", [
    ({"cron": "every day"}, "cron"), ({"cron": "* * * * * *"}, "cron"),
    ({"cron": "61 * * * *"}, "cron"), ({"cron": "@reboot"}, "cron"), ({"cron": ""}, "cron"),
    ({"action": "remove"}, "action"), ({"action": "commit"}, "repository"),
    ({"action": "commit", "params": {"repository": "alpha/app", "tag": "{week}"}}, "tag"),
    ({"action": "commit", "params": {"repository": "alpha/app", "tag": "bad tag"}}, "tag"),
    ({"params": {"repository": "x"}}, "repository"), ({"when": "now"}, "when"),
])
def test_bad_schedules_are_refused_by_field(world, client_for, web, body, field):
    response = schedule(client_for("developer"), web, **body)
    assert response.status_code == 400 and field in response.json(), response.content
    assert not Schedule.objects.exists()


def test_a_due_schedule_runs_once_as_its_owner_a_normal_job(
        world, client_for, web, sent, django_capture_on_commit_callbacks):
    made = schedule(client_for("developer"), web).json()
    due(made["id"])
    with django_capture_on_commit_callbacks(execute=True):
        assert fire_due() == 1
    assert fire_due() == 0                                  # taken: not run twice
    job = Job.objects.get()
    assert (job.kind, job.requested_by, job.container) == ("restart", world.user("developer"), web)
    assert sent == [("console.jobs.execute", [job.pk], "host.h1")]
    ran = Schedule.objects.get()
    assert (ran.last_result, ran.last_job, ran.runs, ran.last_error) == ("requested", job, 1, "")
    assert ran.next_run_at > django_timezone.now()
    assert {(e.action, e.result, e.actor_name) for e in AuditEntry.objects.all()} >= {
        ("container.restart", "requested", "developer"), ("schedule.run", "requested", "developer")}
    assert AuditEntry.objects.get(action="schedule.run").job == job


def test_a_run_the_owner_may_no_longer_make_fails_and_says_so(world, client_for, web, sent):
    made = schedule(client_for("developer"), web).json()
    Membership.objects.filter(user=world.user("developer")).delete()
    due(made["id"])
    fire_due()
    failed = Schedule.objects.get()
    assert failed.last_result == "failed" and failed.last_job is None
    assert failed.last_error == "not run: developer may no longer restart web."
    assert not Job.objects.exists() and sent == []
    run = AuditEntry.objects.get(action="schedule.run")
    assert (run.result, run.error) == ("failed", failed.last_error)
    assert AuditEntry.objects.get(action="container.restart").result == "denied"
    page = client_for("team_admin").get("/schedules/").content.decode()
    assert "developer may no longer restart web" in page


def test_a_run_the_container_is_in_no_state_for_fails_and_the_next_is_made(world, client_for,
                                                                          web, sent):
    made = schedule(client_for("developer"), web, action="start").json()
    due(made["id"])
    fire_due()
    assert Schedule.objects.get().last_error == ("not run: Cannot start container web: it is "
                                                 "running.")
    web.state = "exited"
    web.save()
    due(made["id"])
    fire_due()
    ran = Schedule.objects.get()
    assert ran.last_result == "requested" and ran.runs == 2 and ran.last_error == ""


def test_a_scheduled_commit_fills_in_its_tag(world, client_for, web, sent):
    made = schedule(client_for("developer"), web, action="commit", cron="0 3 * * *",
                    params={"repository": "alpha/app", "tag": "nightly-{date}",
                            "message": "nightly"}).json()
    assert made["params"] == {"repository": "alpha/app", "tag": "nightly-{date}",
                              "message": "nightly"}
    due(made["id"])
    fire_due()
    job = Job.objects.get()
    today = django_timezone.now().strftime("%Y%m%d")
    assert (job.kind, job.params["repository"], job.params["tag"]) == (
        "commit", "alpha/app", f"nightly-{today}")
    assert tag_for("{datetime}-{run}", datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
                   7) == "20260102-030405-7"


def test_a_paused_schedule_does_not_fire_and_resumed_it_fires_from_now(world, client_for, web,
                                                                       sent):
    made = schedule(client_for("developer"), web).json()
    client = client_for("team_admin")
    paused = client.post(f"/api/schedules/{made['id']}/pause/")
    assert paused.status_code == 200 and paused.json()["next_runs"] == []
    assert client.post(f"/api/schedules/{made['id']}/pause/").status_code == 409
    assert fire_due(django_timezone.now() + timedelta(days=1)) == 0
    resumed = client.post(f"/api/schedules/{made['id']}/resume/").json()
    assert datetime.fromisoformat(resumed["next_runs"][0]) > django_timezone.now()
    assert [e.action for e in AuditEntry.objects.order_by("pk")] == [
        "schedule.create", "schedule.pause", "schedule.resume"]
    assert client_for("viewer").post(f"/api/schedules/{made['id']}/pause/").status_code == 403


def test_schedules_are_deleted_by_the_teams_developers(world, client_for, web):
    made = schedule(client_for("developer"), web).json()
    assert client_for("operator").delete(f"/api/schedules/{made['id']}/").status_code == 403
    assert client_for("stranger").delete(f"/api/schedules/{made['id']}/").status_code == 404
    assert client_for("developer").delete(f"/api/schedules/{made['id']}/").status_code == 204
    assert not Schedule.objects.exists()
    assert AuditEntry.objects.filter(action="schedule.delete", result="succeeded").count() == 1
    assert AuditEntry.objects.get(action="schedule.delete", result="denied").actor_name == \
        "operator"


def test_the_tick_fires_what_is_due(world, client_for, web, sent):
    made = schedule(client_for("developer"), web).json()
    due(made["id"])
    assert tasks.tick() == 1


def test_the_pages(world, client_for, web):
    schedule(client_for("developer"), web)
    html = client_for("developer").get(f"/containers/{web.engine_id}/").content.decode()
    assert 'id="schedule-form"' in html and "*/5 * * * *" in html
    assert f'action="/containers/{web.engine_id}/schedules/"' in html
    assert 'id="container-schedules"' in html and 'name="repository"' in html
    viewer = client_for("viewer").get(f"/containers/{web.engine_id}/").content.decode()
    assert 'id="schedule-form"' not in viewer and "*/5 * * * *" in viewer
    response = client_for("developer").post(f"/containers/{web.engine_id}/schedules/", {
        "action": "stop", "cron": "0 19 * * 1-5"})
    assert response.status_code == 302
    bad = client_for("developer").post(f"/containers/{web.engine_id}/schedules/", {
        "action": "stop", "cron": "sometimes"})
    assert bad.status_code == 400 and "not a cron expression" in bad.content.decode()
    listing = client_for("viewer").get("/schedules/").content.decode()
    assert listing.count("data-schedule=") == 2 and "Pause" not in listing


def test_next_runs_walk_the_expression_in_utc():
    start = datetime(2026, 3, 1, 2, 30, tzinfo=timezone.utc)
    assert cron.next_runs("0 3 * * *", start, 2) == [
        datetime(2026, 3, 1, 3, 0, tzinfo=timezone.utc),
        datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc)]
    assert cron.checked("  0   3 * * * ") == "0 3 * * *"
