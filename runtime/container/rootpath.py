"""Open paths inside a container's root file system without ever leaving it.

Every host-side operation on a container path (user lookup, cp, working directory, the
program's presence) goes through `openat2(RESOLVE_IN_ROOT)`: the kernel resolves `..` and
symlinks, absolute ones included, as if the container's root were `/`, so a symlink planted in
the container pointing at `/` or `../..` can never make the engine read or write the host
(the `docker cp` escapes CVE-2018-15664 and CVE-2019-14271, and runc's path CVEs).
"""

import ctypes
import errno
import os
import struct

SYS_OPENAT2 = {"x86_64": 437, "aarch64": 437}.get(os.uname().machine, 437)
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_IN_ROOT = 0x10

_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long


def openat2(dirfd: int, path: str, flags: int, mode: int = 0,
            resolve: int = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) -> int:
    how = struct.pack("QQQ", flags | os.O_CLOEXEC, mode, resolve)
    encoded = os.fsencode(path)
    while True:
        fd = _syscall(ctypes.c_long(SYS_OPENAT2), ctypes.c_int(dirfd), ctypes.c_char_p(encoded),
                      ctypes.c_char_p(how), ctypes.c_size_t(len(how)))
        if fd >= 0:
            return fd
        err = ctypes.get_errno()
        if err in (errno.EINTR, errno.EAGAIN):
            continue
        raise OSError(err, os.strerror(err), path)


class Root:
    """A directory used as `/` for path resolution. Use as a context manager."""

    def __init__(self, path: str):
        self.path = path
        self.fd = os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def open(self, path: str, flags: int = os.O_RDONLY, mode: int = 0) -> int:
        return openat2(self.fd, path, flags, mode)

    def read_file(self, path: str, limit: int = 16 << 20) -> bytes | None:
        """The file's bytes, or None when it does not exist or is not a regular file."""
        try:
            fd = self.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return None
        try:
            import stat
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            chunks, total = [], 0
            while total < limit:
                chunk = os.read(fd, min(1 << 20, limit - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def parent_and_name(self, path: str) -> tuple[int, str]:
        """An fd of the (resolved, confined) parent directory and the last component.
        The last component itself is not resolved: callers act on it with dir_fd and
        follow_symlinks=False."""
        normalized = os.path.normpath("/" + path)
        parent, name = os.path.split(normalized)
        if not name:
            return os.dup(self.fd), "."
        fd = self.open(parent, os.O_PATH | os.O_DIRECTORY)
        return fd, name

    def makedirs(self, path: str, mode: int = 0o755) -> None:
        """mkdir -p inside the root; components that exist are resolved confined."""
        current = "/"
        for part in [p for p in os.path.normpath("/" + path).split("/") if p]:
            parent_fd = self.open(current, os.O_PATH | os.O_DIRECTORY)
            try:
                try:
                    os.mkdir(part, mode, dir_fd=parent_fd)
                except FileExistsError:
                    pass
            finally:
                os.close(parent_fd)
            current = os.path.join(current, part)
        # Check the result is a directory once resolved (it may be a symlink to one).
        os.close(self.open(current, os.O_PATH | os.O_DIRECTORY))

    def exists(self, path: str) -> bool:
        try:
            os.close(self.open(path, os.O_PATH))
            return True
        except OSError:
            return False

    def is_executable_file(self, path: str) -> bool:
        try:
            fd = self.open(path, os.O_PATH)
        except OSError:
            return False
        try:
            import stat
            st = os.fstat(fd)
            return stat.S_ISREG(st.st_mode) and bool(st.st_mode & 0o111)
        finally:
            os.close(fd)
