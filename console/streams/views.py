"""HTTP sides of the streams: a container's log as plain text (whole, or followed), and the
replay of recorded terminal sessions.

`GET /api/containers/{id}/logs/` streams the log through the host's bridge (the web process
never reads the engine's files): `?follow=1` keeps the response open and sends new lines as
they are written, `?tail=N` starts with the last N lines, `?timestamps=1` puts each line's time
first, `?stdout=0` / `?stderr=0` leave a stream out, `?download=1` names the file. Session
cookie or `Authorization: Token` header, as the rest of the API. A follow ends when what it
was opened with lapses (the token revoked, the login session over) or the permission goes:
checked when the stream is idle for PING_SECONDS, and at least every RECHECK_SECONDS.
"""
import asyncio
import time

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from console.core.errors import HostSilent, Invalid, NotAuthenticated, NotFound
from console.core.permissions import get_for_user_or_404
from console.streams import access, bridge_protocol as protocol
from console.streams.bridge_client import LogStream
from console.streams.models import TerminalSession

FIRST_ANSWER_TIMEOUT = 15.0
RECHECK_SECONDS = 30.0


@sync_to_async
def request_user(request):
    """(the session's user, None), or (the owner of the token in `Authorization: Token <key>`,
    the token's id); (None, None) when neither authenticates."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        from console.accounts.authentication import key_from_header
        from console.accounts.models import ApiToken

        key = key_from_header(header)
        token = ApiToken.user_for_key(key) if key else None
        return (token.user, token.pk) if token is not None else (None, None)
    user = request.user
    return (user if user.is_authenticated else None), None


def flag(request, name: str, default: str) -> bool:
    return request.GET.get(name, default).lower() in ("1", "true", "yes", "on")


@require_safe
async def container_logs(request, ref):
    """The container's log as text; see the module's docstring for the parameters."""
    user, token_id = await request_user(request)
    if user is None:
        raise NotAuthenticated()
    container = await sync_to_async(access.container_for)(user, ref, "logs",
                                                          audit_refusal=False)
    try:
        start = protocol.logs_start(request.GET)
    except ValueError as error:
        raise Invalid(str(error)) from None
    follow = flag(request, "follow", "0")
    wanted = {"out": flag(request, "stdout", "1"), "err": flag(request, "stderr", "1")}
    timestamps = flag(request, "timestamps", "0")
    layer = get_channel_layer()
    logs = LogStream(layer, container, await layer.new_channel())
    await logs.start(start, follow=follow)
    try:
        first = await logs.first_answer(FIRST_ANSWER_TIMEOUT)
    except asyncio.TimeoutError:
        raise HostSilent(f"Host {container.host.name} did not answer: its stream bridge may "
                         "not be running.") from None
    if first.get("type") == "logs.error":
        raise NotFound(first["message"])

    def text(lines) -> str:
        return "".join(
            (f"{line[2]} " if timestamps else "") + line[3] + ("" if line[4] else "\n")
            for line in lines if wanted[line[1]])

    credentials = ({"auth_by": "token", "token_id": token_id} if token_id else
                   {"session": request.session, "user": user})

    @sync_to_async
    def still_allowed() -> bool:
        return (not access.credentials_lapsed(credentials)
                and access.still_allowed(user, container.pk, "logs"))

    async def body():
        message, last_check = first, time.monotonic()
        try:
            while True:
                if follow and time.monotonic() - last_check >= RECHECK_SECONDS:
                    last_check = time.monotonic()
                    if not await still_allowed():
                        return  # logged out, token revoked or permission gone: the follow ends
                kind = message.get("type")
                if kind == "logs.batch":
                    chunk = text(message["lines"])
                    if chunk:
                        yield chunk
                    await logs.acknowledge(message["batch"])
                elif kind in ("logs.end", "logs.error"):
                    return
                while True:
                    try:
                        message = await asyncio.wait_for(layer.receive(logs.reply_to),
                                                         protocol.PING_SECONDS)
                        break
                    except asyncio.TimeoutError:
                        last_check = time.monotonic()
                        if not await still_allowed():
                            return
                        await logs.ping()
        finally:
            await logs.stop()

    response = StreamingHttpResponse(body(), content_type="text/plain; charset=utf-8")
    response["X-Accel-Buffering"] = "no"
    response["Cache-Control"] = "no-store"
    if flag(request, "download", "0"):
        response["Content-Disposition"] = (
            f'attachment; filename="{container.display_name}.log"')
    return response


@login_required
@require_safe
def session_replay(request, session_id):
    """A recorded terminal session, played back in the page (its own user, the team's
    admins and superusers may watch it)."""
    session = get_for_user_or_404(TerminalSession.objects.select_related("container"),
                                  request.user, "view", pk=session_id)
    return render(request, "streams/replay.html", {"session": session})


@login_required
@require_safe
def session_recording(request, session_id):
    """The recording itself, an asciicast v2 file (plays in asciinema too)."""
    session = get_for_user_or_404(TerminalSession.objects, request.user, "view", pk=session_id)
    path = session.recording_path
    if path is None or not path.exists():
        raise NotFound("This session has no recording.")
    return FileResponse(open(path, "rb"), content_type="application/x-asciicast",
                        as_attachment=request.GET.get("download") == "1",
                        filename=f"terminal-{session.id[:12]}.cast")
