"""Atomic writes: a reader sees the old file or the new one, never half of either.

On a full disk (ENOSPC, EDQUOT) a new file cannot be had, but the blocks of the one it
replaces can: a JSON record that already exists is then rewritten in place, padded with
spaces to its old length (JSON allows trailing whitespace), so that `stop`, `kill` and `rm`
can still record what they did on a disk a container filled. That rewrite is not atomic, so
`read_json` reads again when it catches a record half rewritten.
"""

import errno
import json
import os

NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
READ_ATTEMPTS = 5


def write_bytes(path: str, data: bytes, mode: int = 0o600) -> None:
    directory, name = os.path.split(path)
    tmp = os.path.join(directory, f".tmp-{name}-{os.getpid()}-{os.urandom(4).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_json(path: str, value, mode: int = 0o600) -> None:
    # On one line: json's C encoder writes only unindented documents, and its Python one
    # took several milliseconds for an OCI spec with its seccomp profile, on every start.
    data = json.dumps(value, sort_keys=True).encode() + b"\n"
    try:
        write_bytes(path, data, mode)
    except OSError as error:
        if error.errno not in NO_SPACE or not rewrite_in_place(path, data):
            raise


def rewrite_in_place(path: str, data: bytes) -> bool:
    """Overwrite the existing file at `path` with `data` (a JSON text), using only the blocks
    it has: padded with spaces when shorter than the old content. False when there is no
    such file, or `data` needs more room than the disk has."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        if len(data) > max(st.st_size, st.st_blocks * 512):
            return False    # it would need a block the disk does not have: leave it whole
        payload = data + b" " * max(0, st.st_size - len(data))
        written = 0
        while written < len(payload):
            written += os.pwrite(fd, payload[written:], written)
        return True
    finally:
        os.close(fd)


def read_json(path: str, default=None):
    for attempt in range(READ_ATTEMPTS):
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return default
        try:
            return json.loads(data)
        except ValueError:
            # A record rewritten in place on a full disk may be caught half way.
            if attempt == READ_ATTEMPTS - 1:
                raise
