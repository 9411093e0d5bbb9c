"""Log follows on a host's stream bridge: a container's log, from a position, as batches of
lines in offset order, for as long as the web side asks and acknowledges.

The log is conmon's k8s-file (`runtime/container/logs.py` has the format): records
`<time> <stdout|stderr> <P|F> <bytes>`, where `P` pieces are joined until the `F` that ends
the line. A line's position (`offset`, the gap-free sequence the pages and `moor logs` use)
is the logical offset of its first record, across the files the engine rotates
(`runtime/container/logfiles.py`). The file itself is the buffer: a follow reads it only
as fast as its reader acknowledges, so a slow browser never holds lines in memory here and
never slows the container.

Lines go out in offset order. A line of one stream may still be unfinished (a `P` record
waiting for its `F`) while the other stream's lines complete after it; those wait behind it,
for at most HOLD_SECONDS, after which the unfinished piece goes out as a line of its own
(`partial`) and its rest becomes the next line. The resume position (`cursor`) is one byte
offset per stream, "<stdout>:<stderr>": each stream's records before its offset belong to
lines already sent. Resuming from a cursor is exact; resuming after a line offset (`after`,
as `logs.read(after_offset=...)`) is exact unless the two streams interleaved unfinished
lines at that point.
"""
import asyncio
import collections
import logging
import os
import re
import time

from console.streams import bridge_protocol as protocol
from runtime.container import logfiles as engine_logfiles, logs as engine_logs
from runtime.container.state import Container

log = logging.getLogger(__name__)

STREAMS = ("stdout", "stderr")
SHORT = {"stdout": "out", "stderr": "err"}
READ_CHUNK = 1 << 20
HOLD_SECONDS = 2.0
POLL_SECONDS = 0.05
CURSOR = re.compile(r"^(\d{1,18}):(\d{1,18})$")


class LogReader:
    """Reads a k8s-file log incrementally from `start`; `skip` says, per stream, below which
    offset its records were already delivered."""

    def __init__(self, path: str, start: int = 0, skip: dict | None = None):
        self.path = path
        self.position = start               # the next byte to read (a logical offset)
        self.buffer = b""                   # read, not yet a whole record
        self.skip = dict(skip or {})
        self.pending = {}                   # stream -> [first offset, pieces, monotonic since]
        self.ready = {name: collections.deque() for name in STREAMS}
        self.stream = engine_logfiles.LogStream(path)   # across the files rotation keeps

    @classmethod
    def resuming(cls, path: str, *, cursor: str | None = None, after: int | None = None,
                 tail: int | None = None) -> "LogReader":
        if cursor:
            match = CURSOR.match(cursor)
            if not match:
                raise ValueError("a cursor is two offsets, <stdout>:<stderr>")
            out, err = int(match[1]), int(match[2])
            return cls(path, min(out, err), {"stdout": out, "stderr": err})
        if after is not None:
            return cls(path, after, {"stdout": after + 1, "stderr": after + 1})
        if tail is not None:
            return cls(path, engine_logs.tail_offset(path, tail))
        return cls(path)

    def close(self) -> None:
        self.stream.close()

    @property
    def parsed(self) -> int:
        return self.position - len(self.buffer)

    def read(self, limit: int = READ_CHUNK) -> int:
        """Read and parse up to `limit` more bytes; how many were read."""
        at, data = self.stream.read(self.position, limit)
        if at != self.position:             # rotated away meanwhile: on from the oldest kept
            self.buffer, self.position = b"", at
        if not data:
            return 0
        start = self.parsed
        self.position += len(data)
        text = self.buffer + data
        lines = text.split(b"\n")
        self.buffer = lines.pop()
        offset = start
        for line in lines:
            self._record(line, offset)
            offset += len(line) + 1
        return len(data)

    def _record(self, line: bytes, offset: int) -> None:
        parts = line.split(b" ", 3)
        if len(parts) < 3:
            return
        stream = "stderr" if parts[1] == b"stderr" else "stdout"
        if offset < self.skip.get(stream, 0):
            return
        content = parts[3] if len(parts) > 3 else b""
        waiting = self.pending.get(stream)
        if parts[2] == b"P":
            if waiting is None:
                self.pending[stream] = [offset, [content], time.monotonic(), parts[0]]
            else:
                waiting[1].append(content)
            return
        if waiting is not None:
            del self.pending[stream]
            self.ready[stream].append((waiting[0], stream, waiting[3],
                                       b"".join(waiting[1]) + content, False))
        else:
            self.ready[stream].append((offset, stream, parts[0], content, False))

    def release_stale(self, final: bool = False) -> None:
        """Unfinished lines that held the others back too long (or, `final`, all of them:
        the program has ended) go out as they are."""
        now = time.monotonic()
        for stream, (first, pieces, since, stamp) in list(self.pending.items()):
            if final or now - since >= HOLD_SECONDS:
                del self.pending[stream]
                self.ready[stream].append((first, stream, stamp, b"".join(pieces), True))

    def take(self, max_lines: int, max_bytes: int) -> list:
        """Finished lines in offset order, up to the first unfinished one."""
        hold = min((waiting[0] for waiting in self.pending.values()), default=None)
        out, err = self.ready["stdout"], self.ready["stderr"]
        taken, size = [], 0
        while len(taken) < max_lines and size < max_bytes and (out or err):
            queue = out if not err or (out and out[0][0] < err[0][0]) else err
            if hold is not None and queue[0][0] > hold:
                break
            offset, stream, stamp, data, partial = queue.popleft()
            text = data.decode("utf-8", "replace")
            taken.append([offset, SHORT[stream], engine_logs.utc_time(stamp), text, partial])
            size += len(data) + 48
        return taken

    def backlog(self) -> int:
        return len(self.ready["stdout"]) + len(self.ready["stderr"])

    def cursor(self) -> str:
        """Where to resume so that exactly the lines not yet taken come again."""
        positions = []
        for stream in STREAMS:
            candidates = [self.ready[stream][0][0]] if self.ready[stream] else []
            if stream in self.pending:
                candidates.append(self.pending[stream][0])
            positions.append(min(candidates) if candidates else self.parsed)
        return f"{positions[0]}:{positions[1]}"


