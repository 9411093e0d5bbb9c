"""The group a team's containers run in on this host (`team-<id>`), kept by the host's agent
with the limits the console decides (the team's quota here, `console/hostapi/team_groups.py`).

- `ensure(plan, engine)`: before one of a team's containers is made or started, the team's
  group exists with the limits the job names (the engine refuses to make a container in a
  group it does not have, and the kernel holds the group to those limits).
- `apply(job, engine, report)`: the `quota` job a superuser's change sends.
- `sync(api, plans, engine)`: at each sync, every group the console names gets its limits
  again if they differ (a change made while the host was offline), and its reading
  (`Engine.group_inspect`: the cgroup files, containers and disk) goes to the console for
  the usage page and its disk check.
"""
import logging

from runtime.container import groups as engine_groups
from runtime.errors import MoorError, NotFound

log = logging.getLogger(__name__)
NO_LIMITS = {"Memory": 0, "NanoCpus": 0, "PidsLimit": 0}


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


def checked(plan: dict) -> tuple[str, dict]:
    limits = {key: int((plan.get("limits") or {}).get(key) or 0) for key in NO_LIMITS}
    return str(plan["name"]), limits


def ensure(plan: dict | None, engine) -> None:
    """Before a container of a team is made or started: its group is there with its limits
    (`plan`: the job's `group`; None for a container of no team)."""
    if not plan:
        return
    name, limits = checked(plan)
    if differ(current(engine, name), limits):
        set_limits(engine, name, limits)


def apply(job, engine, report) -> dict:
    """The `quota` job: the team's group gets the limits the console names now."""
    name, limits = checked(job["group"])
    record = set_limits(engine, name, limits)
    return {"group": name, "memory": record.get("Memory", 0),
            "nano_cpus": record.get("NanoCpus", 0), "pids": record.get("PidsLimit", 0)}


def sync(api, plans: list[dict], engine) -> int:
    """Apply changed limits and send a reading of every team group the console named that
    the engine has (or that has a quota: it is made); the number of readings sent. One
    group's failure is logged and does not stop the others."""
    have = {group["Name"] for group in engine.groups()}
    readings = {}
    for plan in plans:
        name, limits = checked(plan)
        if name not in have and not plan.get("quota"):
            continue
        try:
            if differ(current(engine, name), limits):
                set_limits(engine, name, limits)
            readings[name] = engine.group_inspect(name)
        except MoorError as error:
            log.warning("group %s: %s", name, error)
    if readings:
        api.group_readings(readings)
    return len(readings)
