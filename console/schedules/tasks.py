"""The beat's tick (`console.schedules.tick`): every MOORAGE_SCHEDULE_TICK_SECONDS celery beat
sends it to the web side's queue (`console`), where the scheduler process
(`console.scheduler`) runs it. The name is part of the wire between beat and that worker."""
from celery import shared_task
from django.db import close_old_connections

from console.schedules.runs import fire_due

TICK_TASK = "console.schedules.tick"


@shared_task(name=TICK_TASK, ignore_result=True)
def tick() -> int:
    close_old_connections()
    return fire_due()
