"""The stream bridge's handling of messages, without containers: what it refuses, what it
answers for sessions and streams it does not have, what a dropped connection does. (With real
containers, end to end: tests/e2e/test_terminal.py and test_logs_stream.py.)"""
import asyncio
import secrets

import pytest

from console.agent.bridge import BadMessage, Bridge
from console.agent.link import LinkDown
from runtime.api import Engine
from tests.stream_client import run

CONTAINER = "ab" * 32


class FakeLink:
    """The websocket to the console: what the bridge sends, read by the test."""

    def __init__(self):
        self.sent = []
        self.up = True

    async def send(self, message):
        if not self.up:
            raise LinkDown()
        self.sent.append(message)


@pytest.fixture
def bridge(tmp_path):
    return Bridge("h1", Engine(str(tmp_path)), FakeLink(), resume_seconds=5)


async def answer(bridge, peer):
    """The next message the bridge sent, which must be to `peer` (without its `to`)."""
    for _ in range(200):
        if bridge.link.sent:
            message = dict(bridge.link.sent.pop(0))
            assert message.pop("to") == peer, message
            return message
        await asyncio.sleep(0.01)
    raise AssertionError("the bridge sent nothing")


def new_peer() -> str:
    return f"specific.test!{secrets.token_hex(4)}|{secrets.token_hex(20)}"


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
        reply = new_peer()
        session = secrets.token_hex(16)
        bridge.handle({"type": "bridge.terminal.open", "session": session, "container": CONTAINER,
                       "mode": "exec", "resume": True, "reply_to": reply})
        message = await answer(bridge, reply)
        assert message == {"type": "terminal.error", "session": session,
                           "message": "The session has ended."}
    run(scenario())


def test_a_session_that_ended_while_away_gives_its_exit_code(bridge):
    async def scenario():
        reply = new_peer()
        session = secrets.token_hex(16)
        bridge.ended[session] = (3, 0.0)
        bridge.handle({"type": "bridge.terminal.open", "session": session, "container": CONTAINER,
                       "mode": "exec", "resume": True, "reply_to": reply})
        assert await answer(bridge, reply) == {"type": "terminal.exit", "session": session,
                                               "code": 3}
    run(scenario())


def test_opening_on_a_container_the_host_does_not_have(bridge):
    async def scenario():
        reply = new_peer()
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
        reply = new_peer()
        bridge.handle({"type": "bridge.logs.start", "stream": "s1", "container": CONTAINER,
                       "tail": 10, "reply_to": reply})
        message = await answer(bridge, reply)
        assert message == {"type": "logs.error", "stream": "s1",
                           "message": "No such container on host h1."}
    run(scenario())


def test_a_ping_for_a_forgotten_stream_says_so(bridge):
    async def scenario():
        reply = new_peer()
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


def test_a_dropped_connection_lets_the_sessions_wait_and_ends_the_follows(bridge):
    """As after a restart of the bridge: terminals wait to be resumed by their sockets
    (through the next connection), log follows end and their sockets start them again."""
    async def scenario():
        from console.agent.bridge_logs import LogFollow
        from console.agent.bridge_terminals import TerminalRelay

        relay = TerminalRelay(bridge, "c" * 32, CONTAINER, "exec")
        relay.consumer = new_peer()
        bridge.terminals[relay.id] = relay
        follow = LogFollow(bridge, {"stream": "s1", "container": CONTAINER,
                                    "reply_to": new_peer()})
        bridge.follows["s1"] = follow
        bridge.link.up = False
        bridge.link_down()
        assert relay.consumer is None and bridge.terminals == {relay.id: relay}
        assert follow.stopped
        await bridge.send(new_peer(), {"type": "logs.lost", "stream": "s1"})   # dropped
        assert bridge.link.sent == []
    run(scenario())
