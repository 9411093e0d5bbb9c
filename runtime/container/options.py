"""Validate `create` options and turn them into Docker's `Config` and `HostConfig` shapes.

Everything a user can type wrong is checked here, before anything is made on disk, with
Docker's wording where Docker has one. An option that becomes one key by itself is described
as data (`CONFIG_FIELDS`, `HOST_CONFIG_FIELDS`: the option, its key, the function that reads
it); the others are read together with the image's config or with each other in `build`.
"""

import os
import re
from typing import Callable, NamedTuple

from runtime.container import devices, security_options, ulimits
from runtime.errors import InvalidArgument

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
MIN_MEMORY = 6 * 1024 * 1024
SIGNALS = {
    "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "BUS": 7, "FPE": 8,
    "KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15,
    "STKFLT": 16, "CHLD": 17, "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22,
    "URG": 23, "XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27, "WINCH": 28, "IO": 29,
    "PWR": 30, "SYS": 31,
}


def parse_size(value, what: str = "memory") -> int:
    """`64m`, `1g`, `1048576`, 1048576 -> bytes."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise InvalidArgument(f"invalid {what} size: {value!r}")
    if isinstance(value, (int, float)):
        if value < 0:
            raise InvalidArgument(f"invalid {what} size: {value!r}")
        return int(value)
    match = _SIZE.match(str(value))
    if not match:
        raise InvalidArgument(f"invalid {what} size: {value!r} (use a number with an optional "
                              "unit b, k, m or g, like 64m)")
    number, unit = float(match.group(1)), match.group(2).lower()
    return int(number * _UNITS[unit])


def parse_memory(value) -> int:
    size = parse_size(value)
    if 0 < size < MIN_MEMORY:
        raise InvalidArgument("Minimum memory limit allowed is 6MB")
    return size


def parse_cpus(value) -> int:
    """CPUs as a float -> NanoCpus."""
    if value is None or value == "":
        return 0
    try:
        cpus = float(value)
    except (TypeError, ValueError):
        raise InvalidArgument(f"invalid value for cpus: {value!r} (a number like 0.5)") from None
    if cpus != cpus or cpus < 0:
        raise InvalidArgument(f"invalid value for cpus: {value!r}: must not be negative")
    available = os.cpu_count() or 1
    if cpus > available:
        raise InvalidArgument(f"range of CPUs is from 0.01 to {available:.2f}, as there are "
                              f"only {available} CPUs available")
    if 0 < cpus < 0.01:
        raise InvalidArgument("range of CPUs is from 0.01 to the number of CPUs available")
    return int(cpus * 1e9)


def parse_pids_limit(value) -> int:
    if value is None or value == "":
        return 0
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise InvalidArgument(f"invalid value for pids limit: {value!r}") from None
    return limit if limit > 0 else 0


def parse_restart(value) -> dict:
    """`no`, `always`, `unless-stopped`, `on-failure[:N]` -> RestartPolicy."""
    text = (value or "no").strip()
    name, _, count = text.partition(":")
    if name not in ("no", "always", "unless-stopped", "on-failure"):
        raise InvalidArgument(f"invalid restart policy {text!r}: use no, always, "
                              "unless-stopped or on-failure[:max-retries]")
    retries = 0
    if count:
        if name != "on-failure":
            raise InvalidArgument(f"maximum retry count cannot be used with restart policy "
                                  f"'{name}'")
        if not count.isdigit():
            raise InvalidArgument(f"invalid restart policy {text!r}: bad retry count")
        retries = int(count)
    return {"Name": "" if name == "no" else name, "MaximumRetryCount": retries}


def parse_env(items) -> list[str]:
    env = []
    for item in items or []:
        if not isinstance(item, str):
            raise InvalidArgument(f"invalid environment variable: {item!r}")
        if "\0" in item:
            raise InvalidArgument("invalid environment variable: contains a NUL byte")
        key = item.split("=", 1)[0]
        if not key:
            raise InvalidArgument(f"invalid environment variable: {item!r}")
        if "=" not in item:
            # Docker takes `-e NAME` from the caller's environment.
            if key in os.environ:
                item = f"{key}={os.environ[key]}"
            else:
                continue
        env.append(item)
    return env


def merge_env(*lists: list[str]) -> list[str]:
    """Later lists win per key; order of first appearance is kept."""
    merged: dict[str, str] = {}
    for items in lists:
        for item in items or []:
            key, _, value = item.partition("=")
            merged.pop(key, None)
            merged[key] = value
    return [f"{k}={v}" for k, v in merged.items()]


def parse_signal(value) -> int:
    if isinstance(value, int):
        signal = value
    else:
        text = str(value).strip().upper()
        if text.isdigit():
            signal = int(text)
        else:
            text = text[3:] if text.startswith("SIG") else text
            if text not in SIGNALS:
                raise InvalidArgument(f"invalid signal: {value}")
            signal = SIGNALS[text]
    if not 1 <= signal <= 64:
        raise InvalidArgument(f"invalid signal: {value}")
    return signal


def string_list(value, what: str) -> list[str] | None:
    """A command given as a list, or as one string split like a shell would."""
    if value is None:
        return None
    if isinstance(value, str):
        import shlex
        try:
            return shlex.split(value)
        except ValueError as error:
            raise InvalidArgument(f"invalid {what}: {error}") from None
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise InvalidArgument(f"invalid {what}: {value!r} (expected a list of strings)")


def parse_labels(value) -> dict:
    if not value:
        return {}
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    labels = {}
    for item in value:
        key, _, val = str(item).partition("=")
        labels[key] = val
    return labels


_ALIAS = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9_.-]{0,62})$")


def parse_network_aliases(value, network: str | None) -> list[str]:
    """Docker's --network-alias: names on a user-defined network (not the default bridge,
    none, host or another container's namespace)."""
    aliases = list(value or [])
    for alias in aliases:
        if not isinstance(alias, str) or not _ALIAS.match(alias):
            raise InvalidArgument(f"invalid network alias: {alias!r}")
    if aliases and (network in (None, "", "bridge", "default", "none", "host") or
                    str(network).startswith("container:")):
        raise InvalidArgument("network-scoped aliases are supported only for containers on "
                              "user-defined networks")
    return list(dict.fromkeys(aliases))


