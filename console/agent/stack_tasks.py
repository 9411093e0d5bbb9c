"""The host's side of stacks (job kinds `stack.*`): planning, deploying, starting, stopping,
restarting, taking down and removing a stack's Compose project with the engine's own
`runtime.compose`, held to the team's rules (`stack_engine`).

A deploy plans again (the host may have changed since the review), writes the plan, then one
line per step as it happens (`web: container shop-web-1 Recreating (configuration changed:
environment)`) to the job's output, and leaves the console's rows of the stack's containers
as the engine has them, whether it succeeded or not. Containers of services a new file no
longer has are removed (`remove_orphans`). Only one job of a stack runs at a time on a host
(a lock in its directory), whatever the queue delivers.
"""
import contextlib
import fcntl
import os

from runtime import compose
from runtime.compose import containers as compose_labels

from console.agent import reconcile
from console.agent.output import JobOutput
from console.agent.stack_engine import (StackEngine, StackRefused, by_superuser,
                                        check_project, load_project, stack_directory)
from console.containers.models import Container
from console.jobs.models import Job
from console.stacks.models import Stack
from console.streams import publish
from console.volumes.models import Volume


@contextlib.contextmanager
def stack_lock(job, name: str):
    """One job of a stack at a time on its host."""
    path = os.path.join(stack_directory(job.host.name, name), ".lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def the_stack(job) -> Stack:
    stack = Stack.objects.select_related("host", "team").filter(pk=job.params["stack"]).first()
    if stack is None:
        raise StackRefused("the stack was removed meanwhile")
    return stack


def progress_line(event: dict) -> str:
    """One step of `compose.up` (or down, start...) as a line of the job's output."""
    detail = f" ({event['detail']})" if event.get("detail") else ""
    who = f"{event['service']}: " if event.get("service") else ""
    return f"{who}{event['kind']} {event['name']} {event['status']}{detail}"


def plan_lines(described: dict) -> list[str]:
    lines = [f"network {name}: create" for name in described["networks"]]
    lines += [f"volume {name}: create" for name in described["volumes"]]
    for item in described["services"]:
        reasons = f" ({'; '.join(item['reasons'])})" if item["reasons"] else ""
        lines.append(f"{item['service']}: {item['action']}{reasons}")
    lines += [f"{orphan['service'] or orphan['name']}: {orphan['action']} (no longer in the "
              f"file)" for orphan in described["orphans"]]
    return lines


def planned(engine, job, name, compose_text, env_text, stack, team):
    """(the engine as the stack may use it, the plan) for deploying `compose_text`."""
    project = load_project(engine, job, name, compose_text, env_text, team,
                           read_files=by_superuser(job))
    check_project(engine, job, name, stack)
    stack_engine = StackEngine(engine, job, team)
    plan = compose.plan_up(stack_engine, project, remove_orphans=True,
                           may_use=stack_engine.may_use)
    return stack_engine, plan


# -- handlers -----------------------------------------------------------------------------------

def plan(job, engine):
    """What deploying the file in the job's params would change, and why; nothing changes."""
    params = job.params
    stack = the_stack(job) if params.get("stack") else None
    _, made = planned(engine, job, params["name"], params["compose"], params.get("env") or "",
                      stack, job.team)
    return {"plan": made.to_dict(), "changes": made.changes()}


def deploy(job, engine):
    stack = the_stack(job)
    version = stack.versions.filter(number=job.params["version"]).first()
    if version is None:
        raise StackRefused(f"stack {stack.name} has no version {job.params['version']}")
    with stack_lock(job, stack.name), JobOutput(job) as output:
        try:
            stack_engine, made = planned(engine, job, stack.name, version.compose, version.env,
                                         stack, stack.team)
            described = made.to_dict()
            output.line(f"Deploying version {version.number} of {stack.name} on "
                        f"{job.host.name}:")
            for line in plan_lines(described):
                output.line(f"  {line}")
            started = compose.up(stack_engine, made, progress=lambda event: output.line(
                progress_line(event)), build_output=output.write)
            output.line(f"Version {version.number} is deployed.")
        except Exception as error:
            output.line(f"Error: {getattr(error, 'message', None) or error}")
            raise
        finally:
            sync_stack(stack, engine)
    return {"plan": described, "containers": started, "version": version.number}


def lifecycle(verb):
    """start, stop or restart the stack's containers: with its file, as Compose does
    (dependencies first, conditions waited for); without one (made outside), in the order
    they were made (stop: the reverse)."""
    def handler(job, engine):
        stack = the_stack(job)
        with stack_lock(job, stack.name), JobOutput(job) as output:
            try:
                current = stack.current
                report = lambda event: output.line(progress_line(event))  # noqa: E731
                if current is not None:
                    project = load_project(engine, job, stack.name, current.compose,
                                           current.env, stack.team, read_files=False)
                    getattr(compose, verb)(StackEngine(engine, job, stack.team), project,
                                           progress=report)
                else:
                    by_labels(engine, stack.name, verb, output)
            finally:
                sync_stack(stack, engine)
        return {"containers": len(stack.containers)}
    handler.__name__ = verb
    return handler


def by_labels(engine, name: str, verb: str, output) -> None:
    found = sorted(compose_labels.project_containers(engine, name, oneoff=False),
                   key=lambda summary: summary.get("Created") or 0)
    if verb in ("stop", "restart"):
        for summary in reversed(found):
            if summary["State"] in ("running", "restarting", "paused"):
                output.line(f"{compose_labels.service_of(summary)}: container "
                            f"{summary['Names'][0].lstrip('/')} Stopping")
                engine.stop(summary["Id"])
    if verb in ("start", "restart"):
        for summary in found:
            if verb == "restart" or summary["State"] not in ("running", "restarting", "paused"):
                output.line(f"{compose_labels.service_of(summary)}: container "
                            f"{summary['Names'][0].lstrip('/')} Starting")
                engine.start(summary["Id"])


def down(job, engine):
    """Remove the stack's containers and networks; its volumes and the stack stay."""
    stack = the_stack(job)
    with stack_lock(job, stack.name), JobOutput(job) as output:
        try:
            compose.down(engine, stack.name, None, volumes=False, remove_orphans=True,
                         progress=lambda event: output.line(progress_line(event)))
        finally:
            sync_stack(stack, engine)
    return {"down": stack.name}


def remove(job, engine):
    """Take the stack down (with `volumes`, its volumes too) and forget it."""
    stack = the_stack(job)
    volumes = bool(job.params.get("volumes"))
    with stack_lock(job, stack.name), JobOutput(job) as output:
        try:
            compose.down(engine, stack.name, None, volumes=volumes, remove_orphans=True,
                         progress=lambda event: output.line(progress_line(event)))
        except BaseException:
            Stack.objects.filter(pk=stack.pk).update(state=Stack.State.ACTIVE)
            sync_stack(stack, engine)
            raise
        sync_stack(stack, engine)
        if volumes:
            Volume.objects.filter(host=job.host, project=stack.name).delete()
        Stack.objects.filter(pk=stack.pk).delete()
    return {"removed": stack.name, "volumes": job.params.get("volume_names") or []}


# -- the console's rows ---------------------------------------------------------------------------

def sync_stack(stack, engine) -> None:
    """The rows of the stack's containers as the engine has them now: new ones made (the
    team's), changed ones refreshed, removed ones gone; the stack's list of them."""
    host = stack.host
    found = compose_labels.project_containers(engine, stack.name, oneoff=None)
    ids = [summary["Id"] for summary in found]
    rows = {row.engine_id: row for row in Container.objects.filter(host=host).filter(
        engine_id__in=ids + stack.container_ids).select_related("host", "team")}
    if reconcile.root_unchanged(host, engine):
        # First: a recreated container's successor has its name.
        for engine_id, row in rows.items():
            if engine_id not in ids:
                grantees = list(row.grants.values_list("user_id", flat=True))
                row.delete()
                publish.container_changed(row, removed=True, grantee_ids=grantees)
    for summary in found:
        row = rows.get(summary["Id"])
        if row is None:
            reconcile.adopt(host, engine, summary)
        else:
            reconcile.refresh(row, engine)
    if stack.team_id is not None:
        Container.objects.filter(host=host, engine_id__in=ids, team__isnull=True).update(
            team=stack.team_id)
    entries = [{"id": summary["Id"], "service": compose_labels.service_of(summary)}
               for summary in found]
    Stack.objects.filter(pk=stack.pk).update(containers=entries, missed_syncs=0)
    stack.containers = entries


HANDLERS = {
    Job.Kind.STACK_PLAN: plan,
    Job.Kind.STACK_DEPLOY: deploy,
    Job.Kind.STACK_START: lifecycle("start"),
    Job.Kind.STACK_STOP: lifecycle("stop"),
    Job.Kind.STACK_RESTART: lifecycle("restart"),
    Job.Kind.STACK_DOWN: down,
    Job.Kind.STACK_REMOVE: remove,
}
