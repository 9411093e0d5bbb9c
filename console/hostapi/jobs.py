"""A job as its host's agent sees it, and its outcome as the agent reports it.

`spec(job)` is what the agent gets when it claims the job: everything the engine needs (the
container's create options, the network it may join, the pull's address policy, the images a
build may use...), decided here from the database, so the host decides nothing about users,
teams or permissions. `settle(...)` applies the agent's report: the engine's facts about the
job's own container and images (its `inspect`, the images listed after a pull), from which
the rows, the commit history and the job's result are made here.

A report is about the job's own objects only: an `inspect` of another container than the
job's is refused, and so is a report about a job that is not running for this agent.
"""
import re

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from console.core.errors import Conflict, Invalid
from console.hostapi import reconcile, stack_jobs, team_groups
from console.hostapi.specs import create_options
from console.images.models import BuildContext, Commit, Image
from console.images.requests import images_usable_by
from console.jobs.models import Job
from console.streams import publish
from console.teams.models import Team

TEAM_LABEL = "moorage.team"
TEAM_NETWORK = re.compile(r"^team-([0-9]+)$")
SHARED_NETWORKS = ("", "none", "host", "bridge")
TEAM_NAME_IN_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
CONTAINER_KINDS = (Job.Kind.RUN, Job.Kind.CREATE, Job.Kind.START, Job.Kind.STOP,
                   Job.Kind.KILL, Job.Kind.RESTART, Job.Kind.REMOVE, Job.Kind.COMMIT)


def by_superuser(job) -> bool:
    return job.requested_by_id is not None and job.requested_by.is_superuser


# -- what the agent is told -------------------------------------------------------------------

def spec(job) -> dict:
    """What the agent needs to run `job` (a claimed job of its host)."""
    params = job.params or {}
    kind = job.kind
    answer = {"id": job.pk, "kind": kind,
              "container": job.container.engine_id if job.container_id else None}
    if kind in (Job.Kind.RUN, Job.Kind.CREATE):
        answer.update(options=create_options(job.container),
                      network=network_plan(job, job.container),
                      group=team_groups.plan(job.container.team, job.host),
                      mounts=stack_jobs.mounts_plan(job, job.container))
    elif kind in (Job.Kind.START, Job.Kind.RESTART):
        answer.update(network=own_network_plan(job.container), timeout=params.get("timeout"),
                      group=team_groups.plan(job.container.team, job.host))
    elif kind == Job.Kind.STOP:
        answer.update(timeout=params.get("timeout"))
    elif kind == Job.Kind.KILL:
        answer.update(signal=params.get("signal") or "KILL")
    elif kind == Job.Kind.REMOVE:
        answer.update(force=bool(params.get("force")), volumes=bool(params.get("volumes")))
    elif kind == Job.Kind.COMMIT:
        repository, tag = params.get("repository") or None, params.get("tag") or ""
        answer.update(reference=f"{repository}:{tag or 'latest'}" if repository else None,
                      message=params.get("message") or None,
                      author=params.get("author") or None,
                      changes=[str(change) for change in params.get("changes", [])],
                      pause=params.get("pause", True))
    elif kind == Job.Kind.TAG:
        answer.update(image=params["image"], reference=params["reference"])
    elif kind == Job.Kind.QUOTA:
        answer.update(group=team_groups.plan(job.team, job.host))
    elif kind in stack_jobs.STACK_KINDS:
        answer.update(stack_jobs.stack_spec(job))
    elif kind in stack_jobs.VOLUME_KINDS:
        answer.update(stack_jobs.volume_spec(job))
    elif kind == Job.Kind.PULL:
        answer.update(reference=params["reference"], tag=params.get("tag") or "",
                      policy=None if by_superuser(job) else {"deny": settings.PULL_DENY,
                                                             "allow": settings.PULL_ALLOW},
                      taken=taken_images(job), team=team_words(job))
    elif kind == Job.Kind.BUILD:
        answer.update(dockerfile=params["dockerfile"], label=team_label(job.team),
                      tags=list(params.get("tags") or []),
                      build_args=params.get("build_args") or {},
                      no_cache=bool(params.get("no_cache")),
                      context=BuildContext.objects.filter(job=job).exists(),
                      max_entries=settings.BUILD_CONTEXT_MAX_ENTRIES,
                      max_depth=settings.BUILD_CONTEXT_MAX_DEPTH,
                      any_image=by_superuser(job))
    return answer


