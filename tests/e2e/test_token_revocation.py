"""Revoking an API token closes, within seconds, the sockets a script opened with it, end to end
through daphne and Redis: the events socket and a terminal into a real container. A socket
opened with another token of the same user stays open."""
import asyncio
import json
import secrets
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.stack import Api
from tests.stream_client import TerminalClient, run

pytestmark = [pytest.mark.e2e, pytest.mark.privileged]


def new_token(stack, name):
    answer = stack.admin.ok("POST", "/api/tokens/", {"name": name})
    return answer["id"], answer["token"]


async def close_code(socket, timeout=10.0) -> tuple[int, float]:
    """(the close code, seconds it took), reading whatever comes before it."""
    started = time.monotonic()
    try:
        while True:
            await asyncio.wait_for(socket.recv(), timeout)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None, time.monotonic() - started


def test_revoking_a_token_closes_its_sockets_and_no_others(stack):
    api = stack.admin
    job = api.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": "revoked-" + secrets.token_hex(3),
        "cmd": ["sleep", "300"]})
    assert job["state"] == "succeeded", job
    container = job["container"]
    token_id, key = new_token(stack, "to revoke")
    _, other_key = new_token(stack, "to keep")
    events_url = stack.base.replace("http://", "ws://") + "/ws/events/"

    async def scenario():
        headers = {"Authorization": f"Token {key}"}
        events = await connect(events_url, additional_headers=headers)
        kept = await connect(events_url,
                             additional_headers={"Authorization": f"Token {other_key}"})
        terminal = await TerminalClient.open(stack.base, key, container)
        await terminal.send(b"echo still here\n")
        await terminal.expect(b"still here")
        # The token revokes itself, as a script would.
        assert Api(stack.base, key).call("DELETE", f"/api/tokens/{token_id}/")[0] == 204
        events_closed = await close_code(events)
        terminal_closed = await close_code(terminal.socket)
        # The other token's socket still gets the news (the container being stopped).
        api.ok("POST", f"/api/containers/{container}/stop/?wait=1", {"timeout": 1})
        news = json.loads(await asyncio.wait_for(kept.recv(), 10))
        await kept.close()
        return events_closed, terminal_closed, news

    events_closed, terminal_closed, news = run(scenario())
    assert events_closed[0] == 4401 and events_closed[1] < 5, events_closed
    assert terminal_closed[0] == 4401 and terminal_closed[1] < 5, terminal_closed
    assert news["type"] in ("job", "container"), news
    assert Api(stack.base, key).call("GET", "/api/jobs/")[0] == 401
    closes = api.ok("GET", "/api/audit/?action=container.terminal.close")["results"]
    assert any(e["params"].get("reason") == "token revoked" for e in closes)
    api.ok("DELETE", f"/api/containers/{container}/?force=1&wait=1")
