"""A container's log files: conmon's k8s-file `ctr.log`, and the files rotated away beside it.

Capping: conmon runs with `--log-size-max` set to the container's max-size, so no file grows
past it: when the next record would, conmon opens a new `ctr.log` (it creates `ctr.log.tmp`
and renames it over `ctr.log`). That alone would truncate: the old file is gone unless it has
another name. So each file is hard-linked as `ctr.log.<base>` while it is current, `<base>`
being its logical offset: where its first byte stands in everything the container wrote. The
old file lives on under that name, `max-file` of them are kept (the oldest are deleted), and
offsets form one gap-free increasing sequence across files, so a reader resumes with
`after_offset` across rotations. A container's log never takes more than about max-size x
max-file of the disk.

The first file is linked when the container starts (each start begins a new file, so that
conmon's count of what it wrote is the file's size); the files conmon opens later are linked
by the engine root's log keeper (`logkeeper.py`) as soon as they appear. Should a whole file
be written before the keeper links it (it is not running, or max-size is tiny against the
rate), that file's lines are lost, as with a plain truncation, and the sequence goes on from
the last kept file; nothing else is lost.

A container made before rotation existed has only `ctr.log`, at base 0: read as before.
"""

import contextlib
import fcntl
import os
from dataclasses import dataclass

LOG_NAME = "ctr.log"


@dataclass(slots=True)
class Segment:
    base: int           # logical offset of the file's first byte
    path: str           # the name to open it by (its link, or ctr.log while unlinked)
    inode: tuple        # (st_dev, st_ino)
    size: int


def segments(log_path: str, current: os.stat_result | None = None) -> list[Segment]:
    """The log's files, oldest first. `current`, when given, is taken as ctr.log's status
    (the caller holds it open)."""
    directory, name = os.path.split(log_path)
    prefix = name + "."
    found = []
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return found
    for entry in entries:
        if entry.name.startswith(prefix) and entry.name[len(prefix):].isdigit():
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            found.append(Segment(int(entry.name[len(prefix):]), entry.path,
                                 (st.st_dev, st.st_ino), st.st_size))
    found.sort(key=lambda segment: segment.base)
    if current is None:
        try:
            current = os.stat(log_path)
        except FileNotFoundError:
            return found
    inode = (current.st_dev, current.st_ino)
    if not any(segment.inode == inode for segment in found):
        # Not linked yet (just rotated by conmon): it follows the newest kept file, which
        # conmon closed before it opened this one.
        base = found[-1].base + found[-1].size if found else 0
        found.append(Segment(base, log_path, inode, current.st_size))
    return found


@contextlib.contextmanager
def _locked(log_path: str):
    """Serialises `keep` and `begin` (the keeper and a start) on one container's log."""
    fd = os.open(log_path + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def keep(log_path: str, max_files: int) -> None:
    """Link the current file under its base if it is not yet, and delete the oldest files
    beyond `max_files`. Idempotent; what is missing is simply not there to keep."""
    with _locked(log_path):
        _keep(log_path, max_files)


def _keep(log_path: str, max_files: int) -> None:
    try:
        fd = os.open(log_path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        current = os.fstat(fd)
        found = segments(log_path, current)
        newest = found[-1]
        if newest.path == log_path:
            # Link the very file opened (conmon may rotate it meanwhile: the base computed
            # is that file's).
            link = f"{log_path}.{newest.base}"
            descriptors = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                with contextlib.suppress(FileExistsError):
                    os.link(str(fd), link, src_dir_fd=descriptors)   # linkat, following
            finally:
                os.close(descriptors)
            newest.path = link
    finally:
        os.close(fd)
    for old in found[:max(0, len(found) - max(1, max_files))]:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(old.path)


def begin(log_path: str, max_files: int) -> None:
    """Before a start: a new, empty, linked `ctr.log` (conmon counts what it writes from
    zero, so the file must start empty for max-size to hold), the old one kept as rotated."""
    with _locked(log_path):
        try:
            size = os.stat(log_path).st_size
        except FileNotFoundError:
            size = None
        if size:
            _keep(log_path, max_files + 1)
            os.unlink(log_path)
        if size != 0:
            fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            os.close(fd)
        _keep(log_path, max_files)


def usage(log_path: str) -> int:
    """Bytes the log's files take."""
    return sum(segment.size for segment in segments(log_path))


class LogStream:
    """Everything a container wrote, as one sequence of bytes across its log files, read at
    logical offsets. Keeps the file it reads open, so a rotation or the deletion of an old
    file under it loses nothing already begun."""

    def __init__(self, log_path: str):
        self.path = log_path
        self._segment = None
        self._handle = None

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
        self._handle = self._segment = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self) -> int:
        """The offset of the oldest byte still kept."""
        found = segments(self.path)
        return found[0].base if found else 0

    def end(self) -> int:
        """The offset just past the newest byte."""
        found = segments(self.path)
        return found[-1].base + found[-1].size if found else 0

    def read(self, position: int, limit: int) -> tuple[int, bytes]:
        """Up to `limit` bytes from `position`: (where they start, the bytes). They start
        later than `position` when the bytes there are gone (rotated away and deleted, or
        never kept); b"" at the end of what there is."""
        if self._segment is not None and position >= self._segment.base:
            # The file already open first: it may have been deleted as the oldest since.
            self._handle.seek(position - self._segment.base)
            data = self._handle.read(limit)
            if data:
                return position, data
        found = segments(self.path)
        if not found:
            return position, b""
        if position < found[0].base:
            position = found[0].base
        index = max(i for i, segment in enumerate(found) if segment.base <= position)
        while True:
            segment = found[index]
            data = self._read_from(segment, position - segment.base, limit)
            if data is None:                    # deleted under us: look again
                return self.read(position, limit) if segments(self.path) != found \
                    else (position, b"")
            if data:
                return position, data
            if index == len(found) - 1:
                return position, b""
            # A newer file exists, so conmon is done with this one: read once more what it
            # wrote before it moved on, then continue in the next.
            data = self._read_from(segment, position - segment.base, limit)
            if data:
                return position, data
            index += 1
            position = max(position, found[index].base)

    def _read_from(self, segment: Segment, offset: int, limit: int) -> bytes | None:
        if self._segment is None or self._segment.inode != segment.inode:
            self.close()
            try:
                handle = open(segment.path, "rb")
            except FileNotFoundError:
                return None
            st = os.fstat(handle.fileno())
            if (st.st_dev, st.st_ino) != segment.inode:
                handle.close()
                return None
            self._handle, self._segment = handle, segment
        self._handle.seek(offset)
        return self._handle.read(limit)
