"""The console's side of a team's quota on a host: the runs and starts it refuses, with the
message that says which quota and how much is in use, audited, and nothing made or sent."""
import pytest
from django.utils import timezone

from console.audit.models import AuditEntry
from console.containers.models import Container
from console.core.testing import make_container
from console.jobs.models import Job
from console.quotas.checks import QuotaExceeded, check_quota, containers_in_use
from console.quotas.models import GroupReading, Quota

RUN = {"image": "busybox", "host": "h1", "team": "alpha", "cmd": ["sleep", "300"]}


def limit(world, **limits):
    return Quota.objects.create(team=world.teams["alpha"], host=world.hosts["h1"], **limits)


def fill(world, running: int, state="running"):
    """Give alpha `running` containers on h1 in `state`, besides `web` (running)."""
    for number in range(running):
        make_container(world.hosts["h1"], world.teams["alpha"], f"filler{number}",
                       image=world.images["h1"], state=state)


def run(client, django_capture_on_commit_callbacks, **extra):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post("/api/containers/", {**RUN, **extra}, content_type="application/json")


def test_the_eleventh_running_container_of_a_team_limited_to_ten_is_refused(
        world, client_for, sent, django_capture_on_commit_callbacks):
    limit(world, containers=10)
    fill(world, 9)
    response = run(client_for("developer"), django_capture_on_commit_callbacks, name="eleven")
    assert response.status_code == 403
    assert response.json() == {"detail": "team alpha's quota on h1: 10 containers (10 in use)."}
    assert not Container.objects.filter(name="eleven").exists() and sent == []
    entry = AuditEntry.objects.get(action="container.run", result="denied")
    assert entry.error == "team alpha's quota on h1: 10 containers (10 in use)."
    assert (entry.team_name, entry.host_name, entry.target_name) == ("alpha", "h1", "eleven")


def test_the_tenth_is_run(world, client_for, sent, django_capture_on_commit_callbacks):
    limit(world, containers=10)
    fill(world, 8)
    response = run(client_for("developer"), django_capture_on_commit_callbacks, name="ten")
    assert response.status_code == 202, response.content
    assert len(sent) == 1


def test_stopped_containers_and_other_hosts_do_not_count(world, client_for, sent,
                                                         django_capture_on_commit_callbacks):
    limit(world, containers=2)
    fill(world, 5, state="exited")
    make_container(world.hosts["h2"], world.teams["alpha"], "elsewhere", state="running")
    response = run(client_for("developer"), django_capture_on_commit_callbacks, name="second")
    assert response.status_code == 202, response.content


def test_a_queued_run_counts_until_it_is_done(world, client_for, sent,
                                              django_capture_on_commit_callbacks):
    limit(world, containers=2)
    client = client_for("developer")
    assert run(client, django_capture_on_commit_callbacks, name="two").status_code == 202
    response = run(client, django_capture_on_commit_callbacks, name="three")
    assert response.status_code == 403
    assert "2 containers (2 in use)" in response.json()["detail"]


def test_a_container_made_without_starting_it_does_not_count(world, client_for, sent,
                                                             django_capture_on_commit_callbacks):
    limit(world, containers=1)
    response = run(client_for("developer"), django_capture_on_commit_callbacks, name="later",
                   start=False)
    assert response.status_code == 202, response.content


def test_a_start_past_the_quota_is_refused_and_a_restart_of_a_running_one_is_not(
        world, client_for, sent, django_capture_on_commit_callbacks):
    limit(world, containers=1)
    stopped = make_container(world.hosts["h1"], world.teams["alpha"], "stopped",
                             image=world.images["h1"], state="exited")
    client = client_for("operator")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/containers/{stopped.engine_id}/start/", {},
                               content_type="application/json")
    assert response.status_code == 403
    assert response.json()["detail"] == "team alpha's quota on h1: 1 containers (1 in use)."
    assert AuditEntry.objects.get(action="container.start", result="denied").target_id == \
        stopped.engine_id
    with django_capture_on_commit_callbacks(execute=True):
        restart = client.post(f"/api/containers/{world.containers['web'].engine_id}/restart/",
                              {}, content_type="application/json")
    assert restart.status_code == 202
    assert [job.kind for job in Job.objects.filter(kind__in=("start", "restart"))] == ["restart"]


def test_nothing_is_made_or_started_while_the_disk_is_at_its_quota(
        world, client_for, sent, django_capture_on_commit_callbacks):
    limit(world, disk=10 << 20)
    GroupReading.objects.create(team=world.teams["alpha"], host=world.hosts["h1"],
                                usage={"Disk": {"Total": 12 << 20}}, read_at=timezone.now())
    response = run(client_for("developer"), django_capture_on_commit_callbacks, name="full",
                   start=False)
    assert response.status_code == 403
    assert response.json()["detail"] == "team alpha's quota on h1: 10 MiB of disk (12 MiB in use)."


def test_a_stack_adds_its_count_and_its_volumes(world):
    """What the stacks app calls before a deploy."""
    limit(world, containers=4, disk=100 << 20)
    GroupReading.objects.create(team=world.teams["alpha"], host=world.hosts["h1"],
                                usage={"Disk": {"Total": 60 << 20}}, read_at=timezone.now())
    check_quota(world.teams["alpha"], world.hosts["h1"], adding={"containers": 3})
    with pytest.raises(QuotaExceeded, match=r"4 containers \(1 in use\)"):
        check_quota(world.teams["alpha"], world.hosts["h1"], adding={"containers": 4})
    with pytest.raises(QuotaExceeded, match=r"100 MiB of disk \(60 MiB in use\)"):
        check_quota(world.teams["alpha"], world.hosts["h1"], adding={"disk": 50 << 20})


def test_memory_cpus_and_pids_are_the_kernels_to_hold(world, client_for, sent,
                                                      django_capture_on_commit_callbacks):
    """Limits overcommit, as Docker's do: a container may ask more than its team's quota."""
    limit(world, memory=128 << 20, cpus=0.5, pids=20)
    response = run(client_for("developer"), django_capture_on_commit_callbacks, name="big",
                   memory="1g", cpus=2, pids_limit=1000)
    assert response.status_code == 202, response.content


def test_in_use_counts_what_queued_starts_will_run(world, client_for, sent,
                                                   django_capture_on_commit_callbacks):
    stopped = make_container(world.hosts["h1"], world.teams["alpha"], "stopped",
                             image=world.images["h1"], state="exited")
    assert containers_in_use(world.teams["alpha"], world.hosts["h1"]) == 1
    with django_capture_on_commit_callbacks(execute=True):
        client_for("operator").post(f"/api/containers/{stopped.engine_id}/start/", {},
                                    content_type="application/json")
    assert containers_in_use(world.teams["alpha"], world.hosts["h1"]) == 2
