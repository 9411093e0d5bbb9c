"""Quotas through `/api/quotas/` and the team's usage page: superusers set and remove them (a
job applies them on the host at once), team admins see them and what their team uses, other
members are refused and strangers see nothing."""
import pytest
from django.utils import timezone

from console.audit.models import AuditEntry
from console.jobs.models import Job
from console.quotas.models import GroupReading, Quota

SET = {"team": "alpha", "host": "h1", "memory": "128m", "cpus": 1.5, "pids": 64,
       "containers": 10, "disk": "1g"}
USAGE = {"Memory": {"Current": 50 << 20, "Max": 128 << 20, "FailCount": 3, "OOMKills": 1},
         "Cpu": {"UsageNanos": 7_500_000_000, "Quota": 150000, "Period": 100000},
         "Pids": {"Current": 12, "Max": 64},
         "Containers": {"Total": 4, "Running": 3},
         "Disk": {"WritableLayers": 1 << 20, "Volumes": 2 << 20, "Total": 3 << 20}}


def post(client, body, capture):
    with capture(execute=True):
        return client.post("/api/quotas/", body, content_type="application/json")


def test_a_superuser_sets_a_quota_and_a_job_applies_it_on_the_host(
        world, client_for, sent, django_capture_on_commit_callbacks):
    response = post(client_for("superuser"), SET, django_capture_on_commit_callbacks)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["memory"], body["cpus"], body["pids"], body["containers"], body["disk"]) == (
        128 << 20, 1.5, 64, 10, 1 << 30)
    assert body["group"] == f"team-{world.teams['alpha'].pk}" and body["usage"] is None
    job = Job.objects.get(kind="quota")
    assert (job.host.name, job.team.name, job.target_name) == ("h1", "alpha", body["group"])
    assert sent == [("console.jobs.execute", [job.pk], "host.h1")]
    entry = AuditEntry.objects.get(action="quota.set")
    assert entry.params["memory"] == 128 << 20 and entry.params["previous"] is None
    assert entry.job_id == job.pk


def test_setting_again_replaces_and_audits_what_it_was(world, client_for, sent,
                                                       django_capture_on_commit_callbacks):
    client = client_for("superuser")
    post(client, SET, django_capture_on_commit_callbacks)
    response = post(client, {"team": "alpha", "host": "h1", "containers": 3},
                    django_capture_on_commit_callbacks)
    assert response.status_code == 201
    quota = Quota.objects.get()
    assert (quota.memory, quota.containers) == (0, 3)
    assert AuditEntry.objects.filter(action="quota.set").first().params["previous"][
        "memory"] == 128 << 20


def test_a_patch_changes_only_what_it_sends(world, client_for, sent,
                                            django_capture_on_commit_callbacks):
    client = client_for("superuser")
    quota_id = post(client, SET, django_capture_on_commit_callbacks).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch(f"/api/quotas/{quota_id}/", {"pids": 128},
                                content_type="application/json")
    assert response.status_code == 200, response.content
    assert (response.json()["pids"], response.json()["memory"]) == (128, 128 << 20)


@pytest.mark.parametrize("body,field", [
    ({"memory": "lots"}, "memory"), ({"memory": "1m"}, "memory"), ({"cpus": -1}, "cpus"),
    ({"cpus": 3}, "cpus"), ({"pids": 1.5}, "pids"), ({"containers": "x"}, "containers"),
    ({"host": "h2"}, "host"), ({"team": "nope"}, "team"), ({"swap": 1}, "swap"),
])
def test_bad_limits_are_refused_by_field(world, client_for, sent, body, field,
                                         django_capture_on_commit_callbacks):
    response = post(client_for("superuser"), {**SET, **body}, django_capture_on_commit_callbacks)
    assert response.status_code == 400 and field in response.json(), response.content
    assert not Quota.objects.exists() and sent == []


def test_only_superusers_set_quotas(world, client_for, sent, django_capture_on_commit_callbacks):
    response = post(client_for("team_admin"), SET, django_capture_on_commit_callbacks)
    assert response.status_code == 403
    assert not Quota.objects.exists()
    assert AuditEntry.objects.filter(action="quota.set", result="denied").exists()


