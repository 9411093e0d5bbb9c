"""/ws/containers/{id}/logs/ and GET /api/containers/{id}/logs/: who may read, how a stream
starts (tail, cursor, after), batches and their acknowledgement, the end, a bridge that
forgot the stream, revocation.

The host's bridge is faked at the Channels boundary (tests/console/streams_fixtures.py); the
real one is in tests/e2e/test_logs_stream.py."""
import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from django.test import AsyncClient

from console.streams import publish
from tests.console.streams_fixtures import FakeBridge, make_world, open_socket, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

LINES = [[0, "out", "2026-01-01T00:00:00.000000001Z", "one", False],
         [50, "err", "2026-01-01T00:00:00.000000002Z", "two", False],
         [99, "out", "2026-01-01T00:00:00.000000003Z", "thr", True]]


def logs_path(world, name="web", query=""):
    return f"/ws/containers/{world.containers[name].engine_id}/logs/" + (
        f"?{query}" if query else "")


@pytest.mark.parametrize("persona,code", [("anonymous", 4401), ("stranger", 4404)])
async def test_refused_before_accept(persona, code):
    world = await make_world()
    communicator, connected, refused = await open_socket(logs_path(world), world.user(persona))
    assert not connected and refused == code


@pytest.mark.parametrize("persona", ["viewer", "operator", "developer", "team_admin",
                                     "superuser"])
async def test_every_member_reads_the_logs(persona):
    world = await make_world()
    communicator, connected, _ = await open_socket(logs_path(world, query="tail=10"),
                                                   world.user(persona))
    assert connected
    start = await FakeBridge().next("bridge.logs.start")
    assert start["tail"] == 10 and start["container"] == world.containers["web"].engine_id
    await communicator.disconnect()


async def test_a_grant_of_logs_alone_is_enough_and_others_are_not():
    world = await make_world()
    from console.grants.models import ContainerGrant

    await database_sync_to_async(ContainerGrant.objects.create)(
        user=world.user("stranger"), container=world.containers["web"], actions=["logs"])
    communicator, connected, _ = await open_socket(logs_path(world), world.user("stranger"))
    assert connected
    await communicator.disconnect()


async def test_foreign_origin_is_refused():
    world = await make_world()
    communicator, connected, _ = await open_socket(logs_path(world), world.user("viewer"),
                                                   origin=b"https://evil.example")
    assert not connected


async def test_batches_come_in_order_and_are_acknowledged():
    world = await make_world()
    bridge = FakeBridge()
    communicator, connected, _ = await open_socket(logs_path(world), world.user("viewer"))
    await communicator.send_to(text_data=json.dumps({"type": "follow", "tail": 200}))
    start = await bridge.next("bridge.logs.start")
    assert start["tail"] == 200 and start["follow"] is True and start["cursor"] is None
    await bridge.answer(start, "logs.batch", batch=1, lines=LINES[:2], cursor="49:99")
    await bridge.answer(start, "logs.batch", batch=2, lines=LINES[2:], cursor="140:99")
    first = json.loads(await communicator.receive_from(timeout=3))
    assert first == {"type": "logs", "batch": 1, "lines": LINES[:2], "cursor": "49:99"}
    second = json.loads(await communicator.receive_from(timeout=3))
    assert second["batch"] == 2 and second["lines"][0][4] is True
    await communicator.send_to(text_data=json.dumps({"type": "ack", "batch": 2}))
    ack = await bridge.next("bridge.logs.ack")
    assert ack["batch"] == 2 and ack["stream"] == start["stream"]
    await bridge.answer(start, "logs.end", cursor="140:140")
    assert json.loads(await communicator.receive_from(timeout=3)) == {"type": "end",
                                                                      "cursor": "140:140"}
    await communicator.disconnect()


async def test_resume_from_a_cursor_or_an_offset():
    world = await make_world()
    bridge = FakeBridge()
    communicator, connected, _ = await open_socket(logs_path(world), world.user("viewer"))
    await communicator.send_to(text_data=json.dumps({"type": "resume", "cursor": "49:99"}))
    start = await bridge.next("bridge.logs.start")
    assert start["cursor"] == "49:99" and start["tail"] is None
    await communicator.send_to(text_data=json.dumps({"type": "resume", "after": 50}))
    assert (await bridge.next("bridge.logs.stop"))["stream"] == start["stream"]
    again = await bridge.next("bridge.logs.start")
    assert again["after"] == 50 and again["stream"] != start["stream"]
    await communicator.send_to(text_data=json.dumps({"type": "resume", "cursor": "x:y"}))
    error = json.loads(await communicator.receive_from(timeout=3))
    assert error == {"type": "error", "message": "a cursor is two offsets, <stdout>:<stderr>"}
    await communicator.disconnect()
    assert (await bridge.next("bridge.logs.stop"))["stream"] == again["stream"]


async def test_a_deeply_nested_frame_is_refused_and_the_socket_stays():
    world = await make_world()
    bridge = FakeBridge()
    communicator, connected, _ = await open_socket(logs_path(world), world.user("viewer"))
    await communicator.send_to(text_data="[" * 100_000 + "]" * 100_000)
    error = json.loads(await communicator.receive_from(timeout=3))
    assert error["type"] == "error" and "nested deeper than" in error["message"]
    await communicator.send_to(text_data=json.dumps({"type": "follow", "tail": 3}))
    assert (await bridge.next("bridge.logs.start"))["tail"] == 3
    await communicator.disconnect()


