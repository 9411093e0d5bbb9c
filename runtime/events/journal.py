"""The journal's files, and the two ways through them: appending one event, reading in order.

    <root>/events/journal       the current file: one JSON object (Docker's event) per line
    <root>/events/journal.1 ... the older files, journal.1 the most recent of them
    <root>/events/lock          flock: held (exclusively) by a writer for one append,
                                (shared) by a reader for an instant to see a consistent set

A writer, holding the lock, rotates when the current file has grown past FILE_BYTES (each
file moves one number up, the oldest beyond FILES is dropped), takes the time, and appends its
line in one O_APPEND write. So lines are never interleaved, the journal is in time order,
and a file that is no longer the current one never changes again. A failed write (a full
disk) is cut off again, so the next line starts on a line of its own.

A reader opens the set of files under the shared lock, reads them oldest first, and, when it
follows, keeps reading the current file; when it finds `journal` is another file than the one
it reads (a rotation), it finishes that one (it can no longer grow) and goes on with the files
that came after it, so a follower misses nothing unless more than FILES rotations happen
between two of its reads.
"""

import fcntl
import json
import os
import re
import time

CURRENT = "journal"
FILE_BYTES = 8 << 20      # a file is rotated once it holds this much (about 25,000 events)
FILES = 4                 # the current file and this many minus one older ones
FOLLOW_POLL = 0.05        # seconds between looks at the current file when it has nothing new
_ROTATED = re.compile(r"^journal\.(\d+)$")


def directory(root: str) -> str:
    return os.path.join(root, "events")


# -- writing ------------------------------------------------------------------------------

def append(root: str, message: dict) -> dict:
    """Stamp `message` (its `time` and `timeNano`) and append it. Raises OSError."""
    events_dir = directory(root)
    lock_path = os.path.join(events_dir, "lock")
    try:
        lock = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except FileNotFoundError:
        os.makedirs(events_dir, mode=0o700, exist_ok=True)
        lock = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = os.path.join(events_dir, CURRENT)
        journal = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            size = os.fstat(journal).st_size
            if size >= FILE_BYTES:
                os.close(journal)
                journal = -1
                _rotate(events_dir)
                journal = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                                  0o600)
                size = 0
            now = time.time_ns()
            message["time"], message["timeNano"] = now // 1_000_000_000, now
            line = (json.dumps(message, separators=(",", ":")) + "\n").encode()
            try:
                if os.write(journal, line) != len(line):
                    raise OSError(28, "No space left on device")
            except OSError:
                try:
                    os.ftruncate(journal, size)
                except OSError:
                    pass
                raise
        finally:
            if journal >= 0:
                os.close(journal)
    finally:
        os.close(lock)
    return message


def _rotate(events_dir: str) -> None:
    """journal.N-1 -> journal.N ... journal -> journal.1; what passes FILES - 1 is dropped."""
    for number in range(FILES - 1, 0, -1):
        source = CURRENT if number == 1 else f"{CURRENT}.{number - 1}"
        try:
            os.rename(os.path.join(events_dir, source),
                      os.path.join(events_dir, f"{CURRENT}.{number}"))
        except FileNotFoundError:
            pass
    for name in os.listdir(events_dir):
        match = _ROTATED.match(name)
        if match and int(match.group(1)) >= FILES:
            try:
                os.unlink(os.path.join(events_dir, name))
            except FileNotFoundError:
                pass


# -- reading ------------------------------------------------------------------------------

class _Open:
    """One journal file being read: its inode tells it apart from a later file of the same
    name."""

    __slots__ = ("file", "inode")

    def __init__(self, file):
        self.file = file
        self.inode = os.fstat(file.fileno()).st_ino


