"""What the terminal and log sockets share: they are admitted the same way (logged in, and
allowed the action on the container their path names, else closed with 4401/4404/4403), and
like the events socket they join their user's group
(where permission changes are announced) and their login session's group (closed on logout),
or the group of the API token they were opened with (closed when it is revoked), and join them
again at each periodic re-check. Those groups
also carry the live events of the user's objects, which these sockets do not show."""
from channels.db import database_sync_to_async

from console.core.errors import ConsoleError
from console.streams import access, groups


class UserGroupsMember:
    async def admit(self, action: str, *, audit_refusal: bool) -> bool:
        """Accept the socket if its user may do `action` on the container its path names,
        setting `user` and `container` and joining the user's groups; otherwise close it with
        the refusal's code and answer False."""
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=access.UNAUTHENTICATED)
            return False
        try:
            self.container = await database_sync_to_async(access.container_for)(
                user, self.scope["url_route"]["kwargs"]["ref"], action,
                audit_refusal=audit_refusal, path=self.scope.get("path", ""))
        except ConsoleError as refusal:
            await self.close(code=refusal.close_code)
            return False
        self.user = user
        await self.join_user_groups()
        await self.accept()
        return True

    async def join_user_groups(self) -> None:
        self.joined = [groups.user_group(self.scope["user"].pk)]
        session = self.scope.get("session")
        if session is not None and session.session_key and self.scope.get("auth_by") != "token":
            self.joined.append(groups.session_group(session.session_key))
        if self.scope.get("token_id"):
            self.joined.append(groups.token_group(self.scope["token_id"]))
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)

    async def refresh_user_groups(self) -> None:
        """Join again: channels_redis forgets a member after `group_expiry` (a day by default),
        and a socket may stay open longer than that."""
        for group in getattr(self, "joined", ()):
            await self.channel_layer.group_add(group, self.channel_name)

    async def leave_user_groups(self) -> None:
        for group in getattr(self, "joined", ()):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def container_event(self, event):
        """Shown by the events socket, not here."""

    async def job_event(self, event):
        """Shown by the events socket, not here."""

    async def job_output(self, event):
        """Shown by the events socket, not here."""

    async def host_event(self, event):
        """Shown by the events socket, not here."""
