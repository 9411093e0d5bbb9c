"""Websocket authentication: the session cookie (browsers, via Channels' AuthMiddleware) or an
`Authorization: Token <key>` header (scripts). A token in the query string is never read.

A socket opened with a token carries its id (`scope["token_id"]`): the socket joins the token's
group, and revoking the token closes it. A login session that has not passed the second factor
it needs opens no socket (`SecondFactorGate`: its user is anonymous to the consumers).

A host's key opens only its agent's socket (`/ws/agent/`, which checks it itself): on any
other, it authenticates nobody, and the attempt is audited."""
from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser

from console.accounts.authentication import key_from_header


@database_sync_to_async
def owner_of_token(key: str):
    """(the token's user, its id), or (AnonymousUser, None) for a wrong or revoked key."""
    from console.accounts.models import ApiToken

    token = ApiToken.user_for_key(key)
    return (token.user, token.pk) if token is not None else (AnonymousUser(), None)


AGENT_PATH = "/ws/agent/"


def host_key_in(header: str) -> str | None:
    from console.hostapi.authentication import key_from_header as host_key_from_header

    return host_key_from_header(header)


@database_sync_to_async
def refuse_host_key(key: str, path: str) -> None:
    """A host's key on a user's socket: audited (with the host, if the key is one)."""
    from console import audit
    from console.hostapi.authentication import host_key
    from console.hostapi.fence import MESSAGE
    from console.hostapi.refusals import actor_of

    row = host_key(key)
    host = row.host if row is not None else None
    audit.record("hostapi.user_api", actor=actor_of(host), host=host, result="denied",
                 error=MESSAGE, params={"path": path[:300]})


class TokenHeaderMiddleware:
    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers") or [])
        header = headers.get(b"authorization", b"").decode("latin-1")
        if header and scope.get("path") == AGENT_PATH:
            return await self.inner(dict(scope, user=AnonymousUser()), receive, send)
        if header and host_key_in(header):
            await refuse_host_key(host_key_in(header), scope.get("path", ""))
            scope = dict(scope, user=AnonymousUser(), auth_by="token", token_id=None)
        elif header:
            key = key_from_header(header)
            user, token_id = await owner_of_token(key) if key else (AnonymousUser(), None)
            scope = dict(scope, user=user, auth_by="token", token_id=token_id)
        return await self.inner(scope, receive, send)


@database_sync_to_async
def session_passes(scope) -> bool:
    from console.accounts.two_factor import session_passes as passes

    return passes(scope.get("session"), scope["user"])


class SecondFactorGate:
    """A session-authenticated socket whose session still owes its second factor is
    anonymous (4401)."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope.get("auth_by") != "token":
            user = scope.get("user")
            if user is not None and user.is_authenticated and not await session_passes(scope):
                scope = dict(scope, user=AnonymousUser())
        return await self.inner(scope, receive, send)


def auth_stack(inner):
    """Session auth first; a token header, when present, decides instead."""
    return AuthMiddlewareStack(TokenHeaderMiddleware(SecondFactorGate(inner)))


class OriginCheck:
    """Channels' AllowedHostsOriginValidator, except for a script that authenticates with a
    token header and sends no Origin: a browser page cannot set that header on a websocket,
    so such a request carries no ambient (cookie) authority to hijack."""

    def __init__(self, inner):
        from channels.security.websocket import AllowedHostsOriginValidator

        self.inner = inner
        self.checked = AllowedHostsOriginValidator(inner)

    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers") or [])
        if b"authorization" in headers and b"origin" not in headers:
            return await self.inner(scope, receive, send)
        return await self.checked(scope, receive, send)
