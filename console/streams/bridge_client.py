"""The web side of the bridge protocol (`bridge_protocol` has the messages), written once: a
log stream (`LogStream`), used by the logs socket and by the log as text over HTTP, and a
terminal session (`TerminalClient`), used by the terminal socket. Each sends to the bridge of
the container's host (through the channel its agent's websocket reads, `groups.agent_channel`),
names the container by its engine ID, and is answered on `reply_to`, the web-side channel of
the socket (or of the HTTP response). Nothing else builds a message for a bridge.

What comes back is the bridge's messages, whose `type`s the consumers handle (with "." as
"_"); `ours(message)` says whether one is of this stream or session, and not of one that came
before it on the same channel.
"""
import asyncio
import secrets

from console.streams import bridge_protocol as protocol, groups


class BridgeClient:
    """What every client of a host's bridge does: send it messages, answered on `reply_to`."""

    def __init__(self, layer, container, reply_to: str):
        self.layer = layer
        self.container_id = container.engine_id
        self.bridge = groups.agent_channel(container.host.name)
        self.reply_to = reply_to

    async def send(self, kind: str, **fields) -> None:
        await self.layer.send(self.bridge, {"type": kind, **fields})


class LogStream(BridgeClient):
    """A container's log, from where a page or client asked, in batches each acknowledged,
    for as long as it is followed. One stream at a time: starting again stops the last."""

    id = None

    def ours(self, message: dict) -> bool:
        return self.id is not None and message.get("stream") == self.id

    async def start(self, start: dict, *, follow: bool) -> None:
        """Stream from `start` (`bridge_protocol.logs_start`'s: a cursor, an offset or a
        tail); with `follow`, on as new lines are written."""
        await self.stop()
        self.id = secrets.token_hex(8)
        await self.send("bridge.logs.start", **start, stream=self.id,
                        container=self.container_id, follow=follow, reply_to=self.reply_to)

    async def acknowledge(self, batch: int) -> None:
        """Batches up to `batch` are handled: the bridge may send more."""
        if self.id is not None:
            await self.send("bridge.logs.ack", stream=self.id, batch=batch)

    async def ping(self) -> None:
        """The reader is still there (the bridge drops a stream not heard from)."""
        if self.id is not None:
            await self.send("bridge.ping", streams=[self.id], reply_to=self.reply_to)

    async def stop(self) -> None:
        if self.id is not None:
            await self.send("bridge.logs.stop", stream=self.id)
            self.id = None

    async def first_answer(self, timeout: float) -> dict:
        """The bridge's first answer to `start`, from a channel of the stream's own (the
        HTTP response's); TimeoutError, the stream stopped, when none came in time."""
        try:
            return await asyncio.wait_for(self.layer.receive(self.reply_to), timeout)
        except asyncio.TimeoutError:
            await self.stop()
            raise


class TerminalClient(BridgeClient):
    """One terminal session on the container's host: opened (or resumed) once, then fed with
    input and told the socket's size, acknowledgements, and how it ends."""

    def __init__(self, layer, container, reply_to: str, session_id: str):
        super().__init__(layer, container, reply_to)
        self.id = session_id

    def ours(self, message: dict) -> bool:
        return message.get("session") == self.id

    async def send(self, kind: str, **fields) -> None:
        await super().send(kind, session=self.id, reply_to=self.reply_to, **fields)

    async def open(self, *, mode: str, command: list, user: str, rows: int, cols: int,
                   resume: bool) -> None:
        await self.send("bridge.terminal.open", mode=mode, container=self.container_id,
                        command=command or None, user=user, rows=rows, cols=cols,
                        resume=resume)

    async def input(self, data: bytes) -> None:
        """What was typed, in pieces the protocol allows."""
        for start in range(0, len(data), protocol.MAX_INPUT):
            await self.send("bridge.terminal.input", data=data[start:start + protocol.MAX_INPUT])

    async def resize(self, cols: int, rows: int) -> None:
        await self.send("bridge.terminal.resize", cols=cols, rows=rows)

    async def acknowledge(self, position: int) -> None:
        """The output up to stream position `position` is processed."""
        await self.send("bridge.terminal.ack", position=position)

    async def ping(self) -> None:
        await self.layer.send(self.bridge, {"type": "bridge.ping", "sessions": [self.id],
                                            "reply_to": self.reply_to})

    async def detach(self) -> None:
        """The socket went away: the session waits to be resumed."""
        await self.send("bridge.terminal.detach")

    async def close(self) -> None:
        """End the session now: hang up its terminal."""
        await self.send("bridge.terminal.close")
