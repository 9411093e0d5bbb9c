"""Step images and the classic build cache.

Every step makes an image whose parent is the previous step's image, with one more history
entry: that chain is what `moor history` and the console's lineage graph show. A step hits the
cache when the store already holds an image whose parent is the current image, whose config is
the config the step would make and whose last history entry has the same `created_by` (for
COPY/ADD that string carries a hash of the sources' content, for RUN the command and the build
arguments it sees) — the rules of Docker's classic builder.

A build limited to some images (the console's builds, for a team) takes from the cache only
those: the same step on the same parent does not make the same layer when the step reads
something the cache key does not show (a proxy argument, /dev/urandom, the time), so another
team's cached step could hand over what that team's build saw.
"""

import copy
import json
import os
import platform

from runtime.container.state import rfc3339_ns
from runtime.errors import NotFound


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def base_config(store, parent_id: str | None) -> dict:
    """The parent's whole image config, or that of an empty (`scratch`) image."""
    if parent_id:
        return copy.deepcopy(store.config(parent_id))
    from runtime.image.bootstrap import ARCHITECTURES
    return {"architecture": ARCHITECTURES.get(platform.machine(), platform.machine()),
            "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}, "history": []}


def find(store, parent_id: str | None, config: dict, created_by: str,
         among=None) -> str | None:
    """The newest image made by this same step on this same parent, if any; with `among` (a
    set of image IDs), only one of those."""
    parent = base_config(store, parent_id)
    parent_layers = (parent.get("rootfs") or {}).get("diff_ids") or []
    parent_history = len(parent.get("history") or [])
    wanted = _canonical(config)
    best, best_created = None, ""
    for image_id in store.image_ids():
        if among is not None and image_id not in among:
            continue
        try:
            if store.parent(image_id) != parent_id:
                continue
            candidate = store.config(image_id)
        except NotFound:
            continue
        history = candidate.get("history") or []
        layers = (candidate.get("rootfs") or {}).get("diff_ids") or []
        if (len(history) != parent_history + 1 or history[-1].get("created_by") != created_by
                or layers[:len(parent_layers)] != parent_layers
                or len(layers) - len(parent_layers) > 1
                or _canonical(candidate.get("config") or {}) != wanted):
            continue
        created = candidate.get("created") or ""
        if best is None or created > best_created:
            best, best_created = image_id, created
    return best


def add_step_image(store, parent_id: str | None, config: dict, created_by: str,
                   layer_dir: str | None = None, author: str | None = None) -> str:
    """Write the step's image: the parent's config with `config`, one more history entry and,
    when `layer_dir` (an overlay upper dir in the store's tmp/) holds changes, one more layer
    (the directory is moved into the store). Returns the new image's ID."""
    from runtime.image import layers
    new = base_config(store, parent_id)
    created = rfc3339_ns()
    entry = {"created": created, "created_by": created_by}
    if author:
        entry["author"] = author
    with store.lock():
        diff_ids = list((new.get("rootfs") or {}).get("diff_ids") or [])
        if layer_dir is not None and os.listdir(layer_dir):
            chains = store.layers(parent_id) if parent_id else []
            diff_id, _ = layers.add_directory(store, layer_dir, chains[-1] if chains else None)
            diff_ids.append(diff_id)
        else:
            entry["empty_layer"] = True
        new["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
        new["history"] = list(new.get("history") or []) + [entry]
        new["created"] = created
        new["config"] = copy.deepcopy(config)
        new["author"] = author or ""
        new.pop("container", None)
        new.pop("container_config", None)
        return store.add_image(_canonical(new).encode(), parent=parent_id, origin="build")


# -- the cache as a whole (`builder prune`, `system df`) -----------------------------------------

def cache_images(store, in_use: set) -> list[str]:
    """The build cache: the step images builds made that bear no name and no container
    uses (the final image of a build, once tagged, is the user's, not cache)."""
    found = []
    named = set(store.references().values()) | set(store.digest_references().values())
    for image_id in store.image_ids():
        try:
            if store.meta(image_id).get("origin") != "build":
                continue
        except NotFound:
            continue
        if image_id not in named and image_id not in in_use:
            found.append(image_id)
    return found


def unique_size(store, image_ids, besides) -> int:
    """Bytes of the layers of `image_ids` that no image of `besides` uses."""
    kept = set()
    for image_id in besides:
        try:
            kept.update(store.layers(image_id))
        except NotFound:
            continue
    total = 0
    for chain in {chain for image_id in image_ids for chain in store.layers(image_id)} - kept:
        try:
            total += store.layer_info(chain).get("size", 0)
        except NotFound:
            continue
    return total


def prune(store, in_use: set, layers_in_use: set, all: bool = False,
          keep=lambda image_id: False) -> tuple[list[str], int]:
    """Remove the build cache nothing stands on (dangling), or with `all` all of it, but
    what `keep(image_id)` keeps. Returns (image IDs removed, bytes of the layers removed).
    Call with the store lock held."""
    removed, reclaimed = [], 0
    while True:
        cache = cache_images(store, in_use)
        parents = {store.parent(image_id) for image_id in store.image_ids()}
        doomed = [image_id for image_id in cache
                  if (all or image_id not in parents) and not keep(image_id)
                  and image_id not in removed]
        if not doomed:
            return removed, reclaimed
        for image_id in doomed:
            sizes = {}
            for chain in store.layers(image_id):
                try:
                    sizes[chain] = store.layer_info(chain).get("size", 0)
                except NotFound:
                    continue
            for chain in store.remove_image(image_id, layers_in_use):
                reclaimed += sizes.get(chain, 0)
            removed.append(image_id)
        if all:
            return removed, reclaimed
