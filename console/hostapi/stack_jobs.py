"""Stack and volume jobs as the host's agent sees them, and their outcome as it reports it
(the agent's side: `console/agent/stack_tasks.py`, `stack_engine.py`, `volume_tasks.py`).

What the agent is told holds everything the rules of a team's stack need from the database,
decided here: the stack (its name, its containers, its current file), the team (its name and
network label), whether the job is a superuser's, the images the team may run on the host,
the volumes the console gave the team there and the team's containers there (a project's
containers must be the stack's: `check_project`).

What it reports: the stack's Compose project as the engine has it after the job (`stack`:
its containers' summaries and `inspect`s), from which the container rows and the stack's list
of containers are made here; a volume job's volume. A report names only the host's own
containers of the stack's project: another host's container is refused.
"""
from django.conf import settings

from console.containers.models import Container
from console.core.errors import Invalid
from console.hostapi import reconcile
from console.images.models import Image
from console.jobs.models import Job
from console.stacks.models import Stack
from console.volumes.models import Volume

TEAM_LABEL = "moorage.team"
COMPOSE_PROJECT_LABEL = "com.docker.compose.project"
COMPOSE_SERVICE_LABEL = "com.docker.compose.service"
STACK_KINDS = (Job.Kind.STACK_PLAN, Job.Kind.STACK_DEPLOY, Job.Kind.STACK_START,
               Job.Kind.STACK_STOP, Job.Kind.STACK_RESTART, Job.Kind.STACK_DOWN,
               Job.Kind.STACK_REMOVE)
VOLUME_KINDS = (Job.Kind.VOLUME_CREATE, Job.Kind.VOLUME_REMOVE)


def by_superuser(job) -> bool:
    return job.requested_by_id is not None and job.requested_by.is_superuser


def team_facts(team) -> dict | None:
    return {"name": team.name, "network": team.network} if team is not None else None


def the_stack(job) -> Stack | None:
    stack_id = (job.params or {}).get("stack")
    if not stack_id:
        return None
    return Stack.objects.select_related("team").filter(pk=stack_id, host=job.host).first()


# -- what the agent is told -------------------------------------------------------------------

def stack_spec(job) -> dict:
    params = job.params or {}
    stack = the_stack(job)
    team = stack.team if stack is not None else job.team
    answer = {"superuser": by_superuser(job), "team": team_facts(team),
              "stack": None, "max_pids": settings.MAX_PIDS}
    if params.get("stack") and stack is None:
        return dict(answer, gone=True)
    if stack is not None:
        current = stack.current
        answer["stack"] = {"name": stack.name, "container_ids": list(stack.container_ids),
                           "current": {"compose": current.compose, "env": current.env}
                           if current is not None else None}
    if not answer["superuser"]:
        images = Image.objects.filter(host=job.host)
        images = images.filter(team__isnull=True) | (images.filter(team=team) if team
                                                     else images.none())
        answer["images"] = sorted(set(images.values_list("image_id", flat=True)))
        answer["team_volumes"] = sorted(Volume.objects.filter(
            host=job.host, team=team).values_list("name", flat=True)) if team else []
    answer["team_containers"] = sorted(Container.objects.filter(
        host=job.host, team=team).values_list("engine_id", flat=True)) if team else []
    if job.kind == Job.Kind.STACK_PLAN:
        answer.update(name=params["name"], compose=params["compose"], env=params.get("env") or "")
    elif job.kind == Job.Kind.STACK_DEPLOY and stack is not None:
        version = stack.versions.filter(number=params.get("version")).first()
        answer["version"] = {"number": version.number, "compose": version.compose,
                             "env": version.env} if version is not None else None
        answer["version_asked"] = params.get("version")
    elif job.kind == Job.Kind.STACK_REMOVE:
        answer["volumes"] = bool(params.get("volumes"))
        answer["volume_names"] = list(params.get("volume_names") or [])
    return answer


def team_labels(team) -> dict:
    return {TEAM_LABEL: team.network} if team is not None else {}


def volume_spec(job) -> dict:
    return {"name": (job.params or {})["name"], "labels": team_labels(job.team)}