def network_plan(job, container) -> dict | None:
    """Before `container` is made: what its network must be. The networks a team's containers
    join on a host are the team's own `team-<id>` (made there the first time one of its
    containers needs it) and those made on the host with the label `moorage.team=team-<id>`;
    a superuser's container may join any. Any other network is refused in the words of a
    missing one, so no other team's network shows.

        None                            nothing to check (shared modes, a superuser's choice)
        {"ensure": NAME}                the team network NAME, made if the host lacks it
        {"labelled": NAME, "own": OWN}  NAME must exist with the label moorage.team=OWN
        {"refuse": NAME}                reported as "network NAME not found"
    """
    name = (container.options or {}).get("network") or ""
    if name in SHARED_NETWORKS or name.startswith("container:"):
        return None     # checked when the request was made (the host's network, containers)
    superuser = by_superuser(job)
    own = container.team.network if container.team_id else None
    team_network = TEAM_NETWORK.match(name)
    if team_network:
        if (not superuser and name != own) or not Team.objects.filter(
                pk=int(team_network.group(1))).exists():
            return {"refuse": name}
        return {"ensure": name}
    if superuser:
        return None
    if own is None:
        return {"refuse": name}
    return {"labelled": name, "own": own}


def own_network_plan(container) -> dict | None:
    """Before `container` starts: its team's own network, if it is on it, is there (made
    again if someone removed it from the host meanwhile)."""
    if container.team_id is None:
        return None
    own = container.team.network
    return {"ensure": own} if container.network_mode == own else None


def taken_images(job) -> dict:
    """{image ID: whose it is} for the images of the host a pull may not put the job's tag on:
    those of another team, and the host's own (no team), unless a superuser asked."""
    if by_superuser(job):
        return {}
    rows = Image.objects.filter(host=job.host).exclude(team=job.team) if job.team_id else \
        Image.objects.filter(host=job.host)
    taken = {}
    for image in rows.only("image_id", "team", "tags"):
        if image.team_id is None:
            names = ", ".join(image.tags) or image.short_id
            taken[image.image_id] = (f"a host image ({names}) every team granted the host "
                                     f"may run")
        else:
            taken[image.image_id] = "an image of another team"
    return taken


def team_words(job) -> str:
    return f"team {job.team.name}" if job.team_id else "the host's images"


def team_label(team) -> str:
    """The LABEL line ending a team's build, so that its image is always its own."""
    if team is None:
        return ""
    value = team.name if TEAM_NAME_IN_LABEL.match(team.name) else f"team-{team.pk}"
    return f"LABEL {TEAM_LABEL}={value}"


def usable_images(job, images: list[dict], root: str) -> dict:
    """For a build: the host's images synced first (what it has just made counts), then the
    images the team may run (its own and the host's) and those of other teams, by ID; the
    host walks down to the parents (stopping at another team's image)."""
    host = job.host
    reconcile.sync_images(host, images, trusted=reconcile.root_unchanged(host, root))
    if by_superuser(job):
        return {"any": True}
    rows = Image.objects.filter(host=host)
    foreign = rows.exclude(team=None).exclude(team=job.team).values_list("image_id", flat=True)
    requester = job.requested_by
    runnable = images_usable_by(requester, host, job.team) if requester is not None else \
        rows.filter(team__isnull=True) | rows.filter(team=job.team)
    return {"any": False, "runnable": sorted(runnable.values_list("image_id", flat=True)),
            "foreign": sorted(foreign)}


# -- what the agent reports -------------------------------------------------------------------

def running_for(host, job_id: int, worker: str) -> Job:
    """The job `job_id` of `host`, running for `worker`; Conflict if it is not (finished,
    failed by the reaper meanwhile, or another worker's)."""
    job = (Job.objects.select_related("host", "team", "container", "requested_by")
           .filter(pk=job_id, host=host).first())
    if job is None or job.state != Job.State.RUNNING or job.worker != worker:
        raise Conflict(f"Job {job_id} is not running for this worker.")
    return job


def settle(job: Job, *, worker: str, state: str, error: str, result: dict,
           report: dict) -> Job:
    """Apply the agent's report of `job` (running for `worker`) and record its outcome."""
    with transaction.atomic():
        job = running_for(job.host, job.pk, worker)
        check_report(job, report)
        try:
            result = APPLY[job.kind](job, state, result, report) or {}
        finally:
            if job.kind == Job.Kind.BUILD:
                BuildContext.objects.filter(job=job).delete()
        fields = {"state": state, "error": error if state == Job.State.FAILED else "",
                  "result": result if state == Job.State.SUCCEEDED else {},
                  "finished_at": timezone.now()}
        Job.objects.filter(pk=job.pk).update(**fields)
        for name, value in fields.items():
            setattr(job, name, value)
    publish.job_changed(job)
    return job


