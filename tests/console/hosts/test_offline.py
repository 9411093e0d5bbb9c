"""A host that stops sending heartbeats is offline: its containers show as unknown (the API
keeps the engine's last state and says `host_state`), its jobs fail at once saying "host
offline", and when it is back a sync makes the console right again, every row keeping its
team."""
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from console.agent import console_api, sync as agent_sync
from console.containers.models import Container
from console.core.errors import Conflict
from console.core.testing import make_container
from console.hosts.models import Host
from console.jobs import dispatch, reaper
from console.jobs.models import Job
from console.streams import groups


def go_silent(host, hours=1):
    Host.objects.filter(pk=host.pk).update(last_seen=timezone.now() - timedelta(hours=hours))
    host.refresh_from_db()


def test_the_api_keeps_the_last_state_and_says_the_host_is_offline(world, client_for):
    web = world.containers["web"]
    client = client_for("viewer")
    assert client.get(f"/api/containers/{web.engine_id}/").json()["host_state"] == "online"
    go_silent(world.hosts["h1"])
    answer = client.get(f"/api/containers/{web.engine_id}/").json()
    assert (answer["state"], answer["host_state"]) == ("running", "offline")
    assert [c["name"] for c in client.get("/api/containers/?host_state=offline").json()[
        "results"]] == ["web"]
    assert client.get("/api/containers/?host_state=online").json()["results"] == []


def test_pages_show_the_containers_of_an_offline_host_as_unknown(world, client_for):
    web = world.containers["web"]
    make_container(world.hosts["h1"], world.teams["alpha"], "stopped", state="exited")
    client = client_for("viewer")
    listing = client.get("/containers/").content.decode()
    assert 'class="badge s-running c-state" data-state="running"' in listing
    go_silent(world.hosts["h1"])
    listing = client.get("/containers/").content.decode()
    assert ('<span class="badge s-unknown c-state" data-state="running" title="last known: '
            'running (host h1 is offline)">unknown</span>') in listing
    assert f'data-container="{web.engine_id}" data-on-host="h1"' in listing
    assert "s-running c-state" not in listing
    unknown = client.get("/containers/?state=unknown").content.decode()
    assert "/containers/" + web.engine_id in unknown and ">stopped<" in unknown
    # A state filter shows what is known to be in that state.
    assert web.engine_id not in client.get("/containers/?state=running").content.decode()
    detail = client.get(f"/containers/{web.engine_id}/").content.decode()
    assert 'id="state" data-state="running" title="last known: running (host h1 is ' \
           'offline)">unknown</span>' in detail


def test_live_events_say_the_host_state(world):
    """What pages are told of a container carries its host's state, so they show it unknown."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from console.streams import publish
    from tests.console.streams_fixtures import drain

    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(groups.team_group(world.teams["alpha"].pk), channel)
    go_silent(world.hosts["h1"])
    publish.container_changed(world.containers["web"])
    [event] = [m for m in drain(layer, channel) if m["type"] == "container.event"]
    assert event["container"]["host_state"] == "offline"


def test_jobs_queued_for_a_host_that_goes_silent_fail_at_once(world, settings):
    settings.JOB_QUEUED_TIMEOUT_SECONDS = 3600          # long before the queued timeout
    h1 = world.hosts["h1"]
    queued = Job.objects.create(kind="stop", host=h1, container=world.containers["web"])
    elsewhere = Job.objects.create(kind="stop", host=world.hosts["h2"])
    go_silent(h1)
    reaper.reap_stale()
    queued.refresh_from_db()
    assert queued.state == "failed" and queued.finished_at
    assert queued.error.startswith("host offline: h1 has sent no heartbeat since ")
    assert Job.objects.get(pk=elsewhere.pk).state == "queued"


def test_an_action_on_an_offline_host_is_refused_at_once(world, client_for):
    go_silent(world.hosts["h1"])
    web = world.containers["web"]
    response = client_for("operator").post(f"/api/containers/{web.engine_id}/stop/")
    assert response.status_code == 409 and "offline" in response.json()["detail"]
    response = client_for("developer").post(
        "/api/containers/", json.dumps({"image": "busybox", "host": "h1"}),
        content_type="application/json")
    assert response.status_code == 400 and "offline" in response.json()["host"][0]
    assert not Job.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_job_for_a_host_gone_silent_by_the_time_it_is_sent_fails_at_once(world, client_for,
                                                                           sent):
    """Whatever made the job (a host's sync here, which checks nothing else), it is not sent to
    a host that is offline when its transaction commits: it fails, saying so, and what its
    request changed is taken back."""
    h1 = world.hosts["h1"]
    go_silent(h1)
    response = client_for("superuser").post(f"/api/hosts/{h1.pk}/sync/")
    assert response.status_code == 409
    assert response.json()["detail"].startswith("Host offline: h1 has sent no heartbeat since")
    job = Job.objects.get(kind="sync")
    assert job.state == "failed" and job.error.startswith("host offline: h1")
    assert sent == []
    undone = []
    job = Job.objects.create(kind="start", host=h1)
    with pytest.raises(Conflict):
        dispatch.enqueue_on_commit(job, undo=lambda: undone.append(job.pk))
    assert undone == [job.pk] and Job.objects.get(pk=job.pk).state == "failed"


def test_back_online_a_sync_makes_the_console_right_keeping_every_team(world, engine, agent):
    """While h1 was silent, `web` exited and a run whose job the reaper failed (the host
    stopped answering during it) made its container after all. Back, one sync shows both as
    the engine has them, each still its team's."""
    h1, alpha = world.hosts["h1"], world.teams["alpha"]
    web = world.containers["web"]
    late = make_container(h1, alpha, "late", state="pending")
    job = Job.objects.create(kind="run", host=h1, team=alpha, container=late, state="running")
    for container in (web, late):
        engine.create({"id": container.engine_id, "name": container.name,
                       "image": world.images["h1"].image_id,
                       "labels": {"moorage.team": "alpha"}})
        engine.start(container.engine_id)
    engine.kill(web.engine_id)
    go_silent(h1)
    reaper.reap_stale()
    assert Job.objects.get(pk=job.pk).state == "failed"
    agent.api.heartbeat("h1@box:2", {}, {})       # through the host API, as its agent does
    h1.refresh_from_db()
    agent_sync.sync_host(console_api.get_api(), engine)
    web.refresh_from_db()
    late.refresh_from_db()
    assert (web.state, web.exit_code, web.team) == ("exited", 137, alpha)
    assert (late.state, late.team) == ("running", alpha)
    assert h1.is_online and Container.objects.filter(host=h1).count() == 2


def test_a_run_no_worker_took_leaves_no_pending_container(world, client_for):
    """Its host went silent before its worker took the job: no engine made the container, so
    its row goes with the failed job instead of showing, unknown, until the host is back."""
    response = client_for("developer").post(
        "/api/containers/", json.dumps({"image": "busybox", "host": "h1", "name": "unmade"}),
        content_type="application/json")
    job = Job.objects.get(pk=response.json()["id"])
    go_silent(world.hosts["h1"])
    reaper.reap_stale()
    job.refresh_from_db()
    assert job.state == "failed" and job.error.startswith("host offline: h1")
    assert not Container.objects.filter(name="unmade").exists()
    assert Container.objects.filter(name="web").exists()
