"""The web side's Celery application: it only sends notices (a job's ID) to the hosts' queues
`host.<name>` (see `console.jobs.dispatch` and `console.jobs.wire`); it runs no task. Each
host's agent consumes its own queue with an application of its own (`console.agent.queue`)."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

app = Celery("console")
app.config_from_object("django.conf:settings", namespace="CELERY")
