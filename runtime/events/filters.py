"""`--filter` for events, with the rules of Docker's daemon (daemon/events/filter.go).

Values of one key are alternatives; different keys must all match; every `label` must match.
- `type`: the event's Type; `scope`: its scope (`local`); `event`: its Action exactly
  (`health_status`, `exec_create` and `exec_start` also match their `health_status: healthy`,
  `exec_create: sh -c ...` forms);
- `container`, `network`, `volume` (and Docker's other object types): a prefix of the actor's
  ID or of its `name` attribute, so such a filter leaves only events of that object;
- `image`: the actor's ID or its `image` attribute (container events) or `name` attribute
  (image events), with or without the tag;
- `label`: `KEY` or `KEY=VALUE` among the actor's attributes (a container's labels are there).
"""

from runtime.errors import InvalidArgument

NAMED_TYPES = ("config", "container", "daemon", "network", "node", "plugin", "secret",
               "service", "volume")
KEYS = frozenset(NAMED_TYPES + ("event", "image", "label", "scope", "type"))
# `event` values that match as prefixes (Docker: moby#25798).
PREFIX_EVENTS = ("health_status", "exec_create", "exec_start")


def normalize(filters) -> dict[str, list[str]]:
    """`{key: [values]}` from the forms callers use: a dict of lists, of single values, or of
    `{value: true}` (the Docker API's old form), or a list of `key=value` strings."""
    result: dict[str, list[str]] = {}
    if not filters:
        return result
    if isinstance(filters, (list, tuple)):
        for item in filters:
            key, sep, value = str(item).partition("=")
            if not sep:
                raise InvalidArgument(f"bad format of filter (expected name=value): {item}")
            result.setdefault(key.strip().lower(), []).append(value)
    elif isinstance(filters, dict):
        for key, values in filters.items():
            if isinstance(values, dict):
                values = [value for value, wanted in values.items() if wanted]
            elif isinstance(values, str):
                values = [values]
            result.setdefault(str(key).lower(), []).extend(str(value) for value in values)
    else:
        raise InvalidArgument(f"invalid filters: {filters!r}")
    for key in result:
        if key not in KEYS:
            raise InvalidArgument(f"invalid filter '{key}'")
    return result


def _fuzzy(values: list[str], *sources: str) -> bool:
    return any(source.startswith(value) for value in values for source in sources if source)


def _strip_tag(image: str) -> str:
    """The familiar repository of an image reference: `busybox` of `busybox:1`,
    `docker.io/library/busybox@sha256:...`."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[:len(name) - len(last)] + last.split(":", 1)[0]
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/"):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


class EventFilter:
    def __init__(self, filters=None):
        self.filters = normalize(filters)

    def __bool__(self) -> bool:
        return bool(self.filters)

    def matches(self, event: dict) -> bool:
        filters = self.filters
        if not filters:
            return True
        kind = event.get("Type", "")
        action = event.get("Action", "")
        actor = event.get("Actor") or {}
        actor_id = actor.get("ID", "")
        attributes = actor.get("Attributes") or {}
        if "type" in filters and kind not in filters["type"]:
            return False
        if "scope" in filters and event.get("scope", "") not in filters["scope"]:
            return False
        if "event" in filters:
            wanted = filters["event"]
            if any(value in PREFIX_EVENTS for value in wanted):
                if not _fuzzy(wanted, action):
                    return False
            elif action not in wanted:
                return False
        for named in NAMED_TYPES:
            if named in filters and not _fuzzy(filters[named], actor_id,
                                               attributes.get("name", "")):
                return False
        if "image" in filters:
            name = attributes.get("name" if kind == "image" else "image", "")
            candidates = {actor_id, name, _strip_tag(actor_id), _strip_tag(name)}
            if not candidates & set(filters["image"]):
                return False
        for label in filters.get("label", ()):
            key, sep, value = label.partition("=")
            if key not in attributes or (sep and attributes[key] != value):
                return False
        return True
