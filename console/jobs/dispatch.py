"""Sending jobs to hosts. A message carries only the job's id and goes to the job's host's own
queue `host.<name>`, after the transaction that made the job row has committed."""
import logging

from django.db import transaction
from django.utils import timezone

from console.celery import app

log = logging.getLogger(__name__)

EXECUTE_TASK = "console.jobs.execute"
SYNC_TASK = "console.jobs.sync"


def enqueue(job_id: int, queue: str) -> None:
    app.send_task(EXECUTE_TASK, args=[job_id], queue=queue)


def enqueue_on_commit(job) -> None:
    """Send `job` once the current transaction commits (at once outside a transaction).
    If the broker cannot be reached the job fails at once, saying so, rather than waiting
    in `queued` for a message that was never sent."""
    job_id, queue = job.pk, job.host.queue

    def send():
        try:
            enqueue(job_id, queue)
        except Exception as error:
            log.exception("could not queue job %s", job_id)
            from console.jobs.models import Job

            Job.objects.filter(pk=job_id, state=Job.State.QUEUED).update(
                state=Job.State.FAILED, finished_at=timezone.now(),
                error=f"could not queue the job (is Redis running?): {type(error).__name__}")
    transaction.on_commit(send)


def request_sync(host) -> None:
    """Ask a host's worker to reconcile the database with its engine (no job row: this is the
    periodic, internal sync; a user's "sync" is a job like any other)."""
    app.send_task(SYNC_TASK, args=[host.name], queue=host.queue)