def parse_hostname(value) -> str:
    hostname = value or ""
    if hostname and not re.match(r"^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,62})$", hostname):
        raise InvalidArgument(f"invalid hostname: {hostname!r}")
    return hostname


def parse_stop_timeout(value) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidArgument(f"invalid stop timeout: {value!r} (a number of seconds)") from None


def parse_capabilities(value) -> list[str]:
    """Capabilities as given (`net_admin`, `CAP_NET_ADMIN`, `ALL`), each checked."""
    from runtime.container.spec import normalize_capability
    names = list(value or [])
    for name in names:
        normalize_capability(name)
    return names


def parse_shm_size(value) -> int:
    return parse_size(value, "shm") or 64 << 20


def parse_init(value) -> bool | None:
    """`init`: checked here, so that a host without the init program refuses the create."""
    if value is None:
        return None
    if value:
        from runtime.container import init_process
        init_process.binary()
    return bool(value)


def _text_or_none(value):
    return value or None


def _list_or_none(value):
    return value or None


def parse_extra_hosts(value) -> list[str] | None:
    from runtime.network import hostfiles
    return hostfiles.parse_extra_hosts(value) or None


def parse_dns(value) -> list[str]:
    from runtime.network import hostfiles
    return hostfiles.parse_dns(value)


def parse_dns_search(value) -> list[str]:
    from runtime.network import hostfiles
    return hostfiles.parse_dns_search(value)