def check_report(job, report: dict) -> None:
    """A report names only the job's own container (a stack job's: its project's)."""
    if job.kind in stack_jobs.STACK_KINDS:
        stack_jobs.check_stack_report(job, report)
    data = report.get("container")
    if data is not None and (job.container_id is None or not isinstance(data, dict)
                             or data.get("Id") != job.container.engine_id):
        raise Invalid("The report's container is not the job's.")


def trusted_root(job, report: dict) -> bool:
    return reconcile.root_unchanged(job.host, str(report.get("root") or ""))


def making(job, state, result, report):
    container = job.container
    if container is None:
        return {}
    data = report.get("container")
    if data is None:
        if state == Job.State.FAILED:
            reconcile.remove_row(container)   # the engine made nothing, or removed it again
        return {}
    reconcile.apply_inspect(container, data)
    return {"state": container.state}


def lifecycle(job, state, result, report):
    container = job.container
    if container is not None and reconcile.refresh(container, report.get("container")):
        return {"state": container.state, "exit_code": container.exit_code}
    return {"state": container.state if container else None,
            "exit_code": container.exit_code if container else None}


def remove(job, state, result, report):
    if job.container is not None:
        if state == Job.State.SUCCEEDED:
            reconcile.remove_row(job.container)
        else:
            reconcile.refresh(job.container, report.get("container"))
    return {"removed": job.target_id}


def commit(job, state, result, report):
    container, made = job.container, report.get("commit")
    if container is not None:
        reconcile.refresh(container, report.get("container"))
    if state != Job.State.SUCCEEDED or not isinstance(made, dict):
        return {}
    params = job.params or {}
    image = reconcile.upsert_image(job.host, made["image"], team=container.team if container
                                   else job.team)
    file_changes = [{"kind": str(change.get("kind", ""))[:1], "path": str(change.get("path")),
                     "size": int(change.get("size") or 0)}
                    for change in made.get("file_changes") or []]
    record = Commit.objects.create(
        image=image, new_image_id=image.image_id, parent_image_id=image.parent_id,
        host=job.host, team=container.team if container else job.team,
        author=job.requested_by, author_name=params.get("author") or "",
        container_engine_id=job.target_id, container_name=job.target_name,
        repository=params.get("repository") or "", tag=params.get("tag") or "",
        message=params.get("message") or "", changes=params.get("changes") or [],
        file_changes=file_changes, layer_size=image.size, job=job)
    repository = params.get("repository") or None
    return {"image_id": image.image_id,
            "reference": f"{repository}:{params.get('tag') or 'latest'}" if repository else None,
            "files_changed": len(file_changes), "commit": record.pk}


def images_made(job, state, result, report):
    """Tag, pull, build: the host's images synced; those the job made (and its result, if
    the console had no row for it) belong to the job's team (to the host's, for a superuser's
    job without one), whatever `moorage.team` label they came with."""
    if "images" not in report:
        return result
    made = set(report.get("made") or [])
    image_id = report.get("image_id")
    if image_id and not Image.objects.filter(host=job.host, image_id=image_id).exists():
        made.add(image_id)
    reconcile.sync_images(job.host, report["images"], trusted=trusted_root(job, report))
    if job.kind != Job.Kind.TAG:
        Image.objects.filter(host=job.host, image_id__in=made).update(team=job.team)
    return result


def synced(job, state, result, report):
    return result


APPLY = {
    Job.Kind.RUN: making,
    Job.Kind.CREATE: making,
    Job.Kind.START: lifecycle,
    Job.Kind.STOP: lifecycle,
    Job.Kind.KILL: lifecycle,
    Job.Kind.RESTART: lifecycle,
    Job.Kind.REMOVE: remove,
    Job.Kind.COMMIT: commit,
    Job.Kind.TAG: images_made,
    Job.Kind.PULL: images_made,
    Job.Kind.BUILD: images_made,
    Job.Kind.SYNC: synced,
    Job.Kind.QUOTA: synced,
    **{kind: stack_jobs.settle_stack for kind in stack_jobs.STACK_KINDS},
    **{kind: stack_jobs.settle_volume for kind in stack_jobs.VOLUME_KINDS},
}
