"""Carrying out plans, and the other verbs that change a project's containers.

`up(engine, plan, progress)` makes the networks and volumes, builds and pulls images, then
goes through the services in dependency order: before a service starts, each of its
dependencies must meet its `depends_on` condition (started; healthy; exited with status 0),
or the service is not started and the error names the dependency.

Healthy means what the engine's health checks recorded, never less. They are run by the
root's health checker: the engine service's where it runs, else a stand-in checker that
`up`, `start` and `restart` start (`Engine.ensure_health_checker`) as soon as a container
with a health check runs, which keeps checking while such containers run and ends by itself
after (runtime/container/health_checker.py). A recreated service's
new container replaces the old one only once it runs: until then the old one is kept aside
(stopped and renamed), and put back if the new one fails.

`progress`, when given, is called with one dict per step: `{"kind": "container" | "network"
| "volume" | "image", "name", "service", "status", "detail"}` (status words as Compose
prints them: Creating, Created, Starting, Started, Waiting, Healthy, Exited, Recreating,
Recreated, Stopping, Stopped, Removing, Removed, Building, Built, Pulling, Pulled, Running,
Error). The console turns them into a job's output; `moor compose` prints them.
"""

import os
import time

from runtime.compose import containers as labels, plan as plans
from runtime.compose.errors import ComposeError
from runtime.errors import MoorError, NotFound

DEPENDENCY_TIMEOUT = 300.0   # seconds a service waits for a dependency's condition
_POLL = 0.1


def _reporter(progress):
    def report(kind, name, status, service=None, detail=""):
        if progress is not None:
            progress({"kind": kind, "name": name, "service": service, "status": status,
                      "detail": detail})
    return report


def up(engine, plan, progress=None, timeout: float = DEPENDENCY_TIMEOUT,
       build_output=None) -> dict[str, str]:
    """Carry out `plan`; returns {service: container ID}. `build_output` receives the text
    of image builds as they run."""
    report = _reporter(progress)
    project = plan.project
    # images first: a build or pull that fails leaves no network or volume behind
    images = dict(plan.images)
    for name in plan.build:
        images[name] = _build(engine, project, name, report, build_output)
    for name in plan.pull:
        images[name] = _pull(engine, project, name, report)
    for key in plan.networks:
        _create_network(engine, project, key, report)
    for key in plan.volumes:
        _create_volume(engine, project, key, report)
    bind_sources(project, [item.service for item in plan.services
                           if item.action in (plans.CREATE, plans.RECREATE)])
    started: dict[str, str] = {}
    for item in plan.services:
        for extra in item.extra:
            _remove(engine, extra, report, item.service)
        _wait_for_dependencies(engine, project, item.service, started, timeout, report)
        if item.action == plans.CREATE:
            started[item.service] = _create_and_start(engine, project, item.service,
                                                      images[item.service], report)
        elif item.action == plans.RECREATE:
            started[item.service] = _recreate(engine, project, item, images[item.service],
                                              report)
        elif item.action == plans.START:
            _start(engine, project, item.service, item.container, report)
            started[item.service] = item.container["Id"]
        else:
            report("container", _name(item.container), "Running", item.service)
            started[item.service] = item.container["Id"]
    if plan.remove_orphans:
        for summary in plan.orphans:
            _remove(engine, summary, report, labels.service_of(summary))
    return started


# -- networks, volumes, images ---------------------------------------------------------------

def _create_network(engine, project, key: str, report) -> None:
    from runtime.network import create_network
    network = project.networks[key]
    report("network", network["name"], "Creating")
    create_network(engine.paths, network["name"], internal=bool(network.get("internal")),
                   labels={**network.get("labels", {}), labels.PROJECT: project.name,
                           labels.NETWORK: key, labels.VERSION: labels.COMPOSE_VERSION})
    report("network", network["name"], "Created")


def _create_volume(engine, project, key: str, report) -> None:
    volume = project.volumes[key]
    report("volume", volume["name"], "Creating")
    engine.volume_create(name=volume["name"],
                         labels={**volume.get("labels", {}), labels.PROJECT: project.name,
                                 labels.VOLUME: key, labels.VERSION: labels.COMPOSE_VERSION})
    report("volume", volume["name"], "Created")