def parse_dns_options(value) -> list[str]:
    from runtime.network import hostfiles
    return hostfiles.parse_dns_options(value)


def host_platform() -> str:
    """`os/architecture` of the containers this host runs, in Go's names."""
    from runtime.image.distribution.pull import host_platform as architecture
    arch, variant = architecture()
    return f"linux/{arch}" + (f"/{variant}" if variant else "")


def parse_platform(value) -> str | None:
    """`--platform`: only this host's (`linux/amd64` on x86-64; `linux` or the architecture
    alone name it too): the engine runs no emulator for another's programs."""
    if not value:
        return None
    wanted = str(value).strip().lower()
    host = host_platform()
    arch = host.split("/")[1]
    if wanted not in (host, "linux", arch, f"linux/{arch}"):
        raise InvalidArgument(f"platform {value!r} is not supported: this host runs {host} "
                              "containers only (Moorage's engine runs no emulator)")
    return host


def parse_ip(value, network: str | None) -> str | None:
    """`--ip`: an IPv4 address on a user-defined network (Docker refuses it elsewhere; the
    network checks at start that it is in its subnet and free)."""
    if not value:
        return None
    import ipaddress
    try:
        address = ipaddress.IPv4Address(str(value))
    except ValueError:
        raise InvalidArgument(f"invalid IPv4 address: {value}") from None
    if network in (None, "", "bridge", "default", "none", "host") or \
            str(network).startswith("container:"):
        raise InvalidArgument("user specified IP address is supported on user defined "
                              "networks only")
    return str(address)


class Field(NamedTuple):
    """A create option that becomes one key of Config or HostConfig by itself."""
    option: str
    key: str
    read: Callable  # the option's value (None when not given) -> the value kept


CONFIG_FIELDS = (
    Field("hostname", "Hostname", parse_hostname),
    Field("domainname", "Domainname", lambda value: value or ""),
    Field("tty", "Tty", bool),
    Field("stdin_open", "OpenStdin", bool),
    Field("stdin_once", "StdinOnce", bool),
    Field("stdin_open", "AttachStdin", bool),
    Field("stop_timeout", "StopTimeout", parse_stop_timeout),
)

HOST_CONFIG_FIELDS = (
    Field("cpus", "NanoCpus", parse_cpus),
    Field("pids_limit", "PidsLimit", parse_pids_limit),
    Field("network", "NetworkMode", _text_or_none),
    Field("ports", "PortSpecs", lambda value: list(value or [])),
    Field("publish_all", "PublishAllPorts", bool),
    # Moorage's own: whether ports published without an address also answer on the
    # host's 127.0.0.1, as Docker's do (the console turns it off for its users).
    Field("publish_loopback", "PublishLoopback", lambda value: value is not False),
    Field("runtime", "Runtime", _text_or_none),
    Field("privileged", "Privileged", bool),
    Field("cap_add", "CapAdd", parse_capabilities),
    Field("cap_drop", "CapDrop", parse_capabilities),
    Field("shm_size", "ShmSize", parse_shm_size),
    Field("read_only", "ReadonlyRootfs", bool),
    # `--init`: a tiny init as PID 1 (runtime.container.init_process); None when not asked.
    Field("init", "Init", lambda value: parse_init(value)),
    # Every container's log is capped: `--log-opt` over the host's defaults (see log_config).
    Field("log_opts", "LogConfig", lambda value: log_config(value)),
    # /etc/hosts and /etc/resolv.conf (runtime.network.hostfiles).
    Field("extra_hosts", "ExtraHosts", parse_extra_hosts),
    Field("dns", "Dns", parse_dns),
    Field("dns_search", "DnsSearch", parse_dns_search),
    Field("dns_options", "DnsOptions", parse_dns_options),
    Field("ulimits", "Ulimits", ulimits.parse),
    Field("devices", "Devices", devices.parse),
    Field("security_opt", "SecurityOpt", lambda value: security_options.parse(value) or None),
)

