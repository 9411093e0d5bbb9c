"""A request to run a container, described as data: one row per field (`RUN_FIELDS`), saying how
the field is read, what the API documents for it and who may set it. The run form and the API
check a request the same way, with `validate_run`.

`validate_run(user, data)` takes the fields of `POST /api/containers/` and returns a
`RunRequest`, or raises `Invalid` with one clear message per field. `host: "any"` lets the
console choose, once every field is read: the host with the most free memory among those of
the team that can take the container (`console.hosts.placement`; the image named must be
there, the name free there); the request then says where and why (`placement`). Unknown
fields are refused, so an option cannot slip in under another name; options that hand a
container the host (bind mounts, privileged, extra capabilities, the host's network, directly
or through another container's) are for superusers only, and a request carrying them from
anyone else is `Forbidden`. Every field accepted here is one the engine takes
(`runtime.container.options`; tests/console/containers/test_run_contract.py feeds them all
through), and every value is one the engine and the kernel take: numbers within their
bounds, no NUL (which no argument, environment variable or path can hold) and no control
characters in names, paths and users. A PIDs limit is capped for everyone but superusers
(`settings.MAX_PIDS`, also the default when none is asked for, as Docker's daemon-wide
`default-pids-limit`).

Each field's reader takes the value sent and the request read so far (the fields above it in
the table: the image is looked for on the host, a name checked for it), puts what it read in
the request, and raises `Invalid` (or `Forbidden`) with the messages for beside its field.
"""
import math
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from rest_framework import serializers

from console.containers.host_access import uses_host_network
from console.containers.models import Container
from console.containers.publishing import checked_ports
from console.core.errors import ConsoleError, FieldErrors, Forbidden, Invalid
from console.core.permissions import may_somewhere
from console.core.targets import choose_host, choose_team
from console.hosts.models import ANY_HOST, Host
from console.hosts.placement import (
    candidates,
    choose_host as choose_any_host,
    no_new_containers,
    size_in_words,
)
from console.images.models import Image
from console.teams.models import CONTAINER_USER_PATTERN, Team

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$")
ENV_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MEMORY_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bkmg]?)i?b?\s*$", re.IGNORECASE)
MEMORY_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}
MIN_MEMORY = 6 * 1024 ** 2
# The kernel's and the OCI spec's numbers are signed 64-bit.
MAX_INT64 = 2 ** 63 - 1
MIN_CPUS = 0.01           # Docker's lower bound, and the engine's
MAX_CPUS = 8192           # a Linux kernel's most (NR_CPUS), while the host's count is unknown
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
RESTART_PATTERN = re.compile(r"^(no|always|unless-stopped|on-failure(?::\d{1,4})?)$")
NETWORK_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$")
TEAM_NETWORK_PATTERN = re.compile(r"^team-[0-9]+$")
NOT_SENT = (None, "")


@dataclass
class RunRequest:
    """What a run request asks for, read and checked (`validate_run`)."""

    host: Host | None = None
    team: Team | None = None
    image: Image | None = None
    image_ref: str = ""
    name: str = ""
    command: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    start: bool = True
    any_host: bool = False      # `host: "any"`: the console chooses (`place_anywhere`)
    placement: str = ""         # where it chose, and why

    def audit_params(self) -> dict:
        params = {"image": self.image_ref, "name": self.name, "cmd": self.command,
                  "env": self.env, **self.options, "start": self.start}
        if self.placement:
            params["placement"] = self.placement
        return params


@dataclass(frozen=True)
class RunField:
    """One field of a run request: `read(value, request, user)` checks what was sent and puts it
    in the request (an engine option under the field's name, unless the reader says
    otherwise); `doc` is what the API's schema says of it. A `superuser` field hands the
    container part of the host. A field not sent is read only when `read_unsent` (it has a
    default, or is required)."""

    name: str
    read: Callable[[object, RunRequest, object], None]
    doc: serializers.Field
    superuser: bool = False
    read_unsent: bool = False


