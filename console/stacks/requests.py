"""A request to create or change a stack, described and checked: the fields of
`POST /api/stacks/` (and of `PATCH`), the pages' forms and the editor's checks as one types
all go through `validate_stack`.

The file is read with the engine's own loader (`core.engine_grammar.stack_project`: the
Compose Specification's schema, the keys Moorage runs, interpolation with the stack's `.env`
and nothing else, dependencies, cycles, ports), so the web process refuses what the host
would, with the same messages and lines. Then every service is held to the rules a run
request is (`containers.run_request`, `containers.publishing`):

- What hands a container the host is for superusers only (`Forbidden`, audited by the
  action): `privileged`, `cap_add`, the host's network, PID or IPC namespace, devices,
  security options, bind mounts of the host's directories, `env_file` and `build` (both
  read the host's files), and the host's shared networks. Named volumes are not binds: they
  are the team's (a volume name another team's volume has is refused).
- Published ports within `MOORAGE_PUBLISH_*`, memory and CPUs within the host's, a PIDs
  limit within `MOORAGE_MAX_PIDS` (also the default the host gives), images the team may run
  on the host (the host pulls nothing for them: pull it first).
- For everyone: the label `moorage.team` is the console's, container names free on the host,
  the volumes the file makes free on the host or the stack's own.

Problems name the file and line (`compose.yaml, line 4: services.web.ports: ...`) as the
engine's do; `problem_list` gives them to the editor with their lines.
"""
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q

from console.containers.models import Container
from console.containers.publishing import checked_ports
from console.containers.run_request import RunRequest, read_cpus, read_memory, read_pids_limit
from console.core import engine_grammar
from console.core.errors import ConsoleError, FieldErrors, Forbidden, Invalid
from console.core.permissions import host_ids_granted_to, may_somewhere
from console.core.targets import choose_host, choose_team
from console.images.models import Image
from console.stacks.models import NAME_PATTERN, Stack
from console.volumes.models import Volume

FIELDS = ("name", "host", "team", "compose", "env", "message")
NEW_ONLY = ("name", "host", "team")
MESSAGE_MAX = 500
TEXT_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
TEAM_LABEL = "moorage.team"
TEAM_NETWORK = re.compile(r"^team-[0-9]+$")
SHARED_NETWORKS = ("host", "bridge", "none")
HOST_ACCESS = "it gives the container access to the host"

# Keys of a service that hand its container part of the host, and when their value does.
HOST_KEYS = {
    "privileged": lambda value: value not in (False, None, "false", "False"),
    "cap_add": bool,
    "network_mode": lambda value: str(value) == "host",
    "pid": lambda value: str(value) == "host",
    "ipc": lambda value: str(value) == "host",
    "userns_mode": lambda value: str(value) == "host",
    "devices": bool,
    "security_opt": bool,
}


@dataclass
class StackRequest:
    """What a create or change asks for, read and checked (`validate_stack`)."""

    name: str = ""
    host: object = None
    team: object = None
    compose: str = ""
    env: str = ""
    message: str = ""
    services: list = field(default_factory=list)     # the active ones, dependencies first
    volumes: list = field(default_factory=list)      # the engine names of the file's volumes
    stack: object = None                             # the stack a new version is of

    def audit_params(self) -> dict:
        return {"name": self.name, "host": self.host.name if self.host else None,
                "team": self.team.name if self.team else None, "message": self.message,
                "services": self.services, "volumes": self.volumes,
                "env": [line.split("=", 1)[0] for line in env_lines(self.env)]}


def env_lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines()
            if line.strip() and not line.strip().startswith("#")]


# -- the request --------------------------------------------------------------------------------

def validate_stack(user, data: dict, *, stack: Stack | None = None) -> StackRequest:
    """The request `data` makes, for a new stack (`stack` None: `name`, `host`, `team`,
    `compose`, `env`, `message`) or a new version of `stack` (`compose` and `env`, each
    kept from the current version when not sent, and `message`). Raises Invalid with the
    problems by field, or Forbidden when the file asks for what only superusers may have."""
    problems = FieldErrors()
    for name in sorted(set(data) - set(FIELDS)):
        problems.add(name, f"Unknown field {name!r}.")
    req = StackRequest()
    if stack is None:
        read_target(user, data, req, problems)
    else:
        for name in NEW_ONLY:
            if name in data and data[name] not in (None, "", getattr_name(stack, name)):
                problems.add(name, f"A stack's {name} cannot be changed.")
        req.name, req.host, req.team, req.stack = stack.name, stack.host, stack.team, stack
        current = stack.current
        data = {"compose": current.compose if current else None,
                "env": current.env if current else "", **data}
    req.compose = read_text(data.get("compose"), "compose", problems, required=True)
    req.env = read_text(data.get("env"), "env", problems)
    req.message = read_message(data.get("message"), problems)
    if problems:
        raise Invalid(fields=problems)
    forbidden = check_file(user, req, problems, stack=stack)
    if problems:
        raise (Forbidden if forbidden else Invalid)(fields=problems)
    return req


