"""Jobs never stay `running` (or `queued`) forever.

- When a host's worker starts, the jobs its dead predecessor was running are failed (the
  agent's part: `console.agent.worker.reap_after_restart`, with `fail` below).
- When a host stops sending heartbeats, it is marked offline and its jobs fail at once: those
  running ("the host's worker stopped responding") and those queued ("host offline: ...",
  as `jobs.dispatch` fails a job asked of a host already offline). Jobs queued longer than
  the queued timeout are failed too (no worker is taking them). A run or create that no
  worker took takes its pending container row with it: no engine made that container.

`reap_stale` runs in every worker's heartbeat loop and in the web process's housekeeping loop
(`console/housekeeping.py`), so it happens even when the only worker of a single-host console
is gone. Reading a page never runs it.
"""
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from console.hosts.models import Host, offline_after
from console.jobs.dispatch import host_offline
from console.jobs.models import Job
from console.streams import publish


def fail(jobs, error: str) -> int:
    count = 0
    for job in jobs.select_related("host", "container"):
        updated = Job.objects.filter(pk=job.pk, state=job.state).update(
            state=Job.State.FAILED, error=error, finished_at=timezone.now())
        if updated:
            count += 1
            unmade = forget_unmade_container(job) if job.state == Job.State.QUEUED else None
            job.refresh_from_db()
            publish.job_changed(job)
            if unmade is not None:
                publish.container_changed(unmade, removed=True)
    return count


def forget_unmade_container(job):
    """The pending row of a run (or create) whose job no worker ever took: no engine made that
    container, so the row goes with the job (as when the job could not be queued). The row,
    when one went."""
    from console.containers.models import Container

    if job.kind not in (Job.Kind.RUN, Job.Kind.CREATE) or job.container is None:
        return None
    deleted, _ = Container.objects.filter(pk=job.container.pk, state="pending").delete()
    return job.container if deleted else None


def reap_stale() -> int:
    now = timezone.now()
    count = 0
    stale_hosts = Host.objects.filter(state=Host.State.ONLINE, last_seen__lt=now - offline_after())
    for host in stale_hosts:
        Host.objects.filter(pk=host.pk).update(state=Host.State.OFFLINE)
        host.state = Host.State.OFFLINE
        publish.host_changed(host)
    offline = Host.objects.exclude(last_seen__gte=now - offline_after())
    count += fail(Job.objects.filter(host__in=offline, state=Job.State.RUNNING),
                  "the host's worker stopped responding while running the job")
    for host in offline.filter(jobs__state=Job.State.QUEUED).distinct():
        count += fail(Job.objects.filter(host=host, state=Job.State.QUEUED), host_offline(host))
    count += fail(Job.objects.filter(
        state=Job.State.QUEUED,
        created_at__lt=now - timedelta(seconds=settings.JOB_QUEUED_TIMEOUT_SECONDS)),
        "no worker of the host took the job in time (is the host's worker running?)")
    return count

