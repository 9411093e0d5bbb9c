"""The tasks a host's worker runs. A notice carries only a job's ID: the task claims the job
through the host API, which answers with what the job is (or refuses: another host's job, one
claimed before, none at all, and the task does nothing), calls the engine, and reports the
outcome with the engine's facts about the job's own container and images (`report`). The
console records it all: rows, commit history, the job's state.

One small handler per job kind; an engine error (`MoorError`, which a handler's own refusal
also is) fails the job with its one-line message.

The tasks' names (`wire.EXECUTE_TASK`, `wire.SYNC_TASK`) are part of the wire between the web
side and every host's worker: a renamed task would strand the messages queued under its old
name.
"""
import logging

from celery.signals import task_failure

from console.agent import (
    config,
    console_api,
    image_tasks,
    stack_tasks,
    sync,
    team_groups,
    team_networks,
    volume_tasks,
)
from console.agent.console_api import ConsoleRefused
from console.agent.engine import container_diff, engine_root, error_message, get_engine
from console.agent.queue import app

# The worker's start-up and heartbeat (signal handlers) come with the tasks it runs.
from console.agent.worker import worker_identity
from console.jobs import wire
from runtime.errors import MoorError

log = logging.getLogger(__name__)
SUCCEEDED, FAILED = "succeeded", "failed"


@app.task(name=wire.EXECUTE_TASK, acks_late=True, ignore_result=True)
def execute_job(job_id) -> str:
    if not isinstance(job_id, int) or isinstance(job_id, bool):
        log.warning("a notice named no job (%r): ignored", job_id)
        return "ignored"
    api, worker = console_api.get_api(), worker_identity()
    job = api.claim(job_id, worker)
    if job is None:
        return "already claimed"
    report = {}
    try:
        result = HANDLERS[job["kind"]](job, get_engine(), report)
    except MoorError as error:
        state, message, result = FAILED, error_message(error), {}
    except Exception as error:  # a bug of ours: still never leave the job running
        log.exception("job %s (%s) failed", job_id, job["kind"])
        state, message, result = FAILED, f"internal error: {type(error).__name__}: {error}", {}
    else:
        state, message = SUCCEEDED, ""
    finish(job_id, worker, state, error=message, result=result or {}, report=report)
    return state


@app.task(name=wire.SYNC_TASK, ignore_result=True)
def sync_host(host_name) -> None:
    """The periodic reconcile a worker asks of itself (no job row)."""
    if host_name != config.current().host:
        log.warning("a sync notice named host %r, not this one: ignored", host_name)
        return
    sync.sync_host(console_api.get_api(), get_engine())


@task_failure.connect
def fail_job_of_lost_worker(sender=None, task_id=None, exception=None, args=None, **kwargs):
    """A pool process killed mid-task (OOM, SIGKILL) never reports: fail its job (the console
    refuses it if the job is not running for this worker)."""
    if getattr(sender, "name", None) != wire.EXECUTE_TASK or not args:
        return
    finish(args[0], worker_identity(), FAILED,
           error=f"the worker process died running the job ({type(exception).__name__})")


def finish(job_id: int, worker: str, state: str, *, error: str = "",
           result: dict | None = None, report: dict | None = None) -> bool:
    """Report the job's outcome. The console keeps it only if the job is still this
    worker's (the reaper, for a host it found silent, may have failed it meanwhile, and that
    verdict stands); False when it did not."""
    try:
        console_api.get_api().finish(job_id, worker, state, error=error, result=result,
                                     report=report)
    except ConsoleRefused as refusal:
        if refusal.status != 409:
            raise
        log.warning("job %s was settled meanwhile (%s); its outcome here (%s) is not "
                    "recorded", job_id, refusal.detail, state)
        return False
    return True


# -- handlers: (job, engine, report) -> result ----------------------------------------------
# `report` gathers the engine's facts for the console: "container" (the job's container's
# inspect, None when the engine has none), "images" and "root" (the host's images after the
# job), "made" (the images it made), "commit".

def inspect_or_none(engine, engine_id: str) -> dict | None:
    try:
        return engine.inspect(engine_id)
    except MoorError:
        return None


def making(verb):
    """run (create + start) or create, on a network the container's team may use (its own
    made on first use); the engine removes a container whose start failed."""
    def handler(job, engine, report):
        try:
            team_networks.prepare(job.get("network"), engine)
            volume_tasks.prepare(job, engine)
            team_groups.ensure(job.get("group"), engine)
            getattr(engine, verb)(job["options"])
        finally:
            report["container"] = inspect_or_none(engine, job["container"])
        return {}
    return handler


def lifecycle(verb):
    def handler(job, engine, report):
        engine_id = job["container"]
        try:
            if verb in ("start", "restart"):
                team_networks.prepare(job.get("network"), engine)
                team_groups.ensure(job.get("group"), engine)
            if verb == "stop":
                engine.stop(engine_id, timeout=job.get("timeout"))
            elif verb == "kill":
                engine.kill(engine_id, signal=job.get("signal") or "KILL")
            elif verb == "restart":
                engine.restart(engine_id, timeout=job.get("timeout"))
            else:
                engine.start(engine_id)
        finally:
            report["container"] = inspect_or_none(engine, engine_id)
        return {}
    handler.__name__ = verb
    return handler


def remove(job, engine, report):
    try:
        engine.remove(job["container"], force=bool(job.get("force")),
                      volumes=bool(job.get("volumes")))
    except MoorError:
        report["container"] = inspect_or_none(engine, job["container"])
        raise
    return {}


def commit(job, engine, report):
    engine_id = job["container"]
    file_changes = container_diff(engine, engine_id)
    try:
        image_id = engine.commit(engine_id, repository=job.get("reference"),
                                 message=job.get("message"), author=job.get("author"),
                                 changes=job.get("changes") or [],
                                 pause=job.get("pause", True))
        report["commit"] = {"image": engine.image_inspect(image_id),
                            "file_changes": file_changes}
    finally:
        report["container"] = inspect_or_none(engine, engine_id)
    return {}


def tag(job, engine, report):
    """Point a `name:tag` at an image; the tag moves off any image it named before."""
    reference = engine.tag(job["image"], job["reference"])
    report.update(images=engine.images(), root=engine_root(engine))
    return {"image_id": job["image"], "reference": reference}


def sync_job(job, engine, report):
    return sync.sync_host(console_api.get_api(), engine)


HANDLERS = {
    "run": making("run"),
    "create": making("create"),
    "start": lifecycle("start"),
    "stop": lifecycle("stop"),
    "kill": lifecycle("kill"),
    "restart": lifecycle("restart"),
    "remove": remove,
    "commit": commit,
    "tag": tag,
    "pull": image_tasks.pull,
    "build": image_tasks.build,
    "sync": sync_job,
    "quota": team_groups.apply,
    **stack_tasks.HANDLERS,
    **volume_tasks.HANDLERS,
}
