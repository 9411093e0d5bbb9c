"""Loading a Compose project: find its files, read `.env`, parse, interpolate, validate each
file against the schema and against what Moorage supports, merge, normalize, and check the
whole (dependencies, networks, volumes, ports).

`load(...)` is the one entry point; `moor compose` and the console's stacks call it, the
console with the file's text and the stack's variables instead of paths and the
environment. Nothing here touches the engine.
"""

import os
import re

from runtime.compose import interpolation, merge, normalize, schema, source, support
from runtime.compose.errors import ComposeError

DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
OVERRIDE_FILES = {"compose.yaml": "compose.override.yaml",
                  "compose.yml": "compose.override.yml",
                  "docker-compose.yaml": "docker-compose.override.yaml",
                  "docker-compose.yml": "docker-compose.override.yml"}
_PROJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
CONDITIONS = ("service_started", "service_healthy", "service_completed_successfully")


class Project:
    """A loaded project: its name, its services' canonical attributes, its networks and
    volumes, and what is needed to say where something came from."""

    def __init__(self, name: str, working_dir: str, documents: list, model: dict,
                 variables, active: list[str], config_files: list[str]):
        self.name = name
        self.working_dir = working_dir
        self.documents = documents
        self.model = model                      # the canonical, merged model (all services)
        self.services = model["services"]       # {name: canonical attributes}
        self.networks = model.get("networks", {})
        self.volumes = model.get("volumes", {})
        self.variables = variables
        self.warnings = list(variables.warnings)
        self.active = active                    # the services the profiles enable, in order
        self.config_files = config_files

    def where(self, path) -> str:
        """`file, line N` of the last file that sets `path` (the one that decided it)."""
        for document in reversed(self.documents):
            if document.has(path):
                return document.where(path)
        for document in reversed(self.documents):
            if document.has(path[:2]):
                return document.where(path[:2])
        return self.documents[-1].name if self.documents else "compose"

    def dependencies(self, name: str) -> list[str]:
        return list(self.services[name].get("depends_on", {}))

    def dependents(self, name: str) -> list[str]:
        return [other for other in self.active
                if name in self.services[other].get("depends_on", {})]

    def order(self, names=None) -> list[str]:
        """Active services (or `names`) in dependency order: dependencies first."""
        wanted = list(names) if names is not None else list(self.active)
        done, result = set(), []

        def visit(name):
            if name in done:
                return
            done.add(name)
            for dependency in self.dependencies(name):
                if dependency in wanted:
                    visit(dependency)
            result.append(name)

        for name in wanted:
            visit(name)
        return result

    def with_dependencies(self, names) -> list[str]:
        result, stack = [], list(names)
        while stack:
            name = stack.pop()
            if name in result:
                continue
            result.append(name)
            stack.extend(dependency for dependency in self.dependencies(name)
                         if dependency in self.services)
        return result

    def network_name(self, key: str) -> str:
        return self.networks[key]["name"]

    def volume_name(self, key: str) -> str:
        return self.volumes[key]["name"]

    def to_dict(self) -> dict:
        """The resolved file (`moor compose config`): the active services only."""
        model = {"name": self.name,
                 "services": {name: self.services[name] for name in self.active}}
        used_networks = {network for name in self.active
                         for network in self.services[name].get("networks", {})}
        used_volumes = {volume["source"] for name in self.active
                        for volume in self.services[name].get("volumes", [])
                        if volume["type"] == "volume" and volume.get("source")}
        networks = {key: value for key, value in self.networks.items()
                    if key in used_networks}
        volumes = {key: value for key, value in self.volumes.items() if key in used_volumes}
        if networks:
            model["networks"] = networks
        if volumes:
            model["volumes"] = volumes
        return model


