"""Redis down, end to end with the real stack: every action that queues a job answers 503 with
JSON saying Redis is unreachable, and leaves nothing behind (no pending container row, no
container left `removing`); the log API answers 503 JSON too; the pages show the message
instead of a 500. Once Redis is back, the same requests work."""
import base64
import io
import signal
import tarfile

import pytest

from tests.e2e.test_commit_history import Session
from tests.stack import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.privileged]


def context_archive() -> str:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = b"hello\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return base64.b64encode(buffer.getvalue()).decode()


def unreachable(answer):
    status, body = answer
    assert status == 503, answer
    assert isinstance(body, dict) and "Redis is unreachable" in body["detail"], answer


def test_with_redis_down_nothing_is_queued_or_left_behind(stack):
    api = stack.admin
    job = api.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": "steady", "cmd": ["sleep", "300"]})
    assert job["state"] == "succeeded", job
    steady = job["container"]
    session = Session(stack.base)
    session.login("admin", stack.admin_password)
    argv = stack.processes["redis"].args
    try:
        stack.end("redis", signal.SIGKILL)

        unreachable(api.post("/api/containers/", {"image": "busybox", "host": "e2e",
                                                  "name": "never", "cmd": ["sleep", "9"]}))
        assert api.ok("GET", "/api/containers/?name=never")["count"] == 0
        for verb in ("stop", "kill", "restart", "commit"):
            unreachable(api.post(f"/api/containers/{steady}/{verb}/"))
        unreachable(api.delete(f"/api/containers/{steady}/?force=1"))
        assert api.ok("GET", f"/api/containers/{steady}/")["state"] == "running"
        unreachable(api.post("/api/images/pull/", {"reference": "127.0.0.1:1/none/app:1",
                                                   "host": "e2e"}))
        unreachable(api.post("/api/images/build/", {
            "host": "e2e", "tags": ["down/app:1"], "context": context_archive(),
            "dockerfile": "FROM busybox\nCOPY hello.txt /"}))
        unreachable(api.get(f"/api/containers/{steady}/logs/"))
        asked = [j for j in api.ok("GET", "/api/jobs/?page_size=100")["results"]
                 if j["id"] > job["id"]]
        assert len(asked) == 8 and all(
            j["state"] == "failed" and "Redis is unreachable" in j["error"] for j in asked)

        status, page, _ = session.post(f"/containers/{steady}/stop/", {})
        assert status == 200 and "Redis is unreachable" in page
        status, page, _ = session.post("/containers/run/", {
            "host": "e2e", "image": "busybox", "name": "never", "command": "sleep 9",
            "restart": "no", "network": "bridge"})
        assert status == 200 and "Redis is unreachable" in page
        assert api.ok("GET", "/api/containers/?name=never")["count"] == 0
    finally:
        if "redis" not in stack.processes:
            stack.spawn("redis", argv)
        wait_until(stack._redis_ping, what="redis again")
    stack.wait_host_online("e2e", timeout=60)
    try:
        stop = wait_until(lambda: (lambda s: s if s[0] == 200 else None)(
            api.post(f"/api/containers/{steady}/stop/?wait=1", {"timeout": 1})),
            timeout=30, what="a stop once Redis is back")
        assert stop[1]["state"] == "succeeded", stop
    finally:
        api.call("DELETE", f"/api/containers/{steady}/?force=1&wait=1")
