"""Scheduled redeploys of a stack: a developer of the stack's team schedules `redeploy` (its
current version again); each run is a normal deploy job with its audit entry, made as the
owner with the rights they have when it fires, held to the team's quota and reasons; a run
that cannot be made fails and says so. Through the API, the stack page and the schedules
page."""
from datetime import timedelta

import pytest
from django.utils import timezone as django_timezone

from console.audit.models import AuditEntry
from console.core.testing import make_container
from console.jobs.models import Job
from console.quotas.models import Quota
from console.schedules.models import Schedule
from console.schedules.runs import fire_due
from console.teams.models import Membership
from tests.console.stacks.helpers import make_stack


@pytest.fixture
def shop(world):
    return make_stack(world)


def schedule(client, target, **body):
    return client.post("/api/schedules/", {"stack": target.pk, "action": "redeploy",
                                           "cron": "0 3 * * *", **body},
                       content_type="application/json")


def due(pk):
    Schedule.objects.filter(pk=pk).update(next_run_at=django_timezone.now() - timedelta(seconds=1))


def test_a_developer_schedules_a_redeploy(world, client_for, shop):
    response = schedule(client_for("developer"), shop, params={"message": "weekly"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["stack"], body["stack_name"], body["container"], body["action"], body["team"],
            body["owner"], body["params"]) == (shop.pk, "shop", None, "redeploy", "alpha",
                                               "developer", {"message": "weekly"})
    assert len(body["next_runs"]) == 5
    entry = AuditEntry.objects.get(action="schedule.create")
    assert (entry.target_type, entry.target_name, entry.host_name) == ("stack", "shop", "h1")
    listed = client_for("viewer").get(f"/api/schedules/?stack={shop.pk}").json()["results"]
    assert [item["id"] for item in listed] == [body["id"]]


@pytest.mark.parametrize("persona,status", [("viewer", 403), ("operator", 403),
                                            ("stranger", 404), ("team_admin", 201),
                                            ("superuser", 201)])
def test_who_may_schedule_a_redeploy(world, client_for, shop, persona, status):
    assert schedule(client_for(persona), shop).status_code == status
    if status == 403:
        assert AuditEntry.objects.get(action="schedule.create").result == "denied"


@pytest.mark.parametrize("body, field", [
    ({"action": "restart"}, "action"), ({"stack": "shop"}, "stack"), ({"stack": True}, "stack"),
    ({"container": "web"}, "stack"), ({"cron": "61 * * * *"}, "cron"),
    ({"params": {"tag": "x"}}, "tag"), ({"params": {"reason": 5}}, "reason"),
])
def test_bad_redeploy_schedules_are_refused_by_field(world, client_for, shop, body, field):
    response = schedule(client_for("developer"), shop, **body)
    assert response.status_code == 400 and field in response.json(), response.content
    assert not Schedule.objects.exists()


def test_an_unknown_stack_is_not_found(world, client_for, shop):
    assert schedule(client_for("developer"), shop, stack=shop.pk + 100).status_code == 404


def test_a_stack_with_no_version_cannot_be_scheduled(world, client_for, shop):
    shop.versions.all().delete()
    response = schedule(client_for("developer"), shop)
    assert response.status_code == 409 and not Schedule.objects.exists()


def test_a_due_redeploy_runs_as_its_owner_a_normal_deploy(
        world, client_for, shop, sent, django_capture_on_commit_callbacks):
    made = schedule(client_for("developer"), shop).json()
    due(made["id"])
    with django_capture_on_commit_callbacks(execute=True):
        assert fire_due() == 1
    assert fire_due() == 0
    job = Job.objects.get()
    assert (job.kind, job.requested_by, job.params) == (
        "stack.deploy", world.user("developer"), {"stack": shop.pk, "version": 2})
    assert sent == [("console.jobs.execute", [job.pk], "host.h1")]
    version = shop.versions.get(number=2)
    assert (version.redeploy_of, version.message, version.job) == (1, "Version 1 again", job)
    ran = Schedule.objects.get()
    assert (ran.last_result, ran.last_job, ran.last_error) == ("requested", job, "")
    deploy = AuditEntry.objects.get(action="stack.deploy")
    assert (deploy.result, deploy.actor_name, deploy.job) == ("requested", "developer", job)
    run = AuditEntry.objects.get(action="schedule.run")
    assert (run.result, run.job, run.target_name) == ("requested", job, "shop")


def test_a_redeploy_the_owner_may_no_longer_make_fails_and_says_so(world, client_for, shop,
                                                                   sent):
    made = schedule(client_for("developer"), shop).json()
    Membership.objects.filter(user=world.user("developer")).update(role="operator")
    due(made["id"])
    fire_due()
    failed = Schedule.objects.get()
    assert (failed.last_result, failed.last_job) == ("failed", None)
    assert failed.last_error == "not run: developer may no longer redeploy stack shop."
    assert not Job.objects.exists() and sent == [] and shop.versions.count() == 1
    assert AuditEntry.objects.get(action="stack.deploy").result == "denied"
    assert AuditEntry.objects.get(action="schedule.run").error == failed.last_error


def test_a_redeploy_past_the_quota_fails_with_the_quotas_words(world, client_for, shop):
    made = schedule(client_for("developer"), shop).json()
    Quota.objects.create(team=world.teams["alpha"], host=world.hosts["h1"], containers=2)
    make_container(world.hosts["h1"], world.teams["alpha"], "filler", image=world.images["h1"])
    due(made["id"])
    fire_due()
    failed = Schedule.objects.get()
    assert failed.last_error == "not run: team alpha's quota on h1: 2 containers (2 in use)."
    assert shop.versions.count() == 1


def test_a_redeploy_carries_the_reason_the_team_requires(world, client_for, shop,
                                                         django_capture_on_commit_callbacks):
    team = world.teams["alpha"]
    team.reasons_required_for = ["stack-deploy"]
    team.save()
    without = schedule(client_for("developer"), shop).json()
    given = schedule(client_for("developer"), shop, cron="0 4 * * *",
                     params={"reason": "weekly refresh"}).json()
    due(without["id"])
    due(given["id"])
    with django_capture_on_commit_callbacks(execute=True):
        assert fire_due() == 2
    failed = Schedule.objects.get(pk=without["id"])
    assert failed.last_error == ("not run: Team alpha requires a reason for deploying a "
                                 "stack.")
    assert AuditEntry.objects.get(action="stack.deploy").params["reason"] == "weekly refresh"
    assert shop.versions.get(number=2).reason == "weekly refresh"


def test_the_stack_page_offers_schedules(world, client_for, shop):
    developer = client_for("developer")
    html = developer.get(f"/stacks/{shop.pk}/").content.decode()
    assert 'id="schedule-form"' in html and f'action="/stacks/{shop.pk}/schedules/"' in html
    assert 'id="schedule-form"' not in client_for("operator").get(
        f"/stacks/{shop.pk}/").content.decode()
    response = developer.post(f"/stacks/{shop.pk}/schedules/", {"cron": "never"})
    assert response.status_code == 400 and 'id="schedule-form"' in response.content.decode()
    assert not Schedule.objects.exists()
    response = developer.post(f"/stacks/{shop.pk}/schedules/",
                              {"cron": "@weekly", "message": "fresh"})
    assert response.status_code == 302 and response.url == f"/stacks/{shop.pk}/"
    made = Schedule.objects.get()
    assert (made.stack, made.action, made.params, made.owner) == (
        shop, "redeploy", {"message": "fresh"}, world.user("developer"))
    html = client_for("viewer").get(f"/stacks/{shop.pk}/").content.decode()
    assert 'id="stack-schedules"' in html and "@weekly" in html
    listed = client_for("viewer").get("/schedules/").content.decode()
    assert f'href="/stacks/{shop.pk}/">stack shop</a>' in listed
    assert client_for("stranger").post(f"/stacks/{shop.pk}/schedules/",
                                       {"cron": "@daily"}).status_code == 404
    response = client_for("developer").post(f"/schedules/{made.pk}/pause/")
    assert response.status_code == 302 and Schedule.objects.get().paused