def getattr_name(stack: Stack, name: str):
    value = getattr(stack, name)
    return getattr(value, "name", value)


def read_target(user, data: dict, req: StackRequest, problems: FieldErrors) -> None:
    """The new stack's name, team and host."""
    if not may_somewhere(user, "create"):
        raise Forbidden(fields={"team": ["You are in no team in which you may create "
                                         "stacks."]})
    name = data.get("name")
    if not isinstance(name, str) or not re.fullmatch(NAME_PATTERN, name):
        problems.add("name", "A stack's name is 1 to 63 lowercase letters, digits, '-' and "
                             "'_', starting with a letter or a digit.")
    else:
        req.name = name
    for key in ("team", "host"):
        if data.get(key) not in (None, "") and not isinstance(data[key], (str, int)):
            problems.add(key, "Must be a name.")
            return
    req.team = choose_team(user, data.get("team"), problems, action="create",
                           what="create stacks")
    if req.team is None and not user.is_superuser and "team" not in problems:
        problems.add("team", "Choose a team.")
    req.host = choose_host(user, req.team, data.get("host"), problems)
    if req.host is not None and req.name and Stack.objects.filter(host=req.host,
                                                                  name=req.name).exists():
        problems.add("name", f"The name {req.name!r} is already in use on host "
                             f"{req.host.name}.")


def read_text(value, name: str, problems: FieldErrors, *, required: bool = False) -> str:
    if value in (None, ""):
        if required:
            problems.add(name, "This field is required.")
        return ""
    if not isinstance(value, str):
        problems.add(name, "Must be text.")
        return ""
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > settings.STACK_FILE_MAX_BYTES:
        problems.add(name, f"The {'Compose file' if name == 'compose' else '.env'} is "
                           f"{size} bytes, larger than the {settings.STACK_FILE_MAX_BYTES} a "
                           "stack's may be.")
        return ""
    if "\x00" in value:
        problems.add(name, "Must not contain NUL characters.")
        return ""
    return value


def read_message(value, problems: FieldErrors) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or len(value) > MESSAGE_MAX:
        problems.add("message", f"At most {MESSAGE_MAX} characters of text.")
        return ""
    if TEXT_CONTROL_CHARACTERS.search(value):
        problems.add("message", "The message may hold lines and tabs, but no other control "
                                "characters.")
        return ""
    return value.strip()


# -- the file -----------------------------------------------------------------------------------

class Where:
    """Locating a problem in the file: `compose.yaml, line N: path: `."""

    def __init__(self, locate):
        self.locate = locate

    def __call__(self, *path) -> str:
        dotted = ".".join(str(step) for step in path)
        return f"{self.locate(path)}: {dotted}: "


def check_file(user, req: StackRequest, problems: FieldErrors, *, stack=None) -> bool:
    """Read the file as the engine will and hold it to the rules; add the problems to
    `problems`. True when one of them is a refusal (only superusers may have it)."""
    try:
        variables = engine_grammar.stack_variables(req.env)
    except ValueError as error:
        problems.add("env", str(error))
        return False
    try:
        document = engine_grammar.compose_document(req.compose)
    except ValueError as error:
        problems.add("compose", str(error))
        return False
    if not user.is_superuser:
        refused = host_keys(document)
        if refused:
            for message in refused:
                problems.add("compose", message)
            return True
    try:
        project = engine_grammar.stack_project(req.compose, variables, req.name or "stack")
    except ValueError as error:
        problems.add("compose", str(error))
        return False
    req.services = project.order()
    req.volumes = [volume["name"] for volume in project.volumes.values()
                   if not volume.get("external")]
    where = Where(project.where)
    forbidden = []
    invalid = []
    for name in project.active:
        check_service(user, req, project, name, where, forbidden, invalid)
    check_networks(user, req, project, where, forbidden, invalid)
    check_volumes(user, req, project, where, invalid)
    check_container_names(req, project, where, invalid, stack)
    for message in forbidden + invalid:
        problems.add("compose", message)
    return bool(forbidden)


def host_keys(document) -> list[str]:
    """The keys of the file as written that hand a container the host."""
    services = document.data.get("services")
    found = []
    for name, service in (services.items() if isinstance(services, dict) else ()):
        for key, hands_over in HOST_KEYS.items():
            if isinstance(service, dict) and key in service and hands_over(service[key]):
                found.append(f"compose.yaml, line {document.line(('services', name, key))}: "
                             f"services.{name}.{key}: only a superuser may set this: "
                             f"{HOST_ACCESS}.")
    return found