def load(files=None, content: str | None = None, working_dir: str | None = None,
         project_name: str | None = None, env_files=None, environ=None, profiles=(),
         services=(), cache_dir: str | None = None, read_files: bool = True) -> Project:
    """Load a project.

    `files`: Compose files to merge in order (default: `COMPOSE_FILE`, then compose.yaml and
    its kin in `working_dir` with an override file beside it); or `content`: one file's text
    (the console's stacks). `working_dir`: the project directory (default: the first file's).
    `environ`: the variables (default: this process's environment); `env_files`: `.env`
    files to read (default: `.env` in the project directory, if there). `profiles`: the
    profiles to enable (and `COMPOSE_PROFILES`); `services`: services named on the command
    line, enabled whatever their profiles. `cache_dir`: where files found valid against the
    schema are remembered (see `schema.validate`). `read_files` False: nothing is read from
    this machine's files (no `.env` of the project directory, no service's `env_file`, taken
    as empty): for a caller that holds the file's text and its variables and checks a project
    that will run on another machine (the console's web process, as a user types).
    """
    environ = dict(os.environ if environ is None else environ)
    cwd = os.path.abspath(working_dir or os.getcwd())
    documents_text = []
    if content is not None:
        documents_text.append(("compose.yaml", content))
        project_dir = cwd
        config_files = []
    else:
        paths = _find_files(files, environ, cwd)
        project_dir = os.path.abspath(working_dir) if working_dir else \
            os.path.dirname(os.path.abspath(paths[0]))
        config_files = [os.path.abspath(path) for path in paths]
        for path in paths:
            documents_text.append((path, source.read_text(path)))

    dotenv = _read_env_files(env_files, project_dir, environ) if read_files else {}
    variables = interpolation.Variables({**dotenv, **environ})

    documents, datas = [], []
    for name, text in documents_text:
        document = source.parse(text, name)
        data = interpolation.interpolate(
            document.data, variables,
            lambda path, document=document: f"{document.where(path)}: "
                                            f"{schema.dotted(path)}")
        validated = merge.plain(data)
        schema.validate(document, validated, cache_dir)
        support.check(document, validated)
        documents.append(document)
        datas.append(data)
    merged = merge.merge_files(datas)

    name = _project_name(project_name, variables, merged, project_dir)
    locate = _Locator(documents)
    model = _normalize(merged, name, project_dir, variables, locate, read_files)
    chosen = list(profiles) + [p for p in (variables.get("COMPOSE_PROFILES") or "").split(",")
                               if p]
    active = _active(model, chosen, services, locate)
    _check(model, active, locate)
    return Project(name, project_dir, documents, model, variables, active, config_files)


class _Locator:
    def __init__(self, documents):
        self.documents = documents

    def __call__(self, *path) -> str:
        for document in reversed(self.documents):
            if document.has(path):
                return f"{document.where(path)}: {schema.dotted(path)}"
        for size in range(len(path) - 1, 0, -1):
            for document in reversed(self.documents):
                if document.has(path[:size]):
                    return f"{document.where(path[:size])}: {schema.dotted(path)}"
        return schema.dotted(path)


def _find_files(files, environ, cwd) -> list[str]:
    if files:
        return [os.path.join(cwd, path) for path in files]
    if environ.get("COMPOSE_FILE"):
        separator = environ.get("COMPOSE_PATH_SEPARATOR") or os.pathsep
        return [os.path.join(cwd, path) for path in environ["COMPOSE_FILE"].split(separator)
                if path]
    for name in DEFAULT_FILES:
        path = os.path.join(cwd, name)
        if os.path.isfile(path):
            found = [path]
            override = os.path.join(cwd, OVERRIDE_FILES[name])
            if os.path.isfile(override):
                found.append(override)
            return found
    raise ComposeError(f"no Compose file in {cwd} (compose.yaml, compose.yml, "
                       f"docker-compose.yaml or docker-compose.yml): name one with -f")


def _read_env_files(env_files, project_dir, environ) -> dict:
    if env_files:
        paths, required = [os.path.abspath(path) for path in env_files], True
    else:
        paths, required = [os.path.join(project_dir, ".env")], False
    values = {}
    for path in paths:
        if not required and not os.path.isfile(path):
            continue
        text = source.read_text(path)
        values.update(interpolation.parse_env_file(
            text, path, lambda key: environ.get(key, values.get(key))))
    return values


def _project_name(given, variables, merged, project_dir) -> str:
    for origin, value in (("-p", given),
                          ("COMPOSE_PROJECT_NAME", variables.get("COMPOSE_PROJECT_NAME")),
                          ("the top-level name", merged.get("name"))):
        if value:
            if not _PROJECT_NAME.match(value):
                raise ComposeError(f"invalid project name {value!r} ({origin}): it must "
                                   f"consist only of lowercase letters, digits, hyphens and "
                                   f"underscores, and start with a letter or a digit")
            return value
    # the directory's name, made valid as Compose makes it
    name = re.sub(r"[^a-z0-9_-]", "", os.path.basename(project_dir.rstrip("/")).lower())
    name = name.lstrip("_-")
    if not name:
        raise ComposeError(f"cannot make a project name of the directory {project_dir}: "
                           f"name the project with -p or the top-level name")
    return name


# -- the canonical model ---------------------------------------------------------------------

