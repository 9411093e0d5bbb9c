"""Recovery: `system gc` finds what a crash left behind, `system boot` settles containers after
a reboot or an engine restart.

Everything the engine makes on the host is named after the container and the engine root
(mounts at <root>/containers/<id>/merged, cgroups under /<controller>/moorage-<root hash>/<id>,
OCI runtime state under /run/moorage/<root hash>/<runtime>/<id>, veths mrg<id12>, ...), so
leftovers are found by name and only this root's are touched.
"""

import contextlib
import os
import time

from runtime import atomic, events, staging
from runtime.container import lifecycle, removal, rootfs, state as records
from runtime.container.oci import KNOWN, OCIRuntime, find_binary
from runtime.container.state import DEAD, EXITED, PAUSED, REMOVING, RESTARTING, RUNNING, boot_id
from runtime.errors import MoorError
from runtime.image.store import remove_tree

# An unlocked working directory this old is debris; younger ones may belong to an operation
# that does not lock (a create's staging, held under the containers lock for milliseconds).
STALE_STAGING_SECONDS = 60
CGROUP_ROOT = "/sys/fs/cgroup"


def _live(engine) -> tuple[dict, set]:
    """Containers of this root by ID, and the IDs whose program is running now."""
    containers = {c.id: c for c in records.all_containers(engine)}
    running = set()
    for container in containers.values():
        container.refresh()
        if container.status in (RUNNING, PAUSED, RESTARTING):
            running.add(container.id)
    return containers, running


