"""The engine's API: what the `moor` command line and the console's host workers call.

`Engine(root)` works on one engine root (one host's state). Methods raise
`runtime.errors.MoorError` with a one-line message on failure and leave nothing behind.
Containers are addressed by full ID, unique ID prefix or name; images by ID, ID prefix or
`name[:tag]`.
"""

import os

from runtime.errors import Conflict, MoorError, NotFound
from runtime.image.store import ImageStore
from runtime.paths import Paths

RUNNING, PAUSED, RESTARTING = "running", "paused", "restarting"


class _Lazy:
    """A module imported on first use: commands about images do not pay for what starting
    containers needs (subprocess, sockets, the network driver)."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attribute):
        import importlib
        return getattr(importlib.import_module(self._name), attribute)


lifecycle = _Lazy("runtime.container.lifecycle")
control = _Lazy("runtime.container.control")
removal = _Lazy("runtime.container.removal")
exits = _Lazy("runtime.container.exits")
records = _Lazy("runtime.container.state")


class Engine:
    def __init__(self, root: str | None = None):
        self.paths = Paths(root)
        self.store = ImageStore(self.paths)

    # -- containers ----------------------------------------------------------------------

    def container(self, ref: str):
        from runtime.container import state
        return state.find(self, ref)

    def create(self, options: dict) -> str:
        self.paths.ensure()
        return lifecycle.create(self, options).id

    def start(self, ref: str) -> None:
        lifecycle.start(self, self.container(ref))

    def run(self, options: dict, before_start=None, owner_pid: int | None = None) -> str:
        """create + start; when the start fails the container is removed again, so a failed
        run leaves nothing behind (the error carries 125, 126 or 127)."""
        container = lifecycle.create(self, options)
        try:
            lifecycle.start(self, container, before_start=before_start, owner_pid=owner_pid)
        except BaseException as error:
            try:
                removal.remove(self, container, force=True)
            except MoorError:
                pass
            if isinstance(error, MoorError) and not isinstance(error, lifecycle.StartFailed):
                raise lifecycle.StartFailed(error.message, 125) from None
            raise
        return container.id

    def stop(self, ref: str, timeout: int | None = None, signal: str | None = None) -> None:
        control.stop(self, self.container(ref), timeout, signal)

    def kill(self, ref: str, signal="KILL") -> None:
        control.kill(self, self.container(ref), signal)

    def restart(self, ref: str, timeout: int | None = None) -> None:
        control.restart(self, self.container(ref), timeout)

    def pause(self, ref: str) -> None:
        control.pause(self, self.container(ref))

    def unpause(self, ref: str) -> None:
        control.unpause(self, self.container(ref))

    def remove(self, ref: str, force: bool = False, background: bool = False) -> None:
        removal.remove(self, self.container(ref), force, background)

    def update(self, ref: str, changes: dict) -> None:
        """Docker's `update`: `memory`, `memory_swap`, `cpus`, `pids_limit` (as `create`
        takes them) and `restart`, applied at once to a running container's cgroups."""
        from runtime.container import update
        update.update(self, self.container(ref), changes)

    def rename(self, ref: str, new_name: str) -> None:
        removal.rename(self, self.container(ref), new_name)

    def wait(self, ref: str) -> int:
        container = self.container(ref)
        control.wait_for_exit(container)
        fresh = records.find(self, container.id)
        fresh.refresh()
        return fresh.state.get("ExitCode", 0)

    def containers(self, all: bool = False) -> list[dict]:
        from runtime.container import inspect, state
        found = []
        for container in state.all_containers(self):
            container.refresh()
            if all or container.status in (RUNNING, PAUSED, RESTARTING):
                # Newest first to the nanosecond (RFC 3339 times of one width sort as text):
                # `ps -l`, `before=` and `since=` tell apart containers of the same second.
                found.append((container.config.get("Created") or "",
                              inspect.summary(self, container)))
        found.sort(key=lambda pair: pair[0], reverse=True)
        return [summary for _, summary in found]

    def inspect(self, ref: str) -> dict:
        from runtime.container import inspect
        container = self.container(ref)
        container.refresh()
        return inspect.full(self, container)

    def logs(self, ref: str, follow: bool = False, tail: int | None = None,
             since: str | None = None, after_offset: int | None = None):
        from runtime.container import logs
        container = self.container(ref)
        return logs.read(container, follow=follow, tail=tail, since=since,
                         after_offset=after_offset)

    def diff(self, ref: str) -> list[tuple[str, str, int]]:
        """The container's file changes: (kind A|C|D, path, size) sorted by path."""
        from runtime.image import commit
        return commit.diff(self, self.container(ref))

    def commit(self, ref: str, repository: str | None = None, message: str | None = None,
               author: str | None = None, changes=(), pause: bool = True) -> str:
        """A new image of the container's file system; returns its ID."""
        from runtime.image import commit
        return commit.commit(self, self.container(ref), repository, message=message,
                             author=author, changes=changes, pause=pause)

    def prune_containers(self) -> list[str]:
        """Remove every container that is not running; returns their IDs."""
        from runtime.container import state
        removed = []
        for container in state.all_containers(self):
            container.refresh()
            if container.status in ("created", "exited", "dead"):
                try:
                    removal.remove(self, container)
                except (NotFound, Conflict):
                    continue
                removed.append(container.id)
        return removed

    def prune_images(self, all: bool = False) -> list[dict]:
        """Remove dangling images (no name, and no other image's parent), or with `all`
        every image no container uses; returns rmi's Untagged/Deleted events."""
        from runtime.container import state
        used = {c.config["Image"] for c in state.all_containers(self)}
        events = []
        while True:
            ids = self.store.image_ids()
            parents = {self.store.parent(i) for i in ids}
            candidates = [i for i in ids if i not in used and i not in parents and
                          (all or not self.store.references_of(i))]
            if not candidates:
                return events
            for image_id in candidates:
                try:
                    events.extend(self.remove_image(image_id, force=True))
                except (NotFound, Conflict):
                    continue

    def prune_build_cache(self, all: bool = False, keep=None) -> tuple[list[str], int]:
        """Docker's `builder prune`: the step images of builds that bear no name and no
        container uses, those nothing stands on (or with `all` every one, the cache the
        next build would use); `keep(image_id)` spares some. Returns (image IDs removed,
        bytes reclaimed)."""
        from runtime.container import state
        from runtime.image.build import cache
        containers = state.all_containers(self)
        in_use = {c.config["Image"] for c in containers}
        layers = set()
        for container in containers:
            layers.update(container.config.get("Layers") or [])
        with self.store.lock():
            return cache.prune(self.store, in_use, layers, all=all,
                               keep=keep or (lambda image_id: False))

    def boot(self) -> list[str]:
        """Settle containers after a reboot or an engine restart (see housekeeping.boot)."""
        from runtime import housekeeping
        return housekeeping.boot(self)

    def gc(self, dry_run: bool = False) -> list[str]:
        from runtime import housekeeping
        return housekeeping.gc(self, dry_run=dry_run)

    def reset(self) -> list[str]:
        """Remove this root and everything it holds on the host (see housekeeping.reset)."""
        from runtime import housekeeping
        return housekeeping.reset(self)

    def container_exited(self, container_id: str) -> None:
        exits.container_exited(self, container_id)

    # -- networks ------------------------------------------------------------------------

    def network_inspect(self, ref: str) -> dict:
        """A network by name, ID or unique ID prefix, in Docker's shape (with its `Labels`)."""
        from runtime import network
        return network.inspect_network(self.paths, ref)

    def ensure_network(self, name: str, labels: dict) -> dict:
        """A team's network `team-<number>`, made with `labels` on first use (see
        `runtime.network.networks.ensure_network`)."""
        from runtime import network
        return network.ensure_network(self.paths, name, labels)

    # -- images --------------------------------------------------------------------------

    def image_id(self, ref: str) -> str:
        return self.store.resolve(ref)

    def images(self, all: bool = False, filters: dict | None = None) -> list[dict]:
        """Docker's image summaries, newest first; `filters` ({key: [values]}) are Docker's
        (see `runtime.image.listing.images`)."""
        from runtime.image import listing
        return listing.images(self, all, filters)

    def image_inspect(self, ref: str) -> dict:
        from runtime.image import listing
        return listing.inspect(self, self.store.resolve(ref))

    def history(self, ref: str) -> list[dict]:
        from runtime.image import listing
        return listing.history(self, self.store.resolve(ref))

    def tag(self, ref: str, target: str) -> str:
        image_id = self.store.resolve(ref)
        with self.store.lock():
            return self.store.tag(image_id, target)

    def remove_image(self, ref: str, force: bool = False) -> list[dict]:
        """Docker's `rmi`. Naming one of an image's references (a tag or `name@digest`)
        takes that one off, with the digest references of its repository when it was that
        repository's last tag; the image goes only when no reference is left. Naming it by
        ID takes all its references off when they are one tag at most, in one repository
        (several need force). Refused while a container uses the image (with force, only
        while a running one does)."""
        image_id = self.store.resolve(ref)
        with self.store.lock():
            references = self.store.references_of(image_id)
            named = self._reference_named(ref, references)
            short = image_id[7:19]
            if named is None and not force and not _single_repository(references):
                raise Conflict(f"conflict: unable to delete {short} (must be forced) - image "
                               "is referenced in multiple repositories")
            users = [c for c in records.all_containers(self) if c.config["Image"] == image_id]
            if named is not None and len(references) > 1 and not (
                    set(references) - set(_with_repository_digests(named, references))):
                named = None    # its last names: as good as removing the image
            if named is not None and len(references) > 1:
                events = []
                for name in _with_repository_digests(named, references):
                    self.store.remove_reference(name)
                    events.append({"Untagged": name})
                return events
            for container in users:
                container.refresh()
                if container.status in (RUNNING, PAUSED, RESTARTING):
                    raise Conflict(f"conflict: unable to delete {short} (cannot be forced) - "
                                   f"image is being used by running container "
                                   f"{container.id[:12]}")
            if users and not force:
                raise Conflict(f"conflict: unable to remove repository reference {ref!r} "
                               f"(must force) - container {users[0].id[:12]} is using its "
                               f"referenced image {short}")
            events = []
            for name in references:
                self.store.remove_reference(name)
                events.append({"Untagged": name})
            containers = records.all_containers(self)
            in_use = set()
            for container in containers:
                in_use.update(container.config.get("Layers") or [])
            used_images = {container.config["Image"] for container in containers}
            parent = self.store.parent(image_id)
            removed = self.store.remove_image(image_id, in_use)
            events.append({"Deleted": image_id})
            events.extend({"Deleted": chain} for chain in removed)
            # As Docker: the untagged intermediate images under it (a build's steps) go too,
            # as long as nothing else stands on them.
            while parent and self.store.exists(parent) and \
                    not self.store.references_of(parent) and parent not in used_images and \
                    not any(self.store.parent(other) == parent
                            for other in self.store.image_ids()):
                next_parent = self.store.parent(parent)
                removed = self.store.remove_image(parent, in_use)
                events.append({"Deleted": parent})
                events.extend({"Deleted": chain} for chain in removed)
                parent = next_parent
        return events

    @staticmethod
    def _reference_named(ref: str, references: list[str]) -> str | None:
        """Which of the image's references `ref` is (None: it names the image by ID)."""
        from runtime.image import reference
        try:
            parsed = reference.parse(ref)
        except MoorError:
            return None
        name = f"{parsed.name}@{parsed.digest}" if parsed.digest else str(parsed)
        return name if name in references else None

    def build(self, context_dir: str, dockerfile: str | None = None, tags=(),
              build_args=None, no_cache: bool = False, target: str | None = None,
              output=None, allowed_images=None) -> str:
        """Build the Dockerfile of the directory `context_dir` with Docker's classic builder
        rules; returns the image ID. `dockerfile` is a path inside the context (or an
        absolute one), `tags` references to apply, `build_args` a dict (or `K=V` strings),
        `target` the last stage to build, `output` a callable or file receiving the build's
        text output as it happens (`Step 1/5 : FROM busybox`, RUN output...).
        `allowed_images` (image IDs; None: all) limits the images FROM, COPY --from and the
        cache may use; the others are as if absent."""
        from runtime.image import build
        return build.build(self, context_dir, dockerfile=dockerfile, tags=tags,
                           build_args=build_args, no_cache=no_cache, target=target,
                           output=output, allowed_images=allowed_images)

    def bootstrap_busybox(self, reference: str = "busybox:latest") -> str:
        from runtime.image import bootstrap, layers
        self.paths.ensure()
        with self.store.staging_dir("bootstrap-") as staging:
            rootfs = os.path.join(staging, "rootfs")
            os.mkdir(rootfs)
            description = bootstrap.build_rootfs(rootfs)
            from runtime.container.state import rfc3339_ns
            created = rfc3339_ns(int(os.stat(bootstrap.BUSYBOX).st_mtime) * 1_000_000_000)
            with self.store.lock():
                diff_id, chain_id = layers.add_directory(self.store, rootfs, parent_chain=None)
                config = bootstrap.image_config(diff_id, description, created)
                image_id = self.store.add_image(config)
                self.store.tag(image_id, reference)
        return image_id

    def pull(self, reference: str, progress=None, insecure: bool = False,
             policy=None) -> str:
        """Docker's `pull`: the image from its registry; returns its ID. `progress` gets
        Docker's progress lines. `policy`, a `runtime.image.distribution.policy.AddressPolicy`,
        limits where a pull made on someone else's behalf may connect (None: anywhere)."""
        from runtime.image.distribution import pull
        return pull.pull(self, reference, progress=progress, insecure=insecure, policy=policy)

    def push(self, reference: str, progress=None, insecure: bool = False) -> str:
        """Docker's `push`: the tagged image to its registry; returns the manifest digest."""
        from runtime.image.distribution import push
        return push.push(self, reference, progress=progress, insecure=insecure)


def _repository(reference_text: str) -> str:
    return reference_text.split("@", 1)[0] if "@" in reference_text else \
        reference_text.rpartition(":")[0]


def _single_repository(references: list[str]) -> bool:
    """At most one tag, and every reference in one repository (Docker's isSingleReference)."""
    tags = [r for r in references if "@" not in r]
    return len(tags) <= 1 and len({_repository(r) for r in references}) <= 1


def _with_repository_digests(named: str, references: list[str]) -> list[str]:
    """`named`, and when it is the last tag of its repository, that repository's digest
    references too (what Docker's rmi of a tag takes off)."""
    if "@" in named:
        return [named]
    repository = _repository(named)
    if any(r != named and "@" not in r and _repository(r) == repository for r in references):
        return [named]
    return [named] + [r for r in references if "@" in r and _repository(r) == repository]


__all__ = ["Engine", "MoorError", "NotFound", "Conflict"]
