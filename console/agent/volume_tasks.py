"""The host's side of volumes (job kinds `volume.create`, `volume.remove`), and the named
volumes of a container the console runs.

A volume the console makes is labelled as its team's (`moorage.team=team-<id>`), and so is one
a container of a team makes on first use (`-v NAME:/path`, `prepare`): a volume belongs to the
team whose container or stack made it. A team's container may name only its team's volumes
(or new names); another team's volume is reported as missing, as the engine reports a volume
it does not have.
"""
from runtime.errors import MoorError, NotFound

from console.agent.specs import parse_time
from console.jobs.models import Job
from console.volumes.models import Volume

TEAM_LABEL = "moorage.team"
HOST_PATH = ("/", ".", "~")


class VolumeRefused(MoorError):
    """The host would not do this; the message is the job's error."""


def team_labels(team) -> dict:
    return {TEAM_LABEL: team.network} if team is not None else {}


def owned_by(found: dict, team, host) -> bool:
    """Whether the volume `found` (the engine's) is `team`'s: labelled so, or given to it."""
    if team is None:
        return False
    if (found.get("Labels") or {}).get(TEAM_LABEL) in (team.network, team.name):
        return True
    return Volume.objects.filter(host=host, name=found["Name"], team=team).exists()


def create(job, engine):
    name = job.params["name"]
    try:
        engine.volume_inspect(name)
    except NotFound:
        pass
    else:
        raise VolumeRefused(f"a volume named {name} already exists on host {job.host.name}")
    volume = engine.volume_create(name=name, labels=team_labels(job.team))
    Volume.objects.update_or_create(host=job.host, name=name, defaults={
        "team": job.team, "labels": volume.get("Labels") or {}, "project": "",
        "created": parse_time(volume.get("CreatedAt")), "created_by": job.requested_by,
        "used_by": [], "size": 0, "missed_syncs": 0})
    return {"volume": name}


def remove(job, engine):
    """Remove the volume and its files; the engine refuses while a container names it."""
    name = job.params["name"]
    try:
        engine.volume_remove(name)
    except NotFound:
        pass                    # gone already: what was asked is done
    Volume.objects.filter(host=job.host, name=name).delete()
    return {"removed": name}


def prepare(job, container, engine) -> None:
    """Before a container is made: each named volume it mounts is one of its team's (a
    superuser's may be any), and one that does not exist yet is made now, as the team's."""
    superuser = job.requested_by_id is not None and job.requested_by.is_superuser
    for bind in (container.options or {}).get("binds") or []:
        source = str(bind).split(":", 1)[0]
        if not source or source.startswith(HOST_PATH):
            continue            # a host path: superusers', checked by the web process
        try:
            found = engine.volume_inspect(source)
        except NotFound:
            engine.volume_create(name=source, labels=team_labels(container.team))
            continue
        if not superuser and not owned_by(found, container.team, job.host):
            raise NotFound(f"No such volume: {source}")


HANDLERS = {
    Job.Kind.VOLUME_CREATE: create,
    Job.Kind.VOLUME_REMOVE: remove,
}