def _build(engine, project, name: str, report, output) -> str:
    build = project.services[name]["build"]
    reference = labels.image_reference(project, name)
    report("image", reference, "Building", name)
    try:
        image_id = engine.build(build["context"], dockerfile=build.get("dockerfile"),
                                tags=[reference], build_args=build.get("args"),
                                target=build.get("target"), output=output)
    except MoorError as error:
        raise ComposeError(f"service {name}: building {reference}: {error.message}") from None
    report("image", reference, "Built", name)
    return image_id


def _pull(engine, project, name: str, report) -> str:
    reference = labels.image_reference(project, name)
    report("image", reference, "Pulling", name)
    try:
        image_id = engine.pull(reference)
    except MoorError as error:
        raise ComposeError(f"service {name}: pulling {reference}: {error.message}") from None
    report("image", reference, "Pulled", name)
    return image_id


# -- containers ------------------------------------------------------------------------------

def _name(summary: dict) -> str:
    return (summary.get("Names") or ["/" + summary["Id"][:12]])[0].lstrip("/")


def _create_and_start(engine, project, name: str, image_id: str, report,
                      container_name: str | None = None) -> str:
    options = labels.create_options(project, name, image_id,
                                    container_name_override=container_name)
    shown = options["name"]
    report("container", shown, "Creating", name)
    container_id = engine.create(options)
    report("container", shown, "Created", name)
    report("container", shown, "Starting", name)
    try:
        engine.start(container_id)
        _join_other_networks(engine, project, name, container_id, shown)
    except BaseException:
        try:
            engine.remove(container_id, force=True)
        except MoorError:
            pass
        raise
    _keep_checked(engine, container_id)
    report("container", shown, "Started", name)
    return container_id


def _keep_checked(engine, container_id: str) -> None:
    """A container with a health check (from the file or its image) is checked from its
    start, whoever waits on it: a checker runs for the root from now on."""
    from runtime.container import health
    if health.configured(engine.container(container_id)) is not None:
        try:
            engine.ensure_health_checker()
        except MoorError:
            pass    # said by whoever waits on its health (wait_healthy), if anyone does


def _join_other_networks(engine, project, name: str, container_id: str, shown: str) -> None:
    """The networks after the first, joined once the container runs (the engine attaches a
    starting container to one network)."""
    from runtime.network import NetworkRequest, connect
    service = project.services[name]
    for key in list(service.get("networks", {}))[1:]:
        connect(engine.paths, project.network_name(key), NetworkRequest(
            container_id=container_id, name=shown,
            hostname=service.get("hostname") or container_id[:12],
            mode=project.network_name(key),
            aliases=labels.network_aliases(project, name, key)))


def _start(engine, project, name: str, summary: dict, report) -> None:
    shown = _name(summary)
    report("container", shown, "Starting", name)
    engine.start(summary["Id"])
    if project is not None and name in project.services:
        _join_other_networks(engine, project, name, summary["Id"], shown)
    _keep_checked(engine, summary["Id"])
    report("container", shown, "Started", name)


def _stop_timeout(project, name: str):
    service = (project.services.get(name) if project is not None else None) or {}
    if service.get("stop_grace_period") is None:
        return None
    from runtime.compose.normalize import duration_ns
    return max(0, round(duration_ns(service["stop_grace_period"], "stop_grace_period") / 1e9))


def _recreate(engine, project, item, image_id: str, report) -> str:
    """Replace a service's container: the old one is stopped and renamed aside, the new one
    made and started under the service's name, then the old one removed — or, when the new
    one fails, removed instead and the old one put back as it was."""
    old = item.container
    old_name = _name(old)
    was_running = old["State"] in ("running", "restarting", "paused")
    report("container", old_name, "Recreating", item.service, "; ".join(item.reasons))
    if was_running:
        engine.stop(old["Id"], timeout=_stop_timeout(project, item.service))
    aside = f"{old['Id'][:12]}_{old_name}"
    engine.rename(old["Id"], aside)
    try:
        container_id = _create_and_start(engine, project, item.service, image_id,
                                         lambda *args, **kwargs: None)
    except BaseException:
        engine.rename(old["Id"], old_name)
        if was_running:
            try:
                engine.start(old["Id"])
                _join_other_networks(engine, project, item.service, old["Id"], old_name)
            except MoorError:
                pass
        raise
    engine.remove(old["Id"], force=True)
    report("container", labels.container_name(project, item.service), "Recreated",
           item.service)
    return container_id


