"""The database follows each host's engine (sync), and no job stays running forever."""
from datetime import timedelta

from django.utils import timezone

from console.containers.models import Container
from console.core.testing import make_container
from console.images.models import Image
from console.jobs import host_tasks, reaper, reconcile
from console.jobs.models import Job


def test_sync_adopts_updates_and_forgets(world, engine):
    web = world.containers["web"]
    engine.create({"id": web.engine_id, "name": "web", "image": world.images["h1"].image_id})
    engine.start(web.engine_id)
    engine.kill(web.engine_id)                              # exited on its own: 137
    outside = engine.create({"name": "made-with-moor", "image": world.images["h1"].image_id})
    engine.start(outside)
    base = engine.add_image(["busybox:latest"])
    result = reconcile.sync_host(world.hosts["h1"], engine)
    web.refresh_from_db()
    assert (web.state, web.exit_code) == ("exited", 137)
    adopted = Container.objects.get(engine_id=outside)
    assert adopted.name == "made-with-moor" and adopted.state == "running"
    assert adopted.team is None        # superusers only until a team is assigned
    assert result["added"] == 1 and result["updated"] == 1
    assert list(Image.objects.filter(host=world.hosts["h1"]).values_list("image_id", flat=True)) \
        == [base]
    engine.remove(outside, force=True)
    reconcile.sync_host(world.hosts["h1"], engine)
    assert not Container.objects.filter(engine_id=outside).exists()
    # Other hosts are not touched.
    assert Container.objects.filter(name="other").exists()


def test_sync_leaves_pending_and_busy_containers_alone(world, engine):
    from console.containers import actions
    from console.containers.options import validate_run

    req = validate_run(world.user("developer"), {"image": "busybox", "host": "h1", "name": "new"})
    container, job = actions.run(world.user("developer"), req)
    reconcile.sync_host(world.hosts["h1"], engine)
    assert Container.objects.filter(pk=container.pk).exists()


def test_a_restarted_worker_fails_the_jobs_its_predecessor_left_running(world):
    job = Job.objects.create(kind="stop", host=world.hosts["h1"], state="running",
                             worker="h1@box:111", started_at=timezone.now())
    mine = Job.objects.create(kind="stop", host=world.hosts["h1"], state="running",
                              worker="h1@box:222")
    assert reaper.reap_after_restart(world.hosts["h1"], "h1@box:222") == 1
    job.refresh_from_db()
    assert job.state == "failed" and "worker stopped" in job.error and job.finished_at
    assert Job.objects.get(pk=mine.pk).state == "running"


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


def test_a_pool_process_lost_mid_job_fails_the_job(world):
    job = Job.objects.create(kind="stop", host=world.hosts["h1"], state="running")
    host_tasks.fail_job_of_lost_worker(sender=host_tasks.execute_job, args=[job.pk],
                                       exception=RuntimeError("lost"))
    job.refresh_from_db()
    assert job.state == "failed" and "worker process died" in job.error


def test_a_pending_row_whose_job_is_over_is_forgotten(world, engine):
    from console.containers import actions
    from console.containers.options import validate_run

    req = validate_run(world.user("developer"), {"image": "busybox", "host": "h1", "name": "lost"})
    container, job = actions.run(world.user("developer"), req)
    Job.objects.filter(pk=job.pk).update(state="failed")
    reconcile.sync_host(world.hosts["h1"], engine)
    assert Container.objects.filter(pk=container.pk).exists()       # within the grace period
    Container.objects.filter(pk=container.pk).update(
        created_at=timezone.now() - timedelta(minutes=5))
    reconcile.sync_host(world.hosts["h1"], engine)
    assert not Container.objects.filter(pk=container.pk).exists()


def test_a_job_the_broker_refuses_fails_at_once(world, monkeypatch,
                                                django_capture_on_commit_callbacks):
    from console.containers import actions
    from console.jobs import dispatch

    def refuse(*args, **kwargs):
        raise ConnectionError("redis is down")
    monkeypatch.setattr(dispatch.app, "send_task", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        job = actions.act(world.user("operator"), world.containers["web"], "stop")
    job.refresh_from_db()
    assert job.state == "failed" and "could not queue the job" in job.error


def test_sync_records_what_the_engine_reports_even_where_a_user_could_not_move(world, engine):
    """`moor start` then `moor pause` between two syncs: the exited row becomes paused (and a
    dead one running), with the buttons of its real state."""
    web = world.containers["web"]
    other = make_container(world.hosts["h1"], world.teams["alpha"], "dead-one", state="dead")
    web.state = "exited"
    web.save()
    for row, reported in ((web, "paused"), (other, "running")):
        engine.create({"id": row.engine_id, "name": row.name, "image": "busybox"})
        engine.containers_by_id[row.engine_id]["Status"] = reported
    result = reconcile.sync_host(world.hosts["h1"], engine)
    web.refresh_from_db()
    other.refresh_from_db()
    assert (web.state, other.state) == ("paused", "running")
    assert result["updated"] == 2
