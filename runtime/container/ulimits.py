"""`--ulimit NAME=SOFT[:HARD]` (Docker's `HostConfig.Ulimits`): the resource limits a
container's processes start with, the OCI `process.rlimits`.

The names are Docker's (go-units): as, core, cpu, data, fsize, locks, memlock, msgqueue,
nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack; a value of -1 is unlimited, and a
limit without a hard value has its soft one as both. A hard limit above the host's (the
engine's own, which its containers' monitors inherit) is refused at create: the container
would otherwise get more than the host was set to give.
"""

import resource

from runtime.errors import InvalidArgument

NAMES = ("as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
         "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack")
UNLIMITED = -1


def _number(text: str, what: str, item: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise InvalidArgument(f"invalid ulimit {what} value in {item!r}: a whole number, "
                              "or -1 for unlimited") from None
    if value < UNLIMITED:
        raise InvalidArgument(f"invalid ulimit {what} value in {item!r}: a whole number, "
                              "or -1 for unlimited")
    return value


def _above(first: int, second: int) -> bool:
    """Whether limit `first` is more than `second`, -1 being unlimited."""
    if second == UNLIMITED:
        return False
    return first == UNLIMITED or first > second


def parse_one(item) -> dict:
    """`nofile=1024:2048` (or Docker's API object) -> `{"Name", "Soft", "Hard"}`."""
    if isinstance(item, dict):
        name, soft, hard = item.get("Name"), item.get("Soft"), item.get("Hard")
        if not isinstance(soft, int) or not isinstance(hard, int) or isinstance(
                soft, bool) or isinstance(hard, bool):
            raise InvalidArgument(f"invalid ulimit {item!r}: Soft and Hard are numbers")
        text = f"{name}={soft}:{hard}"
    elif isinstance(item, str):
        text = item
        name, sep, values = item.partition("=")
        if not sep:
            raise InvalidArgument(f"invalid ulimit argument: {item!r} (NAME=SOFT[:HARD], "
                                  "like nofile=1024:2048)")
        parts = values.split(":")
        if len(parts) > 2:
            raise InvalidArgument(f"too many limit value arguments - {values}, can only have "
                                  "up to two, `soft[:hard]`")
        soft = _number(parts[0], "soft", item)
        hard = _number(parts[1], "hard", item) if len(parts) == 2 else soft
    else:
        raise InvalidArgument(f"invalid ulimit: {item!r}")
    if name not in NAMES:
        raise InvalidArgument(f"invalid ulimit type: {name} (one of {', '.join(NAMES)})")
    if _above(soft, hard):
        raise InvalidArgument(f"ulimit soft limit must be less than or equal to hard limit: "
                              f"{_shown(soft)} > {_shown(hard)}")
    host_hard = resource.getrlimit(_resource(name))[1]
    host_hard = UNLIMITED if host_hard == resource.RLIM_INFINITY else host_hard
    if _above(hard, host_hard):
        raise InvalidArgument(f"ulimit {text}: the hard limit {_shown(hard)} is above the "
                              f"host's ({_shown(host_hard)})")
    return {"Name": name, "Hard": hard, "Soft": soft}


def _shown(value: int) -> str:
    return "unlimited" if value == UNLIMITED else str(value)


def _resource(name: str) -> int:
    return getattr(resource, "RLIMIT_" + name.upper())


def parse(value) -> list[dict] | None:
    """`ulimits` -> HostConfig.Ulimits (None when none is asked for, as Docker shows it); a
    name given twice keeps its last value, in its first place."""
    if not value:
        return None
    if isinstance(value, (str, dict)) or not isinstance(value, (list, tuple)):
        raise InvalidArgument(f"invalid ulimits: {value!r} (a list)")
    limits: dict[str, dict] = {}
    for item in value:
        limit = parse_one(item)
        limits[limit["Name"]] = limit
    return list(limits.values())


def rlimits(host_config: dict) -> list[dict]:
    """The OCI `process.rlimits` of a container (-1 is the kernel's RLIM_INFINITY)."""
    def kernel(value: int) -> int:
        return (1 << 64) - 1 if value == UNLIMITED else value
    return [{"type": "RLIMIT_" + limit["Name"].upper(), "hard": kernel(limit["Hard"]),
             "soft": kernel(limit["Soft"])} for limit in host_config.get("Ulimits") or []]
