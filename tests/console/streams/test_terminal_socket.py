"""/ws/containers/{id}/terminal/: refused before accept for anonymous users, strangers (404-like),
members without the terminal permission and foreign origins; the frame protocol (binary both
ways, JSON control); exit; the recording and the audit entries; resuming a dropped socket;
revocation on logout, on removal from the team and on losing the grant.

The host's bridge is faked at the Channels boundary (tests/console/streams_fixtures.py)."""
import json

import pytest
from channels.db import database_sync_to_async

from console.streams import publish
from tests.console.streams_fixtures import FakeBridge, make_world, open_socket, session_cookie

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("recordings")]


def terminal_path(world, name="web", query=""):
    return f"/ws/containers/{world.containers[name].engine_id}/terminal/" + (
        f"?{query}" if query else "")


@database_sync_to_async
def audit_actions(action_prefix="container.terminal"):
    from console.audit.models import AuditEntry

    return list(AuditEntry.objects.filter(action__startswith=action_prefix).order_by("pk")
                .values("action", "result", "actor_name", "params", "error"))


@database_sync_to_async
def grant(world, persona, container, actions):
    from console.grants.models import ContainerGrant

    return ContainerGrant.objects.create(user=world.user(persona),
                                         container=world.containers[container], actions=actions)


async def opened_terminal(world, persona="operator", query="", bridge=None):
    bridge = bridge or FakeBridge()
    communicator, connected, code = await open_socket(terminal_path(world, query=query),
                                                      world.user(persona))
    assert connected, code
    request = await bridge.next("bridge.terminal.open")
    await bridge.opened(request)
    session = json.loads(await communicator.receive_from(timeout=3))
    assert session["type"] == "session"
    return communicator, bridge, request, session


# -- who may open it ------------------------------------------------------------------------

async def test_anonymous_is_refused_before_accept():
    world = await make_world()
    communicator, connected, code = await open_socket(terminal_path(world))
    assert not connected and code == 4401


async def test_a_stranger_is_refused_as_if_the_container_did_not_exist():
    world = await make_world()
    communicator, connected, code = await open_socket(terminal_path(world),
                                                      world.user("stranger"))
    assert not connected and code == 4404
    assert await FakeBridge().nothing()
    entries = await audit_actions()
    assert entries[-1]["result"] == "denied" and entries[-1]["actor_name"] == "stranger"


async def test_a_viewer_has_no_terminal():
    world = await make_world()
    communicator, connected, code = await open_socket(terminal_path(world),
                                                      world.user("viewer"))
    assert not connected and code == 4403
    entries = await audit_actions()
    assert entries == [{"action": "container.terminal", "result": "denied",
                        "actor_name": "viewer", "params": {},
                        "error": "viewer may not terminal this container"}]


@pytest.mark.parametrize("persona", ["operator", "developer", "team_admin", "superuser"])
async def test_operators_and_above_get_a_terminal(persona):
    world = await make_world()
    communicator, bridge, request, session = await opened_terminal(world, persona)
    assert request["container"] == world.containers["web"].engine_id
    assert request["mode"] == "exec" and request["resume"] is False
    await communicator.disconnect()


async def test_a_grant_gives_a_viewer_or_a_stranger_a_terminal_on_one_container():
    world = await make_world()
    await grant(world, "viewer", "web", ["terminal"])
    await grant(world, "stranger", "web", ["terminal"])
    for persona in ("viewer", "stranger"):
        communicator, bridge, request, session = await opened_terminal(world, persona)
        await communicator.disconnect()
        await bridge.next("bridge.terminal.detach")
    # ... and only on that one.
    communicator, connected, code = await open_socket(terminal_path(world, "other"),
                                                      world.user("viewer"))
    assert not connected and code == 4404


async def test_a_grant_without_terminal_is_not_enough():
    world = await make_world()
    await grant(world, "stranger", "web", ["start", "stop"])
    communicator, connected, code = await open_socket(terminal_path(world),
                                                      world.user("stranger"))
    assert not connected and code == 4403


@pytest.mark.parametrize("origin", [b"https://evil.example", b"null", None])
async def test_foreign_origins_are_refused(origin):
    world = await make_world()
    communicator, connected, code = await open_socket(terminal_path(world),
                                                      world.user("operator"), origin=origin)
    assert not connected
    assert await FakeBridge().nothing()


