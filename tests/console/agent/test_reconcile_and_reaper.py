"""The database follows each host's engine (sync: the agent's listing through the real host
API, in process), and no job stays running forever."""
from datetime import timedelta

import pytest
from django.utils import timezone

from console.agent import sync as agent_sync, tasks, worker
from console.audit.models import AuditEntry
from console.containers.models import Container
from console.core.errors import RedisUnreachable
from console.core.testing import make_container
from console.hostapi import reconcile
from console.images.models import Image
from console.jobs import reaper
from console.jobs.models import Job


@pytest.fixture
def sync(agent):
    """One sync of host h1, its agent reporting `engine` (the counts the console answered)."""
    return lambda engine: agent_sync.sync_host(agent.api, engine)


def test_sync_adopts_updates_and_forgets(world, engine, sync):
    web = world.containers["web"]
    engine.create({"id": web.engine_id, "name": "web", "image": world.images["h1"].image_id})
    engine.start(web.engine_id)
    engine.kill(web.engine_id)                              # exited on its own: 137
    outside = engine.create({"name": "made-with-moor", "image": world.images["h1"].image_id})
    engine.start(outside)
    base = engine.add_image(["busybox:latest"])
    result = sync(engine)
    web.refresh_from_db()
    assert (web.state, web.exit_code) == ("exited", 137)
    adopted = Container.objects.get(engine_id=outside)
    assert adopted.name == "made-with-moor" and adopted.state == "running"
    assert adopted.team is None        # superusers only until a team is assigned
    assert result["added"] == 1 and result["updated"] == 1
    assert Image.objects.filter(host=world.hosts["h1"], image_id=base).exists()
    engine.remove(outside, force=True)
    for _ in range(3):          # SYNC_MISSES
        sync(engine)
    assert not Container.objects.filter(engine_id=outside).exists()
    assert list(Image.objects.filter(host=world.hosts["h1"]).values_list("image_id", flat=True)) \
        == [base]
    # Other hosts are not touched.
    assert Container.objects.filter(name="other").exists()


def test_sync_leaves_pending_and_busy_containers_alone(world, engine, sync):
    from console.containers import actions
    from console.containers.run_request import validate_run

    req = validate_run(world.user("developer"), {"image": "busybox", "host": "h1", "name": "new"})
    container, job = actions.run(world.user("developer"), req)
    sync(engine)
    assert Container.objects.filter(pk=container.pk).exists()


def test_a_restarted_worker_fails_the_jobs_its_predecessor_left_running(world, agent):
    job = Job.objects.create(kind="stop", host=world.hosts["h1"], state="running",
                             worker="h1@box:111", started_at=timezone.now())
    mine = Job.objects.create(kind="stop", host=world.hosts["h1"], state="running",
                              worker="h1@box:222")
    other = Job.objects.create(kind="stop", host=world.hosts["h2"], state="running",
                               worker="h2@box:111")
    assert agent.api.hello("h1@box:222")["reaped"] == 1
    job.refresh_from_db()
    assert job.state == "failed" and "worker stopped" in job.error and job.finished_at
    assert Job.objects.get(pk=mine.pk).state == "running"
    assert Job.objects.get(pk=other.pk).state == "running"


def test_a_silent_host_goes_offline_and_its_jobs_fail(world):
    host = world.hosts["h1"]
    host.last_seen = timezone.now() - timedelta(minutes=5)
    host.save()
    running = Job.objects.create(kind="stop", host=host, state="running")
    other = Job.objects.create(kind="stop", host=world.hosts["h2"], state="running")
    reaper.reap_stale()
    host.refresh_from_db()
    assert host.state == "offline" and not host.is_online
    assert Job.objects.get(pk=running.pk).state == "failed"
    assert Job.objects.get(pk=other.pk).state == "running"


def test_jobs_queued_too_long_fail(world, settings):
    settings.JOB_QUEUED_TIMEOUT_SECONDS = 60
    old = Job.objects.create(kind="start", host=world.hosts["h1"])
    Job.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    fresh = Job.objects.create(kind="start", host=world.hosts["h1"])
    reaper.reap_stale()
    assert Job.objects.get(pk=old.pk).state == "failed"
    assert Job.objects.get(pk=fresh.pk).state == "queued"


def test_a_pool_process_lost_mid_job_fails_the_job(world, agent):
    job = Job.objects.create(kind="stop", host=world.hosts["h1"], state="running",
                             worker=worker.worker_identity())
    tasks.fail_job_of_lost_worker(sender=tasks.execute_job, args=[job.pk],
                                       exception=RuntimeError("lost"))
    job.refresh_from_db()
    assert job.state == "failed" and "worker process died" in job.error


