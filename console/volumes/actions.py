"""What a user can do to volumes: make one, remove one (refused while any container names
it), give one to a team. As everywhere, each action checks, writes the job and the audit
entry in one transaction and sends the job to the volume's host after the commit.

Developers make and remove their team's volumes; a volume made on the host without a team is
superusers' until one of them gives it to a team.
"""
from django.db import transaction

from console import audit
from console.core.errors import Conflict, Forbidden, Invalid
from console.core.permissions import refuse
from console.hosts.models import HostGrant
from console.jobs import dispatch
from console.jobs.models import Job
from console.streams import publish
from console.volumes.models import Volume
from console.volumes.requests import VolumeRequest, validate_volume


def check_create(user, data: dict, *, request=None) -> VolumeRequest:
    """A new volume's request; one the user may not make at all is audited, then refused."""
    try:
        return validate_volume(user, data)
    except Forbidden as error:
        refuse_create(user, data, error, request=request)
        raise


def refuse_create(user, data: dict, error: Forbidden, *, request=None) -> None:
    audit.record("volume.create", actor=user, request=request, result="denied",
                 target_type="volume", target_name=str(data.get("name") or "")[:200],
                 params={key: str(data.get(key) or "")[:255] for key in ("name", "host", "team")},
                 error=str(error))


def create(user, req: VolumeRequest, *, request=None) -> Job:
    """Make the volume on its host, labelled as the team's (`moorage.team`)."""
    if not req.host.is_online:
        raise Conflict(f"Host {req.host.name} is offline.")
    with transaction.atomic():
        job = Job.objects.create(kind=Job.Kind.VOLUME_CREATE, host=req.host, team=req.team,
                                 requested_by=user, target_name=req.name,
                                 params={"name": req.name})
        audit.record("volume.create", actor=user, request=request, team=req.team,
                     target_type="volume", target_name=req.name, host=req.host,
                     params=req.audit_params(), result="requested", job=job)
        dispatch.enqueue_on_commit(job)
        transaction.on_commit(lambda: publish.job_changed(job))
    return job


def remove(user, volume: Volume, *, request=None) -> Job:
    """Remove the volume and its files; refused while a container (running or not) names it."""
    if not Volume.objects.allows(user, "remove", volume):
        refuse("volume.remove", user, request, team=volume.team, target=volume,
               host=volume.host, message=f"You may not remove volume {volume.name}.",
               error=f"{getattr(user, 'username', 'anonymous')} may not remove this volume")
    if volume.used_by:
        raise Conflict(f"Volume {volume.name} is in use by {len(volume.used_by)} "
                       f"container{'s' if len(volume.used_by) != 1 else ''}: remove "
                       f"{'them' if len(volume.used_by) != 1 else 'it'} first.")
    if not volume.host.is_online:
        raise Conflict(f"Host {volume.host.name} is offline.")
    with transaction.atomic():
        job = Job.objects.create(kind=Job.Kind.VOLUME_REMOVE, host=volume.host,
                                 team=volume.team, requested_by=user, target_name=volume.name,
                                 params={"volume": volume.pk, "name": volume.name})
        audit.record("volume.remove", actor=user, request=request, team=volume.team,
                     target=volume, host=volume.host, result="requested", job=job)
        dispatch.enqueue_on_commit(job)
        transaction.on_commit(lambda: publish.job_changed(job))
    return job


def assign_team(user, volume: Volume, team, *, request=None) -> Volume:
    """Give `volume` to `team` (superusers): one made on the host comes without a team."""
    if not user.is_superuser:
        refuse("volume.assign", user, request, team=volume.team, target=volume,
               host=volume.host, message="Only a superuser may give a volume to a team.")
    if not HostGrant.objects.filter(team=team, host=volume.host).exists():
        raise Invalid(fields={"team": [f"Team {team.name} is not granted host "
                                        f"{volume.host.name}."]})
    previous = volume.team
    with transaction.atomic():
        Volume.objects.filter(pk=volume.pk).update(team=team)
        volume.team = team
        audit.record("volume.assign", actor=user, request=request, team=team, target=volume,
                     host=volume.host,
                     params={"team": team.name, "previous": previous.name if previous else None})
    return volume