async def test_a_token_header_opens_a_terminal_for_scripts():
    world = await make_world()
    from console.accounts.models import ApiToken

    _, key = await database_sync_to_async(ApiToken.objects.create_for)(world.user("operator"))
    communicator, connected, _ = await open_socket(
        terminal_path(world), origin=None, headers=[(b"authorization", f"Token {key}".encode())])
    assert connected
    request = await FakeBridge().next("bridge.terminal.open")
    assert request["container"] == world.containers["web"].engine_id
    await communicator.disconnect()


# -- what is asked --------------------------------------------------------------------------

async def test_mode_command_user_and_size_reach_the_bridge():
    world = await make_world()
    communicator, connected, _ = await open_socket(
        terminal_path(world, query="command=top%20-d%201&user=nobody&cols=120&rows=40"),
        world.user("operator"))
    assert connected
    request = await FakeBridge().next("bridge.terminal.open")
    assert request["command"] == ["top", "-d", "1"]
    assert request["user"] == "nobody"
    assert (request["cols"], request["rows"]) == (120, 40)
    assert len(request["session"]) == 32
    await communicator.disconnect()


async def test_the_teams_pinned_user_wins():
    world = await make_world()
    team = world.teams["alpha"]
    team.terminal_user = "app:app"
    await database_sync_to_async(team.save)()
    communicator, bridge, request, session = await opened_terminal(world, query="user=root")
    assert request["user"] == "app:app"
    assert session["pinned"] is True
    await communicator.disconnect()


@pytest.mark.parametrize("query,reason", [
    ("mode=shell", "mode is exec or attach"),
    ("cols=0", "between 1 and 1000"),
    ("user=root;rm", "the user is a name or a number"),
    ("command=%22unclosed", "cannot read the command"),
    ("mode=attach&command=ls", "attach runs nothing"),
    ("session=xyz", "32 hex digits"),
])
async def test_bad_requests_get_a_one_line_error(query, reason):
    world = await make_world()
    communicator, connected, _ = await open_socket(terminal_path(world, query=query),
                                                   world.user("operator"))
    assert connected
    error = json.loads(await communicator.receive_from(timeout=3))
    assert error["type"] == "error" and reason in error["message"]
    assert (await communicator.receive_output(timeout=3))["code"] == 4400
    assert await FakeBridge().nothing()


# -- the frames ----------------------------------------------------------------------------

async def test_bytes_go_both_ways_and_control_is_json():
    world = await make_world()
    communicator, bridge, request, session = await opened_terminal(world)
    assert session["id"] == request["session"] and session["resumed"] is False
    await communicator.send_to(bytes_data=b"echo hi\r")
    sent = await bridge.next("bridge.terminal.input")
    assert sent["data"] == b"echo hi\r" and sent["session"] == request["session"]
    await communicator.send_to(text_data=json.dumps({"type": "resize", "cols": 100,
                                                     "rows": 30}))
    resize = await bridge.next("bridge.terminal.resize")
    assert (resize["cols"], resize["rows"]) == (100, 30)
    await communicator.send_to(bytes_data=b"\x03")          # Ctrl-C is just a byte
    assert (await bridge.next("bridge.terminal.input"))["data"] == b"\x03"
    await bridge.answer(request, "terminal.output", data=b"hi\r\n", end=4)
    assert await communicator.receive_from(timeout=3) == b"hi\r\n"
    await communicator.send_to(text_data=json.dumps({"type": "ack", "bytes": 4}))
    assert (await bridge.next("bridge.terminal.ack"))["position"] == 4
    await communicator.send_to(text_data=json.dumps({"type": "resize", "cols": "wide"}))
    assert "resize takes" in json.loads(await communicator.receive_from(timeout=3))["message"]
    await communicator.disconnect()


async def test_a_deeply_nested_control_frame_is_refused_and_the_terminal_stays():
    world = await make_world()
    communicator, bridge, request, session = await opened_terminal(world)
    await communicator.send_to(text_data="[" * 100_000 + "]" * 100_000)
    error = json.loads(await communicator.receive_from(timeout=3))
    assert error["type"] == "error" and "nested deeper than" in error["message"]
    await communicator.send_to(text_data=json.dumps({"type": "resize", "cols": 90,
                                                     "rows": 20}))
    assert (await bridge.next("bridge.terminal.resize"))["cols"] == 90
    await communicator.disconnect()


