"""The Celery application. Each host runs one worker consuming its own queue `host.<name>`
(see `console.jobs.dispatch`); the worker-side wiring (heartbeat, reaper) lives in
`console.jobs.worker`."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

app = Celery("console")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["console.jobs"], related_name="host_tasks")
