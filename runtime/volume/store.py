"""The volumes of one engine root, laid out as Docker's local driver lays them out.

```
<root>/volumes/<name>/_data         what containers see (bind-mounted at their destination)
<root>/volumes/<name>/volume.json   {"Name", "Driver", "CreatedAt", "Labels", "Options"}
<root>/volumes/.creating-<random>/  a volume being made: renamed to <name> when complete
<root>/volumes/.removing-<random>/  a volume being deleted, out of sight already
<root>/volumes.lock                 serialises making, removing and starting to use volumes
```

A volume appears by one rename of a complete directory and disappears by one rename out of
sight, so a crash leaves only dot-directories, which `system gc` sweeps when nobody holds them
(`runtime.housekeeping.sweep_volumes`). The working directories live beside the volumes, not
in tmp/, so that `<root>/volumes` may be a file system of its own.

Who uses a volume is read from the containers' records (their `MountPoints`), never counted
separately: a volume is in use while any container, running or not, names it. Callers that
add or drop such a reference (create, removal) hold the volumes lock while they do, after the
containers lock when they hold both.

Every operation inside a volume's directory is relative to an open descriptor and never
follows a symlink: a container can plant anything in `_data`, and the engine still only
ever touches what is inside it.
"""

import contextlib
import os
import stat

from runtime import atomic, staging
from runtime.errors import Conflict, InvalidArgument, NotFound
from runtime.locking import locked
from runtime.volume import names

DATA = "_data"
RECORD = "volume.json"
CREATING, REMOVING = ".creating-", ".removing-"
DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC

# The local driver's options (mount a file system as the volume: `type`, `device`, `o`) are
# not supported: volumes here are directories.
SUPPORTED_OPTIONS: set[str] = set()


def volumes_dir(paths) -> str:
    return os.path.join(paths.root, "volumes")


def lock(paths):
    """The volumes lock (see the module's docstring)."""
    return locked(paths.lock("volumes"))


def created_at(ns: int | None = None) -> str:
    """RFC 3339 in UTC to the second, as the Engine API shows a volume's CreatedAt."""
    import time
    seconds = (ns if ns is not None else time.time_ns()) // 1_000_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def check_options(driver_opts) -> dict:
    options = dict(driver_opts or {})
    for key, value in options.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidArgument("driver options are KEY=VALUE strings")
    unsupported = sorted(set(options) - SUPPORTED_OPTIONS)
    if unsupported:
        raise InvalidArgument(f"invalid option for the local volume driver: {unsupported[0]} "
                              "(volumes of this engine are directories; it mounts no device "
                              "or file system for them)")
    return options


def check_labels(labels) -> dict:
    if labels is None:
        return {}
    if not isinstance(labels, dict) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in labels.items()):
        raise InvalidArgument("volume labels are KEY=VALUE strings")
    return dict(labels)


