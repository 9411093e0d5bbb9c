"""Disk usage as Docker's `system df` and `ps -s` count it: images (unique layers on disk),
containers (their writable layers), the build cache (step images of builds no name and no
container holds)."""

import os


def writable_size(engine, container_id: str) -> int:
    """The bytes of the files in a container's writable layer, each inode once (SizeRw)."""
    from runtime.errors import MoorError
    try:
        upper = engine.container(container_id).path("upper")
    except MoorError:
        return 0
    seen, size = set(), 0
    for directory, subdirectories, files in os.walk(upper):
        for name in files + [d for d in subdirectories
                             if os.path.islink(os.path.join(directory, d))]:
            try:
                info = os.lstat(os.path.join(directory, name))
            except OSError:
                continue
            if info.st_size and info.st_ino not in seen:
                seen.add(info.st_ino)
                size += info.st_size
    return size


def disk_usage(engine) -> list[dict]:
    """One entry per kind, Docker's order: {"Type", "TotalCount", "Active", "Size",
    "Reclaimable"} (sizes in bytes). Images: those `images` lists, active when a container
    uses one, their layers counted once; reclaimable what no active image needs. Local
    volumes: none in this engine yet (named volumes are counted once `moor volume` keeps
    them). Build cache: all of it reclaimable, as nothing runs from it."""
    from runtime.container import state
    from runtime.errors import MoorError
    from runtime.image.build import cache
    store = engine.store
    containers = engine.containers(all=True)
    used_images = {summary["ImageID"] for summary in containers}
    listed = [image["Id"] for image in engine.images()]
    active_images = [image_id for image_id in listed if image_id in used_images]
    everything = store.image_ids()
    layer_bytes = 0
    for name in _layer_names(engine):
        try:
            layer_bytes += store.layer_info("sha256:" + name).get("size", 0)
        except MoorError:
            continue
    images_needed = cache.unique_size(store, active_images, [])
    in_use = {c.config["Image"] for c in state.all_containers(engine)}
    build_cache = cache.cache_images(store, in_use)
    others = [image_id for image_id in everything if image_id not in build_cache]
    cache_bytes = cache.unique_size(store, build_cache, others)
    sizes = {summary["Id"]: writable_size(engine, summary["Id"]) for summary in containers}
    running = [summary["Id"] for summary in containers
               if summary["State"] in ("running", "paused", "restarting")]
    container_bytes = sum(sizes.values())
    return [
        {"Type": "Images", "TotalCount": len(listed), "Active": len(active_images),
         "Size": layer_bytes, "Reclaimable": layer_bytes - images_needed},
        {"Type": "Containers", "TotalCount": len(containers), "Active": len(running),
         "Size": container_bytes,
         "Reclaimable": container_bytes - sum(sizes[i] for i in running)},
        {"Type": "Local Volumes", "TotalCount": 0, "Active": 0, "Size": 0, "Reclaimable": 0},
        {"Type": "Build Cache", "TotalCount": len(build_cache), "Active": 0,
         "Size": cache_bytes, "Reclaimable": cache_bytes},
    ]


def _layer_names(engine) -> list[str]:
    try:
        return [name for name in os.listdir(engine.paths.layers) if len(name) == 64]
    except FileNotFoundError:
        return []