def test_a_pending_row_whose_job_is_over_is_forgotten(world, engine, sync):
    from console.containers import actions
    from console.containers.run_request import validate_run

    req = validate_run(world.user("developer"), {"image": "busybox", "host": "h1", "name": "lost"})
    container, job = actions.run(world.user("developer"), req)
    Job.objects.filter(pk=job.pk).update(state="failed")
    sync(engine)
    assert Container.objects.filter(pk=container.pk).exists()       # within the grace period
    Container.objects.filter(pk=container.pk).update(
        created_at=timezone.now() - timedelta(minutes=5))
    for _ in range(3):
        sync(engine)
    assert not Container.objects.filter(pk=container.pk).exists()


def test_a_job_the_broker_refuses_fails_at_once(world, monkeypatch,
                                                django_capture_on_commit_callbacks):
    from console.containers import actions
    from console.jobs import dispatch

    def refuse(*args, **kwargs):
        raise ConnectionError("redis is down")
    monkeypatch.setattr(dispatch.app, "send_task", refuse)
    with pytest.raises(RedisUnreachable):
        with django_capture_on_commit_callbacks(execute=True):
            actions.act(world.user("operator"), world.containers["web"], "stop")
    job = Job.objects.get(kind="stop")
    assert job.state == "failed" and "could not queue the job" in job.error


def test_sync_records_what_the_engine_reports_even_where_a_user_could_not_move(world, engine,
                                                                             sync):
    """`moor start` then `moor pause` between two syncs: the exited row becomes paused (and a
    dead one running), with the buttons of its real state."""
    web = world.containers["web"]
    other = make_container(world.hosts["h1"], world.teams["alpha"], "dead-one", state="dead")
    web.state = "exited"
    web.save()
    for row, reported in ((web, "paused"), (other, "running")):
        engine.create({"id": row.engine_id, "name": row.name, "image": "busybox"})
        engine.containers_by_id[row.engine_id]["Status"] = reported
    result = sync(engine)
    web.refresh_from_db()
    other.refresh_from_db()
    assert (web.state, other.state) == ("paused", "running")
    assert result["updated"] == 2


# -- forgetting carefully: rows carry teams, grants and names the engine does not know ---------

def engine_with(world, engine, *names):
    """`engine` holding h1's rows `names` (as running containers) and h1's image."""
    for name in names:
        row = Container.objects.get(host=world.hosts["h1"], name=name)
        engine.create({"id": row.engine_id, "name": name, "image": world.images["h1"].image_id,
                       "labels": {"moorage.team": "alpha"}})
        engine.start(row.engine_id)
    engine.image_rows[world.images["h1"].image_id] = {
        "Id": world.images["h1"].image_id, "RepoTags": ["busybox:latest"], "ParentId": "",
        "Created": 1_700_000_000, "Size": 1}
    return engine


def test_a_row_goes_only_after_missing_from_several_syncs_in_a_row(world, engine, settings,
                                                                   sync):
    settings.SYNC_MISSES = 3
    engine_with(world, engine, "web")
    sync(engine)
    saved = engine.containers_by_id.pop(world.containers["web"].engine_id)
    image = engine.image_rows.pop(world.images["h1"].image_id)
    for _ in range(2):
        assert sync(engine)["removed"] == 0
    assert Container.objects.get(name="web").missed_syncs == 2
    # Listed again (a slow engine, a blip): the count starts over.
    engine.containers_by_id[saved["Id"]] = saved
    engine.image_rows[image["Id"]] = image
    sync(engine)
    assert Container.objects.get(name="web").missed_syncs == 0
    assert Image.objects.get(pk=world.images["h1"].pk).missed_syncs == 0
    del engine.containers_by_id[saved["Id"]], engine.image_rows[image["Id"]]
    for _ in range(2):
        sync(engine)
    assert Container.objects.filter(name="web").exists()
    assert sync(engine)["removed"] == 1
    assert not Container.objects.filter(name="web").exists()
    assert not Image.objects.filter(pk=world.images["h1"].pk).exists()