# Options read together with the image's config or with other options (see `build`), and
# those the caller uses before or after (`image`, `image_name`, `name`, `id`).
COMBINED_OPTIONS = {
    "image", "image_name", "name", "id", "cmd", "entrypoint", "env", "workdir", "user",
    "labels", "expose", "stop_signal", "memory", "memory_swap", "restart", "auto_remove",
    "binds", "mounts", "tmpfs", "volumes", "network_aliases", "group", "ip", "platform",
}
KNOWN_OPTIONS = COMBINED_OPTIONS | {field.option for field in CONFIG_FIELDS + HOST_CONFIG_FIELDS}


def build(options: dict, image_config: dict) -> tuple[dict, dict]:
    """(Config, HostConfig) for a new container from API options and the image's config."""
    unknown = sorted(set(options) - KNOWN_OPTIONS)
    if unknown:
        raise InvalidArgument(f"unknown option(s): {', '.join(unknown)}")
    image = image_config.get("config") or {}
    entrypoint, cmd = _command(options, image)
    memory, swap = _memory(options)
    restart, auto_remove = _restart(options)
    config = {
        "User": options.get("user") if options.get("user") is not None else image.get("User", ""),
        "Env": merge_env(image.get("Env") or [], parse_env(options.get("env"))),
        "Cmd": cmd,
        "Entrypoint": entrypoint or None,
        "WorkingDir": _working_dir(options, image),
        "Labels": {**(image.get("Labels") or {}), **parse_labels(options.get("labels"))},
        "ExposedPorts": _exposed_ports(options, image),
        "Volumes": _volumes(options, image),
        "StopSignal": _stop_signal(options, image),
        **{field.key: field.read(options.get(field.option)) for field in CONFIG_FIELDS},
    }
    host_config = {
        "Binds": list(options.get("binds") or []),
        "Memory": memory,
        "MemorySwap": swap,
        "RestartPolicy": restart,
        "AutoRemove": auto_remove,
        "PortBindings": {},
        **{field.key: field.read(options.get(field.option)) for field in HOST_CONFIG_FIELDS},
        **_mounts(options),
        **_group(options),
    }
    parse_platform(options.get("platform"))
    network = options.get("network") or None
    aliases = parse_network_aliases(options.get("network_aliases"), network)
    if aliases:
        # Moorage's own: the names the container also has on its (user) network, which
        # Docker keeps in NetworkingConfig.
        host_config["NetworkAliases"] = aliases
    address = parse_ip(options.get("ip"), network)
    if address:
        # Moorage's own too: the address asked for on that network (Docker's
        # NetworkingConfig...IPAMConfig.IPv4Address, which inspect shows in NetworkSettings).
        host_config["IPv4Address"] = address
    _check_network_files(host_config)
    from runtime.volume import specs
    specs.plan(config, host_config)  # every mount checked, a destination used twice refused
    return config, host_config


def _check_network_files(host_config: dict) -> None:
    """A container in another's network namespace has that one's hosts and resolv.conf."""
    if not str(host_config.get("NetworkMode") or "").startswith("container:"):
        return
    if host_config["Dns"] or host_config["DnsSearch"] or host_config["DnsOptions"]:
        raise InvalidArgument("conflicting options: dns and the network mode")
    if host_config["ExtraHosts"]:
        raise InvalidArgument("conflicting options: custom host-to-IP mapping and the "
                              "network mode")


def _volumes(options: dict, image: dict) -> dict | None:
    """Config.Volumes: the image's VOLUME paths and the anonymous ones asked for (`-v /ctr`)."""
    from runtime.volume import specs
    return {**(image.get("Volumes") or {}), **specs.volume_paths(options.get("volumes"))} \
        or None


