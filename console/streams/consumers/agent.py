"""`/ws/agent/`: the one websocket of a host's agent (its stream bridge, `console/agent/
bridge.py`), which carries the terminals and log follows of the host's containers, multiplexed.
Only the web processes use the Channels layer; a host reaches it only through this consumer.

Authenticated by the host's key (`Authorization: Host <key>`), refused before `accept()`
otherwise (audited). Once accepted, the consumer reads `groups.agent_channel(host)`, where the
web side's bridge clients (`bridge_client`) send their `bridge.*` messages, and closes any
other socket of the same host's agent (4409: one bridge per host; `groups.agent_sockets`).

Frames are binary: one message each, packed with msgpack (bytes stay bytes), the bridge
protocol's (`bridge_protocol`).

    console → agent   {"type": "agent.hello", "host", "resume_seconds"}    first, once
                      the web side's `bridge.*` messages, with `reply_to` replaced by a peer
                      (`peers`: the channel, bound to this host by an HMAC)
    agent → console   the bridge's answers (`bridge_protocol.FROM_BRIDGE`) with `to`, a peer this
                      host was given: delivered to that channel without `to`

Anything else from the agent (a frame that is no message, another type, a peer not made for
this host: another host's socket, a user's socket it does not serve) is refused, audited, and
the socket closed (4403). Close codes: 4401 the key is unknown or was revoked (the agent
stops), 4409 another socket of this host's agent took over (the agent stops).
"""
import asyncio
import logging

import msgpack
from channels.db import database_sync_to_async
from channels.exceptions import ChannelFull
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from console import audit
from console.streams import groups, peers
from console.streams.bridge_protocol import FROM_BRIDGE

REVOKED, REFUSED, SUPERSEDED = 4401, 4403, 4409
RECHECK_SECONDS = 30.0
RETRY_SECONDS = 1.0
PATH = "/ws/agent/"

log = logging.getLogger(__name__)


def key_in(scope) -> str:
    from console.hostapi.authentication import key_from_header

    header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
    return (key_from_header(header) or "") if header else ""


@database_sync_to_async
def host_key_of(key: str):
    from console.hostapi.authentication import host_key

    return host_key(key)


@database_sync_to_async
def key_stands(key_id: int) -> bool:
    from console.hosts.models import HostKey

    return HostKey.objects.filter(pk=key_id).exists()


@database_sync_to_async
def record_refusal(host, problem: str, kind: str = "") -> None:
    from console.hostapi.refusals import NOBODY
    from console.hosts.keys import HostActor

    audit.record("hostapi.stream", actor=HostActor(host) if host is not None else NOBODY,
                 host=host, result="denied", error=problem,
                 params={"path": PATH, "type": str(kind)[:64]})


def pack(message: dict) -> bytes:
    return msgpack.packb(message, use_bin_type=True)


def unpack(frame) -> dict | None:
    try:
        message = msgpack.unpackb(frame, raw=False) if frame is not None else None
    except Exception:
        return None
    return message if isinstance(message, dict) else None


class AgentConsumer(AsyncWebsocketConsumer):
    tasks = ()

    async def __call__(self, scope, receive, send):
        """The tasks end with the consumer, however it ends: one that crashed (Redis went away
        under its own channel) is never told `disconnect`, and a reader of the host's channel
        left behind would take the messages meant for the agent's next socket."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            for task in self.tasks:
                task.cancel()

    async def connect(self):
        self.host, self.group, self.tasks = None, None, []
        key = await host_key_of(key_in(self.scope))
        if key is None:
            await record_refusal(None, "an unknown or revoked host key")
            await self.close(code=REVOKED)
            return
        self.host, self.key_id = key.host, key.pk
        self.group = groups.agent_sockets(self.host.name)
        await self.channel_layer.group_send(self.group, {"type": "agent.superseded",
                                                         "by": self.channel_name})
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send(bytes_data=pack({
            "type": "agent.hello", "host": self.host.name,
            "resume_seconds": settings.TERMINAL_RESUME_SECONDS}))
        self.tasks = [asyncio.ensure_future(self.read_inbox()),
                      asyncio.ensure_future(self.keep_checking())]

    async def keep_checking(self) -> None:
        """The key may be revoked while no message says so (Redis was away), and Redis
        forgets the group after a restart: check the one, join the other again."""
        while True:
            await asyncio.sleep(RECHECK_SECONDS)
            if not await key_stands(self.key_id):
                await self.close(code=REVOKED)
                return
            await self.channel_layer.group_add(self.group, self.channel_name)

    # -- console → agent ------------------------------------------------------------------

    async def read_inbox(self) -> None:
        """What the web side sends the host's agent, from the host's channel."""
        inbox = groups.agent_channel(self.host.name)
        while True:
            try:
                message = await self.channel_layer.receive(inbox)
            except asyncio.CancelledError:
                raise
            except Exception as error:     # Redis away: try again shortly, without spinning
                log.warning("receiving for host %s failed: %s", self.host.name, error)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            kind = str(message.get("type", ""))
            if kind == "agent.revoked":
                await self.close(code=REVOKED)
                return
            if kind.partition(".")[0] == "bridge":
                await self.forward(message)

    async def forward(self, message: dict) -> None:
        out = {name: value for name, value in message.items() if not name.startswith("__")}
        if "reply_to" in out:
            out["reply_to"] = peers.peer(self.host.name, out["reply_to"])
        await self.send(bytes_data=pack(out))

    # -- agent → console ------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        message = unpack(bytes_data)
        kind = message.get("type") if message is not None else None
        channel = peers.channel_of(self.host.name, message.get("to")) if message else None
        if message is None:
            problem = "a frame that is no message of the bridge protocol"
        elif kind not in FROM_BRIDGE:
            problem = f"a message of a type the bridge does not send ({str(kind)[:64]!r})"
        elif channel is None:
            problem = "a message to a socket that did not ask this host"
        else:
            del message["to"]
            try:
                await self.channel_layer.send(channel, message)
            except ChannelFull:
                pass        # the socket is not reading: it resumes, or it is gone
            return
        await record_refusal(self.host, problem, kind or "")
        await self.close(code=REFUSED)

    # -- the socket itself ------------------------------------------------------------------

    async def agent_superseded(self, event):
        if event.get("by") != self.channel_name:
            await self.close(code=SUPERSEDED)

    async def disconnect(self, code):
        for task in self.tasks:
            task.cancel()
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