def test_team_admins_see_their_quotas_with_usage_and_others_do_not(world, client_for):
    alpha, h1 = world.teams["alpha"], world.hosts["h1"]
    quota = Quota.objects.create(team=alpha, host=h1, memory=128 << 20, pids=64)
    GroupReading.objects.create(team=alpha, host=h1, usage=USAGE, cpus_in_use=0.25,
                                read_at=timezone.now())
    answer = client_for("team_admin").get("/api/quotas/").json()
    assert answer["count"] == 1
    usage = answer["results"][0]["usage"]
    assert (usage["memory"], usage["memory_max"], usage["pids"], usage["containers_running"],
            usage["disk"], usage["cpus_in_use"], usage["cpu_seconds"]) == (
        50 << 20, 128 << 20, 12, 3, 3 << 20, 0.25, 7.5)
    for persona in ("viewer", "developer", "stranger"):
        assert client_for(persona).get("/api/quotas/").json()["count"] == 0
        assert client_for(persona).get(f"/api/quotas/{quota.pk}/").status_code == 404


def test_removing_a_quota_leaves_the_group_without_limits(world, client_for, sent,
                                                          django_capture_on_commit_callbacks):
    quota = Quota.objects.create(team=world.teams["alpha"], host=world.hosts["h1"], pids=5)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for("superuser").delete(f"/api/quotas/{quota.pk}/")
    assert response.status_code == 204
    assert not Quota.objects.exists()
    assert Job.objects.get(kind="quota").params == {name: 0 for name in Quota.LIMITS}


def test_an_offline_host_gets_its_quota_at_its_next_sync(world, client_for, sent,
                                                         django_capture_on_commit_callbacks):
    type(world.hosts["h1"]).objects.filter(pk=world.hosts["h1"].pk).update(state="offline")
    response = post(client_for("superuser"), SET, django_capture_on_commit_callbacks)
    assert response.status_code == 201
    assert not Job.objects.filter(kind="quota").exists() and sent == []
    assert AuditEntry.objects.get(action="quota.set").result == "succeeded"


# -- the usage page ------------------------------------------------------------------------------

def test_the_usage_page_shows_use_against_quota(world, client_for):
    alpha, h1 = world.teams["alpha"], world.hosts["h1"]
    Quota.objects.create(team=alpha, host=h1, memory=128 << 20, pids=64, containers=10)
    GroupReading.objects.create(team=alpha, host=h1, usage=USAGE, read_at=timezone.now())
    response = client_for("team_admin").get(f"/teams/{alpha.pk}/usage/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-metric="memory" data-label="Memory" data-used="52428800" ' \
           'data-limit="134217728"' in html
    assert 'data-metric="pids" data-label="PIDs" data-used="12" data-limit="64"' in html
    assert "3 of 10 (4 in all)" in html
    assert "js/usage.js" in html and 'id="quota-form"' not in html


def test_superusers_set_quotas_from_the_page(world, client_for, sent,
                                             django_capture_on_commit_callbacks):
    alpha = world.teams["alpha"]
    client = client_for("superuser")
    assert 'id="quota-form"' in client.get(f"/teams/{alpha.pk}/usage/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/teams/{alpha.pk}/quotas/", {
            "host": world.hosts["h1"].pk, "memory": "256m", "containers": "4"})
    assert response.status_code == 302
    assert Quota.objects.get().limits() == {"memory": 256 << 20, "cpus": 0, "pids": 0,
                                            "containers": 4, "disk": 0}
    bad = client.post(f"/teams/{alpha.pk}/quotas/", {"host": world.hosts["h1"].pk,
                                                     "memory": "a lot"})
    assert bad.status_code == 400 and "A size" in bad.content.decode()


@pytest.mark.parametrize("persona,status", [("viewer", 403), ("developer", 403),
                                            ("stranger", 404), ("team_admin", 200),
                                            ("superuser", 200)])
def test_who_sees_the_usage_page(world, client_for, persona, status):
    response = client_for(persona).get(f"/teams/{world.teams['alpha'].pk}/usage/")
    assert response.status_code == status