async def test_utf8_split_across_frames_passes_unchanged_and_records_whole():
    world = await make_world()
    communicator, bridge, request, session = await opened_terminal(world)
    await bridge.answer(request, "terminal.output", data=b"price: \xe2\x82", end=9)
    await bridge.answer(request, "terminal.output", data=b"\xac\r\n", end=12)
    assert await communicator.receive_from(timeout=3) == b"price: \xe2\x82"
    assert await communicator.receive_from(timeout=3) == b"\xac\r\n"
    await bridge.answer(request, "terminal.exit", code=0)
    await communicator.receive_from(timeout=3)
    events = await recorded(request["session"])
    assert "".join(text for _, code, text in events if code == "o") == "price: €\r\n"


async def test_a_large_paste_is_passed_on_in_pieces_the_host_accepts():
    world = await make_world()
    communicator, bridge, request, session = await opened_terminal(world)
    paste = b"x" * 100_000
    await communicator.send_to(bytes_data=paste)
    pieces = []
    while sum(map(len, pieces)) < len(paste):
        pieces.append((await bridge.next("bridge.terminal.input"))["data"])
    assert b"".join(pieces) == paste and max(map(len, pieces)) <= 32 * 1024
    await bridge.answer(request, "terminal.input_ack", written=len(paste))
    assert json.loads(await communicator.receive_from(timeout=3)) == {
        "type": "input-ack", "written": 100_000}
    await communicator.disconnect()


async def test_exit_sends_the_code_closes_and_audits_the_session():
    world = await make_world()
    communicator, bridge, request, session = await opened_terminal(world)
    await communicator.send_to(bytes_data=b"exit 3\r")
    await bridge.next("bridge.terminal.input")
    await bridge.answer(request, "terminal.output", data=b"exit 3\r\n", end=8)
    await bridge.answer(request, "terminal.exit", code=3)
    assert await communicator.receive_from(timeout=3) == b"exit 3\r\n"
    assert json.loads(await communicator.receive_from(timeout=3)) == {"type": "exit", "code": 3}
    assert (await communicator.receive_output(timeout=3))["code"] == 1000
    opened, closed = await audit_actions()
    assert opened["action"] == "container.terminal.open" and opened["actor_name"] == "operator"
    assert opened["params"] == {"session": request["session"], "mode": "exec", "user": "",
                                "command": ["/bin/sh"]}
    assert closed["action"] == "container.terminal.close"
    assert closed["params"]["exit_code"] == 3 and closed["params"]["reason"] == "exited"
    assert closed["params"]["duration"] >= 0 and closed["params"]["mode"] == "exec"
    events = await recorded(request["session"])
    assert ["o", "exit 3\r\n"] in [event[1:] for event in events]
    assert not [event for event in events if event[1] == "i"]      # what was typed: not kept


async def test_the_bridge_refusing_is_shown_and_audited():
    world = await make_world()
    communicator, connected, _ = await open_socket(terminal_path(world),
                                                   world.user("operator"))
    bridge = FakeBridge()
    request = await bridge.next("bridge.terminal.open")
    await bridge.answer(request, "terminal.error",
                        message="Container web is exited: a terminal needs it running.")
    error = json.loads(await communicator.receive_from(timeout=3))
    assert error == {"type": "error",
                     "message": "Container web is exited: a terminal needs it running."}
    entries = await audit_actions()
    assert entries[-1]["result"] == "failed" and "exited" in entries[-1]["error"]


async def test_a_silent_bridge_is_reported(monkeypatch):
    from console.streams.consumers import terminal

    monkeypatch.setattr(terminal, "OPEN_TIMEOUT", 0.2)
    world = await make_world()
    communicator, connected, _ = await open_socket(terminal_path(world),
                                                   world.user("operator"))
    error = json.loads(await communicator.receive_from(timeout=3))
    assert "did not answer" in error["message"] and "bridge" in error["message"]
    assert (await communicator.receive_output(timeout=3))["code"] == 1011


# -- resuming ------------------------------------------------------------------------------

@database_sync_to_async
def session_row(session_id):
    from console.streams.models import TerminalSession

    return TerminalSession.objects.get(pk=session_id)


@database_sync_to_async
def recorded(session_id):
    from console.streams.casts import read_events
    from console.streams.models import TerminalSession

    return read_events(TerminalSession.objects.get(pk=session_id).recording_path)[1]


