"""Scheduled actions: start, stop, restart or commit a container on a cron schedule.

A developer of a container's team makes a schedule (`actions.create_schedule`); each run is
the same action a person would take (`containers.actions.act`), as the schedule's owner with
the rights they have when it fires, so a normal job with its audit entry; a run the owner may
no longer make fails and says so on the schedule. Celery beat asks for a tick every
MOORAGE_SCHEDULE_TICK_SECONDS (`tasks.tick`, on the web side's `console` queue, run by the
scheduler process, `console.scheduler`); the tick fires the schedules that are due, each once
whoever comes first (`runs.fire_due`). Cron expressions are read by croniter (`cron`).
"""
