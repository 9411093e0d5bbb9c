"""The tasks a host's worker runs. Each takes a job id, claims the job (a redelivered message
finds it taken and returns), calls the engine, records the result and publishes the change.

One small handler per job kind; an engine error (`MoorError`, which a handler's own refusal
also is) fails the job with its one-line message.

The tasks' names (`console.jobs.execute`, `console.jobs.sync`: `EXECUTE_TASK` and `SYNC_TASK`
in `console.jobs.dispatch`, which sends them) are part of the wire between the web side and
every host's worker: a renamed task would strand the messages queued under its old name.
"""
import logging

from celery import shared_task
from celery.signals import task_failure
from django.db import close_old_connections, transaction
from django.utils import timezone

from console.agent import (
    image_tasks,
    reconcile,
    specs,
    stack_tasks,
    team_groups,
    team_networks,
    volume_tasks,
)
from console.agent.engine import container_diff, error_message, get_engine

# The worker's start-up and heartbeat (signal handlers) come with the tasks it runs.
from console.agent.worker import worker_identity
from console.containers.models import Container
from console.hosts.models import Host
from console.images.models import Commit
from console.jobs.dispatch import EXECUTE_TASK, SYNC_TASK
from console.jobs.models import Job
from console.streams import publish
from runtime.errors import MoorError

log = logging.getLogger(__name__)


@shared_task(name=EXECUTE_TASK, acks_late=True, ignore_result=True)
def execute_job(job_id: int) -> str:
    close_old_connections()
    if not Job.objects.claim(job_id, worker_identity()):
        return "already claimed"
    job = Job.objects.select_related("host", "team", "container", "requested_by").get(pk=job_id)
    publish.job_changed(job)
    try:
        result = HANDLERS[job.kind](job, get_engine())
    except MoorError as error:
        finish(job, Job.State.FAILED, error=error_message(error))
    except Exception as error:  # a bug of ours: still never leave the job running
        log.exception("job %s (%s) failed", job.pk, job.kind)
        finish(job, Job.State.FAILED, error=f"internal error: {type(error).__name__}: {error}")
    else:
        finish(job, Job.State.SUCCEEDED, result=result or {})
    return job.state


@shared_task(name=SYNC_TASK, ignore_result=True)
def sync_host(host_name: str) -> None:
    """The periodic reconcile a worker asks of itself (no job row)."""
    close_old_connections()
    host = Host.objects.filter(name=host_name).first()
    if host is not None:
        reconcile.sync_host(host, get_engine())
        team_groups.sync(host, get_engine())


@task_failure.connect
def fail_job_of_lost_worker(sender=None, task_id=None, exception=None, args=None, **kwargs):
    """A pool process killed mid-task (OOM, SIGKILL) never reaches `finish`: fail its job."""
    if getattr(sender, "name", None) != EXECUTE_TASK or not args:
        return
    job = Job.objects.filter(pk=args[0], state=Job.State.RUNNING).first()
    if job is not None:
        finish(job, Job.State.FAILED, error=f"the worker process died running the job "
                                            f"({type(exception).__name__})")


def finish(job: Job, state: str, *, error: str = "", result: dict | None = None) -> bool:
    """Record the job's outcome, if the job is still this worker's to finish: the reaper (a
    silent host) or a restarted worker may have failed it meanwhile, with a conditional update
    as this one, and that verdict stands. False when it did."""
    fields = {"state": state, "error": error, "result": result or {},
              "finished_at": timezone.now()}
    if not Job.objects.filter(pk=job.pk, state=Job.State.RUNNING,
                              worker=worker_identity()).update(**fields):
        job.refresh_from_db()
        log.warning("job %s was settled meanwhile (%s: %s); its outcome here (%s) is not "
                    "recorded", job.pk, job.state, job.error, state)
        return False
    for name, value in fields.items():
        setattr(job, name, value)
    publish.job_changed(job)
    return True


# -- handlers: (job, engine) -> result dict ------------------------------------------------