# -- the readers, one a field ----------------------------------------------------------------

def text(value, *, max_length: int = 255) -> str:
    """`value` if it is a string of at most `max_length` characters without control
    characters."""
    if not isinstance(value, str):
        raise Invalid("Must be a string.")
    if len(value) > max_length:
        raise Invalid(f"At most {max_length} characters.")
    if CONTROL_CHARACTERS.search(value):
        raise Invalid("Must not contain control characters (NUL, newlines, escapes...).")
    return value


def chosen(choose, *args, name: str):
    """What `core.targets.choose_team` or `choose_host` chose; their problems as Invalid."""
    problems = FieldErrors()
    found = choose(*args, problems)
    if problems:
        raise Invalid(fields={name: problems[name]})
    return found


def read_team(value, run: RunRequest, user) -> None:
    if value not in NOT_SENT and not isinstance(value, int):
        text(value, max_length=64)
    run.team = chosen(choose_team, user, value, name="team")


def read_host(value, run: RunRequest, user) -> None:
    if value not in NOT_SENT and not isinstance(value, int):
        text(value, max_length=64)
    if value == ANY_HOST:
        run.any_host = True         # chosen once the whole request is read
        return
    run.host = chosen(choose_host, user, run.team, value, name="host")
    refusal = no_new_containers(run.host) if run.host is not None else None
    if refusal:
        run.host = None
        raise Invalid(refusal)


def images_matching(user, run: RunRequest, host: Host) -> list[Image]:
    """The images of `host` that the request's image reference names and its team may run."""
    candidates = Image.objects.restrict(user, "run").filter(host=host)
    if not user.is_superuser:
        candidates = candidates.filter(team__isnull=True) | candidates.filter(team=run.team)
    return [image for image in candidates if image.matches(run.image_ref)]


def image_problem(matches: list[Image], run: RunRequest, host: Host) -> str | None:
    if not matches:
        return f"No such image: {run.image_ref} (on host {host.name})."
    if len({m.image_id for m in matches}) > 1:
        return f"{run.image_ref} matches several images: give more of the ID."
    return None


def read_image(value, run: RunRequest, user) -> None:
    run.image_ref = text(value).strip() if value else ""
    if not run.image_ref:
        raise Invalid("This field is required.")
    if run.host is None:
        return          # said beside the host, or looked for on each host placement weighs
    matches = images_matching(user, run, run.host)
    problem = image_problem(matches, run, run.host)
    if problem:
        raise Invalid(problem)
    run.image = matches[0]


def read_name(value, run: RunRequest, user) -> None:
    name = text(value, max_length=128).strip()
    if name and not NAME_PATTERN.fullmatch(name):
        raise Invalid("Invalid name: use letters, digits, '_', '.' and '-', starting with a "
                      "letter or digit (at most 128).")
    if name and run.host is not None and Container.objects.filter(host=run.host,
                                                                 name=name).exists():
        raise Invalid(f"The name {name!r} is already in use on host {run.host.name}.")
    run.name = name


def command(value, what: str) -> list[str]:
    """A list of strings from a list or one shell-like line, none holding a NUL (which no
    program argument can)."""
    if isinstance(value, str):
        try:
            value = shlex.split(value)
        except ValueError:
            value = None
    if not (isinstance(value, list) and all(isinstance(item, str) and "\x00" not in item
                                            for item in value)):
        raise Invalid(f"Give the {what} as a list of strings or one line.")
    return value


def read_cmd(value, run: RunRequest, user) -> None:
    run.command = command(value, "command")


def read_entrypoint(value, run: RunRequest, user) -> None:
    run.options["entrypoint"] = command(value, "entrypoint")


