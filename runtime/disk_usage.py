"""Disk usage of one engine root in the shape of Docker's `GET /system/df` (`moor system df`).

- `Images`: the images `moor images` lists (named ones and dangling ones) but the build
  cache's, each with its `Size`, `SharedSize` (the part of its layers another listed image
  uses too) and `Containers` (how many use it); `LayersSize` counts every stored layer once.
- `Containers`: each with `SizeRw` (its writable layer) and `SizeRootFs` (that and its
  image), and its `Mounts`.
- `Volumes`: each with `UsageData` (`Size`, `RefCount`: the containers that name it).
- `BuildCache`: the step images builds made that bear no name and no container uses (the
  classic builder keeps its cache as images; `runtime.image.build.cache.cache_images`, what
  `moor builder prune` removes). Each one's `Size` is the layer it adds to its parent when no
  other image uses it, each layer counted once, which is what removing them all gives back.

Sizes are the bytes of the files, each inode once, as Docker counts them.
"""

import os

from runtime.container import inspect, state
from runtime.errors import NotFound
from runtime.image.build import cache
from runtime.volume import mountpoints, store as volume_store


def _layer_size(engine, chain: str, cache: dict) -> int:
    if chain not in cache:
        try:
            cache[chain] = int(engine.store.layer_info(chain).get("size") or 0)
        except NotFound:
            cache[chain] = 0
    return cache[chain]


def writable_size(container) -> int:
    """The bytes of the files in a container's writable layer, each inode once (`SizeRw`)."""
    try:
        fd = os.open(container.path("upper"), volume_store.DIRECTORY_FLAGS)
    except OSError:
        return 0
    try:
        return volume_store.tree_size(fd)
    finally:
        os.close(fd)


def container_sizes(engine, summary: dict) -> tuple[int, int]:
    """(SizeRw, SizeRootFs) of a container (`ps -s`, the Engine API's `size=1`), as Docker
    counts them: the bytes of the files of its writable layer, and those plus its image's."""
    from runtime.errors import MoorError
    try:
        size_rw = writable_size(engine.container(summary["Id"]))
    except MoorError:               # removed meanwhile
        size_rw = 0
    try:
        image_size = engine.store.size(summary["ImageID"])
    except MoorError:
        image_size = 0
    return size_rw, size_rw + image_size


def system_df(engine) -> dict:
    store = engine.store
    sizes: dict[str, int] = {}
    ids = store.image_ids()
    layers = {}
    for image_id in ids:
        try:
            layers[image_id] = store.layers(image_id)
        except NotFound:
            continue
    parents = {store.parent(image_id) for image_id in layers}
    named = set(store.references().values()) | set(store.digest_references().values())
    containers = state.all_containers(engine)
    in_use = {container.config["Image"] for container in containers}
    cache_ids = [i for i in cache.cache_images(store, in_use) if i in layers]
    listed = [i for i in layers if (i in named or i not in parents) and i not in cache_ids]
    for container in containers:
        container.refresh()
    used_by = {}
    for container in containers:
        used_by[container.config["Image"]] = used_by.get(container.config["Image"], 0) + 1

    users_of_layer: dict[str, int] = {}
    for image_id in listed:
        for chain in set(layers[image_id]):
            users_of_layer[chain] = users_of_layer.get(chain, 0) + 1

    images = []
    for image_id in listed:
        config = store.config(image_id)
        size = sum(_layer_size(engine, chain, sizes) for chain in set(layers[image_id]))
        shared = sum(_layer_size(engine, chain, sizes) for chain in set(layers[image_id])
                     if users_of_layer.get(chain, 0) > 1)
        images.append({
            "Id": image_id, "ParentId": store.parent(image_id) or "",
            "RepoTags": store.tags_of(image_id),
            "RepoDigests": store.digests_of(image_id),
            "Created": int(inspect.parse_time(config.get("created")) or 0),
            "Size": size, "SharedSize": shared,
            "Labels": (config.get("config") or {}).get("Labels") or {},
            "Containers": used_by.get(image_id, 0),
        })
    images.sort(key=lambda image: image["Created"], reverse=True)

    image_sizes = {image["Id"]: image["Size"] for image in images}
    rows = []
    for container in containers:
        summary = inspect.summary(engine, container)
        size_rw = writable_size(container)
        summary.update({
            "SizeRw": size_rw,
            "SizeRootFs": size_rw + image_sizes.get(container.config["Image"], sum(
                _layer_size(engine, chain, sizes) for chain in container.config["Layers"])),
            "Mounts": mountpoints.inspect_mounts(container),
        })
        rows.append(summary)
    rows.sort(key=lambda row: row["Created"], reverse=True)

    volumes = volume_store.Volumes(engine.paths)
    references = mountpoints.users(engine)
    volume_rows = []
    for name in volumes.names():
        try:
            volume = volumes.get(name)
        except NotFound:
            continue
        volume["UsageData"] = {"Size": volumes.size(name),
                               "RefCount": len(references.get(name, []))}
        volume_rows.append(volume)

    children = {}
    for image_id in layers:
        parent = store.parent(image_id)
        children[parent] = children.get(parent, 0) + 1
    kept = {chain for image_id in layers if image_id not in cache_ids
            for chain in layers[image_id]}
    counted = set()
    build_cache = []
    for image_id in cache_ids:
        config = store.config(image_id)
        parent = store.parent(image_id)
        added = [chain for chain in layers[image_id]
                 if chain not in (layers.get(parent, []) if parent else [])]
        own = [chain for chain in added if chain not in kept and chain not in counted]
        counted.update(own)
        history = config.get("history") or []
        created = config.get("created", "")
        build_cache.append({
            "ID": image_id[7:] if image_id.startswith("sha256:") else image_id,
            "Parents": [parent] if parent else [],
            "Type": "regular",
            "Description": history[-1].get("created_by", "") if history else "",
            "InUse": False,     # an image a container uses is not cache (cache_images)
            "Shared": any(chain in kept for chain in added),
            "Size": sum(_layer_size(engine, chain, sizes) for chain in own),
            "CreatedAt": created, "LastUsedAt": created,
            "UsageCount": children.get(image_id, 0),
        })

    every_layer = {chain for chains in layers.values() for chain in chains}
    return {
        "LayersSize": sum(_layer_size(engine, chain, sizes) for chain in every_layer),
        "Images": images,
        "Containers": rows,
        "Volumes": volume_rows,
        "BuildCache": build_cache,
    }

