"""The host's side of quotas, against a fake engine and the real host API (in process): a
team's containers are made in its group, whose limits are its quota on the host, set before
the container is made or started, by a superuser's `quota` job, and again at each sync, which
also stores the group's reading."""
from datetime import timedelta

import pytest
from django.utils import timezone

from console.agent import tasks, team_groups
from console.containers import actions
from console.containers.run_request import validate_run
from console.jobs.models import Job
from console.quotas.models import GroupReading, Quota

pytestmark = pytest.mark.usefixtures("agent")


def request_run(world, **extra):
    req = validate_run(world.user("developer"), {"image": "busybox", "host": "h1", **extra})
    return actions.run(world.user("developer"), req)


def test_a_teams_container_is_made_in_its_group_with_its_quota(world, engine):
    alpha = world.teams["alpha"]
    Quota.objects.create(team=alpha, host=world.hosts["h1"], memory=128 << 20, cpus=0.5,
                         pids=20, containers=10)
    container, job = request_run(world, name="grouped", cmd=["sleep", "300"])
    tasks.execute_job(job.pk)
    verbs = [call[0] for call in engine.calls]
    assert verbs.index("group_set") < verbs.index("create")
    assert next(call for call in engine.calls if call[0] == "group_set") == (
        "group_set", f"team-{alpha.pk}", 128 << 20, 0.5, 20)
    options = next(call[1] for call in engine.calls if call[0] == "create")
    assert options["group"] == f"team-{alpha.pk}"


def test_a_team_without_a_quota_has_a_group_without_limits(world, engine):
    container, job = request_run(world, name="free", cmd=["sleep", "300"])
    tasks.execute_job(job.pk)
    assert engine.groups_by_name[world.teams["alpha"].group] == {
        "Name": world.teams["alpha"].group, "Memory": 0, "NanoCpus": 0, "PidsLimit": 0}


def test_a_quota_job_applies_the_quota_as_it_is_when_it_runs(world, engine):
    alpha, h1 = world.teams["alpha"], world.hosts["h1"]
    quota = Quota.objects.create(team=alpha, host=h1, pids=10)
    job = Job.objects.create(kind="quota", host=h1, team=alpha, target_name=alpha.group,
                             requested_by=world.user("superuser"), params={"pids": 10})
    Quota.objects.filter(pk=quota.pk).update(pids=30)      # changed again meanwhile
    assert tasks.execute_job(job.pk) == "succeeded"
    job.refresh_from_db()
    assert job.result == {"group": alpha.group, "memory": 0, "nano_cpus": 0, "pids": 30}


def test_the_sync_applies_changed_quotas_and_stores_readings(world, engine):
    alpha, h1 = world.teams["alpha"], world.hosts["h1"]
    Quota.objects.create(team=alpha, host=h1, memory=64 << 20)
    engine.group_usage[alpha.group] = {"Memory": {"Current": 1 << 20},
                                       "Cpu": {"UsageNanos": 10 ** 9}}
    engine.groups_by_name["team-999"] = {"Name": "team-999", "Memory": 0, "NanoCpus": 0,
                                         "PidsLimit": 0}          # no such team: left alone
    tasks.sync_host("h1")
    assert engine.groups_by_name[alpha.group]["Memory"] == 64 << 20
    reading = GroupReading.objects.get()
    assert (reading.team, reading.host, reading.usage["Memory"]["Current"]) == (alpha, h1, 1 << 20)
    assert reading.limits == {"Memory": 64 << 20, "NanoCpus": 0, "PidsLimit": 0}
    assert reading.cpus_in_use is None
    engine.group_usage[alpha.group] = {"Cpu": {"UsageNanos": 3 * 10 ** 9}}
    GroupReading.objects.filter(pk=reading.pk).update(read_at=timezone.now() - timedelta(
        seconds=4))
    tasks.sync_host("h1")
    assert 0.45 < GroupReading.objects.get().cpus_in_use <= 0.5     # 2 CPU-seconds in 4


def test_the_limits_travel_to_the_engine_as_it_takes_them(world):
    assert not team_groups.differ({"Memory": 1, "NanoCpus": 300_000_000, "PidsLimit": 2},
                                  {"Memory": 1, "NanoCpus": 299_999_999, "PidsLimit": 2})
    assert team_groups.differ(None, dict(team_groups.NO_LIMITS))