def read_env(value, run: RunRequest, user) -> None:
    if value in ([], {}):
        return
    if isinstance(value, dict):
        value = [f"{k}={v}" for k, v in value.items()]
    if isinstance(value, str):
        value = [line.strip() for line in value.splitlines() if line.strip()]
    if not isinstance(value, list):
        raise Invalid("Invalid environment: use a list of NAME=value.")
    for item in value:
        if not isinstance(item, str) or not ENV_NAME_PATTERN.fullmatch(item.split("=", 1)[0]):
            raise Invalid(f"Invalid environment: {str(item)[:40]!r} is not NAME=value.")
        if "\x00" in item:
            raise Invalid(f"Invalid environment: {item.split('=', 1)[0]!r} holds a NUL "
                          "character, which no environment variable can.")
    run.env = value


def bytes_of(value) -> int | None:
    """Bytes from `134217728`, `"64m"`, `"1.5g"`, `"512k"`; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    match = MEMORY_PATTERN.fullmatch(str(value))
    if not match:
        return None
    number, unit = match.groups()
    size = float(number) * MEMORY_UNITS[unit.lower()]
    return int(size) if math.isfinite(size) else None


def read_memory(value, run: RunRequest, user) -> None:
    memory = bytes_of(value)
    if memory is None:
        raise Invalid(f"Invalid memory {str(value)[:40]!r}: use a number of bytes or a number "
                      "with a unit (k, m, g), e.g. 64m.")
    host = run.host
    if memory < MIN_MEMORY:
        raise Invalid("The memory limit must be at least 6m.")
    if host is not None and host.memory and memory > host.memory:
        raise Invalid(f"Host {host.name} has only {size_in_words(host.memory)} of memory.")
    if memory > MAX_INT64:
        raise Invalid(f"The memory limit must be at most {MAX_INT64} bytes.")
    run.options["memory"] = memory


def read_cpus(value, run: RunRequest, user) -> None:
    """CPUs as a float between 0.01 and the host's count (or a kernel's most, when the host's
    is not known yet)."""
    try:
        if isinstance(value, bool):
            raise ValueError
        cpus = float(value)
    except (TypeError, ValueError, OverflowError):
        cpus = math.nan
    if not math.isfinite(cpus) or cpus <= 0:
        raise Invalid("CPUs must be a positive number, e.g. 0.5 or 2.")
    if cpus < MIN_CPUS:
        raise Invalid(f"CPUs must be at least {MIN_CPUS}.")
    if run.host is not None and run.host.cpus and cpus > run.host.cpus:
        raise Invalid(f"Host {run.host.name} has only {run.host.cpus} CPUs.")
    if cpus > MAX_CPUS:
        raise Invalid(f"CPUs must be at most {MAX_CPUS}.")
    run.options["cpus"] = cpus


def read_pids_limit(value, run: RunRequest, user) -> None:
    """A whole number of at least 1, or -1 for none; for all but superusers at most
    `settings.MAX_PIDS` (0: no cap), which is also what they get when they ask for none."""
    cap = settings.MAX_PIDS if not user.is_superuser else 0
    if value in NOT_SENT:
        if cap:
            run.options["pids_limit"] = cap
        return
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        raise Invalid("The PIDs limit must be a whole number.")
    try:
        limit = int(value)
    except (TypeError, ValueError, OverflowError):
        raise Invalid("The PIDs limit must be a whole number of at least 1 (or -1 for no "
                      "limit).") from None
    if cap and not 1 <= limit <= cap:
        raise Invalid(f"The PIDs limit must be a whole number of at least 1 and at most {cap} "
                      "(the console's cap for all but superusers).")
    if limit != -1 and not 1 <= limit <= MAX_INT64:
        raise Invalid("The PIDs limit must be a whole number of at least 1 (or -1 for no "
                      f"limit), and at most {MAX_INT64}.")
    run.options["pids_limit"] = limit


def read_restart(value, run: RunRequest, user) -> None:
    if not isinstance(value, str) or not RESTART_PATTERN.fullmatch(value):
        raise Invalid("Restart policy must be no, always, unless-stopped or on-failure[:N].")
    run.options["restart"] = value


def flag(name: str):
    """The reader of a true-or-false option (set only when true)."""
    def read(value, run: RunRequest, user) -> None:
        if not isinstance(value, bool):
            raise Invalid("Must be true or false.")
        if value:
            run.options[name] = True
    return read


def read_ports(value, run: RunRequest, user) -> None:
    run.options.update(checked_ports(user, value))


def read_network(value, run: RunRequest, user) -> None:
    """The engine's word for the network, in the options. A team's container goes on the
    team's own network on its host (`team-<id>`, made there on first use) unless the request
    names another; `bridge` means that network too, except to a superuser, for whom it is the
    host's shared bridge (where `moor run` puts containers). Any other name must be one of the
    team's networks on the host (labelled `moorage.team=team-<id>`): the host's worker checks
    that before it makes the container, and reports another team's network as it reports a
    missing one. `container:NAME` joins a container of the same team, unless it is in the
    host's network namespace (Forbidden). Superusers may name any network."""
    team, host = run.team, run.host
    own = team.network if team is not None else None
    if value in NOT_SENT:
        if own:
            run.options["network"] = own
        return
    if not isinstance(value, str):
        raise Invalid("Must be a string.")
    if value.startswith("container:"):
        run.options["network"] = f"container:{joined_container(value, run, user).engine_id}"
        return
    if value != "host" and not NETWORK_PATTERN.match(value):
        raise Invalid("Network is none, bridge, a network name or container:NAME.")
    if not user.is_superuser and own:
        if value == "bridge":
            value = own
        elif TEAM_NETWORK_PATTERN.match(value) and value != own:
            raise Invalid(f"No such network: {value}"
                          f"{f' (on host {host.name})' if host else ''}.")
    run.options["network"] = value