def _remove(engine, summary: dict, report, service: str | None, timeout=None) -> None:
    shown = _name(summary)
    if summary["State"] in ("running", "restarting", "paused"):
        report("container", shown, "Stopping", service)
        engine.stop(summary["Id"], timeout=timeout)
        report("container", shown, "Stopped", service)
    report("container", shown, "Removing", service)
    try:
        engine.remove(summary["Id"], force=True)
    except NotFound:
        pass
    report("container", shown, "Removed", service)


# -- dependencies ----------------------------------------------------------------------------

def _wait_for_dependencies(engine, project, name: str, started: dict, timeout: float,
                           report) -> None:
    for dependency, options in project.services[name].get("depends_on", {}).items():
        container_id = started.get(dependency)
        if container_id is None:
            continue    # not part of this run (--no-deps, or not required and disabled)
        condition = options["condition"]
        shown = labels.container_name(project, dependency)
        if condition == "service_healthy":
            report("container", shown, "Waiting", dependency)
            wait_healthy(engine, container_id, dependency, name, timeout)
            report("container", shown, "Healthy", dependency)
        elif condition == "service_completed_successfully":
            report("container", shown, "Waiting", dependency)
            code = engine.wait(container_id)
            if code != 0:
                raise ComposeError(f"service {name} was not started: its dependency "
                                   f"{dependency} did not complete successfully (exit code "
                                   f"{code})")
            report("container", shown, "Exited", dependency)


def wait_healthy(engine, container_id: str, dependency: str, dependent: str,
                 timeout: float) -> None:
    """Until the dependency's health check says healthy (a result a live checker keeps
    current: one is started if none runs); an unhealthy or stopped dependency, or one not
    healthy within `timeout` seconds, is an error naming it."""
    deadline = time.monotonic() + timeout
    while True:
        state = engine.inspect(container_id)["State"]
        shown = state.get("Health")
        if shown is None and state.get("Status") in ("running", "restarting"):
            raise ComposeError(f"service {dependent} was not started: its dependency "
                               f"{dependency} has no health check to wait for")
        if (shown or {}).get("Note"):
            # nobody keeps its result current: have it checked (and look again)
            engine.ensure_health_checker()
        health = (shown or {}).get("Status")
        if health == "healthy" and not shown.get("Note"):
            return
        if health == "unhealthy":
            raise ComposeError(f"service {dependent} was not started: its dependency "
                               f"{dependency} is unhealthy{_last_check(state)}")
        if state.get("Status") not in ("running", "restarting"):
            raise ComposeError(f"service {dependent} was not started: its dependency "
                               f"{dependency} is {state.get('Status')} (exit code "
                               f"{state.get('ExitCode')})")
        if time.monotonic() > deadline:
            raise ComposeError(f"service {dependent} was not started: its dependency "
                               f"{dependency} did not become healthy within {timeout:g} s")
        time.sleep(_POLL)


def _last_check(state: dict) -> str:
    log = (state.get("Health") or {}).get("Log") or []
    if not log:
        return ""
    output = str(log[-1].get("Output") or "").strip().splitlines()
    return f" (last check: exit code {log[-1].get('ExitCode')}" + \
        (f", {output[-1][:200]}" if output else "") + ")"


# -- down, stop, start, restart --------------------------------------------------------------

def _reverse_order(project, summaries: list[dict]) -> list[dict]:
    """Dependents before their dependencies (orphans first), for stopping."""
    order = project.order(list(project.services)) if project is not None else []
    rank = {name: index for index, name in enumerate(order)}
    return sorted(summaries, key=lambda summary: -rank.get(labels.service_of(summary), 1 << 30))


def down(engine, project_name: str, project=None, volumes: bool = False,
         remove_orphans: bool = False, progress=None, services=(), timeout=None) -> None:
    """Stop and remove the project's containers, then its networks and, with `volumes`, its
    named volumes (never external ones). Without `project` (no file at hand) everything
    labelled with the project's name goes."""
    report = _reporter(progress)
    found = labels.project_containers(engine, project_name, oneoff=None)
    if project is not None and not remove_orphans:
        found = [summary for summary in found if labels.service_of(summary) in project.services
                 or (summary.get("Labels") or {}).get(labels.ONEOFF) == "True"]
    if services:
        found = [summary for summary in found if labels.service_of(summary) in services]
    for summary in _reverse_order(project, found):
        service = labels.service_of(summary)
        _remove(engine, summary, report, service,
                timeout if timeout is not None else _stop_timeout(project, service))
    if services:
        return
    _remove_networks(engine, project_name, project, report)
    if volumes:
        _remove_volumes(engine, project_name, project, report)


