"""Planning `up`: what must change in the engine for a project to run as its files say.

For each service, in dependency order: `create` (no container yet), `recreate` (its resolved
configuration or image changed, `--force-recreate`, or a service it depends on is
recreated, as Compose does), `start` (it exists as configured but is not running) or `keep`;
containers of services the files no longer have are `orphan`s (removed with
`remove_orphans`). Networks and volumes the project lacks are created; images to build or
pull are listed. Every check that can fail is made here, before anything is changed, so a
plan that cannot be carried out is refused with nothing made.

A plan is data (`Plan.to_dict()` is what `--dry-run` and the console show) and
`runtime.compose.apply.up` carries it out.
"""

import os

from runtime.compose import containers as labels
from runtime.compose.errors import ComposeError
from runtime.errors import MoorError, NotFound

CREATE, RECREATE, START, KEEP, REMOVE = "create", "recreate", "start", "keep", "remove"


class ServicePlan:
    def __init__(self, service: str, action: str, reasons=(), container: dict | None = None,
                 extra: list[dict] | None = None):
        self.service = service
        self.action = action
        self.reasons = list(reasons)
        self.container = container          # the existing container's summary, if any
        self.extra = list(extra or [])      # more containers of the service: removed

    def to_dict(self) -> dict:
        return {"service": self.service, "action": self.action, "reasons": self.reasons,
                "container": self.container["Id"] if self.container else None}


class Plan:
    def __init__(self, project):
        self.project = project
        self.services: list[ServicePlan] = []
        self.networks: list[str] = []       # keys of networks to create
        self.volumes: list[str] = []        # keys of volumes to create
        self.build: list[str] = []          # services whose image is built
        self.pull: list[str] = []           # services whose image is pulled
        self.orphans: list[dict] = []       # containers of services the files lack
        self.remove_orphans = False
        self.images: dict[str, str] = {}    # service -> image ID known now

    def service(self, name: str) -> ServicePlan:
        return next(item for item in self.services if item.service == name)

    def to_dict(self) -> dict:
        return {
            "project": self.project.name,
            "services": [item.to_dict() for item in self.services],
            "networks": [self.project.network_name(key) for key in self.networks],
            "volumes": [self.project.volume_name(key) for key in self.volumes],
            "build": list(self.build), "pull": list(self.pull),
            "orphans": [{"container": summary["Id"], "name": summary["Names"][0].lstrip("/"),
                         "service": labels.service_of(summary),
                         "action": REMOVE if self.remove_orphans else KEEP}
                        for summary in self.orphans],
        }

    def changes(self) -> bool:
        return bool(self.networks or self.volumes or self.build or self.pull or
                    any(item.action != KEEP or item.extra for item in self.services) or
                    (self.remove_orphans and self.orphans))


def plan_up(engine, project, services=(), force_recreate: bool = False,
            no_recreate: bool = False, no_deps: bool = False, build: bool = False,
            remove_orphans: bool = False, may_use=None) -> Plan:
    """The plan that brings `project` (or `services` of it, with their dependencies unless
    `no_deps`) up. `may_use(kind, name)` (kind "network" or "volume"), when given, says
    whether an existing network or volume of that name is one the caller may use (the
    console passes a team's rule); otherwise it is refused as if it did not exist."""
    for name in services:
        if name not in project.services:
            raise ComposeError(f"no such service: {name}")
    if services:
        chosen = list(services) if no_deps else project.with_dependencies(services)
        chosen = [name for name in project.order(chosen)]
    else:
        chosen = project.order()
    plan = Plan(project)
    plan.remove_orphans = remove_orphans
    existing = labels.project_containers(engine, project.name)
    by_service: dict[str, list[dict]] = {}
    for summary in existing:
        by_service.setdefault(labels.service_of(summary), []).append(summary)
    plan.orphans = [summary for summary in existing
                    if labels.service_of(summary) not in project.services]

    _check_services(engine, project, chosen)
    _plan_images(engine, project, chosen, build, plan)
    _check_health_conditions(engine, project, chosen, plan)
    _plan_networks(engine, project, chosen, plan, may_use)
    _plan_volumes(engine, project, chosen, plan, may_use)
    _check_binds(project, chosen)

    recreated: dict[str, str] = {}     # service -> "created" | "recreated"
    for name in chosen:
        found = sorted(by_service.get(name, []), key=labels.number_of)
        current, extra = (found[0], found[1:]) if found else (None, [])
        if current is None:
            plan.services.append(ServicePlan(name, CREATE, ["no container yet"]))
            recreated[name] = "created"
            continue
        reasons = _why_recreate(engine, project, name, current, plan, force_recreate,
                                recreated)
        if reasons and not no_recreate:
            plan.services.append(ServicePlan(name, RECREATE, reasons, current, extra))
            recreated[name] = "recreated"
        elif current["State"] not in ("running", "restarting", "paused"):
            plan.services.append(ServicePlan(name, START, [f"it is {current['State']}"],
                                             current, extra))
        else:
            plan.services.append(ServicePlan(name, KEEP, [], current, extra))
    return plan


def _why_recreate(engine, project, name, current, plan, force, recreated) -> list[str]:
    reasons = []
    if force:
        reasons.append("--force-recreate")
    container_labels = current.get("Labels") or {}
    if container_labels.get(labels.CONFIG_HASH) != labels.config_hash(project, name):
        keys = labels.changed_keys(container_labels.get(labels.CONFIG_KEYS, ""), project, name) \
            if container_labels.get(labels.CONFIG_KEYS) else []
        reasons.append("configuration changed" + (f": {', '.join(keys)}" if keys else ""))
    image_id = plan.images.get(name)
    if name in plan.build or name in plan.pull:
        reasons.append("its image is " + ("rebuilt" if name in plan.build else "pulled"))
    elif image_id and current.get("ImageID") != image_id:
        reasons.append("its image changed")
    for dependency in project.dependencies(name):
        if dependency in recreated:
            reasons.append(f"it depends on {dependency}, which is {recreated[dependency]}")
    return reasons