def joined_container(network: str, run: RunRequest, user) -> Container:
    """The container whose network `container:NAME` joins."""
    other = network.split(":", 1)[1]
    found = Container.objects.restrict(user, "run").resolve(other)
    if run.host is not None:
        found = found.filter(host=run.host)
    if not user.is_superuser:
        found = found.filter(team=run.team)
    if found.count() != 1:
        raise Invalid(f"No such container on this host: {other}.")
    joined = found.get()
    if not user.is_superuser and uses_host_network(joined):
        raise Forbidden(f"Only a superuser may join the network of {other}: it uses the "
                        "host's network, which gives the container access to the host.")
    return joined


def read_workdir(value, run: RunRequest, user) -> None:
    if not text(value).startswith("/"):
        raise Invalid("The working directory must be an absolute path.")
    run.options["workdir"] = value


def read_user(value, run: RunRequest, user) -> None:
    if not CONTAINER_USER_PATTERN.match(text(value)):
        raise Invalid("A user inside the container: a name or a number, optionally with a "
                      "group (app, 1000, app:staff, 1000:1000).")
    run.options["user"] = value


def string_list(name: str):
    """The reader of an option that is a list of strings."""
    def read(value, run: RunRequest, user) -> None:
        if value == []:
            return
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise Invalid("Must be a list of strings.")
        run.options[name] = value
    return read


HOST_PATH = ("/", ".", "~")
VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{1,254}$")


