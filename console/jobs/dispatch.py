"""Sending jobs to hosts. A message carries only the job's id and goes to the job's host's own
queue `host.<name>`, after the transaction that made the job row has committed. A job for a
host that is offline is not sent: it fails at once, saying so (`host offline: ...`), rather
than waiting for a worker that is not there (the reaper fails those queued before the host
went silent, `jobs.reaper`). The host's agent then claims the job through the host API, which
says what it is (`console.jobs.wire` has the names both sides use)."""
import logging

from django.db import transaction
from django.utils import timezone

from console.celery import app
from console.core.errors import Conflict, RedisUnreachable
from console.jobs.wire import EXECUTE_TASK, SYNC_TASK

log = logging.getLogger(__name__)


def enqueue(job_id: int, queue: str) -> None:
    app.send_task(EXECUTE_TASK, args=[job_id], queue=queue)


def enqueue_on_commit(job, undo=None) -> None:
    """Send `job` once the current transaction commits (at once outside a transaction).

    If the broker cannot be reached, in one transaction the job fails, saying so, rather than
    waiting in `queued` for a message that was never sent, and `undo()` takes back what the
    request changed for it (a pending container row, a container marked `removing`); then
    RedisUnreachable is raised, out of the caller's `transaction.atomic()` block (the callbacks
    registered after this one, such as publishing the change, do not run): the request
    answers 503 saying Redis is unreachable (`console.core.errors`). A host offline when the
    transaction commits is answered alike: the job fails (`host offline: ...`), `undo()` runs,
    and Conflict (409) is raised."""
    job_id, queue, host_id = job.pk, job.host.queue, job.host_id

    def send():
        from console.hosts.models import Host

        host = Host.objects.get(pk=host_id)
        if not host.is_online:
            error = host_offline(host)
            fail(job_id, error, undo)
            raise Conflict(f"{error[0].upper()}{error[1:]}: the job failed at once.")
        try:
            enqueue(job_id, queue)
        except Exception as error:
            log.warning("could not queue job %s: %s: %s", job_id, type(error).__name__, error)
            fail(job_id, f"could not queue the job: Redis is unreachable "
                         f"({type(error).__name__})", undo)
            raise RedisUnreachable() from error
    transaction.on_commit(send)


def fail(job_id: int, error: str, undo=None) -> None:
    """Fail a job that was never sent and take back what its request changed for it, in one
    transaction."""
    from console.jobs.models import Job

    with transaction.atomic():
        failed = Job.objects.filter(pk=job_id, state=Job.State.QUEUED).update(
            state=Job.State.FAILED, finished_at=timezone.now(), error=error)
        if failed and undo is not None:
            undo()


def host_offline(host) -> str:
    """A job's error when its host is offline."""
    seen = f"since {host.last_seen:%Y-%m-%d %H:%M:%S} UTC" if host.last_seen else "ever"
    return f"host offline: {host.name} has sent no heartbeat {seen}"


def request_sync(host) -> None:
    """Ask a host's worker to reconcile the database with its engine (no job row: this is the
    periodic, internal sync; a user's "sync" is a job like any other)."""
    app.send_task(SYNC_TASK, args=[host.name], queue=host.queue)
