"""The console's side of the team groups on a host (`team-<id>`, `Team.group`): their limits
are the team's quota there (`console.quotas`), 0 for none; the host's agent applies them
(`console/agent/team_groups.py`) and reports what each group uses.

- `plan(team, host)`: what a job tells the agent about the group of its container's team
  (before a container is made or started, the group exists with these limits), and what the
  `quota` job applies.
- `sync_plan(host)`: what a sync tells the agent: the group of every team granted the host,
  its limits, and whether it has a quota (a group the engine does not have yet is made only
  for one that has).
- `store_readings(host, readings)`: the groups' `group_inspect` documents the agent sends
  (`POST /api/agent/groups/readings/`), kept as `GroupReading`s, with the CPUs used on
  average since the reading before. A group that is not one of a team granted the host is
  left out (`foreign`): the view refuses and audits it.
"""
import re

from django.utils import timezone

from console.quotas.models import GroupReading, Quota
from console.teams.models import Team

TEAM_GROUP = re.compile(r"^team-([0-9]+)$")
NO_LIMITS = {"Memory": 0, "NanoCpus": 0, "PidsLimit": 0}


def limits_of(quota: Quota | None) -> dict:
    """The engine's limits for a team's group from its quota (none: no limits)."""
    if quota is None:
        return dict(NO_LIMITS)
    return {"Memory": int(quota.memory), "NanoCpus": int(round(quota.cpus * 1e9)),
            "PidsLimit": int(quota.pids)}


def plan(team, host) -> dict | None:
    """The group of `team`'s containers on `host` with its limits; None for no team."""
    if team is None:
        return None
    return {"name": team.group,
            "limits": limits_of(Quota.objects.filter(team=team, host=host).first())}


def sync_plan(host) -> list[dict]:
    quotas = {quota.team_id: quota for quota in Quota.objects.filter(host=host)}
    return [{"name": team.group, "limits": limits_of(quotas.get(team.pk)),
             "quota": team.pk in quotas}
            for team in Team.objects.filter(host_grants__host=host).order_by("pk")]


def team_of_group(host, name: str):
    """The team granted `host` whose group is `name`, or None."""
    match = TEAM_GROUP.match(name)
    if match is None:
        return None
    return Team.objects.filter(pk=int(match.group(1)), host_grants__host=host).first()


def store_readings(host, readings: dict) -> dict:
    """Keep each group's reading; the count stored and the names refused (`foreign`)."""
    stored, foreign = 0, []
    for name, document in sorted(readings.items()):
        team = team_of_group(host, name)
        if team is None:
            foreign.append(name)
            continue
        store_reading(team, host, document)
        stored += 1
    return {"readings": stored, "foreign": foreign}


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
