"""Merging several Compose files (`-f a.yaml -f b.yaml`) as the spec's "Merge and override"
says: mappings merge key by key, sequences append, `command`, `entrypoint` and
`healthcheck.test` are replaced, `ports` and `volumes` merge by their unique key, `!reset`
drops an attribute and `!override` replaces it whole.

Runs on each file's data after interpolation, before the model is normalized; the short
forms that merge by key (`environment`, `labels`, `depends_on`, `networks`, `ports`,
`volumes`, build `args`) are brought to one form first so that a list in one file and a
mapping in the other merge as Compose merges them.
"""

from runtime.compose.source import Override, Reset

_REPLACED = {("services", "*", "command"), ("services", "*", "entrypoint"),
             ("services", "*", "healthcheck", "test")}
_KEYED_MAPS = {("services", "*", "environment"), ("services", "*", "labels"),
               ("services", "*", "build", "args"), ("services", "*", "depends_on"),
               ("services", "*", "networks")}


def merge_files(datas: list[dict]) -> dict:
    merged: dict = {}
    for data in datas:
        merged = _merge(merged, data, ())
    return _strip(merged)


def _pattern(path) -> tuple:
    return tuple("*" if index == 1 and path[0] == "services" else step
                 for index, step in enumerate(path))


def _merge(base, override, path):
    if isinstance(override, Reset):
        return Reset()
    if isinstance(override, Override):
        return _strip(override.value)
    pattern = _pattern(path)
    if pattern in _REPLACED:
        return override
    if pattern in _KEYED_MAPS:
        base, override = _as_mapping(base, pattern), _as_mapping(override, pattern)
    if isinstance(base, dict) and isinstance(override, dict):
        result = dict(base)
        for key, value in override.items():
            result[key] = _merge(result[key], value, path + (key,)) if key in result \
                else value
        return result
    if isinstance(base, list) and isinstance(override, list):
        if pattern == ("services", "*", "ports"):
            return _merge_unique(base, override, _port_key)
        if pattern == ("services", "*", "volumes"):
            return _merge_unique(base, override, _volume_key)
        return base + [item for item in override if item not in base] \
            if pattern[-1:] in (("cap_add",), ("cap_drop",), ("profiles",), ("expose",)) \
            else base + override
    return override


def _as_mapping(value, pattern):
    """The list forms of environment/labels/args (`K=V`) and of depends_on/networks (names)
    as mappings."""
    if not isinstance(value, list):
        return value
    if pattern[-1] in ("depends_on",):
        return {name: {"condition": "service_started"} for name in value
                if isinstance(name, str)}
    if pattern[-1] == "networks":
        return {name: None for name in value if isinstance(name, str)}
    mapping = {}
    for item in value:
        key, equals, rest = str(item).partition("=")
        mapping[key] = rest if equals else None
    return mapping


def _merge_unique(base: list, override: list, key) -> list:
    result = list(base)
    for item in override:
        wanted = key(item)
        for index, existing in enumerate(result):
            if wanted is not None and key(existing) == wanted:
                result[index] = item
                break
        else:
            result.append(item)
    return result


def _port_key(item):
    if isinstance(item, dict):
        return (item.get("host_ip"), str(item.get("target")), str(item.get("published")),
                item.get("protocol", "tcp"))
    return ("short", str(item))


def _volume_key(item):
    if isinstance(item, dict):
        return item.get("target")
    parts = str(item).split(":")
    if len(parts) == 1:
        return parts[0]
    return parts[1]


def _strip(value):
    """Drop what `!reset` removed; unwrap what `!override` kept."""
    if isinstance(value, Override):
        return _strip(value.value)
    if isinstance(value, dict):
        return {key: _strip(item) for key, item in value.items() if not isinstance(item, Reset)}
    if isinstance(value, list):
        return [_strip(item) for item in value if not isinstance(item, Reset)]
    return value


def plain(value):
    """A file's data with the merge tags' values in place (for schema validation: the spec
    asks for a valid value under `!reset` too)."""
    if isinstance(value, (Override, Reset)):
        return plain(value.value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value