def _mounts(options: dict) -> dict:
    """HostConfig.Mounts (API `Mount` objects, or `--mount` text) and HostConfig.Tmpfs, each
    present only when asked for, as in Docker's documents."""
    from runtime.volume import specs, tmpfs
    result = {}
    mounts = options.get("mounts") or []
    if not isinstance(mounts, (list, tuple)):
        raise InvalidArgument(f"invalid mounts: {mounts!r} (a list of mounts)")
    if mounts:
        result["Mounts"] = [specs.normalize_mount(mount) for mount in mounts]
    table = tmpfs.parse(options.get("tmpfs"))
    if table:
        result["Tmpfs"] = table
    return result


def _group(options: dict) -> dict:
    """HostConfig.CgroupParent (Docker's field for the cgroup a container's goes under): the
    group the container runs in (runtime.container.groups), present only when asked for."""
    if not options.get("group"):
        return {}
    from runtime.container import groups
    return {"CgroupParent": groups.validate(options["group"])}


def _command(options: dict, image: dict) -> tuple[list[str], list[str]]:
    """(Entrypoint, Cmd): the image's unless given; a new entrypoint drops the image's CMD,
    as Docker's does."""
    cmd = string_list(options.get("cmd"), "command")
    entrypoint = string_list(options.get("entrypoint"), "entrypoint")
    if entrypoint is not None:
        final_entrypoint, final_cmd = entrypoint, cmd or []
    else:
        final_entrypoint = image.get("Entrypoint") or []
        final_cmd = cmd if cmd else (image.get("Cmd") or [])
    if not final_entrypoint and not final_cmd:
        raise InvalidArgument("no command specified")
    return final_entrypoint, final_cmd


def _memory(options: dict) -> tuple[int, int]:
    """(Memory, MemorySwap) with Docker's checks of the pair."""
    memory = parse_memory(options.get("memory"))
    swap = parse_size(options.get("memory_swap"), "memory-swap") if options.get(
        "memory_swap") not in (None, "", -1, "-1") else 0
    if swap and memory and swap < memory:
        raise InvalidArgument("Minimum memoryswap limit should be larger than memory limit, "
                              "see usage")
    if swap and not memory:
        raise InvalidArgument("You should always set the Memory limit when using "
                              "Memoryswap limit, see usage")
    return memory, swap


def _restart(options: dict) -> tuple[dict, bool]:
    """(RestartPolicy, AutoRemove): a container cannot have both."""
    restart = parse_restart(options.get("restart"))
    auto_remove = bool(options.get("auto_remove"))
    if auto_remove and restart["Name"]:
        raise InvalidArgument("Conflicting options: --restart and --rm")
    return restart, auto_remove


def _working_dir(options: dict, image: dict) -> str:
    workdir = options.get("workdir") or image.get("WorkingDir") or ""
    if workdir and not workdir.startswith("/"):
        raise InvalidArgument(f"the working directory '{workdir}' is invalid, "
                              "it needs to be an absolute path")
    return workdir


def _exposed_ports(options: dict, image: dict) -> dict:
    """The image's exposed ports and `--expose` ones: `80`, `53/udp`, or a range
    `8000-8010[/proto]`, each port of it."""
    exposed = dict(image.get("ExposedPorts") or {})
    for port in options.get("expose") or []:
        for key in expose_keys(port):
            exposed[key] = {}
    return exposed


def expose_keys(value) -> list[str]:
    """`--expose` text -> ExposedPorts keys (`8000-8002/udp` -> 8000/udp, 8001/udp,
    8002/udp), as Docker's nat.ParsePortRange reads it."""
    text = str(value).strip()
    ports, _, proto = text.partition("/")
    proto = proto.lower() or "tcp"
    first, sep, last = ports.partition("-")
    if proto not in ("tcp", "udp", "sctp") or not first.isdigit() or (
            sep and not last.isdigit()):
        raise InvalidArgument(f"invalid range format for --expose: {text} (PORT[-PORT]"
                              "[/PROTO])")
    low, high = int(first), int(last) if sep else int(first)
    if not 0 < low <= high <= 65535:
        raise InvalidArgument(f"invalid range format for --expose: {text}: ports are 1 to "
                              "65535, the first no more than the last")
    return [f"{port}/{proto}" for port in range(low, high + 1)]


