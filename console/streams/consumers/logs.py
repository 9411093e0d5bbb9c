"""`/ws/containers/{id}/logs/`: a container's log, the last lines then new ones as they are
written, served by its host's bridge.

Refused before `accept()` as the terminal is (4401, 4404, 4403 without `logs`: viewers have
it, and so does anyone holding a grant on the container). Closed with 4401 on logout or when the
API token it was opened with is revoked, 4403 when the permission goes.

Every line has a position, `offset`: the byte offset of its first record in the log file (the
sequence `moor logs` and the engine use). Lines come in offset order, so a page that keeps the
last `cursor` it received and resumes from it gets every line once: nothing lost, nothing twice.

Browser → server (text frames, JSON):
    {"type": "follow", "tail": N}        start: the last N lines (null: all), then new ones
    {"type": "resume", "cursor": "..."}  start again exactly after what was received; or
    {"type": "resume", "after": OFFSET}  after the line at that offset
    {"type": "ack", "batch": K}          batches up to K are shown (flow control: at most
                                         LOGS_WINDOW batches are in flight)
    {"type": "pong"}
The query string may start at once instead: `?tail=N`, `?cursor=...` or `?after=N`.

Server → browser:
    {"type": "logs", "batch": K, "lines": [[offset, "out"|"err", time, text, partial], ...],
     "cursor": "..."}                    `partial`: the line was cut (no newline yet); its rest
                                         comes as the next line of that stream
    {"type": "end", "cursor": "..."}     the container's program ended; all was sent
    {"type": "ping"}                     every PING_SECONDS
    {"type": "error", "message": "..."}
"""
import asyncio
import json
import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from console.core import parsers
from console.streams import access, bridge_protocol as protocol
from console.streams.bridge_client import LogStream
from console.streams.consumers.user_groups import UserGroupsMember

RECHECK_SECONDS = 30.0


class LogsConsumer(UserGroupsMember, AsyncWebsocketConsumer):
    async def connect(self):
        self.joined, self.logs, self.tasks = [], None, []
        self.batches = []           # (our batch number, stream, the bridge's batch number)
        self.batch = 0
        self.cursor = None
        if not await self.admit("logs", audit_refusal=False):
            return
        self.logs = LogStream(self.channel_layer, self.container, self.channel_name)
        self.tasks.append(asyncio.ensure_future(self.keep_alive()))
        query = {key: values[0] for key, values in
                 parse_qs(self.scope.get("query_string", b"").decode()).items()}
        if any(key in query for key in ("tail", "cursor", "after")):
            await self.start(query)

    async def start(self, request: dict) -> None:
        try:
            start = protocol.logs_start(request)
        except ValueError as error:
            await self.send_json({"type": "error", "message": str(error)})
            return
        await self.logs.start(start, follow=True)

    async def send_json(self, content) -> None:
        await self.send(text_data=json.dumps(content, ensure_ascii=False))

    async def keep_alive(self) -> None:
        last_check = time.monotonic()
        while True:
            await asyncio.sleep(protocol.PING_SECONDS)
            await self.logs.ping()
            await self.send(text_data='{"type": "ping"}')
            if time.monotonic() - last_check >= RECHECK_SECONDS:
                last_check = time.monotonic()
                await self.recheck()

    # -- from the browser -------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        try:
            message = parsers.frame(text_data)
        except ValueError as error:
            await self.send_json({"type": "error", "message": str(error)})
            return
        kind = message.get("type")
        if kind == "follow":
            await self.start({"tail": message.get("tail")})
        elif kind == "resume":
            await self.start({key: message.get(key) for key in ("cursor", "after")})
        elif kind == "ack" and isinstance(message.get("batch"), int):
            await self.acknowledge(message["batch"])
        elif kind != "pong":
            await self.send_json({"type": "error", "message": f"unknown message {kind!r}"})

    async def acknowledge(self, number: int) -> None:
        """The page's batches up to `number` are shown: the bridge's batches they carried (of
        the current stream) are acknowledged."""
        done = [entry for entry in self.batches if entry[0] <= number]
        self.batches = [entry for entry in self.batches if entry[0] > number]
        ours = [bridge_batch for _, stream, bridge_batch in done if stream == self.logs.id]
        if ours:
            await self.logs.acknowledge(max(ours))

    # -- from the bridge --------------------------------------------------------------------

    async def logs_batch(self, event):
        if not self.logs.ours(event):
            return
        self.batch += 1
        self.batches.append((self.batch, self.logs.id, event["batch"]))
        self.cursor = event["cursor"]
        await self.send_json({"type": "logs", "batch": self.batch, "lines": event["lines"],
                              "cursor": event["cursor"]})

    async def logs_end(self, event):
        if self.logs.ours(event):
            self.logs.id = None
            await self.send_json({"type": "end", "cursor": event["cursor"]})

    async def logs_error(self, event):
        if self.logs.ours(event):
            self.logs.id = None
            await self.send_json({"type": "error", "message": event["message"]})

    async def logs_lost(self, event):
        """The bridge restarted and forgot the stream: follow again from where we are."""
        if self.logs.ours(event) and self.cursor:
            self.logs.id = None
            await self.logs.start({"cursor": self.cursor, "tail": None, "after": None},
                                  follow=True)

    # -- revocation -------------------------------------------------------------------------

    async def recheck(self) -> None:
        lapsed = await database_sync_to_async(access.credentials_lapsed)(self.scope)
        if lapsed == "token":
            await self.token_revoked({})
            return
        if lapsed == "session":
            await self.send_json({"type": "error",
                                  "message": "Your login session ended: log in again."})
            await self.close(code=access.UNAUTHENTICATED)
            return
        if not await database_sync_to_async(access.still_allowed)(self.user, self.container.pk,
                                                                 "logs"):
            await self.send_json({"type": "error", "message": "You may no longer read "
                                                              "this container's logs."})
            await self.close(code=access.FORBIDDEN)
            return
        await self.refresh_user_groups()

    async def permissions_changed(self, event):
        await self.recheck()

    async def session_ended(self, event):
        await self.close(code=access.UNAUTHENTICATED)

    async def token_revoked(self, event):
        await self.send_json({"type": "error", "message": "The API token was revoked."})
        await self.close(code=access.UNAUTHENTICATED)

    async def disconnect(self, code):
        for task in getattr(self, "tasks", ()):
            task.cancel()
        await self.leave_user_groups()
        if getattr(self, "logs", None) is not None:
            await self.logs.stop()
