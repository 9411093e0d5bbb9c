"""Reading a quota's limits as a request sends them (the API's JSON and the page's form alike):
memory and disk as bytes or with a unit (`128m`, `10g`), CPUs as a number, PIDs and running
containers as whole numbers; empty or 0 for no limit."""
import math

from console.containers.run_request import MIN_MEMORY, bytes_of
from console.core.errors import FieldErrors, Invalid
from console.quotas.checks import human_bytes

MAX_INT64 = 2 ** 63 - 1


def read_limits(data: dict, host) -> dict:
    """The limits in `data` (missing ones: 0), or Invalid naming each problem by field."""
    problems, limits = FieldErrors(), {}
    for name in ("memory", "disk"):
        value = data.get(name)
        size = 0 if value in (None, "") else bytes_of(value)
        if size is None or size > MAX_INT64:
            problems.add(name, "A size: a number of bytes, or with a unit (k, m, g), e.g. 128m.")
        elif name == "memory" and 0 < size < MIN_MEMORY:
            problems.add(name, "At least 6m (or 0 for no limit).")
        else:
            limits[name] = size
    try:
        value = data.get("cpus")
        cpus = 0.0 if value in (None, "") else float(value)
        if isinstance(value, bool) or not math.isfinite(cpus) or cpus < 0:
            raise ValueError
    except (TypeError, ValueError):
        problems.add("cpus", "CPUs: a number, e.g. 0.5 or 2 (0 for no limit).")
    else:
        if 0 < cpus < 0.01:
            problems.add("cpus", "At least 0.01 (or 0 for no limit).")
        elif host is not None and host.cpus and cpus > host.cpus:
            problems.add("cpus", f"Host {host.name} has only {host.cpus} CPUs.")
        else:
            limits["cpus"] = cpus
    for name, what in (("pids", "PIDs"), ("containers", "Containers")):
        value = data.get(name)
        try:
            if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
                raise ValueError
            number = 0 if value in (None, "") else int(value)
            if not 0 <= number <= (MAX_INT64 if name == "pids" else 2 ** 31 - 1):
                raise ValueError
        except (TypeError, ValueError):
            problems.add(name, f"{what}: a whole number (0 for no limit).")
        else:
            limits[name] = number
    if problems:
        raise Invalid(fields=problems)
    return limits


def describe(limits: dict) -> str:
    """"128 MiB memory, 1.5 CPUs, 100 PIDs, 10 containers, 1 GiB disk", or "no limits"."""
    parts = []
    if limits.get("memory"):
        parts.append(f"{human_bytes(limits['memory'])} memory")
    if limits.get("cpus"):
        parts.append(f"{limits['cpus']:g} CPUs")
    if limits.get("pids"):
        parts.append(f"{limits['pids']} PIDs")
    if limits.get("containers"):
        parts.append(f"{limits['containers']} containers")
    if limits.get("disk"):
        parts.append(f"{human_bytes(limits['disk'])} disk")
    return ", ".join(parts) or "no limits"
