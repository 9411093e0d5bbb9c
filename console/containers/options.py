"""Checking a request to run a container, the same way for the run form and the API.

`validate_run(user, data)` takes the fields of `POST /api/containers/` and returns a
`RunRequest`, or raises `InvalidRequest` with one clear message per field. Unknown fields are
refused, so an option cannot slip in under another name; options that hand a container the
host (bind mounts, privileged, extra capabilities, the host's network, directly or through
another container's) are for superusers only, and a request carrying them from anyone else is
forbidden (403). Every field accepted here is one the engine takes (`runtime.container.options`;
tests/console/test_run_contract.py feeds them all through), and every value is one the engine
and the kernel take: numbers within their bounds, no NUL (which no argument, environment
variable or path can hold) and no control characters in names, paths and users. A PIDs limit
is capped for everyone but superusers (`settings.MAX_PIDS`, also the default when none is
asked for, as Docker's daemon-wide `default-pids-limit`).
"""
import math
import re
import shlex
from dataclasses import dataclass, field

from django.conf import settings

from console.containers.models import Container
from console.containers.publishing import validate_ports
from console.hosts.models import Host
from console.images.models import Image
from console.jobs.specs import team_network
from console.teams.models import Team

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
CONTAINER_USER_PATTERN = re.compile(
    r"(?:[a-z_][a-z0-9_.-]{0,31}|\d{1,10})(?::(?:[a-z_][a-z0-9_.-]{0,31}|\d{1,10}))?")
RESTART_PATTERN = re.compile(r"^(no|always|unless-stopped|on-failure(?::\d{1,4})?)$")
NETWORK_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$")
TEAM_NETWORK_PATTERN = re.compile(r"^team-[0-9]+$")

# The fields anyone with the run action may send.
FIELDS = {"image", "name", "cmd", "host", "team", "env", "memory", "cpus", "pids_limit", "tty",
          "ports", "network", "restart", "start", "workdir", "user", "entrypoint"}
# The fields that hand the container part of the host: superusers only.
HOST_FIELDS = {"binds", "privileged", "cap_add"}


class InvalidRequest(Exception):
    def __init__(self, errors: dict[str, list[str]], forbidden: bool = False):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors
        self.forbidden = forbidden


@dataclass
class RunRequest:
    host: Host
    team: Team | None
    image: Image
    image_ref: str
    name: str = ""
    command: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    start: bool = True

    def audit_params(self) -> dict:
        return {"image": self.image_ref, "name": self.name, "cmd": self.command,
                "env": self.env, **self.options, "start": self.start}


class Errors(dict):
    def add(self, name: str, message: str) -> None:
        self.setdefault(name, []).append(message)


def _size(value: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20)):
        if value >= 1 << shift:
            return f"{value / (1 << shift):.1f} {unit}"
    return f"{value} bytes"


def parse_memory(value) -> int | None:
    """Bytes from `134217728`, `"64m"`, `"1.5g"`, `"512k"`; None for empty, ValueError for
    anything else."""
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        size = value
    else:
        match = MEMORY_PATTERN.fullmatch(str(value))
        if not match:
            raise ValueError
        number, unit = match.groups()
        size = float(number) * MEMORY_UNITS[unit.lower()]
        if not math.isfinite(size):
            raise ValueError
        size = int(size)
    if size < 0:
        raise ValueError
    return size


