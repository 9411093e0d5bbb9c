"""The stream bridge's one websocket to the console, `/ws/agent/` (the console's side is
`console/streams/consumers/agent.py`), with the host's key (`Authorization: Host <key>`) and,
for wss://, the host's CA.

Every frame is binary, one message of the bridge protocol (`console/streams/
bridge_protocol.py`) packed with msgpack (bytes stay bytes). The console sends `bridge.*`
messages, each with `reply_to`: an opaque peer, the web-side socket that asked. The bridge
answers with the message and `to`, the peer it answers; the console delivers it only to a peer
it handed to this host. So the host never names a channel of the console: it can answer only
the sockets that asked it.

When the connection drops, the bridge carries on (terminals run under conmon, their output is
kept for a resume) and connects again, backing off; the console's sockets then resume their
sessions and log follows as after a restart of the bridge. When the console refuses the key
(revoked: closed with 4401, or the handshake refused and the host API saying so), or another
bridge of this host connects (4409), the bridge stops.
"""
import asyncio
import logging

import msgpack
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 30.0
MAX_FRAME = 4 << 20
REVOKED, SUPERSEDED = 4401, 4409


class LinkDown(Exception):
    """No connection to the console right now."""


class LinkEnded(Exception):
    """The console will not have this bridge: its key was revoked, or another took over."""


def pack(message: dict) -> bytes:
    return msgpack.packb(message, use_bin_type=True)


def unpack(frame) -> dict | None:
    if not isinstance(frame, (bytes, bytearray)):
        return None
    try:
        message = msgpack.unpackb(frame, raw=False)
    except Exception:
        return None
    return message if isinstance(message, dict) else None


class AgentLink:
    def __init__(self, config, key_is_valid):
        """`key_is_valid()`: asks the host API whether the key still stands (a refused
        handshake does not say why)."""
        self.config = config
        self.key_is_valid = key_is_valid
        self.connection = None
        self.sending = asyncio.Lock()

    async def send(self, message: dict) -> None:
        connection = self.connection
        if connection is None:
            raise LinkDown()
        async with self.sending:
            await connection.send(pack(message))

    def open(self):
        ssl = self.config.ssl_context() if self.config.console.startswith("https:") else None
        return connect(self.config.websocket_url(), ssl=ssl, max_size=MAX_FRAME,
                       additional_headers={"Authorization": f"Host {self.config.key}"},
                       open_timeout=15, ping_interval=20, ping_timeout=20)

    async def run(self, bridge, stop: asyncio.Event) -> None:
        """Connect, serve `bridge`, connect again when the connection drops, until `stop` is
        set; LinkEnded when the console will not have this bridge."""
        delay = RETRY_SECONDS
        while not stop.is_set():
            try:
                async with self.open() as connection:
                    self.connection = connection
                    delay = RETRY_SECONDS
                    log.info("connected to %s", self.config.websocket_url())
                    await self.receive(connection, bridge, stop)
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
                if code == REVOKED:
                    raise LinkEnded("the console revoked the host's key") from None
                if code == SUPERSEDED:
                    raise LinkEnded("another stream bridge of this host connected") from None
                log.warning("the connection to the console closed (%s)", code)
            except InvalidStatus as refused:
                if not await asyncio.to_thread(self.key_is_valid):
                    raise LinkEnded("the console refuses the host's key") from None
                log.warning("the console refused the connection (%s)",
                            refused.response.status_code)
            except (OSError, InvalidHandshake, asyncio.TimeoutError) as error:
                log.warning("cannot reach the console: %s", error)
            finally:
                if self.connection is not None:
                    self.connection = None
                    bridge.link_down()
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except asyncio.TimeoutError:
                pass
            delay = min(delay * 2, MAX_RETRY_SECONDS)

    async def receive(self, connection, bridge, stop: asyncio.Event) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while True:
                receiving = asyncio.ensure_future(connection.recv())
                done, _ = await asyncio.wait({receiving, stopping},
                                             return_when=asyncio.FIRST_COMPLETED)
                if receiving not in done:
                    receiving.cancel()
                    await connection.close()
                    return
                message = unpack(receiving.result())
                if message is None:
                    log.warning("a frame that is no message: ignored")
                    continue
                bridge.receive(message)
        finally:
            stopping.cancel()