def test_a_worker_on_another_engine_root_wipes_nothing(world, engine, client_for, sync):
    """The worker restarted on an empty MOORAGE_ROOT: its engine lists nothing. Containers,
    their grants and the image names stay until a superuser accepts the new root."""
    from console.grants.models import ContainerGrant

    host = world.hosts["h1"]
    ContainerGrant.objects.create(user=world.user("viewer"), container=world.containers["web"],
                                  actions=["start"])
    engine_with(world, engine, "web")
    sync(engine)
    host.refresh_from_db()
    assert host.synced_root == engine.paths.root and not host.root_changed

    from tests.console.fake_engine import FakeEngine
    empty = FakeEngine(root="/srv/empty-by-mistake")
    for _ in range(6):
        assert sync(empty)["removed"] == 0
    assert Container.objects.filter(name="web").exists()
    assert ContainerGrant.objects.filter(container__name="web").exists()
    assert Image.objects.filter(pk=world.images["h1"].pk).exists()
    # The heartbeat reports the root; the host says it changed.
    reconcile.mark_seen(host, worker="h1@box:1", facts={"engine_root": empty.paths.root})
    body = client_for("superuser").get(f"/api/hosts/{host.pk}/").json()
    assert body["root_changed"] is True
    assert "engine root changed" in client_for("superuser").get("/").content.decode()

    # Only a superuser accepts it (audited); then the rows the new root lacks go.
    answer = client_for("team_admin").post(f"/api/hosts/{host.pk}/accept-root/")
    assert answer.status_code == 403
    answer = client_for("superuser").post(f"/api/hosts/{host.pk}/accept-root/")
    assert answer.status_code == 200 and answer.json()["root_changed"] is False
    assert AuditEntry.objects.filter(action="host.accept_root", result="succeeded").exists()
    assert AuditEntry.objects.filter(action="host.accept_root", result="denied").exists()
    assert client_for("superuser").post(f"/api/hosts/{host.pk}/accept-root/").status_code == 409
    host.refresh_from_db()
    for _ in range(3):
        sync(empty)
    assert not Container.objects.filter(name="web").exists()


def test_an_adopted_row_belongs_to_the_team_its_label_names(world, engine, sync):
    host = world.hosts["h1"]
    lost = engine.create({"name": "lost-row", "image": world.images["h1"].image_id,
                          "labels": {"moorage.team": "alpha"}})
    moor = engine.create({"name": "made-with-moor", "image": world.images["h1"].image_id})
    built = engine.add_image(["alpha/app:1"], labels={"moorage.team": "alpha"})
    odd = engine.add_image(["alpha/odd:1"],
                           labels={"moorage.team": f"team-{world.teams['alpha'].pk}"})
    foreign = engine.add_image(["pulled:1"], labels={"moorage.team": "beta"})
    sync(engine)
    assert Container.objects.get(engine_id=lost).team == world.teams["alpha"]
    assert Container.objects.get(engine_id=moor).team is None
    assert Image.objects.get(host=host, image_id=built).team == world.teams["alpha"]
    assert Image.objects.get(host=host, image_id=odd).team == world.teams["alpha"]
    # beta is not granted h1: a label anyone could have written in a pulled image is not
    # believed.
    assert Image.objects.get(host=host, image_id=foreign).team is None


def test_a_sync_reads_the_rows_in_one_query_however_many_there_are(world, engine, sync):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    host = world.hosts["h1"]
    engine_with(world, engine, "web")

    def queries_for(count):
        for index in range(count):
            row = make_container(host, world.teams["alpha"], f"many-{count}-{index}")
            engine.create({"id": row.engine_id, "name": row.name, "image": "busybox"})
            engine.start(row.engine_id)
        sync(engine)          # settles the root and the rows
        with CaptureQueriesContext(connection) as captured:
            sync(engine)
        return len(captured)
    assert queries_for(5) == queries_for(40)


def test_a_sync_under_way_keeps_an_image_given_to_a_team_meanwhile(world, monkeypatch):
    """A sync reads an image's row and writes what the host reports a moment later; a team
    given the image in between keeps it."""
    host, team = world.hosts["h1"], world.teams["alpha"]
    image = Image.objects.create(host=host, image_id="sha256:" + "a" * 64, tags=["web:1"])
    read = Image.objects.get_or_create

    def read_then_given(*args, **kwargs):
        found = read(*args, **kwargs)
        Image.objects.filter(pk=image.pk).update(team=team)     # meanwhile, in the console
        return found

    monkeypatch.setattr(Image.objects, "get_or_create", read_then_given)
    reconcile.upsert_image(host, {"Id": image.image_id, "RepoTags": ["web:1", "web:2"]})
    image.refresh_from_db()
    assert (image.tags, image.team) == (["web:1", "web:2"], team)
