"""Docker-shaped views of images: `images`, `image inspect` and `history`."""

import re

from runtime.container.inspect import parse_time
from runtime.errors import NotFound


def summary(engine, image_id: str) -> dict:
    store = engine.store
    config = store.config(image_id)
    created = parse_time(config.get("created")) or 0
    return {
        "Id": image_id,
        "ParentId": store.parent(image_id) or "",
        "RepoTags": store.tags_of(image_id),
        "RepoDigests": store.digests_of(image_id),
        "Created": int(created),
        "Size": store.size(image_id),
        "Labels": (config.get("config") or {}).get("Labels") or {},
        "Containers": -1,
    }


IMAGE_FILTERS = ("before", "dangling", "label", "reference", "since")


def images(engine, all: bool = False, filters: dict | None = None) -> list[dict]:
    """Named images (a tag or a digest reference) and, as Docker, dangling ones (no name,
    nobody's parent); with `all` also the unnamed intermediate ones. `filters` ({key:
    [values]}) are Docker's: `dangling=true|false`, `reference=PATTERN` (Go's path.Match on
    `name:tag` or `name`, keeping only the names that match), `label=KEY[=VALUE]`,
    `before=IMAGE`, `since=IMAGE` (created before or after that one)."""
    from runtime.errors import InvalidArgument
    filters = filters or {}
    for key in filters:
        if key not in IMAGE_FILTERS:
            raise InvalidArgument(f"invalid filter '{key}'")
    dangling = set(filters.get("dangling", ()))
    if dangling - {"true", "false"} or len(dangling) > 1:
        raise InvalidArgument(f"invalid filter 'dangling={', '.join(sorted(dangling))}'")
    dangling_only = dangling == {"true"}
    store = engine.store
    before = [_created(store, store.resolve(value)) for value in filters.get("before", ())]
    since = [_created(store, store.resolve(value)) for value in filters.get("since", ())]
    patterns = [familiar_pattern(pattern) for pattern in filters.get("reference", ())]
    ids = store.image_ids()
    parents = {store.parent(i) for i in ids}
    named: dict[str, list[str]] = {}
    for table in (store.references(), store.digest_references()):
        for name, image_id in sorted(table.items()):
            named.setdefault(image_id, []).append(name)
    rows = []
    for image_id in ids:
        try:
            row = summary(engine, image_id)
        except NotFound:
            continue
        created = _created(store, image_id)
        if any(created >= limit for limit in before) or any(created <= limit for limit in since):
            continue
        if "label" in filters and not labels_match(filters["label"], row["Labels"]):
            continue
        names = [name for name in named.get(image_id, ())
                 if not patterns or any(reference_matches(p, name) for p in patterns)]
        row["RepoTags"] = [name for name in names if "@" not in name]
        row["RepoDigests"] = [name for name in names if "@" in name]
        if not names:
            if not (all or image_id not in parents):
                continue
            if (dangling and not dangling_only) or "reference" in filters:
                continue
        elif dangling_only and (row["RepoTags"] or image_id in parents):
            continue
        rows.append((created, row))
    # Newest first, to the fraction of a second a build's steps are apart.
    rows.sort(key=lambda pair: pair[0], reverse=True)
    return [row for _, row in rows]


def _created(store, image_id: str) -> float:
    return parse_time(store.config(image_id).get("created")) or 0.0


def labels_match(wanted: list[str], labels: dict) -> bool:
    """Docker's MatchKVList: every `KEY` is there, every `KEY=VALUE` has that value."""
    for item in wanted:
        key, sep, value = item.partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True


def familiar_pattern(pattern: str) -> str:
    """A pattern that is a plain reference in its familiar form (`docker.io/library/busybox`
    finds `busybox`, where Docker would find nothing); a glob as it is."""
    from runtime.errors import MoorError
    from runtime.image import reference
    if any(char in pattern for char in "*?[\\"):
        return pattern
    try:
        parsed = reference.parse(pattern)
    except MoorError:
        return pattern
    if parsed.digest:
        return f"{parsed.name}@{parsed.digest}"
    return str(parsed) if ":" in pattern.rpartition("/")[2] else parsed.name


