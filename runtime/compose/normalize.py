"""One service's attributes in their canonical (long) form, as `moor compose config` prints
them and as the config hash sees them: lists of `K=V` become mappings, short port and volume
syntax becomes long syntax, relative paths become absolute, `deploy.resources.limits` and the
older `mem_limit`/`cpus`/`pids_limit` become one set of limits.

Every function takes the value and `where` (the file and line, for messages)."""

import os
import re
import shlex

from runtime.compose.errors import ComposeError

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_DURATION_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
                "m": 60_000_000_000, "h": 3_600_000_000_000}


def duration_ns(value, where: str) -> int:
    """Go's duration syntax (`1m30s`, `500ms`, `10s`) as Compose writes durations."""
    if isinstance(value, bool):
        raise ComposeError(f"{where}: invalid duration {value!r}")
    if isinstance(value, (int, float)):
        return int(value * 1_000_000_000)
    text = str(value).strip()
    if text in ("0", ""):
        return 0
    position, total = 0, 0.0
    while position < len(text):
        match = _DURATION_PART.match(text, position)
        if not match:
            raise ComposeError(f"{where}: invalid duration {value!r} (like 1m30s, 10s or "
                               f"500ms)")
        total += float(match.group(1)) * _DURATION_NS[match.group(2)]
        position = match.end()
    return int(total)


def command(value, where: str):
    """A command as a list: a string is split as a shell would split it."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as error:
            raise ComposeError(f"{where}: cannot split the command: {error}") from None
    return [str(item) for item in value]


def scalar_text(value) -> str | None:
    """A mapping value as the container sees it: YAML's true is "true", 80 is "80"."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def mapping(value, where: str, take_unset_from=None) -> dict:
    """`environment`/`labels`/`args`: a list of `K=V` (or `K`) or a mapping, as a mapping.
    With `take_unset_from`, a key without a value takes the variable of that name (Compose
    passes the shell's environment through this way); it is left out when there is none."""
    if value is None:
        return {}
    if isinstance(value, dict):
        items = [(str(key), scalar_text(item)) for key, item in value.items()]
    else:
        items = []
        for entry in value:
            key, equals, rest = str(entry).partition("=")
            items.append((key, rest if equals else None))
    result = {}
    for key, item in items:
        if not key:
            raise ComposeError(f"{where}: an empty key")
        if item is None and take_unset_from is not None:
            item = take_unset_from(key)
            if item is None:
                continue
        result[key] = item
    return result


def env_files(value, working_dir: str) -> list[dict]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    files = []
    for item in items:
        entry = {"path": item, "required": True} if isinstance(item, str) else \
            {"path": item["path"], "required": item.get("required", True) is not False}
        entry["path"] = absolute(entry["path"], working_dir)
        files.append(entry)
    return files


def absolute(path: str, working_dir: str) -> str:
    path = os.path.expanduser(str(path))
    return os.path.normpath(os.path.join(working_dir, path))


def build(value, working_dir: str, where: str) -> dict:
    spec = {"context": value} if isinstance(value, str) else dict(value)
    context = spec.get("context") or "."
    if re.match(r"^[a-z][a-z0-9+.-]*://", str(context)) or str(context).startswith("git@"):
        raise ComposeError(f"{where}: build contexts must be directories on this host, not "
                           f"{context}")
    result = {"context": absolute(context, working_dir),
              "dockerfile": spec.get("dockerfile") or "Dockerfile"}
    args = mapping(spec.get("args"), where)
    if args:
        result["args"] = args
    if spec.get("target"):
        result["target"] = spec["target"]
    return result


# -- ports ---------------------------------------------------------------------------------

_PORT = re.compile(r"^(?:(?:(?P<ip>\[[0-9a-fA-F:.]+\]|[0-9.]+|):)?(?P<published>[0-9-]*):)?"
                   r"(?P<target>[0-9-]+)(?:/(?P<protocol>[a-z]+))?$")


def ports(value, where: str) -> list[dict]:
    result = []
    for item in value or []:
        if isinstance(item, dict):
            entry = {"target": item.get("target"), "published": item.get("published"),
                     "host_ip": item.get("host_ip"), "protocol": item.get("protocol") or "tcp"}
        else:
            match = _PORT.match(str(item))
            if not match:
                raise ComposeError(f"{where}: invalid port {item!r} (like 8080:80, "
                                   f"127.0.0.1:8080:80/udp or 80)")
            entry = {"target": match.group("target"),
                     "published": match.group("published") or None,
                     "host_ip": (match.group("ip") or "").strip("[]") or None,
                     "protocol": match.group("protocol") or "tcp"}
        for key in ("target", "published"):
            text = "" if entry[key] is None else str(entry[key])
            if "-" in text:
                raise ComposeError(f"{where}: port ranges ({text}) are not supported by "
                                   f"Moorage: list each port")
            if key == "target" and not text.isdigit():
                raise ComposeError(f"{where}: invalid container port {entry[key]!r}")
            if text and not text.isdigit():
                raise ComposeError(f"{where}: invalid published port {entry[key]!r}")
            number = int(text) if text else None
            if number is not None and not (0 < number < 65536 or (key == "published" and
                                                                   number == 0)):
                raise ComposeError(f"{where}: port {number} is out of range")
            entry[key] = number if key == "target" else (str(number) if number else None)
        if entry["protocol"] not in ("tcp", "udp"):
            raise ComposeError(f"{where}: protocol {entry['protocol']!r} is not supported by "
                               f"Moorage (tcp or udp)")
        result.append({key: item for key, item in entry.items() if item is not None})
    return result