def _open_all(root: str) -> tuple[list[_Open], int]:
    """The journal's files, oldest first, and the size of the current one, as they are at
    one instant (under the shared lock, so no rotation or append happens midway)."""
    events_dir = directory(root)
    try:
        lock = os.open(os.path.join(events_dir, "lock"), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return [], 0
    try:
        fcntl.flock(lock, fcntl.LOCK_SH)
        numbers = []
        for name in os.listdir(events_dir):
            match = _ROTATED.match(name)
            if match:
                numbers.append(int(match.group(1)))
        names = [f"{CURRENT}.{number}" for number in sorted(numbers, reverse=True)]
        opened = []
        for name in names + [CURRENT]:
            try:
                opened.append(_Open(open(os.path.join(events_dir, name), "rb")))
            except FileNotFoundError:
                continue
        size = os.fstat(opened[-1].file.fileno()).st_size if opened else 0
        return opened, size
    finally:
        os.close(lock)


def _last_time(handle) -> int | None:
    """The timeNano of a file's last complete line (None when it has none)."""
    size = os.fstat(handle.fileno()).st_size
    start = max(0, size - (64 << 10))
    handle.seek(start)
    lines = handle.read().split(b"\n")
    handle.seek(0)
    for line in reversed(lines[:-1]):
        try:
            return int(json.loads(line)["timeNano"])
        except (ValueError, KeyError, TypeError):
            continue
    return None


def _newest_inode(root: str) -> int | None:
    try:
        return os.stat(os.path.join(directory(root), CURRENT)).st_ino
    except FileNotFoundError:
        return None


def read(root: str, since: int | None = None, until: int | None = None, follow: bool = False,
         stop=None):
    """An iterator of the journal's events (dicts) in order: from `since` (nanoseconds; None: only
    those written from now on when following, everything otherwise) to `until` (nanoseconds,
    inclusive). With `follow`, keep waiting for new ones until `until` has passed or `stop()`
    is true (checked every FOLLOW_POLL seconds while nothing comes)."""
    queue, size = _open_all(root)
    if follow and since is None:
        # Only what comes from now on: the end of the current file, seen under the lock.
        for handle in queue[:-1]:
            handle.file.close()
        queue = queue[-1:]
        if queue:
            queue[0].file.seek(size)
    elif since is not None:
        # Whole older files that end before `since` are skipped unread.
        while len(queue) > 1:
            last = _last_time(queue[0].file)
            if last is None or last >= since:
                break
            queue.pop(0).file.close()
    # The starting point is taken now, not at the first next(): nothing written between this
    # call and the caller's first read is missed.
    return _events(root, queue, since, until, follow, stop)


def _events(root: str, queue: list, since: int | None, until: int | None, follow: bool, stop):
    current, pending, finishing = None, b"", False
    try:
        while True:
            if current is None:
                if not queue:
                    if not follow or _stopped(until, stop):
                        return
                    time.sleep(FOLLOW_POLL)
                    queue, _ = _open_all(root)
                    continue
                current, pending = queue.pop(0), b""
            data = current.file.read(1 << 20)
            if data:
                lines = (pending + data).split(b"\n")
                pending = lines.pop()
                for line in lines:
                    try:
                        event = json.loads(line)
                        stamp = int(event["timeNano"])
                    except (ValueError, KeyError, TypeError):
                        continue            # not an event: skip it rather than stop
                    if since is not None and stamp < since:
                        continue
                    if until is not None and stamp > until:
                        return
                    yield event
                continue
            if queue:                       # an older file, read to its end: the next one
                current.file.close()
                current = None
                continue
            if not follow:
                return
            if finishing:
                # Read to the end after the rotation: then the files that came after it.
                opened, _ = _open_all(root)
                queue = _after(opened, current.inode)
                current.file.close()
                current, finishing = None, False
                continue
            newest = _newest_inode(root)
            if newest is not None and newest != current.inode:
                # Rotated: nobody writes to this file any more, but something may have been
                # added since our last read: one more read to its end.
                finishing = True
                continue
            if _stopped(until, stop):
                return
            time.sleep(FOLLOW_POLL)
    finally:
        for handle in ([current] if current else []) + queue:
            handle.file.close()


def _after(opened: list[_Open], inode: int) -> list[_Open]:
    """The files of `opened` that came after the one with `inode` (all of them when it has
    been rotated away entirely); the others are closed."""
    inodes = [handle.inode for handle in opened]
    if inode not in inodes:
        return opened
    position = inodes.index(inode)
    for handle in opened[:position + 1]:
        handle.file.close()
    return opened[position + 1:]


def _stopped(until: int | None, stop) -> bool:
    if until is not None and time.time_ns() > until:
        return True
    return bool(stop is not None and stop())
