"""Atomic writes: a reader sees the old file or the new one, never half of either."""

import json
import os


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
    write_bytes(path, json.dumps(value, sort_keys=True).encode() + b"\n", mode)


def read_json(path: str, default=None):
    try:
        with open(path, "rb") as f:
            return json.loads(f.read())
    except FileNotFoundError:
        return default