def _busy_containers(engine, containers: dict) -> set[str]:
    """Containers some process is working on right now (starting, stopping, removing in the
    background): gc leaves everything of theirs alone."""
    import fcntl
    busy = set()
    for container_id, container in containers.items():
        try:
            fd = os.open(container.lock_path(), os.O_RDWR | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            busy.add(container_id)
        finally:
            os.close(fd)
    with contextlib.suppress(FileNotFoundError):
        for entry in os.listdir(engine.paths.tmp):
            if entry.startswith("removing-") and \
                    staging.in_use(os.path.join(engine.paths.tmp, entry)):
                busy.add(entry[len("removing-"):])
    return busy


def gc(engine, dry_run: bool = False) -> list[str]:
    found = []
    paths = engine.paths
    paths.ensure()
    found.extend(remove_build_leftovers(engine, dry_run))
    containers, running = _live(engine)
    # What a process is working on counts as live: a container being started has its runtime
    # state and cgroups before it is recorded as running.
    running |= _busy_containers(engine, containers)

    def act(description, action):
        found.append(description)
        if not dry_run:
            try:
                action()
            except OSError as error:
                found.append(f"  failed: {error}")

    found.extend(thaw_abandoned(engine, containers, running, dry_run))

    # Containers whose program ended without anyone cleaning up, or half removed.
    for container in containers.values():
        if container.id in running:
            continue
        if container.status == REMOVING:
            act(f"container {container.id[:12]}: finishing its removal",
                lambda c=container: removal.remove(engine, c, force=True))
        elif container.status in (EXITED, DEAD) and not container.state.get("CleanedUp", True):
            act(f"container {container.id[:12]}: releasing what its ended program held",
                lambda c=container: _settle(engine, c))

    # The name index (names/ links) made to match the containers that exist.
    if not dry_run:
        from runtime.container.state import rebuild_name_index
        from runtime.locking import locked
        with locked(paths.lock("containers")):
            rebuild_name_index(engine, records.all_containers(engine))

    # Overlay mounts of containers that are not running.
    for container_id, container in containers.items():
        merged = container.path("merged")
        if container_id not in running and rootfs.is_mounted(merged):
            act(f"mount {merged}", lambda m=merged: rootfs.unmount(m))
    with open("/proc/self/mountinfo") as f:
        for line in f:
            target = line.split(" ")[4]
            if target.startswith(paths.tmp + "/"):
                owner = target[len(paths.tmp) + 1:].split("/")[0]
                if not staging.in_use(os.path.join(paths.tmp, owner)):
                    act(f"mount {target}", lambda t=target: rootfs.unmount(t))

    # OCI runtime state of containers this root does not run.
    for name in KNOWN:
        if not find_binary(name):
            continue
        state_root = paths.oci_state(name)
        try:
            entries = os.listdir(state_root)
        except FileNotFoundError:
            continue
        runtime = OCIRuntime(name, state_root)
        for entry in entries:
            if len(entry) == 64 and entry not in running:
                act(f"{name} state of {entry[:12]}", lambda e=entry, r=runtime: r.delete(e))

    # cgroups under this root's parent that belong to no running container.
    for controller in _controllers():
        parent = os.path.join(CGROUP_ROOT, controller, paths.cgroup_parent) \
            if controller else os.path.join(CGROUP_ROOT, paths.cgroup_parent)
        try:
            entries = os.listdir(parent)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            path = os.path.join(parent, entry)
            if len(entry) == 64 and os.path.isdir(path) and entry not in running:
                act(f"cgroup {path}", lambda p=path: _remove_cgroup(p))
    # ... and in groups' cgroups, and groups' cgroups that no definition accounts for.
    from runtime.container import groups
    found.extend(groups.sweep(engine, running, dry_run))

    # Volumes half made or half removed, and those a crashed `rm -v` or `--rm` left (before
    # the tmp/ sweep below takes the removed containers' records).
    found.extend(sweep_volumes(engine, dry_run))

    # conmon's socket links and leftover staging.
    with contextlib.suppress(FileNotFoundError):
        for entry in os.listdir(paths.sockets):
            if entry not in running:
                act(f"socket link {entry[:12]}",
                    lambda e=entry: os.unlink(os.path.join(paths.sockets, e)))
    now = time.time()
    for entry in os.listdir(paths.tmp):
        path = os.path.join(paths.tmp, entry)
        try:
            age = now - os.lstat(path).st_mtime
        except FileNotFoundError:
            continue
        if staging.in_use(path):
            continue  # a pull, a build, an unpack or a removal at work
        if entry.startswith(("removing-", "doomed-")) or age > STALE_STAGING_SECONDS:
            act(f"staging {path}", lambda p=path: remove_tree(p))

    from runtime.container.lifecycle import _network_module
    network = _network_module()
    if network is not None and not dry_run:
        found.extend(f"network: {line}" for line in network.gc(paths, running))
    found.extend(sweep_deleted_roots(dry_run))
    return found


def remove_build_leftovers(engine, dry_run: bool = False) -> list[str]:
    """The RUN containers and working directories of builds that were killed (before the
    sweeps below, which would take a dead build's directory and with it the record of its
    containers)."""
    from runtime.image.build import leftovers
    return leftovers.remove_dead_builds(engine, dry_run)


def sweep_volumes(engine, dry_run: bool = False) -> list[str]:
    """What crashes leave of volumes, and only that (runtime.volume.store): working
    directories `volumes/.creating-*` and `.removing-*` nobody holds, and the anonymous
    volumes of containers whose `rm -v` or `--rm` died after the container was out of sight
    (its record in tmp/removing-<id> says so), as long as no container names them. A volume
    no container names is never swept: it is kept until `volume rm` or `volume prune`."""
    from runtime.container.state import Container
    from runtime.volume import mountpoints, store
    found = []
    directory = store.volumes_dir(engine.paths)
    now = time.time()
    with contextlib.suppress(FileNotFoundError):
        for entry in os.listdir(directory):
            path = os.path.join(directory, entry)
            if not entry.startswith((store.CREATING, store.REMOVING)) or staging.in_use(path):
                continue
            with contextlib.suppress(FileNotFoundError):
                if entry.startswith(store.CREATING) and \
                        now - os.lstat(path).st_mtime <= STALE_STAGING_SECONDS:
                    continue  # maybe made a moment ago, not yet held
            found.append(f"volume debris {path}")
            if not dry_run:
                store.remove_tree_at(directory, entry)
    with contextlib.suppress(FileNotFoundError):
        for entry in os.listdir(engine.paths.tmp):
            path = os.path.join(engine.paths.tmp, entry)
            if not entry.startswith("removing-") or staging.in_use(path):
                continue
            removed = Container.load(path)
            if removed is None or not removed.state.get("RemoveVolumes"):
                continue
            if dry_run:
                found.extend(f"anonymous volume {point['Name']} of removed container "
                             f"{removed.id[:12]}" for point in mountpoints.of(removed)
                             if point.get("Anonymous"))
                continue
            for name in mountpoints.remove_anonymous_volumes(engine, removed):
                found.append(f"anonymous volume {name} of removed container {removed.id[:12]}")
    return found


def thaw_abandoned(engine, containers: dict, running: set, dry_run: bool = False) -> list[str]:
    """Thaw containers left frozen with nobody to thaw them: paused on behalf of a process
    that died (a commit killed while it held the container), or frozen in the kernel while
    their record says running. A container its user paused stays paused."""
    from runtime.container import control
    found = []
    for container_id in sorted(running):
        container = containers.get(container_id)
        if container is None:
            continue
        reason = control.abandoned_freeze(engine, container, check_kernel=True)
        if reason is None:
            continue
        found.append(f"container {container_id[:12]}: thawed ({reason})")
        if dry_run:
            continue
        try:
            control.settle_abandoned_freeze(engine, container, check_kernel=True)
        except (OSError, MoorError) as error:
            found.append(f"  failed: {error}")
    return found


def sweep_deleted_roots(dry_run: bool = False) -> list[str]:
    """The short-lived state (OCI runtime state, sockets, cgroups) of engine roots whose
    directory was deleted: no engine will ever clean it up otherwise."""
    from runtime.paths import RUN_BASE, Paths
    found = []
    try:
        entries = os.listdir(RUN_BASE)
    except FileNotFoundError:
        return found
    for entry in entries:
        marker = os.path.join(RUN_BASE, entry, "root")
        try:
            with open(marker) as f:
                root = f.read().strip()
        except OSError:
            continue
        if not root or os.path.isdir(root):
            continue
        paths = Paths(root)
        if paths.run != os.path.join(RUN_BASE, entry):
            continue
        found.append(f"state of deleted root {root}")
        if not dry_run:
            release_host_state(paths)
    return found


def release_host_state(paths) -> None:
    """What an engine root holds outside its directory: its log keeper and stand-in health
    checker, OCI runtime state (containers are deleted, killing what still runs), cgroups,
    the run directory."""
    from runtime.container import health_checker, logkeeper
    logkeeper.stop(paths)
    health_checker.stop_stand_in(paths)
    for name in KNOWN:
        state_root = paths.oci_state(name)
        if find_binary(name) and os.path.isdir(state_root):
            runtime = OCIRuntime(name, state_root)
            for entry in os.listdir(state_root):
                runtime.delete(entry)
    for controller in _controllers():
        parent = os.path.join(CGROUP_ROOT, controller, paths.cgroup_parent) \
            if controller else os.path.join(CGROUP_ROOT, paths.cgroup_parent)
        if os.path.isdir(parent):
            for entry in os.listdir(parent):
                if os.path.isdir(os.path.join(parent, entry)):
                    with contextlib.suppress(OSError):
                        _remove_cgroup(os.path.join(parent, entry))
            with contextlib.suppress(OSError):
                os.rmdir(parent)
    netns = paths.netns
    if os.path.isdir(netns):
        for entry in os.listdir(netns):
            rootfs.unmount(os.path.join(netns, entry))
    import shutil
    shutil.rmtree(paths.run, ignore_errors=True)


def reset(engine) -> list[str]:
    """Remove everything of this engine root from the host: containers (killed), networks'
    devices and rules, cgroups, runtime state, and the root directory itself."""
    report = []
    for container in records.all_containers(engine):
        with contextlib.suppress(Exception):
            removal.remove(engine, container, force=True)
            report.append(f"container {container.name} removed")
    report.extend(gc(engine))
    from runtime.container.lifecycle import _network_module
    network = _network_module()
    if network is not None:
        with contextlib.suppress(Exception):
            report.extend(f"network: {line}" for line in network.teardown(engine.paths))
    release_host_state(engine.paths)
    from runtime.volume import store
    if os.path.isdir(store.volumes_dir(engine.paths)):  # containers may have nested deep
        store.remove_tree_at(engine.paths.root, "volumes")
    remove_tree(engine.paths.root)
    report.append(f"removed {engine.paths.root}")
    return report


def _controllers() -> list[str]:
    if os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers")):
        return [""]
    try:
        return [entry for entry in os.listdir(CGROUP_ROOT)
                if os.path.isdir(os.path.join(CGROUP_ROOT, entry)) and
                not os.path.islink(os.path.join(CGROUP_ROOT, entry))]
    except OSError:
        return []


def _remove_cgroup(path: str) -> None:
    """Kill what is left in a dead container's cgroup (or a group's, with the cgroups of
    its containers), then remove it (rmdir only)."""
    from runtime.container import cgroups
    cgroups.remove_tree(path)


def _settle(engine, container) -> None:
    with lifecycle.holding(container):
        container.refresh()
        events.container_ended(engine, container)
        lifecycle._cleanup(engine, container)
        container.save_state()


def boot(engine) -> list[str]:
    """Run when a host's engine (its worker) starts. Records the end of containers whose
    monitor vanished, cleans up, and after a reboot starts the containers whose restart
    policy says so (`always`, and `unless-stopped` unless stopped by hand), as Docker's
    daemon does when it starts."""
    paths = engine.paths
    paths.ensure()
    report = []
    marker = os.path.join(paths.root, "boot_id")
    current = boot_id()
    previous = (atomic.read_json(marker) or {}).get("boot_id")
    rebooted = previous is not None and previous != current
    containers, _ = _live(engine)
    from runtime.container import groups
    report.extend(groups.restore(engine))      # before any container starts in one
    for container in containers.values():
        if container.status in (EXITED, DEAD) and not container.state.get("CleanedUp", True):
            _settle(engine, container)
            report.append(f"{container.name}: ended with {container.state.get('ExitCode')}")
    if rebooted:
        for container in containers.values():
            policy = (container.host_config.get("RestartPolicy") or {}).get("Name")
            if container.status not in (EXITED, DEAD):
                continue
            if policy == "always" or (policy == "unless-stopped" and
                                      not container.state.get("ManualStop")):
                try:
                    lifecycle.start(engine, container)
                    report.append(f"{container.name}: started (restart policy {policy})")
                except Exception as error:  # one container must not stop the others
                    report.append(f"{container.name}: could not start: {error}")
    atomic.write_json(marker, {"boot_id": current})
    report.extend(gc(engine))
    return report