def making(verb):
    """run (create + start) or create, on a network the container's team may use (its own
    made on first use); the engine removes a container whose start failed, and so do we."""
    def handler(job, engine):
        container = job.container
        try:
            team_networks.prepare(job, container, engine)
            volume_tasks.prepare(job, container, engine)
            team_groups.ensure(container, engine)
            getattr(engine, verb)(specs.create_options(container))
        except MoorError:
            remove_row(container)
            raise
        reconcile.refresh(container, engine)
        return {"state": container.state}
    return handler


def lifecycle(verb):
    def handler(job, engine):
        container = job.container
        try:
            if verb in ("start", "restart"):
                team_networks.ensure_own(container, engine)
                team_groups.ensure(container, engine)
            if verb == "stop":
                engine.stop(container.engine_id, timeout=job.params.get("timeout"))
            elif verb == "kill":
                engine.kill(container.engine_id, signal=job.params.get("signal") or "KILL")
            elif verb == "restart":
                engine.restart(container.engine_id, timeout=job.params.get("timeout"))
            else:
                engine.start(container.engine_id)
        finally:
            reconcile.refresh(container, engine)
        return {"state": container.state, "exit_code": container.exit_code}
    handler.__name__ = verb
    return handler


def remove(job, engine):
    container = job.container
    try:
        engine.remove(container.engine_id, force=bool(job.params.get("force")),
                      volumes=bool(job.params.get("volumes")))
    except MoorError:
        reconcile.refresh(container, engine)
        raise
    remove_row(container)
    return {"removed": job.target_id}


def commit(job, engine):
    container = job.container
    params = job.params
    changes = [f"{c}" for c in params.get("changes", [])]
    file_changes = container_diff(engine, container.engine_id)
    repository = params.get("repository") or None
    tag = params.get("tag") or ""
    reference = f"{repository}:{tag or 'latest'}" if repository else None
    image_id = engine.commit(container.engine_id, repository=reference,
                             message=params.get("message") or None,
                             author=params.get("author") or None, changes=changes,
                             pause=params.get("pause", True))
    data = engine.image_inspect(image_id)
    with transaction.atomic():
        image = reconcile.upsert_image(job.host, data, team=container.team)
        record = Commit.objects.create(
            image=image, new_image_id=image.image_id, parent_image_id=image.parent_id,
            host=job.host, team=container.team, author=job.requested_by,
            author_name=params.get("author") or "", container_engine_id=container.engine_id,
            container_name=container.name, repository=repository or "", tag=tag,
            message=params.get("message") or "", changes=changes, file_changes=file_changes,
            layer_size=image.size, job=job)
    reconcile.refresh(container, engine)
    return {"image_id": image.image_id, "reference": reference, "files_changed": len(file_changes),
            "commit": record.pk}


def tag(job, engine):
    """Point a `name:tag` at an image; the tag moves off any image it named before."""
    reference = engine.tag(job.params["image"], job.params["reference"])
    reconcile.sync_images(job.host, engine)
    return {"image_id": job.params["image"], "reference": reference}


def sync(job, engine):
    return reconcile.sync_host(job.host, engine)


def remove_row(container: Container) -> None:
    grantees = list(container.grants.values_list("user_id", flat=True))
    Container.objects.filter(pk=container.pk).delete()
    publish.container_changed(container, removed=True, grantee_ids=grantees)


HANDLERS = {
    Job.Kind.RUN: making("run"),
    Job.Kind.CREATE: making("create"),
    Job.Kind.START: lifecycle("start"),
    Job.Kind.STOP: lifecycle("stop"),
    Job.Kind.KILL: lifecycle("kill"),
    Job.Kind.RESTART: lifecycle("restart"),
    Job.Kind.REMOVE: remove,
    Job.Kind.COMMIT: commit,
    Job.Kind.TAG: tag,
    Job.Kind.PULL: image_tasks.pull,
    Job.Kind.BUILD: image_tasks.build,
    Job.Kind.SYNC: sync,
    **stack_tasks.HANDLERS,
    **volume_tasks.HANDLERS,
    Job.Kind.QUOTA: team_groups.apply,
}

