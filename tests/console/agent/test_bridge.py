"""The stream bridge's handling of messages, without containers: what it refuses, what it
answers for sessions and streams it does not have. (With real containers, end to end:
tests/e2e/test_terminal.py and test_logs_stream.py.)"""
import asyncio
import secrets

import pytest
from channels.layers import InMemoryChannelLayer

from console.agent.bridge import BadMessage, Bridge
from runtime.api import Engine
from tests.stream_client import run

CONTAINER = "ab" * 32


@pytest.fixture
def bridge(tmp_path):
    return Bridge("h1", Engine(str(tmp_path)), InMemoryChannelLayer(), resume_seconds=5)


async def answer(bridge, channel):
    return await asyncio.wait_for(bridge.layer.receive(channel), 2)


@pytest.mark.parametrize("message", [
    {"type": "bridge.nonsense"},
    {"type": "terminal.output"},
    {"type": "bridge.terminal.open", "session": "../x", "container": CONTAINER,
     "mode": "exec", "reply_to": "r"},
    {"type": "bridge.terminal.open", "session": "a" * 32, "container": "web",
     "mode": "exec", "reply_to": "r"},
    {"type": "bridge.terminal.open", "session": "a" * 32, "container": CONTAINER,
     "mode": "root-shell", "reply_to": "r"},
    {"type": "bridge.terminal.open", "session": "a" * 32, "container": CONTAINER,
     "mode": "exec", "command": ["sh", 1], "reply_to": "r"},
    {"type": "bridge.logs.start", "stream": "s", "container": "../../etc", "reply_to": "r"},
])
def test_malformed_messages_are_refused(bridge, message):
    with pytest.raises(BadMessage):
        bridge.handle(message)
    assert not bridge.terminals and not bridge.follows


def test_resuming_a_session_it_does_not_have(bridge):
    async def scenario():
        reply = await bridge.layer.new_channel()
        session = secrets.token_hex(16)
        bridge.handle({"type": "bridge.terminal.open", "session": session, "container": CONTAINER,
                       "mode": "exec", "resume": True, "reply_to": reply})
        message = await answer(bridge, reply)
        assert message == {"type": "terminal.error", "session": session,
                           "message": "The session has ended."}
    run(scenario())


def test_a_session_that_ended_while_away_gives_its_exit_code(bridge):
    async def scenario():
        reply = await bridge.layer.new_channel()
        session = secrets.token_hex(16)
        bridge.ended[session] = (3, 0.0)
        bridge.handle({"type": "bridge.terminal.open", "session": session, "container": CONTAINER,
                       "mode": "exec", "resume": True, "reply_to": reply})
        assert await answer(bridge, reply) == {"type": "terminal.exit", "session": session,
                                               "code": 3}
    run(scenario())


def test_opening_on_a_container_the_host_does_not_have(bridge):
    async def scenario():
        reply = await bridge.layer.new_channel()
        session = secrets.token_hex(16)
        bridge.handle({"type": "bridge.terminal.open", "session": session, "container": CONTAINER,
                       "mode": "exec", "resume": False, "reply_to": reply, "rows": 24,
                       "cols": 80})
        message = await answer(bridge, reply)
        assert message["type"] == "terminal.error"
        assert message["message"] == "No such container on host h1."
        await asyncio.sleep(0.05)
        assert session not in bridge.terminals
    run(scenario())


def test_following_the_log_of_a_container_the_host_does_not_have(bridge):
    async def scenario():
        reply = await bridge.layer.new_channel()
        bridge.handle({"type": "bridge.logs.start", "stream": "s1", "container": CONTAINER,
                       "tail": 10, "reply_to": reply})
        message = await answer(bridge, reply)
        assert message == {"type": "logs.error", "stream": "s1",
                           "message": "No such container on host h1."}
    run(scenario())


def test_a_ping_for_a_forgotten_stream_says_so(bridge):
    async def scenario():
        reply = await bridge.layer.new_channel()
        bridge.handle({"type": "bridge.ping", "streams": ["gone"], "sessions": [],
                       "reply_to": reply})
        assert await answer(bridge, reply) == {"type": "logs.lost", "stream": "gone"}
    run(scenario())


def test_messages_for_unknown_sessions_are_ignored(bridge):
    async def scenario():
        for kind, extra in (("input", {"data": b"x"}), ("resize", {"rows": 1, "cols": 1}),
                            ("ack", {"position": 1}), ("detach", {}), ("close", {})):
            bridge.handle({"type": f"bridge.terminal.{kind}", "session": "f" * 32, **extra})
        assert not bridge.terminals
    run(scenario())
