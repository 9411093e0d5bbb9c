"""An open socket does not outlive what it was opened with: at each periodic re-check the events,
terminal and log sockets close (4401) when their login session expired, was deleted or no
longer holds for the user (a changed password); a terminal closes (4403) when the team pins its
terminals to another user; and every socket joins its groups again, since channels_redis
forgets a group's members after a day. The re-check runs every few hundredths of a second
here instead of every 30 s."""
import asyncio
import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.contrib.sessions.models import Session
from django.utils import timezone

from console.streams import bridge_protocol, groups, publish
from console.streams.consumers import events, logs, terminal
from console.teams import actions
from tests.console.streams_fixtures import FakeBridge, make_world, open_socket, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def quick_rechecks(monkeypatch, settings, tmp_path):
    settings.RECORDINGS_DIR = tmp_path / "recordings"
    monkeypatch.setattr(bridge_protocol, "PING_SECONDS", 0.05)
    for module in (events, logs, terminal):
        monkeypatch.setattr(module, "RECHECK_SECONDS", 0.05)


async def closed_with(communicator, timeout=3):
    """(the close code, the text frames sent before it)."""
    texts = []
    while True:
        output = await communicator.receive_output(timeout=timeout)
        if output["type"] == "websocket.close":
            return output["code"], texts
        if output.get("text") and '"ping"' not in output["text"]:
            texts.append(json.loads(output["text"]))


async def stays_open(communicator, seconds=0.3) -> bool:
    """Nothing but pings for `seconds` (several re-checks). Reads the queue without waiting on
    it: a timed-out receive would cancel the application."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)
        while not communicator.output_queue.empty():
            output = communicator.output_queue.get_nowait()
            if output["type"] == "websocket.close" or '"ping"' not in output.get("text", ""):
                return False
    return not communicator.future.done()


@database_sync_to_async
def expire(key):
    Session.objects.filter(session_key=key).update(expire_date=timezone.now()
                                                   - timedelta(seconds=1))


@database_sync_to_async
def delete(key):
    Session.objects.filter(session_key=key).delete()


@database_sync_to_async
def change_password(user):
    user.set_password("a brand new password 42")
    user.save()


@database_sync_to_async
def close_entries():
    from console.audit.models import AuditEntry

    return [entry.params.get("reason") for entry in
            AuditEntry.objects.filter(action="container.terminal.close").order_by("pk")]


async def open_terminal(world, persona, key, bridge, query=""):
    path = f"/ws/containers/{world.containers['web'].engine_id}/terminal/" + (
        f"?{query}" if query else "")
    communicator, connected, code = await open_socket(path, world.user(persona), key=key)
    assert connected, code
    request = await bridge.next("bridge.terminal.open")
    await bridge.opened(request)
    frame = {"type": "ping"}
    while frame["type"] == "ping":       # pings come every PING_SECONDS, before it too
        frame = json.loads(await communicator.receive_from(timeout=3))
    assert frame["type"] == "session"
    return communicator, request


async def test_the_events_socket_closes_when_its_session_expires():
    world = await make_world()
    viewer = world.user("viewer")
    key = await session_cookie(viewer)
    communicator, connected, _ = await open_socket("/ws/events/", viewer, key=key)
    assert connected
    assert await stays_open(communicator)                       # re-checks pass meanwhile
    await expire(key)
    assert (await closed_with(communicator))[0] == 4401


async def test_a_terminal_ends_when_its_session_is_deleted():
    world = await make_world()
    key = await session_cookie(world.user("operator"))
    bridge = FakeBridge()
    communicator, request = await open_terminal(world, "operator", key, bridge)
    assert await stays_open(communicator)
    await delete(key)
    code, texts = await closed_with(communicator)
    assert code == 4401
    assert texts[-1] == {"type": "error", "message": "Your login session ended: log in again."}
    assert (await bridge.next("bridge.terminal.close"))["session"] == request["session"]
    assert await close_entries() == ["session expired"]


async def test_a_log_socket_closes_when_the_password_changes():
    world = await make_world()
    viewer = world.user("viewer")
    key = await session_cookie(viewer)
    communicator, connected, _ = await open_socket(
        f"/ws/containers/{world.containers['web'].engine_id}/logs/", viewer, key=key)
    assert connected
    assert await stays_open(communicator)
    await change_password(viewer)
    assert (await closed_with(communicator))[0] == 4401


async def test_pinning_another_terminal_user_ends_shells_running_as_someone_else():
    world = await make_world()
    team, admin = world.teams["alpha"], world.user("team_admin")
    bridge = FakeBridge()
    as_root, _ = await open_terminal(world, "operator", None, bridge, query="user=root")
    await database_sync_to_async(actions.change_team_settings)(admin, team, terminal_user="app")
    code, texts = await closed_with(as_root)
    assert code == 4403
    assert "now run as 'app'" in texts[-1]["message"]
    await bridge.next("bridge.terminal.close")
    assert await close_entries() == ["terminal user changed"]

    # A shell already running as the pinned user stays; so does any when the pin is lifted.
    as_app, _ = await open_terminal(world, "operator", None, bridge)
    await database_sync_to_async(actions.change_team_settings)(admin, team, terminal_user="")
    assert await stays_open(as_app)
    await database_sync_to_async(actions.change_team_settings)(admin, team,
                                                               description="renamed")
    assert await stays_open(as_app)
    await as_app.disconnect()


async def test_sockets_join_their_groups_again_after_the_layer_forgot_them():
    world = await make_world()
    viewer = world.user("viewer")
    communicator, connected, _ = await open_socket("/ws/events/", viewer)
    assert connected
    layer = get_channel_layer()
    forgotten = groups.team_group(world.teams["alpha"].pk)
    layer.groups.pop(forgotten, None)           # what group_expiry does after a day
    assert await stays_open(communicator)                       # a re-check passes
    await database_sync_to_async(publish.container_changed)(world.containers["web"])
    assert (await communicator.receive_json_from(timeout=2))["type"] == "container"
    await communicator.disconnect()