def mounts_plan(job, container) -> dict:
    """What a run needs to hold its named volumes to the team's (`volume_tasks.prepare`)."""
    team = container.team
    return {"superuser": by_superuser(job), "labels": team_labels(team),
            "team": team_facts(team),
            "team_volumes": sorted(Volume.objects.filter(host=job.host, team=team)
                                   .values_list("name", flat=True)) if team else []}


# -- what the agent reports -------------------------------------------------------------------

def check_stack_report(job, report: dict) -> None:
    """A stack job's report names containers of the stack's project on this host only."""
    data = report.get("stack")
    if data is None:
        return
    if not isinstance(data, dict) or not isinstance(data.get("containers"), list) or \
            not isinstance(data.get("inspect") or {}, dict):
        raise Invalid("The report's stack is not a listing of its project.")
    stack = the_stack(job)
    ids = []
    for summary in data["containers"]:
        if not isinstance(summary, dict) or not isinstance(summary.get("Id"), str):
            raise Invalid("The report's stack is not a listing of its project.")
        if stack is None or (summary.get("Labels") or {}).get(COMPOSE_PROJECT_LABEL) != \
                stack.name:
            raise Invalid("The report names a container of another project than the job's.")
        ids.append(summary["Id"])
    if set(data.get("inspect") or {}) - set(ids):
        raise Invalid("The report's stack inspects containers it does not list.")
    if reconcile.others_rows(job.host, ids):
        raise Invalid("The report names containers of another host.")


def apply_stack(job, stack, report: dict) -> None:
    """The rows of the stack's containers as the engine has them now: new ones made (the
    team's), changed ones refreshed, removed ones gone; the stack's list of them."""
    data = report.get("stack")
    if stack is None or not isinstance(data, dict):
        return
    host, found = job.host, data["containers"]
    inspected = data.get("inspect") or {}
    ids = [summary["Id"] for summary in found]
    rows = {row.engine_id: row for row in Container.objects.filter(host=host).filter(
        engine_id__in=ids + list(stack.container_ids)).select_related("host", "team")}
    if reconcile.root_unchanged(host, str(report.get("root") or "")):
        for engine_id, row in rows.items():       # first: a successor has its name
            if engine_id not in ids:
                reconcile.remove_row(row)
    for summary in found:
        details = inspected.get(summary["Id"])
        if not isinstance(details, dict) or details.get("Id") != summary["Id"]:
            continue
        row = rows.get(summary["Id"])
        if row is None:
            reconcile.adopt(host, details)
        else:
            reconcile.apply_inspect(row, details)
    if stack.team_id is not None:
        Container.objects.filter(host=host, engine_id__in=ids, team__isnull=True).update(
            team=stack.team_id)
    entries = [{"id": summary["Id"],
                "service": str((summary.get("Labels") or {}).get(COMPOSE_SERVICE_LABEL) or "")}
               for summary in found]
    Stack.objects.filter(pk=stack.pk).update(containers=entries, missed_syncs=0)


def settle_stack(job, state, result, report):
    stack = the_stack(job)
    apply_stack(job, stack, report)
    if job.kind == Job.Kind.STACK_REMOVE and stack is not None:
        if state != Job.State.SUCCEEDED:
            Stack.objects.filter(pk=stack.pk).update(state=Stack.State.ACTIVE)
        else:
            if (job.params or {}).get("volumes"):
                Volume.objects.filter(host=job.host, project=stack.name).delete()
            Stack.objects.filter(pk=stack.pk).delete()
    return result


def settle_volume(job, state, result, report):
    name = (job.params or {}).get("name")
    if state != Job.State.SUCCEEDED:
        return result
    if job.kind == Job.Kind.VOLUME_REMOVE:
        Volume.objects.filter(host=job.host, name=name).delete()
        return result
    volume = report.get("volume")
    if not isinstance(volume, dict) or volume.get("Name") != name:
        raise Invalid("The report's volume is not the job's.")
    from console.hostapi.specs import parse_time

    Volume.objects.update_or_create(host=job.host, name=name, defaults={
        "team": job.team, "labels": volume.get("Labels") or {}, "project": "",
        "created": parse_time(volume.get("CreatedAt")), "created_by": job.requested_by,
        "used_by": [], "size": 0, "missed_syncs": 0})
    return result