def read_binds(value, run: RunRequest, user) -> None:
    """Docker's `-v` values. `NAME:/path[:ro]` mounts the named volume NAME, one of the team's
    (another team's is "no such volume"; a new name is made on the host, as the team's): a
    volume is not the host's. `/host/dir:/path` binds a directory of the host: superusers
    only (Forbidden)."""
    if value == []:
        return
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise Invalid("Must be a list of strings.")
    for bind in value:
        parts = bind.split(":")
        if len(parts) > 3 or not all(parts[:2]) or CONTROL_CHARACTERS.search(bind):
            raise Invalid(f"{bind[:60]!r} is not SOURCE:/PATH[:ro] (a volume's name or, for "
                          "superusers, a directory of the host).")
        source = parts[0]
        if len(parts) == 1 or user.is_superuser:
            continue            # `/path` alone: an anonymous volume
        if source.startswith(HOST_PATH):
            raise Forbidden(f"Only a superuser may set 'binds' to a directory of the host "
                            f"({source[:60]}): it gives the container access to the host. Use "
                            "a named volume.")
        if not VOLUME_NAME.fullmatch(source):
            raise Invalid(f"Invalid volume name {source[:60]!r}: 2 to 255 letters, digits, "
                          "'_', '.' and '-', starting with a letter or a digit.")
        if run.host is not None and not named_volume_is_usable(source, run):
            raise Invalid(f"No such volume: {source} (on host {run.host.name}).")
    run.options["binds"] = value


def named_volume_is_usable(name: str, run: RunRequest) -> bool:
    """Whether the team may mount the volume `name` of the run's host: its own, or a name no
    volume has there yet (the host makes it, as the team's)."""
    from console.volumes.models import Volume

    found = Volume.objects.filter(host=run.host, name=name).first()
    return found is None or (run.team is not None and found.team_id == run.team.pk)


def read_start(value, run: RunRequest, user) -> None:
    if not isinstance(value, bool):
        raise Invalid("Must be true or false.")
    run.start = value


# -- the fields ----------------------------------------------------------------------------------

def strings(**kwargs):
    return serializers.ListField(child=serializers.CharField(), required=False, **kwargs)


RUN_FIELDS = (
    RunField("team", read_team, serializers.CharField(
        required=False, help_text="the team's name (your one team in which you may run, by "
                                  "default)"), read_unsent=True),
    RunField("host", read_host, serializers.CharField(
        help_text='a host granted to the team, or "any": the one with the most free memory '
                  'that can take the container'), read_unsent=True),
    RunField("image", read_image, serializers.CharField(
        help_text="an image of the host: name[:tag], ID or ID prefix"), read_unsent=True),
    RunField("name", read_name, serializers.CharField(required=False)),
    RunField("cmd", read_cmd, strings(help_text="or one line, split as a shell would")),
    RunField("env", read_env, strings(help_text="NAME=value")),
    RunField("memory", read_memory, serializers.CharField(
        required=False, help_text="bytes, or e.g. 64m")),
    RunField("cpus", read_cpus, serializers.FloatField(required=False)),
    RunField("pids_limit", read_pids_limit, serializers.IntegerField(
        required=False, help_text="at most MOORAGE_MAX_PIDS (also the default) for all but "
                                  "superusers, who may give -1 for no limit"), read_unsent=True),
    RunField("restart", read_restart, serializers.CharField(
        required=False, help_text="no, always, unless-stopped or on-failure[:N]")),
    RunField("tty", flag("tty"), serializers.BooleanField(required=False)),
    RunField("privileged", flag("privileged"), serializers.BooleanField(
        required=False, help_text="superusers only"), superuser=True),
    RunField("ports", read_ports, strings(help_text="[IP:]HOSTPORT:CONTAINERPORT[/proto]")),
    RunField("network", read_network, serializers.CharField(
        required=False, help_text="the team's own by default; none, bridge, a network's name "
                                  "or container:NAME"), read_unsent=True),
    RunField("workdir", read_workdir, serializers.CharField(required=False)),
    RunField("user", read_user, serializers.CharField(
        required=False, help_text="name|uid[:group|gid]")),
    RunField("entrypoint", read_entrypoint, strings()),
    RunField("binds", read_binds, strings(
        help_text="VOLUME:CTR[:ro] (a named volume of your team, made on first use); "
                  "HOST:CTR[:ro] (a host directory) for superusers only")),
    RunField("cap_add", string_list("cap_add"), strings(help_text="superusers only"),
             superuser=True),
    RunField("start", read_start, serializers.BooleanField(
        required=False, default=True, help_text="false: create only")),
)
# The fields anyone with the run action may send, and those only superusers may.
FIELDS = frozenset(f.name for f in RUN_FIELDS if not f.superuser)
HOST_FIELDS = frozenset(f.name for f in RUN_FIELDS if f.superuser)

