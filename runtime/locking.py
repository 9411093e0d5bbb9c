"""Advisory file locks (flock) that serialise changes between concurrent engine processes:
the CLI, host workers and conmon's exit commands."""

import contextlib
import fcntl
import os


@contextlib.contextmanager
def locked(path: str, shared: bool = False):
    """Hold an flock on `path` (created if missing) for the duration of the block."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
