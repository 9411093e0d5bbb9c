"""The web process's housekeeping (`console/housekeeping.py`): a background thread, started by
the first HTTP request a process serves, fails the jobs that can never finish, ends the
terminal sessions nobody resumed, deletes the contexts of builds that are over. Pages and the
API only read: the permission matrix proves a GET changes nothing with this same stale work in
its world; here, the same pages once more, plainly."""
import pytest

from console import housekeeping
from console.audit.models import AuditEntry
from console.grants.models import ContainerGrant
from console.hosts.models import Host
from console.images.models import BuildContext
from console.jobs.models import Job
from console.streams.models import TerminalSession
from tests.console.matrix_world import add_stale_work
from tests.stack import wait_until
from tests.stream_client import run


def stale_world(world):
    add_stale_work(world, world.containers["web"])
    queued = Job.objects.get(state="queued")
    over = Job.objects.create(kind="build", host=world.hosts["h1"], team=world.teams["alpha"],
                              state="failed")
    BuildContext.objects.create(job=queued, archive=b"x", size=1, sha256="0" * 64)
    BuildContext.objects.create(job=over, archive=b"y", size=1, sha256="1" * 64)
    return queued


@pytest.mark.django_db
def test_one_round_ends_what_cannot_go_on(world):
    queued = stale_world(world)
    done = housekeeping.run_once()
    assert done == {"jobs": 2, "sessions": 1, "contexts": 1, "grants": 1}
    queued.refresh_from_db()
    assert queued.state == "failed" and "no worker of the host took the job" in queued.error
    running = Job.objects.get(host__name="gone")
    assert running.state == "failed" and "stopped responding" in running.error
    assert Host.objects.get(name="gone").state == "offline"
    session = TerminalSession.objects.get(ended_at__isnull=False)
    assert session.end_reason == "not resumed"
    assert AuditEntry.objects.filter(action="container.terminal.close").count() == 1
    # The context of the build that is over went; the queued one's waited for its job.
    assert list(BuildContext.objects.values_list("job_id", flat=True)) == [queued.pk]
    assert housekeeping.run_once() == {"jobs": 0, "sessions": 0, "contexts": 1, "grants": 0}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/jobs/", "/api/jobs/", "/containers/{web}/",
                                  "/terminal-sessions/{session}/"])
def test_pages_leave_stale_work_alone(world, client_for, path):
    stale_world(world)
    session = TerminalSession.objects.get()
    url = path.format(web=world.containers["web"].engine_id, session=session.pk)
    assert client_for("superuser").get(url).status_code == 200
    assert Job.objects.filter(state__in=["queued", "running"]).count() == 2
    assert Host.objects.get(name="gone").state == "online"
    assert TerminalSession.objects.get().ended_at is None
    assert ContainerGrant.objects.filter(expires_at__isnull=False).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_thread_runs_once_per_process_until_stopped(world, settings):
    queued = stale_world(world)
    settings.HOUSEKEEPING_SECONDS = 0.05
    try:
        assert housekeeping.start() is True
        assert housekeeping.start() is False          # one per process
        wait_until(lambda: Job.objects.get(pk=queued.pk).state == "failed", timeout=10,
                   interval=0.05, what="the housekeeping thread failing the stale job")
    finally:
        housekeeping.stop()
    assert housekeeping._thread is None


def test_it_can_be_turned_off(settings):
    settings.HOUSEKEEPING_SECONDS = 0
    assert housekeeping.start() is False


def test_the_first_http_request_starts_it_and_no_other(monkeypatch):
    started = []
    monkeypatch.setattr(housekeeping, "start", lambda: started.append(1))
    calls = []

    async def inner(scope, receive, send):
        calls.append(scope["type"])

    async def three_requests():
        app = housekeeping.StartOnFirstRequest(inner)
        for _ in range(3):
            await app({"type": "http"}, None, None)

    run(three_requests())
    assert started == [1] and calls == ["http"] * 3


def test_importing_the_asgi_application_starts_nothing():
    import console.asgi  # noqa: F401

    assert housekeeping._thread is None or not housekeeping._thread.is_alive()
