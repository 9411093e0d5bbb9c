"""Docker-shaped views of images: `images`, `image inspect` and `history`."""

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
        "RepoDigests": [],
        "Created": int(created),
        "Size": store.size(image_id),
        "Labels": (config.get("config") or {}).get("Labels") or {},
        "Containers": -1,
    }


def images(engine, all: bool = False) -> list[dict]:
    """Tagged images and, as Docker, dangling ones (untagged and nobody's parent); with
    `all` also the untagged intermediate ones."""
    store = engine.store
    ids = store.image_ids()
    parents = {store.parent(i) for i in ids}
    tagged = {i for i in store.references().values()}
    rows = []
    for image_id in ids:
        if not all and image_id not in tagged and image_id in parents:
            continue
        try:
            rows.append(summary(engine, image_id))
        except NotFound:
            continue
    rows.sort(key=lambda r: r["Created"], reverse=True)
    return rows


def inspect(engine, image_id: str) -> dict:
    store = engine.store
    config = store.config(image_id)
    history = config.get("history") or []
    return {
        "Id": image_id,
        "RepoTags": store.tags_of(image_id),
        "RepoDigests": [],
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