def parse_command(value) -> list[str]:
    """A list of strings from a list or one shell-like line; ValueError for anything else,
    and for a NUL, which no program argument can hold."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = shlex.split(value)
    if not (isinstance(value, list) and all(isinstance(item, str) for item in value)):
        raise ValueError
    if any("\x00" in item for item in value):
        raise ValueError
    return value


def parse_env(value) -> list[str]:
    if value in (None, "", [], {}):
        return []
    if isinstance(value, dict):
        value = [f"{k}={v}" for k, v in value.items()]
    if isinstance(value, str):
        value = [line.strip() for line in value.splitlines() if line.strip()]
    if not isinstance(value, list):
        raise ValueError("use a list of NAME=value")
    for item in value:
        if not isinstance(item, str) or not ENV_NAME_PATTERN.fullmatch(item.split("=", 1)[0]):
            raise ValueError(f"{str(item)[:40]!r} is not NAME=value")
        if "\x00" in item:
            raise ValueError(f"{item.split('=', 1)[0]!r} holds a NUL character, which no "
                             "environment variable can")
    return value


def parse_pids_limit(value, user) -> int | None:
    """The PIDs limit to give the container: a whole number of at least 1, or -1 for none;
    for all but superusers at most `settings.MAX_PIDS` (0: no cap), which is also what they
    get when they ask for none. ValueError with the message to show."""
    cap = settings.MAX_PIDS if not user.is_superuser else 0
    if value in (None, ""):
        return cap or None
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        raise ValueError("The PIDs limit must be a whole number.")
    try:
        limit = int(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError("The PIDs limit must be a whole number of at least 1 (or -1 for no "
                         "limit).") from None
    if cap and not 1 <= limit <= cap:
        raise ValueError(f"The PIDs limit must be a whole number of at least 1 and at most "
                         f"{cap} (the console's cap for all but superusers).")
    if limit != -1 and not 1 <= limit <= MAX_INT64:
        raise ValueError("The PIDs limit must be a whole number of at least 1 (or -1 for no "
                         f"limit), and at most {MAX_INT64}.")
    return limit


def parse_cpus(value, host) -> float | None:
    """CPUs as a float between 0.01 and the host's count (or a kernel's most, when the host's
    is not known yet); ValueError with the message to show."""
    if value in (None, ""):
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        cpus = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError("CPUs must be a positive number, e.g. 0.5 or 2.") from None
    if not math.isfinite(cpus) or cpus <= 0:
        raise ValueError("CPUs must be a positive number, e.g. 0.5 or 2.")
    if cpus < MIN_CPUS:
        raise ValueError(f"CPUs must be at least {MIN_CPUS}.")
    if host is not None and host.cpus and cpus > host.cpus:
        raise ValueError(f"Host {host.name} has only {host.cpus} CPUs.")
    if cpus > MAX_CPUS:
        raise ValueError(f"CPUs must be at most {MAX_CPUS}.")
    return cpus


def check_text(errors, name: str, value, *, max_length: int = 255) -> str | None:
    """`value` if it is a string of at most `max_length` characters without control
    characters; else the error beside `name`, and None."""
    if not isinstance(value, str):
        errors.add(name, "Must be a string.")
    elif len(value) > max_length:
        errors.add(name, f"At most {max_length} characters.")
    elif CONTROL_CHARACTERS.search(value):
        errors.add(name, "Must not contain control characters (NUL, newlines, escapes...).")
    else:
        return value
    return None


def validate_run(user, data: dict) -> RunRequest:
    errors = Errors()
    unknown = sorted(set(data) - FIELDS - HOST_FIELDS)
    for name in unknown:
        errors.add(name, f"Unknown field {name!r}.")
    forbidden = False
    if not user.is_superuser:
        handed = sorted(name for name in HOST_FIELDS if data.get(name) not in (None, "", [], False))
        if data.get("network") == "host":
            handed.append("network")
        for name in handed:
            errors.add(name, f"Only a superuser may set {name!r}: it gives the container "
                             "access to the host.")
            forbidden = True
    if not user.is_superuser and not Team.objects.restrict(user, "run").exists():
        errors.add("team", "You are in no team in which you may run containers.")
        forbidden = True
    if forbidden:
        raise InvalidRequest(errors, forbidden=True)

    for key in ("team", "host"):
        if data.get(key) not in (None, "") and not isinstance(data[key], int):
            check_text(errors, key, data[key], max_length=64)
    team = choose_team(user, data.get("team"), errors) if "team" not in errors else None
    host = choose_host(user, team, data.get("host"), errors) if "host" not in errors else None
    image = None
    image_ref = check_text(errors, "image", data["image"]) if data.get("image") else None
    image_ref = (image_ref or "").strip()
    if not image_ref and "image" not in errors:
        errors.add("image", "This field is required.")
    elif image_ref and host is not None:
        image = choose_image(user, host, team, image_ref, errors)

    name = check_text(errors, "name", data["name"], max_length=128) if data.get("name") else None
    name = (name or "").strip()
    if name and not NAME_PATTERN.fullmatch(name):
        errors.add("name", "Invalid name: use letters, digits, '_', '.' and '-', starting "
                           "with a letter or digit (at most 128).")
    elif name and host is not None and Container.objects.filter(host=host, name=name).exists():
        errors.add("name", f"The name {name!r} is already in use on host {host.name}.")

    try:
        command = parse_command(data.get("cmd"))
    except ValueError:
        errors.add("cmd", "Give the command as a list of strings or one line.")
        command = []
    try:
        env = parse_env(data.get("env"))
    except ValueError as error:
        errors.add("env", f"Invalid environment: {error}.")
        env = []

    options = {}
    try:
        memory = parse_memory(data.get("memory"))
        if memory is not None and memory < MIN_MEMORY:
            errors.add("memory", "The memory limit must be at least 6m.")
        elif memory is not None and host is not None and host.memory and memory > host.memory:
            errors.add("memory", f"Host {host.name} has only {_size(host.memory)} of memory.")
        elif memory is not None and memory > MAX_INT64:
            errors.add("memory", f"The memory limit must be at most {MAX_INT64} bytes.")
        elif memory is not None:
            options["memory"] = memory
    except ValueError:
        errors.add("memory", f"Invalid memory {str(data.get('memory'))[:40]!r}: use a number "
                             "of bytes or a number with a unit (k, m, g), e.g. 64m.")
    try:
        cpus = parse_cpus(data.get("cpus"), host)
        if cpus is not None:
            options["cpus"] = cpus
    except ValueError as error:
        errors.add("cpus", str(error))
    try:
        pids = parse_pids_limit(data.get("pids_limit"), user)
        if pids is not None:
            options["pids_limit"] = pids
    except ValueError as error:
        errors.add("pids_limit", str(error))
    restart = data.get("restart")
    if restart not in (None, ""):
        if not isinstance(restart, str) or not RESTART_PATTERN.fullmatch(restart):
            errors.add("restart", "Restart policy must be no, always, unless-stopped or "
                                  "on-failure[:N].")
        else:
            options["restart"] = restart
    for flag in ("tty", "privileged"):
        if data.get(flag) not in (None, ""):
            if not isinstance(data[flag], bool):
                errors.add(flag, "Must be true or false.")
            elif data[flag]:
                options[flag] = True
    validate_ports(user, data.get("ports"), errors, options)
    forbidden = validate_network(user, host, team, data.get("network"), errors, options)
    if data.get("workdir") not in (None, ""):
        workdir = check_text(errors, "workdir", data["workdir"])
        if workdir is not None and not workdir.startswith("/"):
            errors.add("workdir", "The working directory must be an absolute path.")
        elif workdir is not None:
            options["workdir"] = workdir
    if data.get("user") not in (None, ""):
        user_name = check_text(errors, "user", data["user"])
        if user_name is not None and not CONTAINER_USER_PATTERN.fullmatch(user_name):
            errors.add("user", "A user inside the container: a name or a number, optionally "
                               "with a group (app, 1000, app:staff, 1000:1000).")
        elif user_name is not None:
            options["user"] = user_name
    if data.get("entrypoint") not in (None, ""):
        try:
            options["entrypoint"] = parse_command(data["entrypoint"])
        except ValueError:
            errors.add("entrypoint", "Give the entrypoint as a list of strings or one line.")
    if user.is_superuser:
        validate_host_fields(data, errors, options)
    start = data.get("start", True)
    if not isinstance(start, bool):
        errors.add("start", "Must be true or false.")

    if errors:
        raise InvalidRequest(errors, forbidden=forbidden)
    return RunRequest(host=host, team=team, image=image, image_ref=image_ref, name=name,
                      command=command, env=env, options=options, start=start)


def choose_team(user, value, errors, *, action="run", what="run containers") -> Team | None:
    """The team a request is for: `value` (a name or number), or the user's one team in which
    they may do `action`. A superuser's belongs to their team if they have exactly one, else to
    no team (superusers only)."""
    teams = Team.objects.restrict(user, action)
    if value in (None, ""):
        if user.is_superuser:
            own = list(Team.objects.filter(memberships__user=user)[:2])
            return own[0] if len(own) == 1 else None
        choices = list(teams[:2])
        if len(choices) == 1:
            return choices[0]
        if not choices:
            errors.add("team", f"You are in no team that may {what}.")
        else:
            errors.add("team", "You are in several teams: choose one.")
        return None
    lookup = {"pk": value} if str(value).isdigit() else {"name": value}
    team = teams.filter(**lookup).first()
    if team is None:
        errors.add("team", f"No team {value!r} in which you may {what}.")
    return team


def choose_host(user, team, value, errors) -> Host | None:
    if value in (None, ""):
        errors.add("host", "This field is required.")
        return None
    lookup = {"pk": value} if str(value).isdigit() else {"name": value}
    host = Host.objects.restrict(user, "view").filter(**lookup).first()
    if host is None:
        errors.add("host", f"No such host: {value}.")
        return None
    if team is not None and not host.grants.filter(team=team).exists():
        errors.add("host", f"Host {host.name} is not granted to team {team.name}.")
        return None
    if not host.is_online:
        when = f"last seen {host.last_seen:%Y-%m-%d %H:%M:%S} UTC" if host.last_seen else \
            "never seen"
        errors.add("host", f"Host {host.name} is offline ({when}).")
        return None
    return host


def choose_image(user, host, team, reference, errors) -> Image | None:
    candidates = Image.objects.restrict(user, "run").filter(host=host)
    if not user.is_superuser:
        candidates = candidates.filter(team__isnull=True) | candidates.filter(team=team)
    matches = [image for image in candidates if image.matches(reference)]
    if not matches:
        errors.add("image", f"No such image: {reference} (on host {host.name}).")
        return None
    if len({m.image_id for m in matches}) > 1:
        errors.add("image", f"{reference} matches several images: give more of the ID.")
        return None
    return matches[0]


def validate_network(user, host, team, network, errors, options) -> bool:
    """Check `network` and put the engine's word for it in `options`; True when it is
    forbidden to `user` (the host's network namespace, also when joined through another
    container's).

    A team's container goes on the team's own network on its host (`team-<id>`, made there on
    first use) unless the request names another; `bridge` means that network too, except to
    a superuser, for whom it is the host's shared bridge (where `moor run` puts containers).
    Any other name must be one of the team's networks on the host (labelled
    `moorage.team=team-<id>`): the host's worker checks that before it makes the container,
    and reports another team's network as it reports a missing one. `container:NAME` joins a
    container of the same team. Superusers may name any network."""
    own = team_network(team) if team is not None else None
    if network in (None, ""):
        if own:
            options["network"] = own
        return False
    if not isinstance(network, str):
        errors.add("network", "Must be a string.")
        return False
    if network.startswith("container:"):
        other = network.split(":", 1)[1]
        found = Container.objects.restrict(user, "run").resolve(other)
        if host is not None:
            found = found.filter(host=host)
        if not user.is_superuser:
            found = found.filter(team=team)
        if found.count() != 1:
            errors.add("network", f"No such container on this host: {other}.")
            return False
        joined = found.get()
        if not user.is_superuser and uses_host_network(joined):
            errors.add("network", f"Only a superuser may join the network of {other}: it "
                                  "uses the host's network, which gives the container access "
                                  "to the host.")
            return True
        options["network"] = f"container:{joined.engine_id}"
        return False
    if network != "host" and not NETWORK_PATTERN.match(network):
        errors.add("network", "Network is none, bridge, a network name or container:NAME.")
        return False
    if not user.is_superuser and own:
        if network == "bridge":
            network = own
        elif TEAM_NETWORK_PATTERN.match(network) and network != own:
            errors.add("network", f"No such network: {network}"
                                  f"{f' (on host {host.name})' if host else ''}.")
            return False
    options["network"] = network
    return False


def network_mode(container: Container) -> str:
    """The network a container was given: the engine's word for it, else the request's."""
    host_config = (container.inspect_data or {}).get("HostConfig") or {}
    return host_config.get("NetworkMode") or container.options.get("network") or "bridge"


def uses_host_network(container: Container, hops: int = 8) -> bool:
    """Whether `container` is in the host's network namespace, itself or through the
    containers whose network it joined (`container:<id>`, followed to the end)."""
    seen = set()
    while hops and container is not None and container.pk not in seen:
        seen.add(container.pk)
        mode = network_mode(container)
        if mode == "host":
            return True
        if not mode.startswith("container:"):
            return False
        other = mode.split(":", 1)[1]
        container = Container.objects.filter(host_id=container.host_id).resolve(other).first()
        hops -= 1
    return container is not None     # a chain too long to follow is not believed


def host_access(container: Container) -> list[str]:
    """What of the host `container` holds, by the engine's record (and the request's options
    until the engine has reported): privileges, bind mounts, added capabilities, the host's
    network. A shell in such a container is a shell on the host, so only superusers get one."""
    host_config = (container.inspect_data or {}).get("HostConfig") or {}
    options = container.options or {}
    held = []
    if host_config.get("Privileged") or options.get("privileged"):
        held.append("privileged")
    if host_config.get("Binds") or options.get("binds"):
        held.append("bind mounts of the host")
    if host_config.get("CapAdd") or options.get("cap_add"):
        held.append("added capabilities")
    if uses_host_network(container):
        held.append("the host's network")
    return held


def validate_host_fields(data, errors, options) -> None:
    for key in ("binds", "cap_add"):
        value = data.get(key)
        if value in (None, "", []):
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            errors.add(key, "Must be a list of strings.")
        else:
            options[key] = value
