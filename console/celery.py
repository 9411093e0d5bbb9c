"""The Celery application. Each host runs one worker consuming its own queue `host.<name>`
(see `console.jobs.dispatch`); the tasks it runs and its start-up (heartbeat, reaper) are the
host agent's (`console.agent.tasks`, `console.agent.worker`)."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

app = Celery("console")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["console.agent"], related_name="tasks")
