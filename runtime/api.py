"""The engine's API: what the `moor` command line and the console's host workers call.

`Engine(root)` works on one engine root (one host's state). Methods raise
`runtime.errors.MoorError` with a one-line message on failure and leave nothing behind.
Containers are addressed by full ID, unique ID prefix or name; images by ID, ID prefix or
`name[:tag]`.
"""

import functools
import os
import types

from runtime.errors import Conflict, MoorError, NotFound, os_error_text
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

    def container(self, ref: str, settle: bool = True):
        """The container `ref` names. With `settle`, one a dead process left frozen (a
        commit killed while it held the container) is thawed first, so every command finds
        it as it really is (see control.settle_abandoned_freeze)."""
        from runtime.container import state
        container = state.find(self, ref)
        if settle and container.freeze_abandoned():
            control.settle_abandoned_freeze(self, container)
        return container

    def create(self, options: dict) -> str:
        self.paths.ensure()
        return lifecycle.create(self, options).id

    def start(self, ref: str, before_start=None) -> None:
        """Start a created or exited container; `before_start(container)` runs once it
        exists but before its program runs (to attach and catch the first output)."""
        lifecycle.start(self, self.container(ref), before_start=before_start)

    def run(self, options: dict, before_start=None, owner_pid: int | None = None) -> str:
        """create + start; when the start fails the container is removed again, with the
        volumes its create made, so a failed run leaves nothing behind (the error carries 125,
        126 or 127)."""
        container = lifecycle.create(self, options)
        try:
            lifecycle.start(self, container, before_start=before_start, owner_pid=owner_pid)
        except BaseException as error:
            try:
                removal.remove(self, container, force=True, volumes=True)
                from runtime.volume import mountpoints
                mountpoints.remove_volumes_made_for(self, container)
            except (MoorError, OSError):
                pass    # the start's own error is the one to report
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
        # A container left frozen by a dead commit becomes the user's pause.
        control.pause(self, self.container(ref, settle=False))

    def unpause(self, ref: str) -> None:
        control.unpause(self, self.container(ref, settle=False))

    def remove(self, ref: str, force: bool = False, background: bool = False,
               volumes: bool = False) -> None:
        """Docker's `rm`: `force` kills a running container first; `volumes` (`rm -v`) also
        removes its anonymous volumes, never named ones."""
        removal.remove(self, self.container(ref), force, background, volumes)

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
        if fresh.refresh():     # seen before conmon's exit command records it: die now
            from runtime import events
            events.container_ended(self, fresh)
        return fresh.state.get("ExitCode", 0)

    def containers(self, all: bool = False, records=None) -> list[dict]:
        """Docker-shaped summaries of the running containers (`all`: every container),
        newest first. `records`: the containers' records to list (the engine service passes
        those it keeps in memory); by default every container's, read from disk."""
        from runtime.container import inspect, state
        found = []
        for container in (state.all_containers(self) if records is None else records):
            container.refresh()
            if container.freeze_abandoned():
                control.settle_abandoned_freeze(self, container)
            if all or container.status in (RUNNING, PAUSED, RESTARTING):
                # Newest first, as Docker lists them: by the creation time to the nanosecond
                # (the summary's `Created` is whole seconds; `ps -l`, `before=` and `since=`
                # tell apart containers of the same second), then by ID.
                created = container.config.get("Created") or ""
                found.append((created, inspect.summary(self, container)))
        found.sort(key=lambda pair: (pair[0], pair[1]["Id"]), reverse=True)
        return [summary for _, summary in found]

    def inspect(self, ref: str) -> dict:
        from runtime.container import inspect
        container = self.container(ref, settle=False)
        container.refresh()
        # One file read tells whether the kernel agrees with the record.
        control.settle_abandoned_freeze(self, container, check_kernel=True)
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

    # -- volumes -------------------------------------------------------------------------

    def volume_create(self, name: str | None = None, labels: dict | None = None,
                      driver_opts: dict | None = None, driver: str | None = None) -> dict:
        """A volume of the local driver, Docker-shaped (`Name`, `Driver`, `Mountpoint`,
        `CreatedAt`, `Labels`, `Scope`, `Options`). A name that exists gives that volume
        back unchanged; no name makes an anonymous one (64 hex digits)."""
        from runtime.volume import manage
        return manage.create(self, name, labels=labels, driver_opts=driver_opts,
                             driver=driver)

    def volumes(self, filters=None) -> list[dict]:
        """Volumes by name; filters `dangling`, `driver`, `label`, `name` as Docker's."""
        from runtime.volume import manage
        return manage.listing(self, filters)

    def volume_inspect(self, name: str) -> dict:
        from runtime.volume import manage
        return manage.inspect(self, name)

    def volume_remove(self, name: str, force: bool = False) -> None:
        """Refused (Conflict) while any container names the volume, even with `force`, which
        only makes a missing volume no error (Docker's rule)."""
        from runtime.volume import manage
        manage.remove(self, name, force=force)

    def volume_users(self) -> dict[str, list[str]]:
        """Volume name -> the IDs of the containers that name it, running or not (what
        `volume rm` refuses for, and `ls --filter dangling` reads)."""
        from runtime.volume import mountpoints
        return mountpoints.users(self)

    def volume_size(self, name: str) -> int:
        """Bytes of the volume's files, each inode once (a walk of them: `system df -v`'s
        SIZE); 0 for a volume that is gone."""
        from runtime.volume import store
        return store.Volumes(self.paths).size(name)

    def volume_prune(self, filters=None) -> dict:
        """Unused anonymous volumes (every unused one with the filter `all=true`);
        `{"VolumesDeleted", "SpaceReclaimed"}`."""
        from runtime.volume import manage
        return manage.prune(self, filters)

    def system_df(self) -> dict:
        """Disk usage in the shape of Docker's `GET /system/df`: `LayersSize`, `Images`,
        `Containers`, `Volumes` (with `UsageData`), `BuildCache`."""
        from runtime import disk_usage
        return disk_usage.system_df(self)

    # -- groups --------------------------------------------------------------------------

    def group_set(self, name: str, memory=None, cpus=None, pids=None) -> dict:
        """Create the group `name` or change its limits: `memory` (bytes or "128m"), `cpus`
        (a float), `pids` (a count); None or 0 is no limit, and every call sets all three.
        The limits hold at once for the running containers inside (the kernel enforces them
        on the group's cgroup, see runtime.container.groups); Conflict, and the old limits
        kept, when the kernel refuses. Returns the definition (`Name`, `CreatedAt`,
        `UpdatedAt`, `Memory`, `NanoCpus`, `PidsLimit`)."""
        from runtime.container import groups
        return groups.set_limits(self, name, memory=memory, cpus=cpus, pids=pids)

    def group_inspect(self, name: str) -> dict:
        """The group's limits, `Cgroup`, `Containers` (IDs) and `Usage` read from its cgroup
        files now: `Memory` (`Current`, `Max`, `FailCount`, `OOMKills`), `Cpu`
        (`UsageNanos`, `Quota`, `Period`), `Pids` (`Current`, `Max`), `Containers`
        (`Total`, `Running`) and `Disk` (`WritableLayers`, `Volumes`, `Total` in bytes)."""
        from runtime.container import groups
        return groups.inspect(self, name)

    def groups(self) -> list[dict]:
        """Every group's limits and containers, by name (no usage: see `group_inspect`)."""
        from runtime.container import groups
        return groups.listing(self)

    def group_remove(self, name: str) -> None:
        """Remove the group and its cgroup; Conflict while any container (running or not)
        is in it."""
        from runtime.container import groups
        groups.remove(self, name)

    # -- health checks and events --------------------------------------------------------

    def health_check(self, ref: str) -> dict:
        """Run the container's health check once now and record it (as the checker does);
        returns `{"Status", "FailingStreak", "Result": {Start, End, ExitCode, Output}}`."""
        from runtime.container import health
        return health.check_now(self, self.container(ref))

    def health_checker(self, scan_seconds: float = 1.0, stand_in: bool = False):
        """The loop that runs every running container's health checks on schedule, for the
        resident service to host (`start()`/`stop()`, see runtime.container.health)."""
        from runtime.container import health_checker
        return health_checker.HealthChecker(self, scan_seconds, stand_in=stand_in)

    def ensure_health_checker(self) -> dict:
        """Make sure health checks are being run for this root: the live checker's record,
        after starting a stand-in when none runs (see runtime.container.health_checker)."""
        from runtime.container import health_checker
        return health_checker.ensure_running(self)

    def events(self, since=None, until=None, filters=None, follow: bool = False, stop=None):
        """The engine's events as Docker's `/events` sends them (dicts), in order: those
        from `since` (RFC 3339, unix seconds, a duration like "10m"; without it, with
        `follow`, only new ones) to `until`, that match `filters` (Docker's: container,
        image, event, type, label, network, volume, scope; `{key: [values]}`). With
        `follow`, the iterator waits for new events until `until` passes or `stop` (a
        threading.Event or a callable) says so. Bad filters or times raise here, before
        the first event."""
        from runtime import events
        return events.read(self, since, until, filters, follow, stop)

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

    # -- compose (see runtime.compose) ----------------------------------------------------

    def compose_load(self, **options):
        """A Compose project (`runtime.compose.load`: files or content, environ, profiles...)."""
        from runtime import compose
        return compose.load(**options)

    def compose_plan(self, project, **options):
        """What `up` would change for `project`, and why (`runtime.compose.plan_up`)."""
        from runtime import compose
        return compose.plan_up(self, project, **options)

    def compose_up(self, plan, progress=None, **options) -> dict:
        """Carry out a plan; `progress` gets one dict per step. Returns {service: ID}."""
        from runtime import compose
        return compose.up(self, plan, progress=progress, **options)

    def compose_down(self, project_name: str, project=None, volumes: bool = False,
                     remove_orphans: bool = False, progress=None) -> None:
        """Remove a project's containers and networks (and named volumes with `volumes`)."""
        from runtime import compose
        compose.down(self, project_name, project, volumes=volumes,
                     remove_orphans=remove_orphans, progress=progress)

    def compose_containers(self, project_name: str) -> list[dict]:
        """The project's containers (summaries as `containers` gives them)."""
        from runtime.compose.containers import project_containers
        return project_containers(self, project_name, oneoff=None)

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
        from runtime import events
        image_id = self.store.resolve(ref)
        with self.store.lock():
            tagged = self.store.tag(image_id, target)
        events.image(self, "tag", image_id, tagged, events.image_labels(self.store, image_id))
        return tagged

    def remove_image(self, ref: str, force: bool = False) -> list[dict]:
        """Docker's `rmi`. Naming one of an image's references (a tag or `name@digest`)
        takes that one off, with the digest references of its repository when it was that
        repository's last tag; the image goes only when no reference is left. Naming it by
        ID takes all its references off when they are one tag at most, in one repository
        (several need force). Refused while a container uses the image (with force, only
        while a running one does)."""
        from runtime import events as journal
        image_id = self.store.resolve(ref)
        with self.store.lock():
            references = self.store.references_of(image_id)
            labels = journal.image_labels(self.store, image_id)
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
                # One event for the reference named, none for the digests that went with it,
                # as Docker's daemon logs it; it names the image by its ID.
                journal.image(self, "untag", image_id, image_id, labels)
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
                journal.image(self, "untag", image_id, image_id, labels)
            containers = records.all_containers(self)
            in_use = set()
            for container in containers:
                in_use.update(container.config.get("Layers") or [])
            used_images = {container.config["Image"] for container in containers}
            parent = self.store.parent(image_id)
            removed = self.store.remove_image(image_id, in_use)
            events.append({"Deleted": image_id})
            events.extend({"Deleted": chain} for chain in removed)
            journal.image(self, "delete", image_id, image_id)
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
                journal.image(self, "delete", parent, parent)
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
              output=None, allowed_images=None, network: str = "none") -> str:
        """Build the Dockerfile of the directory `context_dir` with Docker's classic builder
        rules; returns the image ID. `dockerfile` is a path inside the context (or an
        absolute one), `tags` references to apply, `build_args` a dict (or `K=V` strings),
        `target` the last stage to build, `output` a callable or file receiving the build's
        text output as it happens (`Step 1/5 : FROM busybox`, RUN output...).
        `allowed_images` (image IDs; None: all) limits the images FROM, COPY --from and the
        cache may use; the others are as if absent. `network`: where RUN steps run ("none",
        the default here; "bridge", "host" or a network's name)."""
        from runtime.image import build
        return build.build(self, context_dir, dockerfile=dockerfile, tags=tags,
                           build_args=build_args, no_cache=no_cache, target=target,
                           output=output, allowed_images=allowed_images, network=network)

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
                tagged = self.store.tag(image_id, reference)
        from runtime import events
        events.image(self, "tag", image_id, tagged)
        events.image(self, "import", image_id, image_id)
        return image_id

    def bootstrap_debian(self, suite: str | None = None, include=(),
                         reference: str | None = None, variant: str | None = None,
                         mirror: str | None = None, keyring: str | None = None, sources=(),
                         progress=None) -> str:
        """A Debian image made with mmdebstrap (see runtime.image.debian); returns its ID.
        `suite` defaults to the host's release, `reference` to `debian:<suite>`, `variant`
        to minbase; `include` adds packages. The packages come from the host's apt sources,
        or from `mirror` (checked with the `keyring` file) and/or `sources` (sources.list
        lines), which the image keeps. `progress` gets mmdebstrap's progress lines."""
        from runtime.image import debian
        plan = debian.plan(suite, include, reference, variant, mirror, keyring, sources)
        return debian.bootstrap(self, plan, progress)

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


def _one_line_errors(method):
    """The API's promise: failures are MoorErrors with one line to show. An operating system
    error (a full disk, above all) becomes one, its cause kept for logs."""
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except OSError as error:
            raise MoorError(os_error_text(error)) from error
    return wrapper


for _name, _method in list(vars(Engine).items()):
    if not _name.startswith("_") and isinstance(_method, types.FunctionType):
        setattr(Engine, _name, _one_line_errors(_method))
del _name, _method

__all__ = ["Engine", "MoorError", "NotFound", "Conflict"]