RunSerializer = type("RunSerializer", (serializers.Serializer,), {
    "__doc__": "The body of `POST /api/containers/` (checked by `validate_run`).",
    **{f.name: f.doc for f in RUN_FIELDS}})


# -- checking a request --------------------------------------------------------------------------

def validate_run(user, data: dict) -> RunRequest:
    refuse_outsiders(user, data)
    run, problems, forbidden = RunRequest(), FieldErrors(), False
    for name in sorted(set(data) - FIELDS - HOST_FIELDS):
        problems.add(name, f"Unknown field {name!r}.")
    for entry in RUN_FIELDS:
        value = data.get(entry.name)
        if (value in NOT_SENT and not entry.read_unsent) or (
                entry.superuser and not user.is_superuser):    # left unset (refuse_outsiders)
            continue
        try:
            entry.read(value, run, user)
        except ConsoleError as error:
            for message in sum(error.fields.values(), []) or [error.message]:
                problems.add(entry.name, message)
            forbidden = forbidden or isinstance(error, Forbidden)
    if not problems and run.any_host:
        try:
            place_anywhere(user, run)
        except ConsoleError as error:
            problems.update(error.fields)
    if problems:
        raise (Forbidden if forbidden else Invalid)(fields=problems)
    return run


def place_anywhere(user, run: RunRequest) -> None:
    """`host: "any"`: put the request on the host `console.hosts.placement` chooses among
    those that have its image, where its name is free and that have the CPUs it asks for (a
    container joining another's network goes to that one's host)."""
    def image_there(host):
        matches = images_matching(user, run, host)
        if not matches:
            return f"no image {run.image_ref}"
        if len({m.image_id for m in matches}) > 1:
            return f"{run.image_ref} matches several images there"
        return None

    def name_free_there(host):
        if run.name and Container.objects.filter(host=host, name=run.name).exists():
            return f"the name {run.name} is in use there"
        return None

    def cpus_there(host):
        cpus = run.options.get("cpus")
        if cpus and host.cpus and cpus > host.cpus:
            return f"{host.cpus} CPUs, {cpus:g} asked"
        return None

    hosts = None
    network = run.options.get("network", "")
    if network.startswith("container:"):
        joined = Container.objects.get(engine_id=network.split(":", 1)[1])
        hosts = candidates(user, run.team).filter(pk=joined.host_id)
    placement = choose_any_host(user, run.team, memory=run.options.get("memory") or 0,
                                needs=(image_there, name_free_there, cpus_there), hosts=hosts)
    run.host, run.placement = placement.host, placement.reason
    run.image = images_matching(user, run, run.host)[0]


def refuse_outsiders(user, data: dict) -> None:
    """Forbidden, before anything else is read: a request from someone in no team in which
    they may run, and one that hands the container part of the host from anyone but a
    superuser (with the unknown fields it has too)."""
    if user.is_superuser:
        return
    problems = FieldErrors()
    for name in sorted(HOST_FIELDS):
        if data.get(name) not in (None, "", [], False):
            problems.add(name, f"Only a superuser may set {name!r}: it gives the container "
                               "access to the host.")
    if data.get("network") == "host":
        problems.add("network", "Only a superuser may set 'network': it gives the container "
                                "access to the host.")
    if not may_somewhere(user, "run"):
        problems.add("team", "You are in no team in which you may run containers.")
    if problems:
        for name in sorted(set(data) - FIELDS - HOST_FIELDS):
            problems.add(name, f"Unknown field {name!r}.")
        raise Forbidden(fields=problems)
