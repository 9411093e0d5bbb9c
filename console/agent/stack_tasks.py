"""The host's side of stacks (job kinds `stack.*`): planning, deploying, starting, stopping,
restarting, taking down and removing a stack's Compose project with the engine's own
`runtime.compose`, held to the team's rules (`stack_engine`).

A deploy plans again (the host may have changed since the review), writes the plan, then one
line per step as it happens (`web: container shop-web-1 Recreating (configuration changed:
environment)`) to the job's output, and leaves the console's rows of the stack's containers
as the engine has them, whether it succeeded or not: every job reports the stack's project
as the engine has it after the job (`report["stack"]`: its containers and their `inspect`),
from which the console makes the rows (`console/hostapi/stack_jobs.py`). Containers of
services a new file no longer has are removed (`remove_orphans`). Only one job of a stack runs
at a time on a host (a lock in its directory), whatever the queue delivers.
"""
import contextlib
import fcntl
import os

from console.agent.engine import engine_root
from console.agent.output import JobOutput
from console.agent.stack_engine import (
    StackEngine,
    StackRefused,
    by_superuser,
    check_project,
    host_name,
    load_project,
    stack_directory,
)
from runtime import compose
from runtime.compose import containers as compose_labels
from runtime.errors import MoorError


@contextlib.contextmanager
def stack_lock(job, name: str):
    """One job of a stack at a time on its host."""
    path = os.path.join(stack_directory(host_name(), name), ".lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def the_stack(job) -> dict:
    """The job's stack as the console described it."""
    if job.get("gone") or job.get("stack") is None:
        raise StackRefused("the stack was removed meanwhile")
    return job["stack"]


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

def plan(job, engine, report):
    """What deploying the file in the job would change, and why; nothing changes."""
    if job.get("gone"):
        the_stack(job)
    _, made = planned(engine, job, job["name"], job["compose"], job.get("env") or "",
                      job.get("stack"), job.get("team"))
    return {"plan": made.to_dict(), "changes": made.changes()}


def deploy(job, engine, report):
    stack = the_stack(job)
    version = job.get("version")
    if version is None:
        raise StackRefused(f"stack {stack['name']} has no version {job.get('version_asked')}")
    with stack_lock(job, stack["name"]), JobOutput(job["id"]) as output:
        try:
            stack_engine, made = planned(engine, job, stack["name"], version["compose"],
                                         version["env"], stack, job.get("team"))
            described = made.to_dict()
            output.line(f"Deploying version {version['number']} of {stack['name']} on "
                        f"{host_name()}:")
            for line in plan_lines(described):
                output.line(f"  {line}")
            started = compose.up(stack_engine, made, progress=lambda event: output.line(
                progress_line(event)), build_output=output.write)
            output.line(f"Version {version['number']} is deployed.")
        except Exception as error:
            output.line(f"Error: {getattr(error, 'message', None) or error}")
            raise
        finally:
            report_stack(report, stack["name"], engine)
    return {"plan": described, "containers": started, "version": version["number"]}


def lifecycle(verb):
    """start, stop or restart the stack's containers: with its file, as Compose does
    (dependencies first, conditions waited for); without one (made outside), in the order
    they were made (stop: the reverse)."""
    def handler(job, engine, report):
        stack = the_stack(job)
        with stack_lock(job, stack["name"]), JobOutput(job["id"]) as output:
            try:
                current = stack.get("current")
                progress = lambda event: output.line(progress_line(event))  # noqa: E731
                if current is not None:
                    project = load_project(engine, job, stack["name"], current["compose"],
                                           current["env"], job.get("team"), read_files=False)
                    getattr(compose, verb)(StackEngine(engine, job, job.get("team")), project,
                                           progress=progress)
                else:
                    by_labels(engine, stack["name"], verb, output)
            finally:
                found = report_stack(report, stack["name"], engine)
        return {"containers": len(found)}
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


def down(job, engine, report):
    """Remove the stack's containers and networks; its volumes and the stack stay."""
    stack = the_stack(job)
    with stack_lock(job, stack["name"]), JobOutput(job["id"]) as output:
        try:
            compose.down(engine, stack["name"], None, volumes=False, remove_orphans=True,
                         progress=lambda event: output.line(progress_line(event)))
        finally:
            report_stack(report, stack["name"], engine)
    return {"down": stack["name"]}


def remove(job, engine, report):
    """Take the stack down (with `volumes`, its volumes too); the console forgets it once
    this succeeded (and marks it active again if it failed)."""
    stack = the_stack(job)
    with stack_lock(job, stack["name"]), JobOutput(job["id"]) as output:
        try:
            compose.down(engine, stack["name"], None, volumes=bool(job.get("volumes")),
                         remove_orphans=True,
                         progress=lambda event: output.line(progress_line(event)))
        finally:
            report_stack(report, stack["name"], engine)
    return {"removed": stack["name"], "volumes": job.get("volume_names") or []}


# -- the report -----------------------------------------------------------------------------------

def report_stack(report: dict, name: str, engine) -> list[dict]:
    """The stack's project as the engine has it now, for the console to make its rows from:
    its containers' summaries and `inspect`s, and the engine root."""
    found = compose_labels.project_containers(engine, name, oneoff=None)
    inspected = {}
    for summary in found:
        try:
            inspected[summary["Id"]] = engine.inspect(summary["Id"])
        except MoorError:
            pass                # gone again already
    report.update(root=engine_root(engine), stack={"containers": found, "inspect": inspected})
    return found


HANDLERS = {
    "stack.plan": plan,
    "stack.deploy": deploy,
    "stack.start": lifecycle("start"),
    "stack.stop": lifecycle("stop"),
    "stack.restart": lifecycle("restart"),
    "stack.down": down,
    "stack.remove": remove,
}
