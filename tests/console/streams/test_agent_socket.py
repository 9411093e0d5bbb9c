"""/ws/agent/, the one websocket of a host's agent: only a host's key opens it; what the web side
sends the host reaches its socket with `reply_to` turned into a peer bound to that host; an
answer reaches a web-side channel only through a peer made for the answering host, so host h2
(stolen) can send nothing into host h1's sessions or a user's socket it does not serve: such a
frame closes its socket (4403) and is audited with the host as actor. Revoking the key closes
the socket (4401). The real bridge over this socket is tested end to end in tests/e2e/."""
import asyncio

import msgpack
import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from console.streams import groups, peers
from console.streams.consumers.agent import REFUSED, REVOKED
from tests.console.streams_fixtures import make_world, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def key_of(world, host):
    from console.hosts import keys

    return keys.issue_key(world.hosts[host])


@database_sync_to_async
def refusals():
    from console.audit.models import AuditEntry

    return list(AuditEntry.objects.filter(action="hostapi.stream", result="denied")
                .values_list("actor_name", "error"))


async def agent_socket(key):
    return await open_socket("/ws/agent/", origin=None,
                             headers=[(b"authorization", f"Host {key}".encode())])


def pack(message):
    return msgpack.packb(message, use_bin_type=True)


async def test_an_unknown_key_or_a_users_token_opens_nothing():
    await make_world()
    socket, connected, code = await agent_socket("mhk_" + "x" * 43)
    assert not connected and code == REVOKED
    socket, connected, _ = await open_socket("/ws/agent/", origin=None,
                                             headers=[(b"authorization", b"Token mrg_nope")])
    assert not connected
    assert (await refusals())[0][0] == ""


async def test_messages_for_the_host_reach_its_socket_and_answers_go_back_by_peer():
    world = await make_world()
    key = await key_of(world, "h1")
    socket, connected, _ = await agent_socket(key)
    assert connected
    greeting = msgpack.unpackb(await socket.receive_from(3), raw=False)
    assert greeting["type"] == "agent.hello" and greeting["host"] == "h1"
    layer = get_channel_layer()
    reply_to = await layer.new_channel()
    await layer.send(groups.agent_channel("h1"), {"type": "bridge.ping", "sessions": ["s1"],
                                                  "reply_to": reply_to})
    forwarded = msgpack.unpackb(await socket.receive_from(3), raw=False)
    assert forwarded["type"] == "bridge.ping"
    assert forwarded["reply_to"] == peers.peer("h1", reply_to) != reply_to
    await socket.send_to(bytes_data=pack({"type": "terminal.output", "session": "s1",
                                          "data": b"hi", "position": 2,
                                          "to": forwarded["reply_to"]}))
    answer = await asyncio.wait_for(layer.receive(reply_to), 3)
    assert answer["type"] == "terminal.output" and answer["data"] == b"hi"
    await socket.disconnect()


@pytest.mark.parametrize("to", ["stolen-peer", "bare-channel"])
async def test_a_host_cannot_send_into_another_hosts_sessions(to):
    world = await make_world()
    thief = await key_of(world, "h2")
    layer = get_channel_layer()
    victim = await layer.new_channel()      # a user's socket served by host h1
    target = peers.peer("h1", victim) if to == "stolen-peer" else victim
    socket, connected, _ = await agent_socket(thief)
    assert connected
    await socket.receive_from(3)            # hello
    await socket.send_to(bytes_data=pack({"type": "terminal.output", "session": "s1",
                                          "data": b"rm -rf /\r", "position": 9, "to": target}))
    assert (await socket.receive_output(3))["code"] == REFUSED
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(victim), 0.3)
    assert await refusals() == [("host:h2", "a message to a socket that did not ask this host")]


async def test_a_message_the_bridge_never_sends_is_refused():
    world = await make_world()
    socket, connected, _ = await agent_socket(await key_of(world, "h1"))
    assert connected
    await socket.receive_from(3)
    await socket.send_to(bytes_data=pack({"type": "bridge.terminal.input", "to": "x"}))
    assert (await socket.receive_output(3))["code"] == REFUSED
    assert (await refusals())[0][0] == "host:h1"


async def test_revoking_the_key_closes_the_socket():
    world = await make_world()
    socket, connected, _ = await agent_socket(await key_of(world, "h1"))
    assert connected
    await socket.receive_from(3)
    await get_channel_layer().send(groups.agent_channel("h1"), {"type": "agent.revoked"})
    assert (await socket.receive_output(3))["code"] == REVOKED
