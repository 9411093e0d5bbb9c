"""The host side of jobs, against a fake engine at the runtime boundary and the real host API
(in process): claiming, each kind's handler, the engine's error text on the job, and rows that
follow the engine."""
import pytest

from console.agent import tasks
from console.containers import actions
from console.containers.models import Container
from console.containers.run_request import validate_run
from console.images.models import Commit, Image
from console.jobs.models import Job

pytestmark = pytest.mark.usefixtures("agent")


def request_run(world, **extra):
    req = validate_run(world.user("developer"), {"image": "busybox", "host": "h1", **extra})
    return actions.run(world.user("developer"), req)


def test_a_job_is_claimed_once(world, engine):
    container, job = request_run(world, name="once", cmd=["sleep", "300"])
    assert tasks.execute_job(job.pk) == "succeeded"
    assert tasks.execute_job(job.pk) == "already claimed"
    assert [call[0] for call in engine.calls].count("create") == 1


def test_run_makes_a_running_container(world, engine):
    container, job = request_run(world, name="web2", cmd=["sleep", "300"], memory="64m")
    tasks.execute_job(job.pk)
    job.refresh_from_db()
    container.refresh_from_db()
    assert job.state == "succeeded" and job.started_at and job.finished_at
    assert container.state == "running" and container.started_at is not None
    options = next(call[1] for call in engine.calls if call[0] == "create")
    assert options["id"] == container.engine_id and options["name"] == "web2"
    assert options["cmd"] == ["sleep", "300"] and options["memory"] == 64 * 2 ** 20
    assert options["image"] == world.images["h1"].image_id


def test_an_engine_error_fails_the_job_with_its_message_and_leaves_no_row(world, engine):
    container, job = request_run(world, name="broken")
    engine.fail("create", "No such image: sha256:0123")
    tasks.execute_job(job.pk)
    job.refresh_from_db()
    assert job.state == "failed" and job.error == "No such image: sha256:0123"
    assert not Container.objects.filter(pk=container.pk).exists()


def test_a_failed_start_of_run_removes_the_container(world, engine):
    container, job = request_run(world, name="nostart", cmd=["/nonexistent"])
    engine.fail("start", 'exec: "/nonexistent": no such file or directory')
    tasks.execute_job(job.pk)
    job.refresh_from_db()
    assert job.state == "failed" and "no such file" in job.error
    assert not Container.objects.filter(pk=container.pk).exists()
    assert engine.containers_by_id == {}


@pytest.mark.parametrize("verb, state, exit_code", [("stop", "exited", 143),
                                                    ("kill", "exited", 137),
                                                    ("restart", "running", None)])
def test_lifecycle_jobs_record_the_engine_state(world, engine, verb, state, exit_code):
    container, job = request_run(world, name="lc")
    tasks.execute_job(job.pk)
    job = actions.act(world.user("developer"), Container.objects.get(pk=container.pk), verb)
    tasks.execute_job(job.pk)
    container.refresh_from_db()
    assert container.state == state and container.exit_code == exit_code
    assert Job.objects.get(pk=job.pk).state == "succeeded"


def test_remove_deletes_the_row(world, engine):
    container, job = request_run(world, name="gone")
    tasks.execute_job(job.pk)
    job = actions.act(world.user("developer"), Container.objects.get(pk=container.pk), "remove",
                      params={"force": True})
    tasks.execute_job(job.pk)
    assert not Container.objects.filter(pk=container.pk).exists()
    job.refresh_from_db()
    assert job.state == "succeeded" and job.target_name == "gone"


def test_a_failed_remove_restores_the_state(world, engine):
    container, job = request_run(world, name="stays")
    tasks.execute_job(job.pk)
    job = actions.act(world.user("developer"), Container.objects.get(pk=container.pk), "remove")
    assert Container.objects.get(pk=container.pk).state == "removing"
    tasks.execute_job(job.pk)
    job.refresh_from_db()
    assert job.state == "failed" and "cannot remove a running container" in job.error
    assert Container.objects.get(pk=container.pk).state == "running"


def test_commit_records_the_image_and_the_file_changes(world, engine):
    container, job = request_run(world, name="src")
    tasks.execute_job(job.pk)
    developer = world.user("developer")
    job = actions.act(developer, Container.objects.get(pk=container.pk), "commit",
                      params={"repository": "alpha/tool", "tag": "v1", "message": "add tool",
                              "changes": ["CMD [\"sh\"]"]})
    tasks.execute_job(job.pk)
    job.refresh_from_db()
    assert job.state == "succeeded", job.error
    commit = Commit.objects.get()
    assert commit.author == developer and commit.message == "add tool"
    assert commit.file_changes == [{"kind": "A", "path": "/new", "size": 4},
                                   {"kind": "C", "path": "/etc", "size": 0},
                                   {"kind": "D", "path": "/old", "size": 0}]
    image = Image.objects.get(image_id=commit.new_image_id)
    assert image.tags == ["alpha/tool:v1"] and image.team.name == "alpha"
    assert image.parent_id == world.images["h1"].image_id
    commit_call = next(call for call in engine.calls if call[0] == "commit")
    assert commit_call[2] == "alpha/tool:v1" and commit_call[3] == "add tool"
    assert commit_call[4] == "developer <developer@example.test>"


def test_commit_refuses_changes_it_does_not_know(world):
    from console.core.errors import Invalid

    with pytest.raises(Invalid) as error:
        actions.act(world.user("developer"), world.containers["web"], "commit",
                    params={"changes": ["RUN rm -rf /"]})
    assert "only CMD" in str(error.value)
    assert not Job.objects.exists()


def test_an_unexpected_error_still_finishes_the_job(world, engine, monkeypatch):
    container, job = request_run(world, name="bug")
    monkeypatch.setitem(tasks.HANDLERS, "run",
                        lambda job, engine, report: (_ for _ in ()).throw(KeyError("x")))
    tasks.execute_job(job.pk)
    job.refresh_from_db()
    assert job.state == "failed" and job.error.startswith("internal error: KeyError")


def test_a_job_the_reaper_failed_meanwhile_keeps_the_reapers_verdict(world, engine,
                                                                   monkeypatch):
    """The host looked silent while a long stop ran: the reaper failed the job. The worker
    finishing later must not overwrite that with its own outcome."""
    from console.jobs import reaper

    job = actions.act(world.user("operator"), world.containers["web"], "stop")
    engine.create({"id": world.containers["web"].engine_id, "name": "web", "image": "busybox"})
    engine.start(world.containers["web"].engine_id)
    stop = engine.stop

    def slow_stop(ref, timeout=None):
        reaper.fail(Job.objects.filter(pk=job.pk), "the host's worker stopped responding")
        stop(ref, timeout)
    monkeypatch.setattr(engine, "stop", slow_stop)
    tasks.execute_job(job.pk)
    job.refresh_from_db()
    assert (job.state, job.error) == ("failed", "the host's worker stopped responding")


def test_a_job_another_worker_holds_is_not_finished_here(world, engine):
    container, job = request_run(world, name="elsewhere")
    Job.objects.filter(pk=job.pk).update(state="running", worker="h1@other:1")
    assert tasks.finish(job.pk, tasks.worker_identity(), Job.State.SUCCEEDED) is False
    job.refresh_from_db()
    assert (job.state, job.worker) == ("running", "h1@other:1")