class Volumes:
    """The volumes of one root. Reading needs no lock; `create` and `remove` take it unless
    the caller already holds it (`held=True`)."""

    def __init__(self, paths):
        self.paths = paths
        self.dir = volumes_dir(paths)

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def data_path(self, name: str) -> str:
        return os.path.join(self.dir, name, DATA)

    def ensure(self) -> None:
        os.makedirs(self.dir, mode=0o700, exist_ok=True)

    # -- reading ------------------------------------------------------------------------------

    def names(self) -> list[str]:
        try:
            entries = os.listdir(self.dir)
        except FileNotFoundError:
            return []
        return sorted(entry for entry in entries
                      if names.VALID.match(entry) and self._record(entry) is not None)

    def _record(self, name: str) -> dict | None:
        try:
            record = atomic.read_json(os.path.join(self.dir, name, RECORD))
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) and record.get("Name") == name else None

    def exists(self, name: str) -> bool:
        return bool(names.VALID.match(name)) and self._record(name) is not None

    def get(self, name: str) -> dict:
        """The volume in the Engine API's shape (`Name`, `Driver`, `Mountpoint`, `CreatedAt`,
        `Labels`, `Scope`, `Options`)."""
        if not isinstance(name, str) or not names.VALID.match(name):
            raise NotFound(f"No such volume: {name}")
        record = self._record(name)
        if record is None:
            raise NotFound(f"No such volume: {name}")
        return {
            "CreatedAt": record.get("CreatedAt", ""),
            "Driver": record.get("Driver", "local"),
            "Labels": record.get("Labels") or {},
            "Mountpoint": self.data_path(name),
            "Name": name,
            "Options": record.get("Options") or {},
            "Scope": "local",
        }

    def is_empty(self, name: str) -> bool:
        fd = self.open_data(name)
        try:
            return not os.listdir(fd)
        finally:
            os.close(fd)

    def open_data(self, name: str) -> int:
        """A descriptor of the volume's `_data`, reached without following any symlink."""
        names.validate(name)
        parent = os.open(self.dir, DIRECTORY_FLAGS)
        try:
            volume = os.open(name, DIRECTORY_FLAGS, dir_fd=parent)
        finally:
            os.close(parent)
        try:
            return os.open(DATA, DIRECTORY_FLAGS, dir_fd=volume)
        finally:
            os.close(volume)

    def size(self, name: str) -> int:
        """Bytes of the files in the volume, each inode once (moby's directory.Size)."""
        try:
            fd = self.open_data(name)
        except OSError:
            return 0
        try:
            return tree_size(fd)
        finally:
            os.close(fd)

    # -- changing -----------------------------------------------------------------------------

    def create(self, name: str | None = None, labels=None, driver_opts=None,
               anonymous: bool = False, held: bool = False) -> tuple[dict, bool]:
        """(the volume, whether it was made now). A volume that exists is returned as it is,
        whatever labels or options were asked for (Docker's rule). `name` None or
        `anonymous`: a new 64-hex name and the anonymous label."""
        labels = check_labels(labels)
        options = check_options(driver_opts)
        if name is None:
            name, anonymous = names.anonymous(), True
        names.validate(name)
        if anonymous:
            labels[names.ANONYMOUS_LABEL] = ""
        self.ensure()
        with contextlib.ExitStack() as stack:
            if not held:
                stack.enter_context(lock(self.paths))
            if self.exists(name):
                return self.get(name), False
            if os.path.lexists(self.path(name)):
                raise Conflict(f"cannot create volume {name}: {self.path(name)} exists and "
                               "is not a volume (system gc removes debris)")
            self._make(name, labels, options)
            return self.get(name), True

    def _make(self, name: str, labels: dict, options: dict) -> None:
        """Build the volume in a held working directory, then rename it into place."""
        work = staging.make_dir(self.dir, CREATING)
        hold = staging.hold(work)
        try:
            os.mkdir(os.path.join(work, DATA), 0o755)
            os.chmod(os.path.join(work, DATA), 0o755)
            atomic.write_json(os.path.join(work, RECORD), {
                "Name": name, "Driver": "local", "CreatedAt": created_at(),
                "Labels": labels, "Options": options})
            os.rename(work, self.path(name))
        except BaseException:
            remove_tree_at(self.dir, os.path.basename(work))
            raise
        finally:
            os.close(hold)
        from runtime import events
        events.volume(self.paths, "create", name)

    def remove(self, name: str, held: bool = False) -> None:
        """Delete the volume and its contents (the caller checked that no container names
        it). The volume leaves `names()` under the lock; its files are deleted after."""
        with contextlib.ExitStack() as stack:
            if not held:
                stack.enter_context(lock(self.paths))
            doomed = self.detach(name)
        doomed.delete()

    def detach(self, name: str) -> "Doomed":
        """Take the volume out of sight (call holding the lock); `.delete()` the result
        afterwards, outside the lock."""
        if not self.exists(name):
            raise NotFound(f"No such volume: {name}")
        # Held before it moves (the lock goes with the directory), so gc never takes a
        # removal at work for debris.
        hold = staging.hold(self.path(name))
        doomed = REMOVING + os.urandom(6).hex()
        try:
            os.rename(self.path(name), os.path.join(self.dir, doomed))
        except BaseException:
            os.close(hold)
            raise
        from runtime import events
        events.volume(self.paths, "destroy", name)
        return Doomed(name, self.dir, doomed, hold)