async def test_a_dropped_socket_detaches_and_the_page_resumes_with_the_screen():
    world = await make_world()
    key = await session_cookie(world.user("operator"))
    bridge = FakeBridge()
    communicator, connected, _ = await open_socket(terminal_path(world),
                                                   world.user("operator"), key=key)
    request = await bridge.next("bridge.terminal.open")
    await bridge.opened(request)
    await communicator.receive_from(timeout=3)
    await bridge.answer(request, "terminal.output", data=b"$ ls\r\n", end=6)
    await communicator.receive_from(timeout=3)
    await communicator.disconnect()
    detach = await bridge.next("bridge.terminal.detach")
    assert detach["session"] == request["session"]
    assert (await session_row(request["session"])).detached_at is not None

    session_id = request["session"]
    again, connected, _ = await open_socket(
        terminal_path(world, query=f"session={session_id}"), world.user("operator"), key=key)
    assert connected
    resume = await bridge.next("bridge.terminal.open")
    assert resume["resume"] is True and resume["session"] == session_id
    await bridge.opened(resume, replay=b"$ ls\r\nfile\r\n", start=0)
    hello = json.loads(await again.receive_from(timeout=3))
    assert hello["resumed"] is True and hello["id"] == session_id and hello["replay"] == 12
    assert await again.receive_from(timeout=3) == b"$ ls\r\nfile\r\n"
    row = await session_row(session_id)
    assert row.detached_at is None and row.ended_at is None
    await bridge.answer(resume, "terminal.exit", code=0)
    await again.receive_from(timeout=3)
    # What came while away is recorded once: the replay's first 6 bytes were already.
    outputs = [text for _, code, text in await recorded(session_id) if code == "o"]
    assert "".join(outputs) == "$ ls\r\nfile\r\n"


async def test_nobody_resumes_someone_elses_session():
    world = await make_world()
    communicator, bridge, request, session = await opened_terminal(world, "operator")
    await communicator.disconnect()
    await bridge.next("bridge.terminal.detach")
    other, connected, _ = await open_socket(
        terminal_path(world, query=f"session={request['session']}"), world.user("developer"))
    assert connected
    error = json.loads(await other.receive_from(timeout=3))
    assert error == {"type": "error", "message": "No such session."}
    assert (await other.receive_output(timeout=3))["code"] == 4410
    assert await bridge.nothing()


async def test_a_second_socket_takes_the_session_over():
    world = await make_world()
    communicator, bridge, request, session = await opened_terminal(world)
    second, connected, _ = await open_socket(
        terminal_path(world, query=f"session={request['session']}"), world.user("operator"))
    resume = await bridge.next("bridge.terminal.open")
    await bridge.answer(request, "terminal.taken")       # to the first socket
    assert json.loads(await communicator.receive_from(timeout=3)) == {"type": "taken"}
    assert (await communicator.receive_output(timeout=3))["code"] == 4409
    await bridge.opened(resume)
    assert json.loads(await second.receive_from(timeout=3))["resumed"] is True
    await second.disconnect()


async def test_closing_from_the_page_hangs_up():
    world = await make_world()
    communicator, bridge, request, session = await opened_terminal(world)
    await communicator.send_to(text_data=json.dumps({"type": "close"}))
    await bridge.next("bridge.terminal.close")
    await bridge.answer(request, "terminal.exit", code=129)
    assert json.loads(await communicator.receive_from(timeout=3))["code"] == 129
    closed = (await audit_actions())[-1]
    assert closed["params"]["reason"] == "closed" and closed["params"]["exit_code"] == 129


# -- revocation ----------------------------------------------------------------------------

async def test_logout_ends_the_terminal():
    world = await make_world()
    key = await session_cookie(world.user("operator"))
    bridge = FakeBridge()
    communicator, connected, _ = await open_socket(terminal_path(world),
                                                   world.user("operator"), key=key)
    request = await bridge.next("bridge.terminal.open")
    await bridge.opened(request)
    await communicator.receive_from(timeout=3)
    await database_sync_to_async(publish.session_ended)(key)
    assert json.loads(await communicator.receive_from(timeout=2))["message"] == "Logged out."
    assert (await communicator.receive_output(timeout=2))["code"] == 4401
    assert (await bridge.next("bridge.terminal.close"))["session"] == request["session"]
    closed = (await audit_actions())[-1]
    assert closed["action"] == "container.terminal.close"
    assert closed["params"]["reason"] == "logged out"


