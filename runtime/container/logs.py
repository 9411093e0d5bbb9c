"""Reading a container's log: conmon's k8s-file, `<time> <stream> <P|F> <bytes>` per line.

A `P` record is a piece of a longer line (conmon reads 8 KiB at a time, or the program wrote
no newline yet); pieces are joined per stream until the `F` that ends the line. Every logical
line comes out as a LogRecord whose `offset` is the logical byte position where it starts in
the log — across the files rotation keeps (see `logfiles`): a gap-free sequence a reader can
resume from (`after_offset`).
"""

import datetime
import os
import re
import time
from dataclasses import dataclass

from runtime.container import logfiles
from runtime.errors import InvalidArgument

CHUNK = 1 << 20
FOLLOW_POLL = 0.05


@dataclass(slots=True)
class LogRecord:
    stream: str      # "stdout" | "stderr"
    time: str        # RFC 3339, nanoseconds, UTC ("...Z")
    data: bytes      # the line, with its "\n" unless it is an unfinished last line
    offset: int      # byte position of the line's first record in the log file


def utc_time(stamp: bytes) -> str:
    text = stamp.decode("ascii", "replace")
    if text.endswith("+00:00"):
        return text[:-6] + "Z"
    if text.endswith("Z"):
        return text
    try:
        base, fraction = text[:19], text[19:]
        digits, offset = fraction[1:10] if fraction.startswith(".") else "", fraction[-6:]
        moment = datetime.datetime.fromisoformat(base + offset)
        utc = moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{utc}.{digits or '0' * 9}Z"
    except ValueError:
        return text


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)$")


def parse_since(text: str | None) -> str | None:
    """`--since`: an RFC 3339 time, a unix timestamp, or a duration like `10m` before now.
    Returns a comparable UTC "YYYY-mm-ddTHH:MM:SS.nnnnnnnnnZ" string."""
    if not text:
        return None
    now = time.time()
    match = _DURATION.match(text)
    if match:
        scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[match[2]]
        return _format(now - float(match[1]) * scale)
    try:
        return _format(float(text))
    except ValueError:
        pass
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.timezone.utc)
        return _format(moment.timestamp())
    except ValueError:
        raise InvalidArgument(f"invalid value for --since: {text!r} (a time like "
                              "2026-01-02T15:04:05Z, a unix timestamp, or a duration like "
                              "10m)") from None


def _format(seconds: float) -> str:
    whole = int(seconds)
    nanos = int(round((seconds - whole) * 1e9))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{nanos:09d}Z"


def tail_offset(path: str, count: int) -> int:
    """Offset from which the log (ctr.log at `path` and its rotated files) holds its last
    `count` complete lines (F records)."""
    found = logfiles.segments(path)
    if not found:
        return 0
    if count <= 0:
        return found[-1].base + found[-1].size
    seen = 0
    for segment in reversed(found):
        try:
            with open(segment.path, "rb") as f:
                offset = _tail_in_file(f, count - seen)
        except FileNotFoundError:       # deleted as the oldest meanwhile: nothing older
            return segment.base + segment.size
        if isinstance(offset, int):
            return segment.base + offset
        seen += offset[0]
    return found[0].base


def _tail_in_file(f, count: int):
    """Offset in the file from which it holds its last `count` F records, or (how many it
    holds,) when it holds fewer. Files hold whole records: conmon rotates between them."""
    f.seek(0, os.SEEK_END)
    position = f.tell()
    found = 0
    block = 1 << 16
    remainder = b""
    while position > 0:
        step = min(block, position)
        position -= step
        f.seek(position)
        data = f.read(step) + remainder
        lines = data.split(b"\n")
        remainder = lines[0]
        # Walk complete lines from the end; count ends of logical lines (F records).
        consumed = len(data)
        for line in reversed(lines[1:]):
            consumed -= len(line) + 1
            if not line:
                continue
            parts = line.split(b" ", 3)
            if len(parts) >= 3 and parts[2] == b"F":
                found += 1
                if found > count:
                    return position + consumed + len(line) + 1
    parts = remainder.split(b" ", 3)
    if len(parts) >= 3 and parts[2] == b"F":
        found += 1
        if found > count:
            return len(remainder) + 1
    return (found,)


def read(container, follow: bool = False, tail: int | None = None, since: str | None = None,
         after_offset: int | None = None):
    """Yield LogRecords of the container's log (across its rotated files); with `follow`,
    keep yielding new lines, across rotations, until the container has exited and everything
    it wrote was read."""
    path = container.path("ctr.log")
    since_key = parse_since(since) if since else None
    start = 0
    if after_offset is not None:
        start = after_offset
    elif tail is not None and tail >= 0:
        start = tail_offset(path, tail)
    partial: dict[str, tuple[int, list[bytes]]] = {}
    position = start
    pending = b""
    final_pass = False
    with logfiles.LogStream(path) as stream:
        while True:
            at, data = stream.read(position, CHUNK)
            if at != position:
                # The bytes from `position` on were rotated away: go on from the oldest kept.
                pending, partial, position = b"", {}, at
            if data:
                buffer_start = position - len(pending)
                buffer = pending + data
                lines = buffer.split(b"\n")
                pending = lines.pop()
                position += len(data)
                offset = buffer_start
                for line in lines:
                    record_offset = offset
                    offset += len(line) + 1
                    parts = line.split(b" ", 3)
                    if len(parts) < 3:
                        continue
                    stamp, stream_name, tag = parts[0], parts[1], parts[2]
                    content = parts[3] if len(parts) > 3 else b""
                    stream_name = "stderr" if stream_name == b"stderr" else "stdout"
                    if tag == b"P":
                        first, pieces = partial.get(stream_name, (record_offset, []))
                        pieces.append(content)
                        partial[stream_name] = (first, pieces)
                        continue
                    if stream_name in partial:
                        first, pieces = partial.pop(stream_name)
                        pieces.append(content)
                        content = b"".join(pieces)
                        record_offset = first
                    moment = utc_time(stamp)
                    if since_key and moment < since_key:
                        continue
                    if after_offset is not None and record_offset <= after_offset:
                        continue
                    yield LogRecord(stream_name, moment, content + b"\n", record_offset)
                continue
            if follow and not final_pass and program_finished(container):
                final_pass = True  # read once more: the end may have come after our read
                continue
            if not follow or final_pass:
                # An unfinished last line of a program that has ended.
                for stream_name, (first, pieces) in sorted(partial.items(),
                                                           key=lambda item: item[1][0]):
                    yield LogRecord(stream_name, _format(time.time()), b"".join(pieces),
                                    first)
                return
            time.sleep(FOLLOW_POLL)


def program_finished(container) -> bool:
    """True once the program has ended and conmon has flushed its output (conmon drains the
    pipes before it writes the exit file)."""
    from runtime import atomic
    state = atomic.read_json(container.path("state.json")) or {}
    if state.get("Status") not in ("running", "paused", "restarting"):
        return True
    return os.path.exists(container.path("exit"))
