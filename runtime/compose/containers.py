"""What a service becomes in the engine: its containers' names, labels and create options,
its config hash, and how the project's containers, networks and volumes are found again.

The labels are Compose's (docker-compose 1.29 and Compose v2 write the same ones), so a
project brought up by docker-compose through the engine service and one brought up by
`moor compose` are the same project to both:

    com.docker.compose.project           the project's name
    com.docker.compose.service           the service's name
    com.docker.compose.container-number  1 for the service's container
    com.docker.compose.oneoff            "False", or "True" for `compose run` containers
    com.docker.compose.config-hash       sha256 of the service's resolved configuration
    com.docker.compose.project.working_dir, .project.config_files
    com.docker.compose.image             the image ID the container was made from
    com.docker.compose.version           the Compose generation whose names and labels
                                         these are (v2's); docker-compose 1.29 parses it
                                         and fails on a project's container without it
    com.docker.compose.network / .volume on networks and volumes: the key in the file

Moorage adds `moorage.compose.config-keys`: a short hash per attribute, so that a plan can
say which settings changed, not only that something did.
"""

import hashlib
import json
import math

from runtime.compose import normalize

PROJECT = "com.docker.compose.project"
SERVICE = "com.docker.compose.service"
NUMBER = "com.docker.compose.container-number"
ONEOFF = "com.docker.compose.oneoff"
CONFIG_HASH = "com.docker.compose.config-hash"
WORKING_DIR = "com.docker.compose.project.working_dir"
CONFIG_FILES = "com.docker.compose.project.config_files"
IMAGE = "com.docker.compose.image"
NETWORK = "com.docker.compose.network"
VOLUME = "com.docker.compose.volume"
CONFIG_KEYS = "moorage.compose.config-keys"
VERSION = "com.docker.compose.version"
COMPOSE_VERSION = "2.0.0"

# What does not change a running container: how its image is made, when it starts, which
# profiles enable it (Compose leaves them out of its hash too).
_NOT_HASHED = ("build", "depends_on", "profiles")


def _digest(value) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def hashed_config(project, name: str) -> dict:
    """The service's configuration as the hash sees it: its attributes, and the names its
    networks and volumes have in the engine."""
    service = project.services[name]
    config = {key: value for key, value in service.items() if key not in _NOT_HASHED}
    config["networks"] = {key: {"name": project.network_name(key),
                                "options": service["networks"][key]}
                          for key in service.get("networks", {})}
    return config


def config_hash(project, name: str) -> str:
    return _digest(hashed_config(project, name))


def config_keys(project, name: str) -> str:
    """`key=8 hex` for each attribute, comma-separated (the label CONFIG_KEYS)."""
    config = hashed_config(project, name)
    return ",".join(f"{key}={_digest(value)[:8]}" for key, value in sorted(config.items()))


def changed_keys(label: str, project, name: str) -> list[str]:
    """The attributes whose hash differs from what a container's label recorded."""
    old = dict(item.split("=", 1) for item in label.split(",") if "=" in item)
    new = dict(item.split("=", 1) for item in config_keys(project, name).split(","))
    return sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key))


def container_name(project, name: str, number: int = 1) -> str:
    return project.services[name].get("container_name") or f"{project.name}-{name}-{number}"


def image_reference(project, name: str) -> str:
    """The image a service runs: its `image`, or for a build without one `<project>-<name>`
    (Compose v2's name for it)."""
    service = project.services[name]
    return service.get("image") or f"{project.name}-{name}"


def labels(project, name: str, number: int, image_id: str, oneoff: bool = False) -> dict:
    service = project.services[name]
    result = dict(service.get("labels", {}))
    result.update({
        PROJECT: project.name, SERVICE: name, NUMBER: str(number),
        ONEOFF: "True" if oneoff else "False",
        CONFIG_HASH: config_hash(project, name), CONFIG_KEYS: config_keys(project, name),
        WORKING_DIR: project.working_dir, IMAGE: image_id, VERSION: COMPOSE_VERSION,
    })
    if project.config_files:
        result[CONFIG_FILES] = ",".join(project.config_files)
    return result


