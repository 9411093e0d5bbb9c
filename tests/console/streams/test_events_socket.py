"""/ws/events/: refused before accept for anonymous users and foreign origins; members get
their team's events, strangers do not; tokens by header; logout and lost membership end or
narrow the stream."""
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from console.asgi import application
from console.streams import publish
from tests.console.streams_fixtures import make_world, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


async def connect(headers=(), origin=b"http://localhost"):
    all_headers = list(headers)
    if origin is not None:
        all_headers.append((b"origin", origin))
    communicator = WebsocketCommunicator(application, "/ws/events/", headers=all_headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


async def as_user(user, origin=b"http://localhost"):
    key = await session_cookie(user)
    return await connect([(b"cookie", f"sessionid={key}".encode())], origin=origin)


@database_sync_to_async
def publish_web(world):
    publish.container_changed(world.containers["web"])


async def test_anonymous_is_refused_before_accept():
    await make_world()
    communicator, connected, code = await connect()
    assert not connected and code == 4401


@pytest.mark.parametrize("origin", [b"https://evil.example", b"null",
                                    b"http://localhost.evil.example", None])
async def test_foreign_origins_are_refused(origin):
    world = await make_world()
    communicator, connected, code = await as_user(world.user("viewer"), origin=origin)
    assert not connected


async def test_members_get_their_team_events_and_strangers_do_not():
    world = await make_world()
    viewer, ok1, _ = await as_user(world.user("viewer"))
    stranger, ok2, _ = await as_user(world.user("stranger"))
    root, ok3, _ = await as_user(world.user("superuser"))
    assert ok1 and ok2 and ok3
    await publish_web(world)
    message = await viewer.receive_json_from(timeout=2)
    assert message["type"] == "container"
    assert message["container"]["name"] == "web" and message["container"]["state"] == "running"
    assert (await root.receive_json_from(timeout=2))["container"]["name"] == "web"
    assert await stranger.receive_nothing(timeout=0.3)
    for communicator in (viewer, stranger, root):
        await communicator.disconnect()


async def test_a_token_header_authenticates_scripts():
    world = await make_world()
    from console.accounts.models import ApiToken

    _, key = await database_sync_to_async(ApiToken.objects.create_for)(world.user("operator"))
    communicator, connected, _ = await connect([(b"authorization", f"Token {key}".encode())],
                                               origin=None)
    assert connected
    await publish_web(world)
    assert (await communicator.receive_json_from(timeout=2))["container"]["name"] == "web"
    await communicator.disconnect()
    communicator, connected, code = await connect([(b"authorization", b"Token mrg_bad")],
                                                  origin=None)
    assert not connected and code == 4401


async def test_a_removed_member_stops_receiving():
    world = await make_world()
    communicator, connected, _ = await as_user(world.user("operator"))
    assert connected
    from console.teams import actions

    await database_sync_to_async(actions.remove_member)(
        world.user("team_admin"), world.teams["alpha"], world.user("operator"))
    assert await communicator.receive_nothing(timeout=0.3)   # the socket re-joins meanwhile
    await publish_web(world)
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_logout_closes_the_session_sockets():
    world = await make_world()
    key = await session_cookie(world.user("viewer"))
    communicator, connected, _ = await connect([(b"cookie", f"sessionid={key}".encode())])
    assert connected
    await database_sync_to_async(publish.session_ended)(key)
    output = await communicator.receive_output(timeout=2)
    assert output["type"] == "websocket.close" and output["code"] == 4401


async def test_the_answer_to_a_request_reaches_its_requester_only():
    world = await make_world()
    viewer, ok1, _ = await as_user(world.user("viewer"))
    operator, ok2, _ = await as_user(world.user("operator"))
    assert ok1 and ok2
    from console.grants import actions

    @database_sync_to_async
    def ask_and_refuse():
        asked = actions.request_access(world.user("viewer"), world.containers["web"],
                                       ["terminal"], duration=600, reason="a hang")
        return actions.decide(world.user("team_admin"), asked, approve=False,
                              note="use the logs")

    refused = await ask_and_refuse()

    async def received(communicator):
        messages = []
        while not await communicator.receive_nothing(timeout=0.5):
            messages.append(await communicator.receive_json_from(timeout=2))
        return [m for m in messages if m["type"] == "access-request"]

    assert await received(viewer) == [{"type": "access-request", "request": {
        "id": refused.pk, "state": "refused",
        "words": " by team_admin — “use the logs”"}}]
    assert await received(operator) == []
    for communicator in (viewer, operator):
        await communicator.disconnect()
