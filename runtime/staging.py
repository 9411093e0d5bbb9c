"""Working directories under the engine's tmp/ that `system gc` can tell are in use.

Every process that works in a directory of tmp/ (unpacking a layer, a pull's downloads, a
build's steps and overlay mounts, a removal finishing in the background) holds an flock on the
directory itself for as long as it works there. gc takes nothing that is locked, however old;
what is unlocked is debris of a process that died.
"""

import contextlib
import fcntl
import os


def make_dir(parent: str, prefix: str) -> str:
    """A new private directory under `parent` (tempfile.mkdtemp without its imports)."""
    while True:
        path = os.path.join(parent, prefix + os.urandom(6).hex())
        try:
            os.mkdir(path, 0o700)
            return path
        except FileExistsError:
            continue


def hold(path: str) -> int:
    """Lock `path` (a directory) for this process; returns the fd that holds the lock (closing
    it, or exiting, releases it)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def in_use(path: str) -> bool:
    """True when some process holds `path`'s lock."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


@contextlib.contextmanager
def working_dir(parent: str, prefix: str):
    """A fresh locked directory under `parent`, removed afterwards unless renamed away."""
    from runtime.image.store import remove_tree
    path = make_dir(parent, prefix)
    fd = hold(path)
    try:
        yield path
    finally:
        if os.path.lexists(path):
            remove_tree(path)
        os.close(fd)