def _stop_signal(options: dict, image: dict) -> str:
    stop_signal = options.get("stop_signal") or image.get("StopSignal") or "SIGTERM"
    parse_signal(stop_signal)
    return stop_signal


# -- logs --------------------------------------------------------------------------------

# The driver Docker clients are told of: json-file, Docker's default, whose options (max-size,
# max-file) and behaviour (logs read back through the API, rotated) are what the engine
# offers; docker-py, for one, reads a container's output only from json-file or journald.
# On disk the log is conmon's k8s-file format (runtime/container/logfiles.py).
LOG_DRIVER = "json-file"
DEFAULT_LOG_MAX_SIZE, DEFAULT_LOG_MAX_FILE = "100m", "3"
MIN_LOG_SIZE = 16 << 10     # two of conmon's largest records (8 KiB of output each)
LOG_OPTS = ("max-size", "max-file")


def log_config(opts) -> dict:
    """HostConfig.LogConfig, as Docker shows it, from `--log-opt` values (`{"max-size":
    "10m", "max-file": "3"}`, or ["max-size=10m", ...]) over the host's defaults
    ($MOORAGE_LOG_MAX_SIZE, 100m; $MOORAGE_LOG_MAX_FILE, 3): every container's log is
    capped."""
    if isinstance(opts, (list, tuple)):
        pairs = {}
        for item in opts:
            key, sep, value = str(item).partition("=")
            if not sep:
                raise InvalidArgument(f"invalid log option {item!r}: expected KEY=VALUE")
            pairs[key] = value
        opts = pairs
    opts = dict(opts or {})
    unknown = sorted(set(opts) - set(LOG_OPTS))
    if unknown:
        raise InvalidArgument(f"unknown log opt '{unknown[0]}' for {LOG_DRIVER} log driver "
                              f"(the options are {', '.join(LOG_OPTS)})")
    size = opts.get("max-size") or host_log_default("MOORAGE_LOG_MAX_SIZE",
                                                     DEFAULT_LOG_MAX_SIZE)
    files = opts.get("max-file") or host_log_default("MOORAGE_LOG_MAX_FILE",
                                                     DEFAULT_LOG_MAX_FILE)
    log_size(size, "max-size")
    log_files(files, "max-file")
    return {"Type": LOG_DRIVER, "Config": {"max-size": str(size), "max-file": str(files)}}


def host_log_default(variable: str, default: str) -> str:
    value = os.environ.get(variable, "").strip() or default
    try:
        (log_size if variable.endswith("SIZE") else log_files)(value, variable)
    except InvalidArgument as error:
        raise InvalidArgument(f"${variable}: {error.message}") from None
    return value


def log_size(value, what: str = "max-size") -> int:
    try:
        size = parse_size(value, what)
    except InvalidArgument:
        raise InvalidArgument(f"invalid {what} {value!r}: a size like 10m or 512k") from None
    if size < MIN_LOG_SIZE:
        raise InvalidArgument(f"invalid {what} {value!r}: at least 16k")
    return size


def log_files(value, what: str = "max-file") -> int:
    try:
        count = int(str(value))
    except ValueError:
        count = 0
    if count < 1:
        raise InvalidArgument(f"invalid {what} {value!r}: a number of files, at least 1")
    return count


def log_limits(host_config: dict) -> tuple[int, int]:
    """(max-size in bytes, max-file) of a container; a container made before logs were
    capped gets the host's defaults."""
    config = (host_config.get("LogConfig") or {}).get("Config") or log_config({})["Config"]
    return log_size(config["max-size"]), log_files(config["max-file"])
