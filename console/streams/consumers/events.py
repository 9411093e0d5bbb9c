"""`/ws/events/`: container, job and host state changes, pushed to the pages that show them.

Refused before `accept()` when anonymous (4401). On connect the socket joins the groups of
what its user may see: every team in which they have a role, their own user group (grants, their
jobs, permission changes), their login session's group (closed on logout) or the group of the
API token it was opened with (closed when the token is revoked) and, for superusers, the group
of everything. When a user's permissions change, their sockets re-join. Every RECHECK_SECONDS
the socket checks that its login session (or token) still stands, closing with 4401 when it
expired, and joins its groups again (channels_redis forgets members after a day).

Server → browser messages are JSON: `{"type": "container", "container": {...}}`,
`{"type": "job", "job": {...}}`, `{"type": "host", "host": {...}}`, and what a running pull or
build prints, `{"type": "job-output", "output": {"job": ID, "offset": N, "text": "..."}}`
(`offset` in characters of the job's output; null when its middle was cut: fetch the job), and
to its requester the answer to an access request, `{"type": "access-request", "request":
{"id": ID, "state": "approved", "words": " until ... by ..."}}`.
The browser sends nothing.
"""
import asyncio

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from console.streams import access, groups

RECHECK_SECONDS = 30.0


@database_sync_to_async
def visible_groups(user) -> set[str]:
    from django.contrib.auth import get_user_model

    from console.teams.models import Membership

    fresh = get_user_model().objects.filter(pk=user.pk, is_active=True).first()
    if fresh is None:
        return set()
    if fresh.is_superuser:
        return {groups.EVERYTHING, groups.user_group(fresh.pk)}
    teams = Membership.objects.filter(user=fresh).values_list("team_id", flat=True)
    return {groups.user_group(fresh.pk)} | {groups.team_group(team) for team in teams}


class EventsConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.joined = set()
        if not await self.rejoin():
            await self.close(code=4403)
            return
        session = self.scope.get("session")
        if session is not None and session.session_key and self.scope.get("auth_by") != "token":
            self.session_group = groups.session_group(session.session_key)
            await self.channel_layer.group_add(self.session_group, self.channel_name)
        elif self.scope.get("token_id"):
            self.session_group = groups.token_group(self.scope["token_id"])
            await self.channel_layer.group_add(self.session_group, self.channel_name)
        await self.accept()
        self.checker = asyncio.ensure_future(self.keep_checking())

    async def rejoin(self, *, refresh: bool = False) -> bool:
        wanted = await visible_groups(self.scope["user"])
        for name in self.joined - wanted:
            await self.channel_layer.group_discard(name, self.channel_name)
        for name in (wanted if refresh else wanted - self.joined):
            await self.channel_layer.group_add(name, self.channel_name)
        self.joined = wanted
        return bool(wanted)

    async def keep_checking(self) -> None:
        while True:
            await asyncio.sleep(RECHECK_SECONDS)
            if await database_sync_to_async(access.credentials_lapsed)(self.scope):
                await self.close(code=4401)
                return
            if not await self.rejoin(refresh=True):
                await self.close(code=4403)
                return
            if getattr(self, "session_group", None):
                await self.channel_layer.group_add(self.session_group, self.channel_name)

    async def disconnect(self, code):
        if getattr(self, "checker", None) and self.checker is not asyncio.current_task():
            self.checker.cancel()
        for name in getattr(self, "joined", ()):
            await self.channel_layer.group_discard(name, self.channel_name)
        if getattr(self, "session_group", None):
            await self.channel_layer.group_discard(self.session_group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        """Nothing to receive: the stream is one-way."""
        await self.send_json({"type": "error", "error": "this socket only sends"})

    # -- group messages (handlers only forward) --

    async def container_event(self, event):
        await self.send_json({"type": "container", "container": event["container"]})

    async def job_event(self, event):
        await self.send_json({"type": "job", "job": event["job"]})

    async def job_output(self, event):
        await self.send_json({"type": "job-output", "output": event["output"]})

    async def host_event(self, event):
        await self.send_json({"type": "host", "host": event["host"]})

    async def access_decided(self, event):
        await self.send_json({"type": "access-request", "request": event["request"]})

    async def permissions_changed(self, event):
        if not await self.rejoin():
            await self.close(code=4403)

    async def session_ended(self, event):
        await self.close(code=4401)

    async def token_revoked(self, event):
        await self.close(code=4401)