def check_service(user, req, project, name, where, forbidden, invalid) -> None:
    service = project.services[name]
    if TEAM_LABEL in (service.get("labels") or {}):
        invalid.append(where("services", name, "labels") + f"the label {TEAM_LABEL} is set by "
                                                           "the console.")
    if user.is_superuser:
        return
    for index, volume in enumerate(service.get("volumes", [])):
        if volume["type"] == "bind":
            forbidden.append(where("services", name, "volumes", index) + "only a superuser "
                             f"may mount a directory of the host: {HOST_ACCESS}. Use a named "
                             "volume.")
    if service.get("env_file"):
        forbidden.append(where("services", name, "env_file") + "only a superuser may read "
                         "files of the host into a service's environment: use environment "
                         "or the stack's .env.")
    if service.get("build"):
        forbidden.append(where("services", name, "build") + "only a superuser may build from "
                         "a directory of the host: build the image first (Images → Build).")
    elif not runnable_image(user, req, service["image"]):
        invalid.append(where("services", name, "image") + f"no such image: {service['image']} "
                       f"(on host {req.host.name if req.host else '?'}): pull it first.")
    if service.get("ports"):
        try:
            checked_ports(user, engine_grammar.compose_port_specs(service["ports"]))
        except ConsoleError as error:
            for message in sum(error.fields.values(), []) or [error.message]:
                invalid.append(where("services", name, "ports") + message)
    run = RunRequest(host=req.host, team=req.team)
    for key, reader in (("mem_limit", read_memory), ("cpus", read_cpus),
                        ("pids_limit", read_pids_limit)):
        if service.get(key) is None:
            continue
        try:
            reader(service[key], run, user)
        except ConsoleError as error:
            invalid.append(where("services", name) + f"{key}: {error.message}")


def runnable_image(user, req, reference: str) -> bool:
    """Whether `reference` names an image of the host that the stack's team may run (its own
    or the host's); the host pulls nothing for a stack that is not a superuser's."""
    if req.host is None:
        return True         # said beside the host
    if req.stack is not None and req.team is not None and not user.is_superuser:
        # A new version of a team's stack, by one who may deploy it (by role or by a stack
        # grant, without a role in the team): the images the team may run there.
        images = Image.objects.filter(host=req.host).filter(
            Q(team=req.team) | Q(team__isnull=True,
                                 host_id__in=host_ids_granted_to([req.team.pk])))
        return any(image.matches(reference) for image in images)
    images = Image.objects.restrict(user, "run").filter(host=req.host)
    images = images.filter(team__isnull=True) | images.filter(team=req.team)
    return any(image.matches(reference) for image in images)


def check_networks(user, req, project, where, forbidden, invalid) -> None:
    used = {key for name in project.active for key in project.services[name].get("networks", {})}
    own = req.team.network if req.team is not None else None
    for key, network in project.networks.items():
        if TEAM_LABEL in (network.get("labels") or {}):
            invalid.append(where("networks", key) + f"the label {TEAM_LABEL} is set by the "
                                                    "console.")
        if key not in used or user.is_superuser or not network.get("external"):
            continue
        engine_name = network["name"]
        if engine_name in SHARED_NETWORKS:
            forbidden.append(where("networks", key) + f"only a superuser may use the host's "
                             f"network {engine_name}: {HOST_ACCESS}.")
        elif TEAM_NETWORK.match(engine_name) and engine_name != own:
            invalid.append(where("networks", key) + f"no such network: {engine_name}.")


def check_volumes(user, req, project, where, invalid) -> None:
    """The file's named volumes: those it makes must be free on the host (or the stack's own
    already), an external one must be the team's."""
    if req.host is None:
        return
    for key, volume in project.volumes.items():
        if TEAM_LABEL in (volume.get("labels") or {}):
            invalid.append(where("volumes", key) + f"the label {TEAM_LABEL} is set by the "
                                                   "console.")
        row = Volume.objects.filter(host=req.host, name=volume["name"]).first()
        if volume.get("external"):
            if not user.is_superuser and (row is None or req.team is None
                                          or row.team_id != req.team.pk):
                invalid.append(where("volumes", key) + f"no such volume: {volume['name']} (on "
                               f"host {req.host.name}).")
        elif row is not None and not (row.project == req.name and (
                row.team_id == getattr(req.team, "pk", None) or user.is_superuser)):
            invalid.append(where("volumes", key) + f"the volume name {volume['name']} is "
                           f"taken on host {req.host.name}: name the volume otherwise.")


def check_container_names(req, project, where, invalid, stack) -> None:
    if req.host is None:
        return
    ours = set(stack.container_ids) if stack is not None else set()
    for name in project.active:
        service = project.services[name]
        container_name = service.get("container_name") or f"{req.name}-{name}-1"
        taken = Container.objects.filter(host=req.host, name=container_name).exclude(
            engine_id__in=ours).exists()
        if taken:
            invalid.append(where("services", name, *(("container_name",) if service.get(
                "container_name") else ())) + f"the container name {container_name} is in "
                f"use on host {req.host.name}.")


# -- for the editor -----------------------------------------------------------------------------

def problem_list(error: ConsoleError) -> list[dict]:
    """An error's problems for the editor: `{"field", "line", "message"}`, the line (of the
    Compose file or the .env) when the message names one."""
    found = []
    for name, messages in (error.fields or {"": [error.message]}).items():
        for message in messages:
            found.append({"field": name or None, "message": message,
                          "line": engine_grammar.compose_line(message)
                          if name in ("compose", "env") else None})
    return found
