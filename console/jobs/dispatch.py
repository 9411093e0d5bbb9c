"""Sending jobs to hosts. A message carries only the job's id and goes to the job's host's own
queue `host.<name>`, after the transaction that made the job row has committed; the host's
agent then claims the job through the host API, which says what it is (`console.jobs.wire`
has the names both sides use)."""
import logging

from django.db import transaction
from django.utils import timezone

from console.celery import app
from console.core.errors import RedisUnreachable
from console.jobs.wire import EXECUTE_TASK

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
    answers 503 saying Redis is unreachable (`console.core.errors`)."""
    job_id, queue = job.pk, job.host.queue

    def send():
        try:
            enqueue(job_id, queue)
        except Exception as error:
            log.warning("could not queue job %s: %s: %s", job_id, type(error).__name__, error)
            from console.jobs.models import Job

            with transaction.atomic():
                failed = Job.objects.filter(pk=job_id, state=Job.State.QUEUED).update(
                    state=Job.State.FAILED, finished_at=timezone.now(),
                    error=f"could not queue the job: Redis is unreachable "
                          f"({type(error).__name__})")
                if failed and undo is not None:
                    undo()
            raise RedisUnreachable() from error
    transaction.on_commit(send)