def _normalize(merged: dict, name: str, working_dir: str, variables, locate,
               read_files: bool = True) -> dict:
    services = {}
    for service_name, raw in (merged.get("services") or {}).items():
        services[service_name] = _service(service_name, raw or {}, working_dir, variables,
                                          locate, read_files)
    networks = {}
    for key, raw in (merged.get("networks") or {}).items():
        raw = raw or {}
        where = locate("networks", key)
        driver = raw.get("driver") or "bridge"
        if driver != "bridge":
            raise ComposeError(f"{where}: network driver {driver!r} is not supported by "
                               f"Moorage (bridge)")
        external = _external(raw)
        entry = {"name": raw.get("name") or (key if external else f"{name}_{key}")}
        if external:
            entry["external"] = True
        else:
            entry["driver"] = "bridge"
            if raw.get("internal"):
                entry["internal"] = True
            labels = normalize.mapping(raw.get("labels"), where)
            if labels:
                entry["labels"] = labels
        networks[key] = entry
    # `default` exists without being declared, for services that name no network (and
    # those that name it)
    uses_default = any(not service.get("networks") or "default" in service["networks"]
                       for service in services.values())
    if uses_default and "default" not in networks:
        networks["default"] = {"name": f"{name}_default", "driver": "bridge"}
    for service in services.values():
        if not service.get("networks"):
            service["networks"] = {"default": None}
    volumes = {}
    for key, raw in (merged.get("volumes") or {}).items():
        raw = raw or {}
        where = locate("volumes", key)
        driver = raw.get("driver") or "local"
        if driver != "local":
            raise ComposeError(f"{where}: volume driver {driver!r} is not supported by Moorage "
                               f"(local)")
        external = _external(raw)
        entry = {"name": raw.get("name") or (key if external else f"{name}_{key}")}
        if external:
            entry["external"] = True
        else:
            entry["driver"] = "local"
            labels = normalize.mapping(raw.get("labels"), where)
            if labels:
                entry["labels"] = labels
        volumes[key] = entry
    return {"name": name, "services": services, "networks": networks, "volumes": volumes}


def _external(raw: dict) -> bool:
    external = raw.get("external")
    if isinstance(external, dict):  # the older `external: {name: x}`
        return True
    return bool(external)


_SIMPLE = ("image", "restart", "user", "working_dir", "hostname", "container_name",
           "stop_signal", "stop_grace_period")
_FLAGS = ("read_only", "init", "tty", "stdin_open")


def _service(name: str, raw: dict, working_dir: str, variables, locate,
             read_files: bool = True) -> dict:
    def where(*key):
        return locate("services", name, *key)

    if not raw.get("image") and not raw.get("build"):
        raise ComposeError(f"{where()}: service {name} has neither an image nor a build")
    service = {}
    for key in _SIMPLE:
        if raw.get(key) is not None:
            service[key] = str(raw[key])
    for key in _FLAGS:
        if raw.get(key) is not None:
            service[key] = bool(raw[key])
    if "restart" in service:
        from runtime.container.options import parse_restart
        try:
            parse_restart(service["restart"])
        except Exception as error:
            raise ComposeError(f"{where('restart')}: {getattr(error, 'message', error)}") \
                from None
    if "stop_grace_period" in service:
        normalize.duration_ns(service["stop_grace_period"], where("stop_grace_period"))
    if "stop_signal" in service:
        from runtime.container.options import parse_signal
        try:
            parse_signal(service["stop_signal"])
        except Exception as error:
            raise ComposeError(f"{where('stop_signal')}: {getattr(error, 'message', error)}") \
                from None
    if "working_dir" in service and not service["working_dir"].startswith("/"):
        raise ComposeError(f"{where('working_dir')}: the working directory must be an "
                           f"absolute path")
    if raw.get("build") is not None:
        service["build"] = normalize.build(raw["build"], working_dir, where("build"))
    for key in ("command", "entrypoint"):
        if key in raw:
            service[key] = normalize.command(raw[key], where(key))
    files = normalize.env_files(raw.get("env_file"), working_dir)
    environment = {}
    for entry in files if read_files else ():
        if not os.path.isfile(entry["path"]):
            if entry["required"]:
                raise ComposeError(f"{where('env_file')}: env file {entry['path']} not found")
            continue
        environment.update(interpolation.parse_env_file(
            source.read_text(entry["path"]), entry["path"], variables.get))
    if files:
        service["env_file"] = files
    environment.update(normalize.mapping(raw.get("environment"), where("environment"),
                                         take_unset_from=variables.get))
    if environment:
        service["environment"] = environment
    for key, value in (("ports", normalize.ports(raw.get("ports"), where("ports"))),
                       ("expose", normalize.expose(raw.get("expose"))),
                       ("volumes", normalize.volumes(raw.get("volumes"), working_dir,
                                                     where("volumes"))),
                       ("networks", normalize.service_networks(raw.get("networks"))),
                       ("depends_on", normalize.depends_on(raw.get("depends_on"))),
                       ("labels", normalize.mapping(raw.get("labels"), where("labels")))):
        if value:
            service[key] = value
    health = normalize.healthcheck(raw.get("healthcheck"), where("healthcheck"))
    if health:
        service["healthcheck"] = health
    service.update(normalize.limits(raw, where()))
    for key in ("cap_add", "cap_drop", "profiles"):
        if raw.get(key):
            service[key] = [str(item) for item in raw[key]]
    if service.get("cap_add") or service.get("cap_drop"):
        from runtime.container.spec import normalize_capability
        for cap in service.get("cap_add", []) + service.get("cap_drop", []):
            try:
                normalize_capability(cap)
            except Exception as error:
                key = "cap_add" if cap in service.get("cap_add", []) else "cap_drop"
                raise ComposeError(f"{where(key)}: "
                                   f"{getattr(error, 'message', error)}") from None
    return dict(sorted(service.items()))


