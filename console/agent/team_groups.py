"""The group a team's containers run in on this host (`team-<id>`, `Team.group`), kept by the
host's worker: its limits are the team's quota here (`console.quotas`), 0 for none.

- `ensure(container, engine)`: before one of a team's containers is made or started, the
  team's group exists with its quota's limits (the engine refuses to make a container in a
  group it does not have, and the kernel holds the group to those limits).
- `apply(job, engine)`: the `quota` job a superuser's change sends, applying the quota as it
  is when the job runs.
- `sync(host, engine)`: at each periodic sync, every team group of the host gets its quota's
  limits again if they differ (a change made while the host was offline), and its reading
  (`Engine.group_inspect`: the cgroup files, containers and disk) is stored for the usage page
  and the console's disk check.
"""
import logging
import re

from django.utils import timezone

from console.quotas.models import GroupReading, Quota
from console.teams.models import Team
from runtime.container import groups as engine_groups
from runtime.errors import MoorError, NotFound

log = logging.getLogger(__name__)
TEAM_GROUP = re.compile(r"^team-([0-9]+)$")
NO_LIMITS = {"Memory": 0, "NanoCpus": 0, "PidsLimit": 0}


def wanted(team, host) -> dict:
    """The engine's limits for the team's group on `host`, from its quota (none: no limits)."""
    quota = Quota.objects.filter(team=team, host=host).first()
    if quota is None:
        return dict(NO_LIMITS)
    return {"Memory": int(quota.memory), "NanoCpus": int(round(quota.cpus * 1e9)),
            "PidsLimit": int(quota.pids)}


def current(engine, name: str) -> dict | None:
    """The group's limits as the engine keeps them, or None when it has no such group."""
    try:
        record = engine_groups.definition(engine.paths, name)
    except NotFound:
        return None
    return {key: int(record.get(key) or 0) for key in NO_LIMITS}


def differ(now: dict | None, limits: dict) -> bool:
    """Whether the group's limits `now` (None: no group) are not `limits` (CPUs to the
    microCPU: they travel as a float)."""
    if now is None:
        return True
    return (now["Memory"] != limits["Memory"] or now["PidsLimit"] != limits["PidsLimit"]
            or abs(now["NanoCpus"] - limits["NanoCpus"]) > 1000)


def set_limits(engine, name: str, limits: dict) -> dict:
    return engine.group_set(name, memory=limits["Memory"] or None,
                            cpus=limits["NanoCpus"] / 1e9 or None,
                            pids=limits["PidsLimit"] or None)


def ensure(container, engine) -> None:
    """Before `container` is made or started: its team's group is there with its quota."""
    if container.team_id is None:
        return
    name, limits = container.team.group, wanted(container.team, container.host)
    if differ(current(engine, name), limits):
        set_limits(engine, name, limits)


def apply(job, engine) -> dict:
    """The `quota` job: the team's group gets its quota's limits now."""
    limits = wanted(job.team, job.host)
    record = set_limits(engine, job.team.group, limits)
    return {"group": job.team.group, "memory": record.get("Memory", 0),
            "nano_cpus": record.get("NanoCpus", 0), "pids": record.get("PidsLimit", 0)}


def sync(host, engine) -> int:
    """Apply changed quotas and store a reading of every team group of this host; the number
    of readings stored. One group's failure is logged and does not stop the others."""
    teams = {team.pk: team for team in Team.objects.filter(host_grants__host=host)}
    names = {group["Name"] for group in engine.groups()}
    names |= {team.group for team in teams.values()
              if Quota.objects.filter(team=team, host=host).exists()}
    read = 0
    for name in sorted(names):
        match = TEAM_GROUP.match(name)
        team = teams.get(int(match.group(1))) if match else None
        if team is None:
            continue
        try:
            limits = wanted(team, host)
            if differ(current(engine, name), limits):
                set_limits(engine, name, limits)
            document = engine.group_inspect(name)
        except MoorError as error:
            log.warning("group %s of %s: %s", name, host.name, error)
            continue
        store_reading(team, host, document)
        read += 1
    return read


def store_reading(team, host, document: dict) -> GroupReading:
    """Keep what `group_inspect` answered, with the CPUs used on average since the reading
    before (the cgroup counts CPU time only)."""
    now = timezone.now()
    usage = document.get("Usage") or {}
    before = GroupReading.objects.filter(team=team, host=host).first()
    cpus = None
    if before is not None and before.read_at < now:
        spent = (usage.get("Cpu") or {}).get("UsageNanos", 0) - (
            (before.usage or {}).get("Cpu") or {}).get("UsageNanos", 0)
        elapsed = (now - before.read_at).total_seconds() * 1e9
        cpus = round(spent / elapsed, 3) if spent >= 0 and elapsed > 0 else None
    reading, _ = GroupReading.objects.update_or_create(team=team, host=host, defaults={
        "limits": {key: document.get(key, 0) for key in NO_LIMITS}, "usage": usage,
        "cpus_in_use": cpus, "read_at": now})
    return reading
