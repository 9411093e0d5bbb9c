"""Network namespaces pinned by bind mounts, as `ip netns` does, but under each engine root's
own run directory (`<run>/netns/<container id>`).

A namespace is made in a short-lived thread: `unshare(CLONE_NEWNET)` moves only that thread
into the new namespace, so the caller's own threads never change namespace. While inside, the
thread bind-mounts its namespace onto the file (which keeps the namespace alive after the
thread ends) and opens an rtnetlink socket there, through which the caller configures it.
"""

import ctypes
import errno
import os
import threading

from runtime.network.netlink import Netlink

CLONE_NEWNET = 0x40000000
MS_BIND = 0x1000
MNT_DETACH = 0x2

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_void_p)
_libc.umount2.argtypes = (ctypes.c_char_p, ctypes.c_int)


def _check(result: int, what: str):
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def _in_thread(work):
    """Run `work()` in a fresh thread and return its result (or raise its exception)."""
    outcome = {}

    def run():
        try:
            outcome["value"] = work()
        except BaseException as error:  # handed over to the calling thread
            outcome["error"] = error

    thread = threading.Thread(target=run, name="netns")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def create(path: str) -> Netlink:
    """Make a new network namespace, pin it at `path` (which must not exist), and return an
    rtnetlink socket inside it. The namespace has only `lo`, down."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    os.close(fd)

    def enter_and_pin():
        _check(_libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
        _check(_libc.mount(b"/proc/thread-self/ns/net", os.fsencode(path), None, MS_BIND, None),
               f"bind mount of a network namespace on {path}")
        return Netlink()

    try:
        return _in_thread(enter_and_pin)
    except BaseException:
        remove(path)
        raise


def open_inside(path: str) -> Netlink:
    """An rtnetlink socket inside the network namespace at `path` (a pinned file or
    /proc/<pid>/ns/net)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        def enter():
            _check(_libc.setns(fd, CLONE_NEWNET), f"setns({path})")
            return Netlink()
        return _in_thread(enter)
    finally:
        os.close(fd)


def remove(path: str) -> bool:
    """Unmount and delete a pinned namespace file. Idempotent; True when something was there.
    The namespace itself ends when the last process in it exits."""
    found = False
    if _libc.umount2(os.fsencode(path), MNT_DETACH) == 0:
        found = True
    else:
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOENT):
            raise OSError(code, f"umount {path}: {os.strerror(code)}")
    try:
        os.unlink(path)
        found = True
    except FileNotFoundError:
        pass
    return found