# -- the whole -------------------------------------------------------------------------------

def _active(model: dict, profiles, targeted, locate) -> list[str]:
    services = model["services"]
    for name in targeted:
        if name not in services:
            raise ComposeError(f"no such service: {name}")
    chosen = set(profiles)
    enabled = [name for name, service in services.items()
               if not service.get("profiles") or "*" in chosen or
               chosen & set(service["profiles"]) or name in targeted]
    # services named on the command line bring their dependencies along
    stack = list(targeted)
    while stack:
        name = stack.pop()
        for dependency in services[name].get("depends_on", {}):
            if dependency in services and dependency not in enabled:
                enabled.append(dependency)
                stack.append(dependency)
    for name in enabled:
        for dependency, options in services[name].get("depends_on", {}).items():
            if dependency in services and dependency not in enabled and options["required"]:
                raise ComposeError(f"{locate('services', name, 'depends_on', dependency)}: "
                                   f"service {name} depends on {dependency}, which no enabled "
                                   f"profile includes")
    return [name for name in services if name in enabled]


def _check(model: dict, active: list[str], locate) -> None:
    services = model["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            if dependency not in services:
                raise ComposeError(f"{locate('services', name, 'depends_on', dependency)}: "
                                   f"service {name} depends on undefined service {dependency}")
            if dependency == name:
                raise ComposeError(f"{locate('services', name, 'depends_on', dependency)}: "
                                   f"service {name} depends on itself")
        for network in service.get("networks", {}):
            if network not in model["networks"]:
                raise ComposeError(f"{locate('services', name, 'networks', network)}: service "
                                   f"{name} refers to undefined network {network}")
        for index, volume in enumerate(service.get("volumes", [])):
            if volume["type"] == "volume" and volume.get("source") and \
                    volume["source"] not in model["volumes"]:
                raise ComposeError(f"{locate('services', name, 'volumes', index)}: service "
                                   f"{name} refers to undefined volume {volume['source']}")
            if volume["type"] == "volume" and not volume.get("source"):
                raise ComposeError(f"{locate('services', name, 'volumes', index)}: anonymous "
                                   f"volumes are not supported by Moorage: name the volume")
        for condition in service.get("depends_on", {}).values():
            if condition["condition"] not in CONDITIONS:
                raise ComposeError(f"{locate('services', name, 'depends_on')}: unknown "
                                   f"condition {condition['condition']}")
    _check_cycles(services, locate)
    _check_ports(services, active, locate)
    names = {}
    for name in active:
        container_name = services[name].get("container_name")
        if container_name:
            if container_name in names:
                raise ComposeError(f"{locate('services', name, 'container_name')}: services "
                                   f"{names[container_name]} and {name} both want the "
                                   f"container name {container_name}")
            names[container_name] = name


def _check_cycles(services: dict, locate) -> None:
    state: dict[str, int] = {}      # 1: being visited, 2: done

    def visit(name, trail):
        state[name] = 1
        for dependency in services[name].get("depends_on", {}):
            if state.get(dependency) == 1:
                cycle = trail[trail.index(dependency):] + [dependency]
                raise ComposeError(f"{locate('services', name, 'depends_on', dependency)}: "
                                   f"dependency cycle: {' -> '.join(cycle)}")
            if state.get(dependency) is None:
                visit(dependency, trail + [dependency])
        state[name] = 2

    for name in services:
        if state.get(name) is None:
            visit(name, [name])


def _check_ports(services: dict, active: list[str], locate) -> None:
    taken: dict[tuple, tuple] = {}
    for name in active:
        for index, port in enumerate(services[name].get("ports", [])):
            if not port.get("published"):
                continue
            address = port.get("host_ip") or "0.0.0.0"
            for (other_address, published, protocol), (other, _) in taken.items():
                if published == port["published"] and protocol == port["protocol"] and (
                        address == other_address or "0.0.0.0" in (address, other_address)):
                    who = f"services {other} and {name} both publish" if other != name else \
                        f"service {name} publishes twice"
                    raise ComposeError(f"{locate('services', name, 'ports', index)}: {who} "
                                       f"port {published}/{protocol}")
            taken[(address, port["published"], port["protocol"])] = (name, index)