def _check_services(engine, project, chosen) -> None:
    """What the engine would refuse only once earlier services run is refused here, by
    name: health checks it cannot take, named volumes where it has none."""
    from runtime.compose.containers import healthcheck_option
    from runtime.container import health
    for name in chosen:
        service = project.services[name]
        if service.get("healthcheck"):
            try:
                health.validate(healthcheck_option(service["healthcheck"]))
            except MoorError as error:
                raise ComposeError(f"{project.where(('services', name, 'healthcheck'))}: "
                                   f"services.{name}.healthcheck: {error.message}") from None
        for volume in service.get("volumes", []):
            if volume["type"] == "volume" and not hasattr(engine, "volume_create"):
                raise ComposeError(f"{project.where(('services', name, 'volumes'))}: "
                                   f"services.{name}.volumes: this engine has no named "
                                   f"volumes yet (use a bind mount)")


def _check_health_conditions(engine, project, chosen, plan: Plan) -> None:
    """`service_healthy` on a service that will have no health check is refused: neither
    its file nor (when the image is at hand) its image gives one, or the file disables it."""
    for name in chosen:
        for dependency, options in project.services[name].get("depends_on", {}).items():
            if options["condition"] != "service_healthy" or dependency not in chosen:
                continue
            if not _will_have_health_check(engine, project, dependency, plan):
                where = project.where(("services", name, "depends_on", dependency))
                raise ComposeError(f"{where}: "
                                   f"service {name} waits for {dependency} to be healthy, "
                                   f"but {dependency} has no health check")


def _will_have_health_check(engine, project, name: str, plan: Plan) -> bool:
    test = (project.services[name].get("healthcheck") or {}).get("test")
    if test:
        return test[0] != "NONE"
    if name not in plan.images:
        return True         # an image still to build or pull: its check is known then
    image = (engine.store.config(plan.images[name]).get("config") or {})
    return ((image.get("Healthcheck") or {}).get("Test") or ["NONE"])[0] != "NONE"


def _plan_images(engine, project, chosen, build: bool, plan: Plan) -> None:
    for name in chosen:
        service = project.services[name]
        reference = labels.image_reference(project, name)
        try:
            image_id = engine.image_id(reference)
        except MoorError:
            image_id = None
        if service.get("build"):
            context = service["build"]["context"]
            if not os.path.isdir(context):
                raise ComposeError(f"{project.where(('services', name, 'build'))}: build "
                                   f"context {context} is not a directory")
            if build or image_id is None:
                plan.build.append(name)
                continue
        elif image_id is None:
            plan.pull.append(name)
            continue
        plan.images[name] = image_id


def _network_labels(engine, name: str) -> dict | None:
    try:
        return engine.network_inspect(name).get("Labels") or {}
    except NotFound:
        return None


def _plan_networks(engine, project, chosen, plan: Plan, may_use) -> None:
    keys = []
    for name in chosen:
        for key in project.services[name].get("networks", {}):
            if key not in keys:
                keys.append(key)
    for key in keys:
        network = project.networks[key]
        found = _network_labels(engine, network["name"])
        if found is not None and may_use is not None and not may_use("network",
                                                                     network["name"]):
            found = None if network.get("external") else found
            if found is not None:
                raise ComposeError(f"network name {network['name']} is taken on this host")
        if network.get("external"):
            if found is None:
                raise ComposeError(f"network {network['name']} declared as external, but "
                                   f"could not be found")
            continue
        if found is None:
            from runtime.network.store import validate_name
            try:
                validate_name(network["name"])
            except MoorError as error:
                raise ComposeError(f"{project.where(('networks', key))}: {error.message}") \
                    from None
            plan.networks.append(key)
        elif found.get(labels.PROJECT) != project.name:
            raise ComposeError(f"network {network['name']} exists but was not made for project "
                               f"{project.name}: remove it, or declare it external")


def _plan_volumes(engine, project, chosen, plan: Plan, may_use) -> None:
    keys = []
    for name in chosen:
        for volume in project.services[name].get("volumes", []):
            if volume["type"] == "volume" and volume["source"] not in keys:
                keys.append(volume["source"])
    for key in keys:
        volume = project.volumes[key]
        try:
            found = engine.volume_inspect(volume["name"]).get("Labels") or {}
        except NotFound:
            found = None
        if found is not None and may_use is not None and not may_use("volume",
                                                                     volume["name"]):
            if volume.get("external"):
                found = None
            else:
                raise ComposeError(f"volume name {volume['name']} is taken on this host")
        if volume.get("external"):
            if found is None:
                raise ComposeError(f"volume {volume['name']} declared as external, but could "
                                   f"not be found")
            continue
        if found is None:
            plan.volumes.append(key)
        elif found.get(labels.PROJECT) != project.name:
            raise ComposeError(f"volume {volume['name']} exists but was not made for project "
                               f"{project.name}: remove it, or declare it external")


def _check_binds(project, chosen) -> None:
    for name in chosen:
        for index, volume in enumerate(project.services[name].get("volumes", [])):
            if volume["type"] != "bind" or os.path.exists(volume["source"]):
                continue
            if not (volume.get("bind") or {}).get("create_host_path"):
                raise ComposeError(f"{project.where(('services', name, 'volumes', index))}: "
                                   f"bind source {volume['source']} does not exist")
