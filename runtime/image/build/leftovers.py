"""What a build that was killed (kill -9, an OOM kill, a lost worker) leaves behind: the
container of the RUN step it was in, still running or exited, and its working directory with
any step mounts in it.

A build works in a directory of its own under tmp/ (`build-<hex>`), held with an flock for as
long as it runs (runtime/staging.py). Before it creates a RUN step's container it chooses the
container's ID and records it there (`containers/<id>`), and drops the record once the
container is removed: a record always exists before its container does. A build directory
nobody holds belongs to a build that is over; `remove_dead_builds` takes its lock (so two
cleaners never work on one), removes the containers it records, unmounts what is mounted in
it and removes it. Which containers go is decided by these records only, never by a label a
container could have from its image. `system gc` and every new build call it; a live build
holds its lock, so its containers survive.
"""

import fcntl
import os
import re

from runtime.errors import MoorError, NotFound

PREFIX = "build-"
RECORDS = "containers"
_CONTAINER_ID = re.compile(r"^[0-9a-f]{64}$")


def prepare(staging: str) -> None:
    """Make the record directory of a build that holds `staging` (after it holds it: a
    directory with records and no holder is a dead build's)."""
    os.mkdir(os.path.join(staging, RECORDS), 0o700)


def new_container(staging: str) -> str:
    """A fresh container ID for a RUN step, recorded before the container exists."""
    container_id = os.urandom(32).hex()
    fd = os.open(os.path.join(staging, RECORDS, container_id),
                 os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    os.close(fd)
    return container_id


def forget_container(staging: str, container_id: str) -> None:
    """The container is gone: drop its record."""
    try:
        os.unlink(os.path.join(staging, RECORDS, container_id))
    except FileNotFoundError:
        pass


def _hold_if_free(path: str) -> int | None:
    """An fd holding `path`'s lock, or None when someone holds it (or it is not there)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _mounts_below(directory: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        targets = [line.split(" ")[4] for line in f]
    return sorted((t for t in targets if t.startswith(directory + "/")), key=len, reverse=True)


def remove_dead_builds(engine, dry_run: bool = False) -> list[str]:
    """Remove what builds that are over left behind; returns what was (or, with `dry_run`,
    would be) removed, one line each."""
    from runtime.container import rootfs
    from runtime.image.store import remove_tree
    found = []
    try:
        entries = sorted(os.listdir(engine.paths.tmp))
    except FileNotFoundError:
        return found
    for entry in entries:
        directory = os.path.join(engine.paths.tmp, entry)
        if not entry.startswith(PREFIX) or not os.path.isdir(os.path.join(directory, RECORDS)):
            continue
        held = _hold_if_free(directory)
        if held is None:
            continue                    # a build at work (or another cleaner)
        try:
            records = os.path.join(directory, RECORDS)
            for container_id in sorted(os.listdir(records)):
                if not _CONTAINER_ID.match(container_id):
                    continue
                found.append(f"container {container_id[:12]}: a step of a build that ended "
                             f"({entry})")
                if dry_run:
                    continue
                try:
                    engine.remove(container_id, force=True)
                except NotFound:
                    pass
                except MoorError as error:
                    found.append(f"  failed: {error.message}")
                    continue
                forget_container(directory, container_id)
            if dry_run:
                continue
            unmounted = True
            for target in _mounts_below(directory):
                found.append(f"mount {target}")
                try:
                    rootfs.unmount(target)
                except MoorError as error:
                    found.append(f"  failed: {error.message}")
                    unmounted = False
            # Never into a mount that stayed: removing through it would reach the layers.
            if unmounted and not os.listdir(records):
                found.append(f"staging {directory}")
                remove_tree(directory)
        finally:
            os.close(held)
    return found