def reference_matches(pattern: str, name: str) -> bool:
    """Docker's FamiliarMatch: the pattern against `name:tag` (or `name@digest`), then
    against the repository alone."""
    return path_match(pattern, name) or path_match(pattern, repository_of(name))


def repository_of(name: str) -> str:
    """`127.0.0.1:5000/app:1` -> `127.0.0.1:5000/app`; `busybox@sha256:...` -> `busybox`."""
    name = name.split("@", 1)[0]
    colon = name.rfind(":")
    return name[:colon] if colon > name.rfind("/") else name


def path_match(pattern: str, name: str) -> bool:
    """Go's path.Match: `*` any run of characters but `/`, `?` one of them, `[...]` a class
    (`[^...]` its complement), `\\` escapes; a bad pattern matches nothing."""
    regex = _PATTERNS.get(pattern)
    if regex is None:
        regex = _PATTERNS[pattern] = _path_pattern(pattern)
    return bool(regex and regex.fullmatch(name))


_PATTERNS: dict = {}


def _path_pattern(pattern: str):
    out, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        index += 1
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\":
            if index >= len(pattern):
                return None
            out.append(re.escape(pattern[index]))
            index += 1
        elif char == "[":
            end = pattern.find("]", index + 1)
            if end < 0:
                return None
            body = pattern[index:end]
            index = end + 1
            negate = body.startswith("^")
            body = body[1:] if negate else body
            if not body:
                return None
            klass = "".join(c if c == "-" else re.escape(c) for c in body)
            out.append(f"[^/{klass}]" if negate else f"[{klass}]")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), re.DOTALL)


def inspect(engine, image_id: str) -> dict:
    store = engine.store
    config = store.config(image_id)
    history = config.get("history") or []
    return {
        "Id": image_id,
        "RepoTags": store.tags_of(image_id),
        "RepoDigests": store.digests_of(image_id),
        "Parent": store.parent(image_id) or "",
        "Comment": history[-1].get("comment", "") if history else "",
        "Created": config.get("created", ""),
        "Author": config.get("author", ""),
        "Config": config.get("config") or {},
        "Architecture": config.get("architecture", ""),
        "Os": config.get("os", ""),
        "Size": store.size(image_id),
        "RootFS": {"Type": "layers", "Layers": (config.get("rootfs") or {}).get("diff_ids", [])},
        "Metadata": {"LastTagTime": ""},
    }


def history(engine, image_id: str) -> list[dict]:
    """The image's history, newest first, each entry with the local image it belongs to
    (found by walking the parent chain) or `<missing>`, and the size of its layer."""
    store = engine.store
    config = store.config(image_id)
    entries = config.get("history") or []
    layers = store.layers(image_id)
    sizes = []
    for chain in layers:
        try:
            sizes.append(store.layer_info(chain).get("size", 0))
        except NotFound:
            sizes.append(0)

    owners = ["<missing>"] * len(entries)
    current = image_id
    seen = set()
    while current and current not in seen and store.exists(current):
        seen.add(current)
        count = len(store.config(current).get("history") or [])
        if 0 < count <= len(entries):
            owners[count - 1] = current
        current = store.parent(current)

    rows = []
    layer_index = 0
    for index, entry in enumerate(entries):
        empty = bool(entry.get("empty_layer"))
        size = 0
        if not empty and layer_index < len(sizes):
            size = sizes[layer_index]
            layer_index += 1
        rows.append({
            "Id": owners[index],
            "Created": int(parse_time(entry.get("created")) or 0),
            "CreatedBy": entry.get("created_by", ""),
            "Tags": store.tags_of(owners[index]) if owners[index] != "<missing>" else [],
            "Size": size,
            "Comment": entry.get("comment", ""),
            "Author": entry.get("author", ""),
        })
    rows.reverse()
    return rows


def lineage(engine, image_id: str) -> list[str]:
    """The image and its ancestors, newest first, down to the base image."""
    store = engine.store
    chain, current = [], image_id
    while current and current not in chain and store.exists(current):
        chain.append(current)
        current = store.parent(current)
    return chain
