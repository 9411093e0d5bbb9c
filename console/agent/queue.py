"""The Celery application of a host's worker: the consumer of the host's own queue
`host.<name>`, as the host's own Redis user (`console/jobs/wire.py`: the keys and commands it
is allowed, nothing more).

Configured from the host's key file (`configure`), never from the console's settings: the
worker holds no database URL and no secret key. JSON only (the worker runs as root and never
unpickles), one message at a time per process, acknowledged after the task ran (every task is
idempotent: the console lets a job be claimed once). No remote control, events, gossip or
mingle: they would need other keys and channels than the host's own.
"""
from celery import Celery

from console.jobs import wire

app = Celery("moorage-agent")
app.conf.update(
    task_serializer="json", result_serializer="json", accept_content=["json"],
    task_ignore_result=True, task_acks_late=True, task_reject_on_worker_lost=False,
    worker_prefetch_multiplier=1, task_create_missing_queues=True,
    worker_enable_remote_control=False, worker_send_task_events=False,
    worker_hijack_root_logger=False, broker_connection_retry_on_startup=True,
)


def configure(config) -> Celery:
    """Point the app at the host's queue, as the host's Redis user."""
    app.conf.update(broker_url=config.redis_url(),
                    broker_transport_options=wire.transport_options(config.host),
                    broker_use_ssl=config.redis_ssl_options(),
                    task_default_queue=config.queue)
    return app
