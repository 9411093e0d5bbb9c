"""Sending jobs to hosts. A message carries only the job's id and goes to the job's host's own
queue `host.<name>`, after the transaction that made the job row has committed."""
from django.db import transaction

from console.celery import app

EXECUTE_TASK = "console.jobs.execute"
SYNC_TASK = "console.jobs.sync"


def enqueue(job_id: int, queue: str) -> None:
    app.send_task(EXECUTE_TASK, args=[job_id], queue=queue)


def enqueue_on_commit(job) -> None:
    """Send `job` once the current transaction commits (at once outside a transaction)."""
    job_id, queue = job.pk, job.host.queue
    transaction.on_commit(lambda: enqueue(job_id, queue))


def request_sync(host) -> None:
    """Ask a host's worker to reconcile the database with its engine (no job row: this is the
    periodic, internal sync; a user's "sync" is a job like any other)."""
    app.send_task(SYNC_TASK, args=[host.name], queue=host.queue)