def program_finished(container_dir: str) -> bool:
    container = Container.load(container_dir)
    return container is None or engine_logs.program_finished(container)


class LogFollow:
    """One stream of batches to one web-side channel."""

    def __init__(self, bridge, message: dict):
        self.bridge = bridge
        self.id = message["stream"]
        self.container_id = message["container"]
        self.reply_to = message["reply_to"]
        self.follow = bool(message.get("follow", True))
        self.start = {key: message.get(key) for key in ("cursor", "after", "tail")}
        self.sent = 0
        self.acked = 0
        self.acks = asyncio.Event()
        self.stopped = False
        self.last_heard = time.monotonic()
        self.task = None

    def acknowledge(self, batch: int) -> None:
        self.last_heard = time.monotonic()
        if batch > self.acked:
            self.acked = batch
            self.acks.set()

    def stop(self) -> None:
        self.stopped = True
        self.acks.set()
        if self.task is not None:
            self.task.cancel()

    async def send(self, message: dict) -> None:
        await self.bridge.send(self.reply_to, dict(message, stream=self.id))

    async def run(self) -> None:
        reader = None
        try:
            directory = self.bridge.engine.paths.container(self.container_id)
            if not os.path.isdir(directory):
                await self.send({"type": "logs.error", "message": "No such container on "
                                 f"host {self.bridge.host}."})
                return
            path = os.path.join(directory, "ctr.log")
            try:
                reader = LogReader.resuming(path, **self.start)
            except ValueError as error:
                await self.send({"type": "logs.error", "message": str(error)})
                return
            await self.pump(reader, directory)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("log follow %s of %s failed", self.id, self.container_id[:12])
            await self.send({"type": "logs.error", "message": "reading the log failed"})
        finally:
            if reader is not None:
                reader.close()
            self.bridge.follows.pop(self.id, None)

    async def pump(self, reader: LogReader, directory: str) -> None:
        ending = False
        while not self.stopped:
            while self.sent - self.acked >= protocol.LOGS_WINDOW and not self.stopped:
                self.acks.clear()
                await self.acks.wait()
            if reader.backlog() < protocol.LOGS_BATCH_LINES:
                got = await asyncio.to_thread(reader.read)
            else:
                got = 0
            reader.release_stale(final=ending)
            lines = reader.take(protocol.LOGS_BATCH_LINES, protocol.LOGS_BATCH_BYTES)
            if lines:
                self.sent += 1
                await self.send({"type": "logs.batch", "batch": self.sent, "lines": lines,
                                 "cursor": reader.cursor()})
                continue
            if got:
                continue
            if ending or not self.follow:
                if not ending:      # a one-off read: what is there, unfinished lines too
                    ending = True
                    continue
                await self.send({"type": "logs.end", "cursor": reader.cursor(),
                                 "batch": self.sent})
                return
            if await asyncio.to_thread(program_finished, directory):
                ending = True        # one more read: the end may have come after ours
                continue
            await asyncio.sleep(POLL_SECONDS)