class Doomed:
    """A volume out of sight (`directory` under `parent`), held against gc until its files
    are deleted."""

    def __init__(self, volume: str, parent: str, directory: str, hold: int):
        self.volume, self.parent, self.directory, self.hold = volume, parent, directory, hold

    def delete(self) -> None:
        try:
            remove_tree_at(self.parent, self.directory)
        finally:
            os.close(self.hold)


# -- descriptor-relative trees ---------------------------------------------------------------

class TreeChanged(OSError):
    """A directory moved while a walk was inside it."""


def _identity(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


def walk(top_fd: int, visit, leave=None) -> None:
    """Call `visit(directory_fd, name, stat)` for every entry below the open directory
    `top_fd` that is not a directory, and `leave(directory_fd, name)` once a subdirectory's
    contents were visited. No symlink is followed, and only one descriptor is open at a time
    however deep the tree (a container can nest directories thousands deep): the walk goes
    back up through `..`, checked against the directory it came from (TreeChanged if not)."""
    fd = os.dup(top_fd)
    frames = []  # (name in the parent, the parent's identity, the parent's entries left)
    remaining = os.listdir(fd)
    try:
        while True:
            if remaining:
                name = remaining.pop()
                try:
                    st = os.lstat(name, dir_fd=fd)
                except FileNotFoundError:
                    continue
                if not stat.S_ISDIR(st.st_mode):
                    visit(fd, name, st)
                    continue
                try:
                    child = os.open(name, DIRECTORY_FLAGS, dir_fd=fd)
                except OSError:
                    continue  # gone or replaced since the lstat
                frames.append((name, _identity(fd), remaining))
                os.close(fd)
                fd, remaining = child, os.listdir(child)
                continue
            if not frames:
                return
            name, parent, remaining = frames.pop()
            up = os.open("..", DIRECTORY_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = up
            if _identity(fd) != parent:
                raise TreeChanged(16, "the directory tree changed during the walk")
            if leave is not None:
                leave(fd, name)
    finally:
        os.close(fd)


def tree_size(directory_fd: int) -> int:
    """Sum of the sizes of everything but directories below an open directory, each inode
    counted once (moby's directory.Size). A tree that changes under the walk (a running
    container writing) gives what was counted so far."""
    seen, total = set(), 0

    def visit(_fd, _name, st):
        nonlocal total
        if st.st_size and (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            total += st.st_size
    try:
        walk(directory_fd, visit)
    except OSError:
        pass
    return total


def remove_tree_at(parent: str, name: str) -> None:
    """Delete `parent/name` and everything below it, every step relative to an open
    directory and without following symlinks (see `walk`)."""
    parent_fd = os.open(parent, DIRECTORY_FLAGS)
    try:
        try:
            st = os.lstat(name, dir_fd=parent_fd)
        except FileNotFoundError:
            return
        if not stat.S_ISDIR(st.st_mode):
            os.unlink(name, dir_fd=parent_fd)
            return
        fd = os.open(name, DIRECTORY_FLAGS, dir_fd=parent_fd)
        try:
            walk(fd, lambda directory, entry, _st: _unlink_quietly(directory, entry),
                 lambda directory, entry: _rmdir_quietly(directory, entry))
        finally:
            os.close(fd)
        _rmdir_quietly(parent_fd, name)
    finally:
        os.close(parent_fd)


def _unlink_quietly(parent_fd: int, name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name, dir_fd=parent_fd)


def _rmdir_quietly(parent_fd: int, name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.rmdir(name, dir_fd=parent_fd)