async def test_a_stream_the_bridge_forgot_is_followed_again_from_where_it_was():
    world = await make_world()
    bridge = FakeBridge()
    communicator, connected, _ = await open_socket(logs_path(world, query="tail=5"),
                                                   world.user("viewer"))
    start = await bridge.next("bridge.logs.start")
    await bridge.answer(start, "logs.batch", batch=1, lines=LINES[:1], cursor="49:0")
    await communicator.receive_from(timeout=3)
    await bridge.answer(start, "logs.lost")
    again = await bridge.next("bridge.logs.start")
    assert again["cursor"] == "49:0" and again["stream"] != start["stream"]
    await bridge.answer(again, "logs.batch", batch=1, lines=LINES[1:2], cursor="99:99")
    batch = json.loads(await communicator.receive_from(timeout=3))
    assert batch["batch"] == 2 and batch["lines"] == LINES[1:2]    # numbering goes on
    await communicator.send_to(text_data=json.dumps({"type": "ack", "batch": 2}))
    ack = await bridge.next("bridge.logs.ack")
    assert ack == {"type": "bridge.logs.ack", "stream": again["stream"], "batch": 1}
    await communicator.disconnect()


async def test_logout_closes_the_log_socket():
    world = await make_world()
    key = await session_cookie(world.user("viewer"))
    communicator, connected, _ = await open_socket(logs_path(world), world.user("viewer"),
                                                   key=key)
    await database_sync_to_async(publish.session_ended)(key)
    assert (await communicator.receive_output(timeout=2))["code"] == 4401


async def test_removal_from_the_team_closes_the_log_socket():
    world = await make_world()
    communicator, connected, _ = await open_socket(logs_path(world, query="tail=1"),
                                                   world.user("viewer"))
    from console.teams import actions

    await database_sync_to_async(actions.remove_member)(
        world.user("team_admin"), world.teams["alpha"], world.user("viewer"))
    assert "no longer" in json.loads(await communicator.receive_from(timeout=2))["message"]
    assert (await communicator.receive_output(timeout=2))["code"] == 4403


# -- the HTTP endpoint ------------------------------------------------------------------------

async def answer_logs(bridge, *batches, end=True):
    start = await bridge.next("bridge.logs.start", skip=("bridge.logs.ack", "bridge.logs.stop"))
    for number, lines in enumerate(batches, 1):
        await bridge.answer(start, "logs.batch", batch=number, lines=lines, cursor="0:0")
    if end:
        await bridge.answer(start, "logs.end", cursor="0:0")
    return start


async def logged_in_client(world, persona):
    client = AsyncClient()
    key = await session_cookie(world.user(persona))
    client.cookies["sessionid"] = key
    return client


async def test_http_logs_as_text_with_timestamps_and_streams_chosen():
    world = await make_world()
    client = await logged_in_client(world, "viewer")
    url = f"/api/containers/{world.containers['web'].engine_id[:12]}/logs/"
    bridge = FakeBridge()
    answering = asyncio.ensure_future(answer_logs(bridge, LINES[:2], LINES[2:]))
    response = await client.get(url + "?tail=3&download=1")
    start = await answering
    assert start["tail"] == 3 and start["follow"] is False
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="web.log"'
    body = b"".join([chunk async for chunk in response.streaming_content])
    assert body == b"one\ntwo\nthr"
    answering = asyncio.ensure_future(answer_logs(bridge, LINES))
    response = await client.get(url + "?timestamps=1&stderr=0")
    await answering
    body = b"".join([chunk async for chunk in response.streaming_content])
    assert body == (b"2026-01-01T00:00:00.000000001Z one\n"
                    b"2026-01-01T00:00:00.000000003Z thr")


async def test_http_logs_follow_sends_lines_as_they_come_and_acknowledges_them():
    world = await make_world()
    client = await logged_in_client(world, "viewer")
    bridge = FakeBridge()
    answering = asyncio.ensure_future(answer_logs(bridge, LINES[:1], end=False))
    response = await client.get(
        f"/api/containers/{world.containers['web'].engine_id}/logs/?follow=1")
    start = await answering
    assert start["follow"] is True
    content = response.streaming_content
    assert await content.__anext__() == b"one\n"
    await bridge.answer(start, "logs.batch", batch=2, lines=LINES[1:2], cursor="0:0")
    assert await content.__anext__() == b"two\n"
    # A batch is acknowledged once the response has taken it and asks for more.
    assert (await bridge.next("bridge.logs.ack"))["batch"] == 1
    await bridge.answer(start, "logs.end", cursor="0:0")
    assert [chunk async for chunk in content] == []


@pytest.mark.parametrize("persona,status", [("anonymous", 401), ("stranger", 404)])
async def test_http_logs_refused(persona, status):
    world = await make_world()
    client = AsyncClient()
    if world.user(persona):
        client.cookies["sessionid"] = await session_cookie(world.user(persona))
    response = await client.get(f"/api/containers/{world.containers['web'].engine_id}/logs/")
    assert response.status_code == status
    assert await FakeBridge().nothing()


async def test_http_logs_with_a_token_and_bad_parameters():
    world = await make_world()
    from console.accounts.models import ApiToken

    _, key = await database_sync_to_async(ApiToken.objects.create_for)(world.user("viewer"))
    client = AsyncClient()
    response = await client.get("/api/containers/web/logs/?tail=lots",
                                headers={"authorization": f"Token {key}"})
    assert response.status_code == 400
    assert response.json() == {"detail": "tail is a number of lines, or all"}


async def test_http_logs_report_a_silent_bridge(monkeypatch):
    from console.streams import views

    monkeypatch.setattr(views, "FIRST_ANSWER_TIMEOUT", 0.2)
    world = await make_world()
    client = await logged_in_client(world, "viewer")
    response = await client.get("/api/containers/web/logs/")
    assert response.status_code == 504 and "bridge" in response.json()["detail"]
