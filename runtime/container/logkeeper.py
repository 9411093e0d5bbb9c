"""The log keeper: one small process per engine root that keeps the log files conmon rotates
(see `logfiles`).

conmon caps each log file at the container's max-size by starting a new `ctr.log`; the old
file survives only under the name `ctr.log.<base>` the keeper gave it while it was current.
So the keeper watches the container directories (inotify) and, the moment conmon renames a
new `ctr.log` into place, links it and deletes the oldest files beyond max-file. It costs one
interpreter per root, not per container, idle but for those events. The first start of a
container launches it (`ensure_running`, before the program runs, so that it watches from
the first byte); it lives until the root is removed (`system reset`, or its directory
deleted) or the machine restarts, and the next start after that launches it again.
Containers never depend on it: without it their logs are still capped, only older files are
not kept.

It holds an flock on `<run>/log-keeper.lock` (which also names its PID) for as long as it
runs, so there is at most one per root; it runs in the monitors' cgroup, like conmon.
"""

import contextlib
import ctypes
import fcntl
import os
import select
import signal
import struct

from runtime import atomic
from runtime.container import logfiles, options as opts

IN_CLOSE_WRITE, IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x8, 0x40, 0x80, 0x100, 0x200
IN_DELETE_SELF, IN_MOVE_SELF, IN_Q_OVERFLOW, IN_IGNORED = 0x400, 0x800, 0x4000, 0x8000
IN_ONLYDIR, IN_CLOEXEC, IN_NONBLOCK = 0x1000000, 0o2000000, 0o4000
EVENT = struct.Struct("iIII")
# A safety net only: every change the keeper acts on comes as an inotify event.
RESCAN_SECONDS = 60.0


def lock_path(paths) -> str:
    return os.path.join(paths.run, "log-keeper.lock")


def ensure_running(engine, timeout: float = 10.0) -> None:
    """Start the root's keeper unless it runs, and return once it watches the containers
    (call before a container's program starts: a fast writer may fill a file at once)."""
    path = lock_path(engine.paths)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return                          # it runs, and watches every container directory
    finally:
        os.close(fd)
    from runtime.container.monitor import start_detached_helper
    start_detached_helper(engine.paths.root, "system", "log-keeper", timeout=timeout)


def stop(paths, timeout: float = 10.0) -> None:
    """End the root's keeper, if it runs (before the root is removed)."""
    try:
        with open(lock_path(paths)) as f:
            pid = int(f.read().strip() or 0)
    except (OSError, ValueError):
        return
    if not pid or not _is_keeper(pid, paths.root):
        return
    try:
        handle = os.pidfd_open(pid)
    except OSError:
        return
    try:
        os.kill(pid, signal.SIGTERM)
        select.select([handle], [], [], timeout)
    except OSError:
        pass
    finally:
        os.close(handle)


def _is_keeper(pid: int, root: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return False
    return b"log-keeper" in argv and os.fsencode(root) in argv


# -- the keeper process ------------------------------------------------------------------

class Inotify:
    """The few inotify calls the keeper needs (the standard library has none)."""

    def __init__(self):
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        self.fd = self._libc.inotify_init1(IN_CLOEXEC | IN_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")

    def add(self, path: str, mask: int) -> int | None:
        wd = self._libc.inotify_add_watch(self.fd, os.fsencode(path), mask)
        return wd if wd >= 0 else None

    def remove(self, wd: int) -> None:
        self._libc.inotify_rm_watch(self.fd, wd)

    def events(self, timeout: float) -> list[tuple[int, int, str]] | None:
        """(watch, mask, name) of what happened, waiting up to `timeout`; None on timeout."""
        if not select.select([self.fd], [], [], timeout)[0]:
            return None
        try:
            data = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return []
        found, offset = [], 0
        while offset < len(data):
            wd, mask, _cookie, length = EVENT.unpack_from(data, offset)
            offset += EVENT.size
            name = data[offset:offset + length].rstrip(b"\0").decode("utf-8", "replace")
            offset += length
            found.append((wd, mask, name))
        return found


class Keeper:
    def __init__(self, paths):
        self.paths = paths
        self.inotify = Inotify()
        self.watches = {}        # watch -> container directory
        self.max_files = {}      # container directory -> its max-file
        self.root_watch = None

    def scan(self) -> None:
        """Watch the containers directory and every container's, and settle each log."""
        self.root_watch = self.inotify.add(
            self.paths.containers,
            IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR |
            IN_DELETE_SELF | IN_MOVE_SELF)
        try:
            entries = os.listdir(self.paths.containers)
        except FileNotFoundError:
            return
        for entry in entries:
            if len(entry) == 64:
                self.watch(os.path.join(self.paths.containers, entry))

    def watch(self, directory: str) -> None:
        if directory not in self.watches.values():
            # conmon renames each new ctr.log into place (IN_MOVED_TO).
            wd = self.inotify.add(directory, IN_MOVED_TO | IN_ONLYDIR)
            if wd is None:
                return
            self.watches[wd] = directory
        self.keep(directory)

    def forget(self, directory: str) -> None:
        for wd, watched in list(self.watches.items()):
            if watched == directory:
                del self.watches[wd]
        self.max_files.pop(directory, None)

    def keep(self, directory: str) -> None:
        if directory not in self.max_files:
            config = atomic.read_json(os.path.join(directory, "container.json")) or {}
            try:
                self.max_files[directory] = opts.log_limits(config.get("HostConfig") or {})[1]
            except Exception:   # a record it cannot read: the host's default, then
                self.max_files[directory] = opts.log_limits({})[1]
        with contextlib.suppress(OSError):
            logfiles.keep(os.path.join(directory, logfiles.LOG_NAME),
                          self.max_files[directory])

    def handle(self, events) -> bool:
        """Act on inotify events; False when the root is gone."""
        for wd, mask, name in events:
            if mask & IN_Q_OVERFLOW:
                self.rescan()
            elif wd == self.root_watch:
                if mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED):
                    return False
                if len(name) == 64:
                    directory = os.path.join(self.paths.containers, name)
                    if mask & (IN_CREATE | IN_MOVED_TO):
                        self.watch(directory)
                    else:
                        self.forget(directory)
            elif wd in self.watches:
                if mask & IN_IGNORED:
                    self.forget(self.watches[wd])
                elif name == logfiles.LOG_NAME:
                    self.keep(self.watches[wd])     # conmon started a new file
        return True

    def rescan(self) -> None:
        for directory in list(self.watches.values()):
            if os.path.isdir(directory):
                self.keep(directory)
            else:
                self.forget(directory)
        self.scan()


def _record_pid(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)


def run(paths, ready_fd: int | None = None) -> None:
    """The keeper's life (`moor system log-keeper`): until its root is removed. Writes a
    byte to `ready_fd` once it watches the containers."""
    fd = os.open(lock_path(paths), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return                                  # another keeper has this root
    _record_pid(fd)
    from runtime.container import cgroups
    cgroups.move_to(f"{paths.cgroup_parent}/monitors", os.getpid())
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    keeper = Keeper(paths)
    keeper.scan()
    if ready_fd is not None:
        with contextlib.suppress(OSError):
            os.write(ready_fd, b"1")
            os.close(ready_fd)
    while True:
        events = keeper.inotify.events(RESCAN_SECONDS)
        if events is None:
            if not os.path.isdir(paths.containers):
                return
            keeper.rescan()
        elif not keeper.handle(events):
            return                              # the root was removed
