"""Grants that end, end to end through daphne, Redis and a real container: a terminal opened
through a grant closes (4403) within seconds of the grant's end; a request approved for a few
seconds gives a terminal that closes the same way when it ends; a refused request gives
nothing."""
import asyncio
import secrets
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.stack import Api
from tests.stream_client import TerminalClient, run, socket_url

pytestmark = [pytest.mark.e2e, pytest.mark.privileged]


@pytest.fixture
def container(stack):
    job = stack.admin.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": "granted-" + secrets.token_hex(3),
        "cmd": ["sleep", "300"], "team": "default"})
    assert job["state"] == "succeeded", job
    yield job["container"]
    stack.admin.call("DELETE", f"/api/containers/{job['container']}/?force=1&wait=1")


def user(stack, role=None) -> tuple[str, Api]:
    """A new user (a member of the default team with `role`, if given) and their API."""
    name, _, api = stack.new_user("u-", stack.default_team() if role else None, role)
    return name, api


async def closed_after(terminal, timeout: float) -> tuple[int | None, float]:
    started = time.monotonic()
    try:
        while True:
            await asyncio.wait_for(terminal.socket.recv(), timeout)
    except ConnectionClosed as closed:
        return (closed.rcvd.code if closed.rcvd else None), time.monotonic() - started


def terminal_until_closed(stack, api, container, ends_at: float) -> tuple[int | None, float]:
    """Open a terminal as `api`'s user, use it, then wait for it to close: its close code and
    the seconds from the grant's end (`ends_at`, on the monotonic clock) to the close."""
    async def scenario():
        terminal = await TerminalClient.open(stack.base, api.token, container)
        await terminal.send(b"echo granted\n")
        await terminal.expect(b"granted")
        return await closed_after(terminal, timeout=40)
    code, _ = run(scenario())
    return code, time.monotonic() - ends_at


def refused_code(stack, api, container) -> int:
    async def attempt():
        try:
            socket = await connect(socket_url(stack.base, container, "terminal"),
                                   additional_headers={"Authorization": f"Token {api.token}"})
        except InvalidStatus as refused:
            return refused.response.status_code
        try:
            await asyncio.wait_for(socket.recv(), 10)
        except ConnectionClosed as closed:
            return closed.rcvd.code
        return 0
    return run(attempt())


def test_a_grant_ending_in_three_seconds_closes_an_open_terminal(stack, container):
    name, api = user(stack)
    grant = stack.admin.ok("POST", "/api/grants/", {
        "user": name, "container": container, "actions": ["terminal"], "duration": 3})
    ends_at = time.monotonic() + 3
    assert grant["expires_at"]
    code, late = terminal_until_closed(stack, api, container, ends_at)
    assert code == 4403
    assert late < 12, f"closed {late:.1f} s after the grant ended"
    assert api.get(f"/api/containers/{container}/")[0] == 404
    ends = stack.admin.ok("GET", f"/api/audit/?action=container.grant.expire&target={container}")
    assert ends["count"] == 1 and ends["results"][0]["params"]["user"] == name


def test_a_request_approved_for_a_while_and_then_ended(stack, container):
    name, api = user(stack, role="viewer")
    assert refused_code(stack, api, container) == 403     # a viewer: refused before accept()
    asked = api.ok("POST", "/api/access-requests/", {
        "container": container, "actions": ["terminal"], "duration": 4,
        "reason": "to look at /tmp"})
    assert asked["state"] == "pending"
    decided = stack.admin.ok("POST", f"/api/access-requests/{asked['id']}/approve/",
                             {"note": "four seconds"})
    ends_at = time.monotonic() + 4
    assert decided["state"] == "approved" and decided["expires_at"]
    code, late = terminal_until_closed(stack, api, container, ends_at)
    assert code == 4403 and late < 12, (code, late)
    mine = api.ok("GET", f"/api/access-requests/{asked['id']}/")
    assert (mine["state"], mine["note"], mine["decided_by"]) == ("approved", "four seconds",
                                                                "admin")


def test_a_refused_request_leaves_no_grant(stack, container):
    name, api = user(stack, role="viewer")
    asked = api.ok("POST", "/api/access-requests/", {
        "container": container, "actions": ["terminal"], "duration": 600, "reason": "please"})
    decided = stack.admin.ok("POST", f"/api/access-requests/{asked['id']}/refuse/",
                             {"note": "ask the on-call"})
    assert decided["state"] == "refused"
    grants = stack.admin.ok("GET", "/api/grants/?page_size=1000")["results"]
    assert not [grant for grant in grants if grant["user"] == name]
    assert refused_code(stack, api, container) == 403