def _remove_networks(engine, project_name, project, report) -> None:
    from runtime.network import list_networks, remove_network
    external = {network["name"] for network in (project.networks.values() if project else ())
                if network.get("external")}
    for network in list_networks(engine.paths):
        if (network.get("Labels") or {}).get(labels.PROJECT) != project_name or \
                network["Name"] in external:
            continue
        report("network", network["Name"], "Removing")
        try:
            remove_network(engine.paths, network["Name"])
        except NotFound:
            pass
        except MoorError as error:
            # another project's container still on it: Compose leaves it, saying so
            report("network", network["Name"], "Error", detail=error.message)
            continue
        report("network", network["Name"], "Removed")


def _remove_volumes(engine, project_name, project, report) -> None:
    if not hasattr(engine, "volumes"):
        return
    external = {volume["name"] for volume in (project.volumes.values() if project else ())
                if volume.get("external")}
    for volume in engine.volumes({"label": [f"{labels.PROJECT}={project_name}"]}):
        if (volume.get("Labels") or {}).get(labels.PROJECT) != project_name or \
                volume["Name"] in external:
            continue
        report("volume", volume["Name"], "Removing")
        engine.volume_remove(volume["Name"])
        report("volume", volume["Name"], "Removed")


def stop(engine, project, services=(), progress=None, timeout=None) -> None:
    report = _reporter(progress)
    for summary in _reverse_order(project, _selected(engine, project, services)):
        if summary["State"] in ("running", "restarting", "paused"):
            service = labels.service_of(summary)
            report("container", _name(summary), "Stopping", service)
            engine.stop(summary["Id"], timeout=timeout if timeout is not None
                        else _stop_timeout(project, service))
            report("container", _name(summary), "Stopped", service)


def start(engine, project, services=(), progress=None,
          timeout: float = DEPENDENCY_TIMEOUT) -> None:
    """Start the existing containers of the services, in dependency order, each after its
    dependencies meet their conditions."""
    report = _reporter(progress)
    summaries = {labels.service_of(summary): summary
                 for summary in _selected(engine, project, services)}
    if not summaries:
        raise ComposeError(f"project {project.name} has no containers to start: run up")
    started = {}
    for name in project.order([name for name in project.order() if name in summaries]):
        summary = summaries[name]
        _wait_for_dependencies(engine, project, name, started, timeout, report)
        if summary["State"] not in ("running", "restarting", "paused"):
            _start(engine, project, name, summary, report)
        started[name] = summary["Id"]


def restart(engine, project, services=(), progress=None, timeout=None) -> None:
    """Restart the services' containers, and those of services that depend on them with
    `restart: true`, as Compose does."""
    report = _reporter(progress)
    chosen = list(services) or list(project.active)
    for name in list(chosen):
        for other in project.active:
            options = project.services[other].get("depends_on", {}).get(name)
            if options and options.get("restart") and other not in chosen:
                chosen.append(other)
    summaries = _selected(engine, project, chosen)
    for summary in _reverse_order(project, summaries):
        if summary["State"] in ("running", "restarting", "paused"):
            service = labels.service_of(summary)
            report("container", _name(summary), "Stopping", service)
            engine.stop(summary["Id"], timeout=timeout if timeout is not None
                        else _stop_timeout(project, service))
    by_service = {labels.service_of(summary): summary for summary in summaries}
    for name in project.order([name for name in project.order() if name in by_service]):
        summary = dict(by_service[name], State="exited")
        _start(engine, project, name, summary, report)


def _selected(engine, project, services) -> list[dict]:
    for name in services:
        if name not in project.services:
            raise ComposeError(f"no such service: {name}")
    found = labels.project_containers(engine, project.name)
    return [summary for summary in found
            if not services or labels.service_of(summary) in services]


def bind_sources(project, names) -> None:
    """Make the missing host directories of bind mounts that ask for it (the short syntax
    does, as Docker's -v)."""
    for name in names:
        for volume in project.services[name].get("volumes", []):
            if volume["type"] == "bind" and not os.path.exists(volume["source"]) and \
                    (volume.get("bind") or {}).get("create_host_path"):
                os.makedirs(volume["source"], exist_ok=True)