def port_spec(port: dict) -> str:
    """The engine's `-p` form of a long-syntax port."""
    text = f"{port['target']}/{port['protocol']}"
    if port.get("published"):
        text = f"{port['published']}:{text}"
        if port.get("host_ip"):
            text = f"{port['host_ip']}:{text}"
    elif port.get("host_ip"):
        text = f"{port['host_ip']}::{text}"
    return text


def expose(value) -> list[str]:
    return [str(item) for item in value or []]


# -- volumes -------------------------------------------------------------------------------

def volumes(value, working_dir: str, where: str) -> list[dict]:
    result = []
    for item in value or []:
        if isinstance(item, dict):
            entry = {"type": item["type"], "target": item.get("target")}
            if item.get("source") is not None:
                entry["source"] = str(item["source"])
            if item.get("read_only"):
                entry["read_only"] = True
            if isinstance(item.get("bind"), dict) and "create_host_path" in item["bind"]:
                entry["bind"] = {"create_host_path": bool(item["bind"]["create_host_path"])}
        else:
            entry = _short_volume(str(item), where)
        if entry["type"] not in ("bind", "volume"):
            raise ComposeError(f"{where}: volumes of type {entry['type']} are not supported "
                               f"by Moorage (bind or volume)")
        if not entry.get("target") or not str(entry["target"]).startswith("/"):
            raise ComposeError(f"{where}: a volume's target must be an absolute path in the "
                               f"container, not {entry.get('target')!r}")
        if entry["type"] == "bind":
            if not entry.get("source"):
                raise ComposeError(f"{where}: a bind mount needs a source")
            entry["source"] = absolute(entry["source"], working_dir)
        result.append(entry)
    return result


def _short_volume(text: str, where: str) -> dict:
    parts = text.split(":")
    if len(parts) == 1:
        return {"type": "volume", "target": parts[0]}
    if len(parts) > 3:
        raise ComposeError(f"{where}: invalid volume {text!r} (SOURCE:TARGET[:MODE])")
    source, target = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else ""
    options = set(mode.split(",")) - {""}
    unknown = options - {"ro", "rw"}
    if unknown:
        raise ComposeError(f"{where}: volume mode {','.join(sorted(unknown))} is not supported "
                           f"by Moorage (ro or rw)")
    kind = "bind" if source.startswith(("/", ".", "~")) else "volume"
    entry = {"type": kind, "source": source, "target": target}
    if "ro" in options:
        entry["read_only"] = True
    if kind == "bind":
        # the short syntax makes a missing host directory, as Docker's -v does
        entry["bind"] = {"create_host_path": True}
    return entry


# -- networks and dependencies ---------------------------------------------------------------

def service_networks(value) -> dict:
    if value is None:
        return {}
    if isinstance(value, list):
        return {name: None for name in value}
    result = {}
    for name, options in value.items():
        aliases = list((options or {}).get("aliases") or [])
        result[name] = {"aliases": aliases} if aliases else None
    return result


def depends_on(value) -> dict:
    if value is None:
        return {}
    if isinstance(value, list):
        return {name: {"condition": "service_started", "required": True} for name in value}
    result = {}
    for name, options in value.items():
        options = options or {}
        entry = {"condition": options.get("condition") or "service_started",
                 "required": options.get("required", True) is not False}
        restart = options.get("restart")
        if restart not in (None, False, "false", "False"):
            entry["restart"] = True
        result[name] = entry
    return result


def healthcheck(value, where: str) -> dict | None:
    if value is None:
        return None
    if value.get("disable"):
        return {"test": ["NONE"]}
    result = {}
    test = value.get("test")
    if isinstance(test, str):
        result["test"] = ["CMD-SHELL", test]
    elif test is not None:
        result["test"] = [str(item) for item in test]
        if result["test"] and result["test"][0] not in ("CMD", "CMD-SHELL", "NONE"):
            raise ComposeError(f"{where}: a health check's test starts with CMD, CMD-SHELL or "
                               f"NONE, not {result['test'][0]!r}")
    for key in ("interval", "timeout", "start_period", "start_interval"):
        if value.get(key) is not None:
            duration_ns(value[key], where)
            result[key] = str(value[key])
    if value.get("retries") is not None:
        try:
            result["retries"] = int(value["retries"])
        except (TypeError, ValueError):
            raise ComposeError(f"{where}: retries must be a number") from None
    return result


# -- limits --------------------------------------------------------------------------------

def limits(service: dict, where: str) -> dict:
    """`mem_limit`, `cpus`, `pids_limit` and `deploy.resources.limits` as one set, refused
    when the two say different things."""
    from runtime.container.options import parse_size
    deployed = (((service.get("deploy") or {}).get("resources") or {}).get("limits") or {})
    result = {}
    pairs = (("mem_limit", "memory"), ("cpus", "cpus"), ("pids_limit", "pids"))
    for old, new in pairs:
        values = []
        for source, value in ((old, service.get(old)), (f"deploy.resources.limits.{new}",
                                                         deployed.get(new))):
            if value is None:
                continue
            try:
                if new == "memory":
                    value = parse_size(value)
                elif new == "cpus":
                    value = float(value)
                else:
                    value = int(value)
            except (TypeError, ValueError) as error:
                raise ComposeError(f"{where}: {source}: {error}") from None
            except ComposeError:
                raise
            except Exception as error:  # the engine's own size errors
                raise ComposeError(f"{where}: {source}: {getattr(error, 'message', error)}") \
                    from None
            values.append((source, value))
        if len({value for _, value in values}) > 1:
            raise ComposeError(f"{where}: {values[0][0]} and {values[1][0]} must be equal")
        if values:
            result[old] = values[0][1]
    return result
