"""`volume create|ls|inspect|rm|prune`: what `runtime.api.Engine`'s volume methods do, with
Docker's rules.

- create: a name that exists gives the existing volume back (labels and options asked for
  are not applied to it, as Docker); no name makes an anonymous one.
- rm: refused while any container names the volume, running or stopped, with or without
  `force` ("volume is in use" — Docker's `-f` only makes a missing volume no error).
- prune: the unused anonymous volumes, or with `all` every unused one (Docker 23 and later).

Filters are Docker's: a dict of name -> list of values (or a single value, or the API's
`{value: true}` map), or `KEY=VALUE` strings.
"""

from runtime.errors import Conflict, InvalidArgument, NotFound
from runtime.volume import mountpoints, names, specs, store


def parse_filters(filters, allowed: set[str]) -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    if not filters:
        return table
    if isinstance(filters, (list, tuple)):
        for text in filters:
            key, sep, value = str(text).partition("=")
            if not sep:
                raise InvalidArgument(f"bad format of filter (expected name=value): {text}")
            table.setdefault(key, []).append(value)
    elif isinstance(filters, dict):
        for key, values in filters.items():
            if isinstance(values, str):
                values = [values]
            elif isinstance(values, dict):
                values = [value for value, wanted in values.items() if wanted]
            table.setdefault(key, []).extend(str(value) for value in values)
    else:
        raise InvalidArgument(f"invalid filters: {filters!r}")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise InvalidArgument(f"invalid filter '{unknown[0]}'")
    return table


def _boolean(key: str, value: str) -> bool:
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise InvalidArgument(f"invalid filter '{key}={value}': use true or false")


def _labels_match(labels: dict, wanted: list[str]) -> bool:
    for item in wanted:
        key, sep, value = item.partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True


def create(engine, name=None, labels=None, driver_opts=None, driver=None) -> dict:
    specs.check_driver(driver)
    engine.paths.ensure()
    volume, _ = store.Volumes(engine.paths).create(name, labels=labels,
                                                   driver_opts=driver_opts)
    return volume


def inspect(engine, name: str) -> dict:
    return store.Volumes(engine.paths).get(name)


LIST_FILTERS = {"dangling", "driver", "label", "name"}


def listing(engine, filters=None) -> list[dict]:
    """Volumes by name; filters: `dangling=true|false` (named by no container), `driver=`,
    `label=KEY` or `label=KEY=VALUE` (all must match), `name=` (part of the name)."""
    wanted = parse_filters(filters, LIST_FILTERS)
    volumes = store.Volumes(engine.paths)
    in_use = mountpoints.users(engine) if "dangling" in wanted else {}
    result = []
    for name in volumes.names():
        try:
            volume = volumes.get(name)
        except NotFound:
            continue  # removed meanwhile
        if any(_boolean("dangling", value) == (name in in_use)
               for value in wanted.get("dangling", [])):
            continue
        if any(volume["Driver"] != value for value in wanted.get("driver", [])):
            continue
        if not _labels_match(volume["Labels"], wanted.get("label", [])):
            continue
        if wanted.get("name") and not any(value in name for value in wanted["name"]):
            continue
        result.append(volume)
    return result


def remove(engine, name: str, force: bool = False) -> None:
    volumes = store.Volumes(engine.paths)
    with store.lock(engine.paths):
        if not volumes.exists(name):
            if force:
                return
            raise NotFound(f"No such volume: {name}")
        in_use = mountpoints.users(engine).get(name)
        if in_use:
            raise Conflict(f"remove {name}: volume is in use - [{', '.join(in_use)}]")
        doomed = volumes.detach(name)
    doomed.delete()


PRUNE_FILTERS = {"label", "label!", "all"}


def prune(engine, filters=None) -> dict:
    """Remove unused volumes: anonymous ones only, unless `all=true`; `label=`/`label!=`
    narrow it. Returns Docker's `{"VolumesDeleted": [...], "SpaceReclaimed": bytes}`."""
    wanted = parse_filters(filters, PRUNE_FILTERS)
    every = any(_boolean("all", value) for value in wanted.get("all", []))
    volumes = store.Volumes(engine.paths)
    doomed, reclaimed = [], 0
    with store.lock(engine.paths):
        in_use = mountpoints.users(engine)
        for name in volumes.names():
            if name in in_use:
                continue
            labels = volumes.get(name)["Labels"]
            if not every and names.ANONYMOUS_LABEL not in labels:
                continue
            if not _labels_match(labels, wanted.get("label", [])):
                continue
            if any(_labels_match(labels, [value]) for value in wanted.get("label!", [])):
                continue
            reclaimed += volumes.size(name)
            doomed.append(volumes.detach(name))
    for volume in doomed:
        volume.delete()
    return {"VolumesDeleted": [volume.volume for volume in doomed],
            "SpaceReclaimed": reclaimed}
