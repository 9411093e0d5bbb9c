"""`check_quota(team, host, adding=...)`: refuse what would take a team past its quota on a
host, in the words its user reads ("team alpha's quota on h1: 10 containers (10 in use)").

The kernel holds a team to its memory, CPUs and PIDs whatever is asked (limits overcommit, as
Docker's do), so those are not counted here. What the console counts: containers running at
once (from its rows: running, paused or restarting, and those a queued run, start or restart
will make run), and disk (the last reading of the team's group: nothing made or started
while it is at or past the quota). Call it inside the transaction that makes the rows the
check is about: it locks the quota row, so two requests cannot both take the last place.
"""
from django.db.models import Q

from console.core.errors import Forbidden

RUNNING_STATES = ("running", "paused", "restarting")
STARTING_KINDS = ("run", "start", "restart")


class QuotaExceeded(Forbidden):
    """A run, start or deploy would take a team past its quota on a host (403)."""


def human_bytes(value: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if value >= 1 << shift:
            number = value / (1 << shift)
            return f"{number:.0f} {unit}" if number.is_integer() else f"{number:.1f} {unit}"
    return f"{value} bytes"


def containers_in_use(team, host) -> int:
    """The team's containers on `host` that run, or that a queued job is about to run."""
    from console.containers.models import Container
    from console.jobs.models import Job

    starting = Q(jobs__kind__in=STARTING_KINDS,
                 jobs__state__in=(Job.State.QUEUED, Job.State.RUNNING))
    return (Container.objects.filter(team=team, host=host)
            .filter(Q(state__in=RUNNING_STATES) | starting).distinct().count())


def check_quota(team, host, adding: dict | None = None) -> None:
    """Raise QuotaExceeded when adding `adding` to what `team` uses on `host` would pass its
    quota there: `{"containers": N}` (N more running at once), `{"disk": bytes}` (more disk:
    a stack's new volumes, say). Nothing is made or started while the disk is at its quota
    (`{}`: a container made without starting it). No quota, no team: nothing to check."""
    from console.quotas.models import GroupReading, Quota

    if team is None or host is None:
        return
    quota = Quota.objects.select_for_update().filter(team=team, host=host).first()
    if quota is None:
        return
    adding = adding or {}
    where = f"team {team.name}'s quota on {host.name}"
    if quota.containers and adding.get("containers", 0) > 0:
        used = containers_in_use(team, host)
        if used + adding["containers"] > quota.containers:
            raise QuotaExceeded(f"{where}: {quota.containers} containers ({used} in use).")
    if quota.disk:
        reading = GroupReading.objects.filter(team=team, host=host).first()
        used = reading.disk_used() if reading is not None else 0
        if used + adding.get("disk", 0) > quota.disk or used >= quota.disk:
            raise QuotaExceeded(f"{where}: {human_bytes(quota.disk)} of disk "
                                f"({human_bytes(used)} in use).")
