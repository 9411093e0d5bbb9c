"""Sockets opened with an API token close when the token is revoked: the events, terminal and
log sockets (each joins its token's group), and a log follow over HTTP. Sockets opened with
the user's session, or with another token, stay open. A token deleted any other way is noticed
at the sockets' next re-check."""
import asyncio
import json

import pytest
from channels.db import database_sync_to_async

from console.accounts import actions
from console.accounts.models import ApiToken
from console.streams import publish
from tests.console.streams_fixtures import FakeBridge, make_world, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def new_token(user):
    return ApiToken.objects.create_for(user, "script")


@database_sync_to_async
def revoke(user, token):
    actions.revoke_token(user, token)


def token_header(key):
    return [(b"authorization", f"Token {key}".encode())]


async def open_with_token(path, key):
    communicator, connected, code = await open_socket(path, origin=None,
                                                      headers=token_header(key))
    assert connected, code
    return communicator


async def closed_with(communicator, timeout=2):
    """The close code, skipping the text frames sent before it."""
    while True:
        output = await communicator.receive_output(timeout=timeout)
        if output["type"] == "websocket.close":
            return output["code"]


async def test_revoking_a_token_closes_its_events_socket_and_no_other():
    world = await make_world()
    viewer = world.user("viewer")
    token, key = await new_token(viewer)
    _, other_key = await new_token(viewer)
    revoked = await open_with_token("/ws/events/", key)
    other = await open_with_token("/ws/events/", other_key)
    session, connected, _ = await open_socket("/ws/events/", viewer)
    assert connected
    await revoke(viewer, token)
    assert await closed_with(revoked) == 4401
    assert await other.receive_nothing(timeout=0.3)
    assert await session.receive_nothing(timeout=0.1)
    await database_sync_to_async(publish.container_changed)(world.containers["web"])
    assert (await other.receive_json_from(timeout=2))["type"] == "container"
    assert (await session.receive_json_from(timeout=2))["type"] == "container"
    await other.disconnect()
    await session.disconnect()


async def test_revoking_a_token_ends_its_terminal(settings, tmp_path):
    from console.audit.models import AuditEntry

    settings.RECORDINGS_DIR = tmp_path / "recordings"
    world = await make_world()
    operator = world.user("operator")
    token, key = await new_token(operator)
    bridge = FakeBridge()
    terminal = await open_with_token(
        f"/ws/containers/{world.containers['web'].engine_id}/terminal/", key)
    request = await bridge.next("bridge.terminal.open")
    await bridge.opened(request)
    assert json.loads(await terminal.receive_from(timeout=3))["type"] == "session"
    await revoke(operator, token)
    message = json.loads(await terminal.receive_from(timeout=2))
    assert message == {"type": "error", "message": "The API token this terminal was opened "
                                                   "with was revoked."}
    assert await closed_with(terminal) == 4401
    assert (await bridge.next("bridge.terminal.close"))["session"] == request["session"]
    closed = await database_sync_to_async(
        lambda: AuditEntry.objects.filter(action="container.terminal.close").get())()
    assert closed.params["reason"] == "token revoked"


async def test_revoking_a_token_closes_its_log_socket():
    world = await make_world()
    viewer = world.user("viewer")
    token, key = await new_token(viewer)
    logs = await open_with_token(f"/ws/containers/{world.containers['web'].engine_id}/logs/",
                                 key)
    await revoke(viewer, token)
    assert json.loads(await logs.receive_from(timeout=2)) == {
        "type": "error", "message": "The API token was revoked."}
    assert await closed_with(logs) == 4401


async def test_a_token_deleted_otherwise_is_noticed_at_the_next_recheck():
    world = await make_world()
    viewer = world.user("viewer")
    token, key = await new_token(viewer)
    logs = await open_with_token(f"/ws/containers/{world.containers['web'].engine_id}/logs/",
                                 key)
    await database_sync_to_async(ApiToken.objects.filter(pk=token.pk).delete)()
    assert await logs.receive_nothing(timeout=0.2)          # nobody said anything yet
    await database_sync_to_async(publish.permissions_changed)(viewer.pk)    # a re-check
    assert await closed_with(logs) == 4401


async def test_a_log_follow_over_http_ends_when_its_token_is_revoked(monkeypatch):
    from django.test import AsyncClient

    from console.streams import bridge_protocol

    monkeypatch.setattr(bridge_protocol, "PING_SECONDS", 0.1)
    world = await make_world()
    viewer = world.user("viewer")
    token, key = await new_token(viewer)
    bridge = FakeBridge()

    async def answer():
        start = await bridge.next("bridge.logs.start")
        await bridge.answer(start, "logs.batch", batch=1, cursor="0:0",
                            lines=[[0, "out", "2026-01-01T00:00:00Z", "one", False]])
        return start

    answering = asyncio.ensure_future(answer())
    response = await AsyncClient().get(
        f"/api/containers/{world.containers['web'].engine_id}/logs/?follow=1",
        headers={"authorization": f"Token {key}"})
    await answering
    content = response.streaming_content
    assert await content.__anext__() == b"one\n"
    await revoke(viewer, token)
    rest = await asyncio.wait_for(_drain(content), 5)       # ends, instead of waiting forever
    assert rest == []


async def _drain(content):
    return [chunk async for chunk in content]
