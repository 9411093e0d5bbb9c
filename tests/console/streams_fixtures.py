"""What the socket tests share: logging a persona in over a websocket, a fake host bridge at
the Channels boundary (the tests read what the consumer sends to the channel of the host's
agent and answer as the bridge would), and reading what was sent to a channel. The agent's
socket is tested in tests/console/streams/test_agent_socket.py, the real bridge end to end in
tests/e2e/."""
import asyncio

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from console.asgi import application
from console.streams import groups


@database_sync_to_async
def make_world():
    from console.core.testing import build_world

    return build_world()


@database_sync_to_async
def session_cookie(user, **extra):
    """A login session of `user` (with `extra` in it, a passed second factor say)."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.update(extra)
    session.create()
    return session.session_key


async def open_socket(path, user=None, origin=b"http://localhost", key=None, headers=()):
    all_headers = list(headers)
    if origin is not None:
        all_headers.append((b"origin", origin))
    if user is not None:
        key = key or await session_cookie(user)
        all_headers.append((b"cookie", f"sessionid={key}".encode()))
    communicator = WebsocketCommunicator(application, path, headers=all_headers)
    connected, code = await communicator.connect(timeout=3)
    return communicator, connected, code


class FakeBridge:
    """The host's agent, as the web side sees it: the channel its socket reads, read by the
    test."""

    def __init__(self, host="h1"):
        self.layer = get_channel_layer()
        self.channel = groups.agent_channel(host)

    async def next(self, kind=None, timeout=3.0, skip=()):
        """The next message the web side sent to the bridge (skipping pings and `skip`)."""
        while True:
            message = await asyncio.wait_for(self.layer.receive(self.channel), timeout)
            if message["type"] == "bridge.ping" or message["type"] in skip:
                continue
            if kind is not None:
                assert message["type"] == kind, message
            return message

    async def nothing(self, timeout=0.3) -> bool:
        try:
            message = await self.next(timeout=timeout)
        except asyncio.TimeoutError:
            return True
        raise AssertionError(f"the bridge got {message}")

    async def answer(self, request: dict, kind: str, **fields):
        await self.layer.send(request["reply_to"], {"type": kind,
                                                   "session": request.get("session"),
                                                   "stream": request.get("stream"), **fields})

    async def opened(self, request, replay=b"", start=0, command=("/bin/sh",), user=""):
        await self.answer(request, "terminal.opened", mode=request["mode"],
                          command=list(command), user=user, resumed=bool(request["resume"]),
                          replay=replay, start=start, end=start + len(replay))


def drain(layer, channel) -> list[dict]:
    """Every message waiting on `channel` (sync code's view of the channel layer)."""
    async def take():
        found = []
        while True:
            try:
                found.append(await asyncio.wait_for(layer.receive(channel), 0.05))
            except asyncio.TimeoutError:
                return found
    return async_to_sync(take)()
