"""The web side's Celery application: the scheduler process (`./moorage up` starts it as
`celery -A console.scheduler worker --beat -Q console`), celery beat and a worker of the
queue `console` in one, whose one periodic task is the schedules' tick
(`console.schedules.tasks`, every MOORAGE_SCHEDULE_TICK_SECONDS: CELERY_BEAT_SCHEDULE).

An application of its own, configured as the hosts' (`console.celery`), so that it loads none
of the host agent: it never registers a host nor runs the engine. The jobs its runs make go to
their hosts' queues as every other job does (`console.jobs.dispatch`)."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

app = Celery("console")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["console.schedules"], related_name="tasks")