async def test_removal_from_the_team_ends_the_terminal():
    world = await make_world()
    communicator, bridge, request, session = await opened_terminal(world, "operator")
    from console.teams import actions

    await database_sync_to_async(actions.remove_member)(
        world.user("team_admin"), world.teams["alpha"], world.user("operator"))
    error = json.loads(await communicator.receive_from(timeout=2))
    assert "no longer" in error["message"]
    assert (await communicator.receive_output(timeout=2))["code"] == 4403
    await bridge.next("bridge.terminal.close")


async def test_losing_the_role_or_the_grant_ends_the_terminal():
    world = await make_world()
    from console.teams import actions

    communicator, bridge, request, session = await opened_terminal(world, "operator")
    await database_sync_to_async(actions.set_member)(
        world.user("team_admin"), world.teams["alpha"], world.user("operator"), "viewer")
    assert (await communicator.receive_output(timeout=2))["type"] == "websocket.send"
    assert (await communicator.receive_output(timeout=2))["code"] == 4403
    await bridge.next("bridge.terminal.close")

    granted = await grant(world, "stranger", "web", ["terminal"])
    communicator, bridge, request, session = await opened_terminal(world, "stranger", bridge=bridge)
    from console.grants.actions import revoke_grant

    await database_sync_to_async(revoke_grant)(world.user("team_admin"), granted)
    await communicator.receive_from(timeout=2)
    assert (await communicator.receive_output(timeout=2))["code"] == 4403
    await bridge.next("bridge.terminal.close")


async def test_a_change_that_keeps_the_permission_keeps_the_terminal():
    world = await make_world()
    from console.teams import actions

    communicator, bridge, request, session = await opened_terminal(world, "operator")
    await database_sync_to_async(actions.set_member)(
        world.user("team_admin"), world.teams["alpha"], world.user("operator"), "developer")
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_live_events_in_the_users_group_do_not_disturb_the_terminal():
    world = await make_world()
    communicator, bridge, request, session = await opened_terminal(world, "operator")
    await database_sync_to_async(publish.send)(
        [f"moorage.user.{world.user('operator').pk}"],
        {"type": "job.event", "team_id": None, "job": {"id": 1}})
    await database_sync_to_async(publish.container_changed)(world.containers["web"])
    assert await communicator.receive_nothing(timeout=0.3)
    await bridge.answer(request, "terminal.output", data=b"still here", end=10)
    assert await communicator.receive_from(timeout=3) == b"still here"
    await communicator.disconnect()


# -- containers that hold part of the host ------------------------------------------------------

@database_sync_to_async
def give_host_access(world, name="web", **host_config):
    container = world.containers[name]
    container.inspect_data = {**(container.inspect_data or {}), "HostConfig": host_config}
    container.save(update_fields=["inspect_data"])


@pytest.mark.parametrize("host_config,held", [
    ({"Privileged": True}, "privileged"),
    ({"Binds": ["/:/host"]}, "bind mounts of the host"),
    ({"CapAdd": ["SYS_ADMIN"]}, "added capabilities"),
    ({"NetworkMode": "host"}, "the host's network"),
])
async def test_a_shell_in_a_container_holding_the_host_is_for_superusers(host_config, held):
    """A superuser may give a team a privileged container; its operators still get no shell in
    it (it would be a shell on the host), nor does anyone a team admin grants a terminal to."""
    world = await make_world()
    await give_host_access(world, **host_config)
    await grant(world, "stranger", "web", ["terminal"])
    for persona in ("operator", "team_admin", "stranger"):
        communicator, connected, code = await open_socket(terminal_path(world),
                                                          world.user(persona))
        assert not connected and code == 4403, persona
    entries = await audit_actions()
    assert [e["result"] for e in entries] == ["denied"] * 3
    assert held in entries[0]["error"] and "Only a superuser" in entries[0]["error"]
    communicator, bridge, request, session = await opened_terminal(world, "superuser")
    await communicator.disconnect()


async def test_an_open_shell_ends_when_the_container_turns_out_to_hold_the_host():
    world = await make_world()
    communicator, bridge, request, session = await opened_terminal(world, "operator")
    await give_host_access(world, Privileged=True)
    await database_sync_to_async(publish.permissions_changed)(world.user("operator").pk)
    message = json.loads(await communicator.receive_from(timeout=2))
    assert "no longer" in message["message"]
    assert (await communicator.receive_output(timeout=2))["code"] == 4403
    await bridge.next("bridge.terminal.close")
