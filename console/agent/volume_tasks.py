"""The host's side of volumes (job kinds `volume.create`, `volume.remove`), and the named
volumes of a container the console runs.

A volume the console makes is labelled as its team's (`moorage.team=team-<id>`), and so is one
a container of a team makes on first use (`-v NAME:/path`, `prepare`): a volume belongs to the
team whose container or stack made it. A team's container may name only its team's volumes
(or new names); another team's volume is reported as missing, as the engine reports a volume
it does not have. What is the team's comes with the job (`console/hostapi/stack_jobs.py`: its
labels, the volumes the console gave it); the console makes and removes the rows from what
the job reports.
"""
from console.agent.stack_engine import host_name
from runtime.errors import MoorError, NotFound

TEAM_LABEL = "moorage.team"
HOST_PATH = ("/", ".", "~")


class VolumeRefused(MoorError):
    """The host would not do this; the message is the job's error."""


def owned_by(found: dict, plan: dict) -> bool:
    """Whether the volume `found` (the engine's) is the team's: labelled so, or given to it."""
    team = plan.get("team")
    if team is None:
        return False
    if (found.get("Labels") or {}).get(TEAM_LABEL) in (team["network"], team["name"]):
        return True
    return found["Name"] in set(plan.get("team_volumes") or ())


def create(job, engine, report):
    name = job["name"]
    try:
        engine.volume_inspect(name)
    except NotFound:
        pass
    else:
        raise VolumeRefused(f"a volume named {name} already exists on host {host_name()}")
    report["volume"] = engine.volume_create(name=name, labels=job.get("labels") or {})
    return {"volume": name}


def remove(job, engine, report):
    """Remove the volume and its files; the engine refuses while a container names it."""
    name = job["name"]
    try:
        engine.volume_remove(name)
    except NotFound:
        pass                    # gone already: what was asked is done
    return {"removed": name}


def prepare(job, engine) -> None:
    """Before a container is made: each named volume it mounts is one of its team's (a
    superuser's may be any), and one that does not exist yet is made now, as the team's
    (`job["mounts"]`: what the console said of the team)."""
    plan = job.get("mounts") or {}
    for bind in (job.get("options") or {}).get("binds") or []:
        source = str(bind).split(":", 1)[0]
        if not source or source.startswith(HOST_PATH):
            continue            # a host path: superusers', checked by the web process
        try:
            found = engine.volume_inspect(source)
        except NotFound:
            engine.volume_create(name=source, labels=plan.get("labels") or {})
            continue
        if not plan.get("superuser") and not owned_by(found, plan):
            raise NotFound(f"No such volume: {source}")


HANDLERS = {
    "volume.create": create,
    "volume.remove": remove,
}
