"""Setting and removing a team's quota on a host (superusers): checked (a refusal is audited),
audited in the transaction that makes the change, and applied on the host at once by a job
(`quota`) when it is online; the host's agent also applies the quota at its next sync, and
before it makes or starts one of the team's containers, so a quota set while a host was
offline holds from when it is back."""
from django.db import transaction

from console import audit
from console.core.errors import Invalid
from console.core.permissions import refuse
from console.jobs import dispatch
from console.jobs.models import Job
from console.quotas.models import Quota
from console.streams import publish


def set_quota(actor, team, host, *, request=None, **limits) -> tuple[Quota, Job | None]:
    """Set `team`'s quota on `host` (`memory`, `cpus`, `pids`, `containers`, `disk`; 0 or
    missing: no limit). Returns the quota and the job applying it (None when the host is
    offline)."""
    if not actor.is_superuser:
        refuse("quota.set", actor, request, team=team, target=team, host=host,
               message="Only a superuser may set quotas.")
    if not host.grants.filter(team=team).exists():
        raise Invalid(fields={"host": [f"Host {host.name} is not granted to team {team.name}."]})
    unknown = sorted(set(limits) - set(Quota.LIMITS))
    if unknown:
        raise Invalid(fields={name: ["Unknown limit."] for name in unknown})
    values = {name: limits.get(name) or 0 for name in Quota.LIMITS}
    with transaction.atomic():
        quota = Quota.objects.select_for_update().filter(team=team, host=host).first()
        previous = quota.limits() if quota is not None else None
        if quota is None:
            quota = Quota(team=team, host=host)
        for name, value in values.items():
            setattr(quota, name, value)
        quota.updated_by = actor
        quota.save()
        job = apply_on_host(actor, team, host, values)
        audit.record("quota.set", actor=actor, request=request, team=team, target=team,
                     host=host, params={**values, "previous": previous},
                     result="requested" if job else "succeeded", job=job)
    return quota, job


def remove_quota(actor, quota, *, request=None) -> Job | None:
    """Take the quota away: the team's group on the host keeps no limits."""
    team, host = quota.team, quota.host
    if not actor.is_superuser:
        refuse("quota.remove", actor, request, team=team, target=team, host=host,
               message="Only a superuser may remove quotas.")
    with transaction.atomic():
        previous = quota.limits()
        quota.delete()
        job = apply_on_host(actor, team, host, {name: 0 for name in Quota.LIMITS})
        audit.record("quota.remove", actor=actor, request=request, team=team, target=team,
                     host=host, params={"previous": previous},
                     result="requested" if job else "succeeded", job=job)
    return job


def apply_on_host(actor, team, host, limits: dict) -> Job | None:
    """The job that gives the team's group on `host` its quota's limits now (the agent reads
    the quota as it is when the job runs: of two quick changes, the last holds)."""
    if not host.is_online:
        return None
    job = Job.objects.create(kind=Job.Kind.QUOTA, host=host, team=team, target_name=team.group,
                             requested_by=actor, params=limits)
    dispatch.enqueue_on_commit(job)
    transaction.on_commit(lambda: publish.job_changed(job))
    return job