def create_options(project, name: str, image_id: str, number: int = 1,
                   oneoff: bool = False, container_name_override: str | None = None) -> dict:
    """Engine.create options for the service's container (on its first network; the others
    are joined after it starts)."""
    service = project.services[name]
    options = {
        "image": image_id,
        "image_name": image_reference(project, name),
        "name": container_name_override or container_name(project, name, number),
        "labels": labels(project, name, number, image_id, oneoff),
    }
    if "command" in service and service["command"] is not None:
        options["cmd"] = service["command"]
    if "entrypoint" in service and service["entrypoint"] is not None:
        options["entrypoint"] = service["entrypoint"]
    if service.get("environment"):
        options["env"] = [f"{key}={value}" for key, value in service["environment"].items()]
    for key, option in (("working_dir", "workdir"), ("user", "user"),
                        ("hostname", "hostname"), ("restart", "restart"),
                        ("stop_signal", "stop_signal"), ("mem_limit", "memory"),
                        ("cpus", "cpus"), ("pids_limit", "pids_limit"),
                        ("cap_add", "cap_add"), ("cap_drop", "cap_drop")):
        if service.get(key) is not None:
            options[option] = service[key]
    for key in ("tty", "stdin_open", "read_only", "init"):
        if service.get(key):
            options[key] = True
    if service.get("stop_grace_period") is not None:
        seconds = normalize.duration_ns(service["stop_grace_period"], "stop_grace_period") / 1e9
        options["stop_timeout"] = int(math.ceil(seconds))
    if service.get("ports") and not oneoff:
        options["ports"] = [normalize.port_spec(port) for port in service["ports"]]
    if service.get("expose"):
        options["expose"] = service["expose"]
    binds = []
    for volume in service.get("volumes", []):
        source = volume["source"] if volume["type"] == "bind" else \
            project.volume_name(volume["source"])
        binds.append(f"{source}:{volume['target']}" + (":ro" if volume.get("read_only")
                                                         else ""))
    if binds:
        options["binds"] = binds
    networks = list(service.get("networks", {}))
    if networks:
        first = networks[0]
        options["network"] = project.network_name(first)
        options["network_aliases"] = network_aliases(project, name, first, oneoff)
    if service.get("healthcheck"):
        options["healthcheck"] = healthcheck_option(service["healthcheck"])
    return options


def network_aliases(project, name: str, network: str, oneoff: bool = False) -> list[str]:
    """A service's names on one network: its name (not for one-off containers, as Compose)
    and the aliases the file gives there."""
    if project.network_name(network) in ("bridge", "host", "none"):
        return []   # the pre-defined networks have no names of their own (Docker's rule)
    options = project.services[name]["networks"].get(network) or {}
    return ([] if oneoff else [name]) + [alias for alias in options.get("aliases", [])
                                         if alias != name]


def healthcheck_option(health: dict) -> dict:
    """A health check in the Docker API's Config.Healthcheck shape (durations in ns)."""
    result = {"Test": health.get("test") or []}
    for key, field in (("interval", "Interval"), ("timeout", "Timeout"),
                       ("start_period", "StartPeriod"), ("start_interval", "StartInterval")):
        if health.get(key) is not None:
            result[field] = normalize.duration_ns(health[key], key)
    if health.get("retries") is not None:
        result["Retries"] = health["retries"]
    return result


# -- finding a project's things in the engine -----------------------------------------------

def project_containers(engine, project_name: str, oneoff: bool | None = False) -> list[dict]:
    """The project's containers (engine summaries), running or not; `oneoff` None: all."""
    found = []
    for summary in engine.containers(all=True):
        labels_ = summary.get("Labels") or {}
        if labels_.get(PROJECT) != project_name:
            continue
        if oneoff is not None and (labels_.get(ONEOFF) == "True") != oneoff:
            continue
        found.append(summary)
    return found


def service_of(summary: dict) -> str:
    return (summary.get("Labels") or {}).get(SERVICE, "")


def number_of(summary: dict) -> int:
    try:
        return int((summary.get("Labels") or {}).get(NUMBER, "1"))
    except ValueError:
        return 1
