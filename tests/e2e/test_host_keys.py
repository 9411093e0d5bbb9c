"""A host's agent against the real stack, as a thief who broke out on it would find it: it holds
its key file and none of the console's credentials; its Redis user reaches its own queue and
nothing else; a notice forged onto its queue makes it do only what the console says its job is
(nothing, for another host's job); and once its key is revoked the agent stops within seconds
and nothing it held opens anything."""
import json
import os
import secrets

import pytest
import redis
from celery import Celery

from console.agent.config import HostConfig
from console.jobs import wire
from tests.stack import Api, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.privileged]

HOST = "keyed"


@pytest.fixture(scope="module")
def keyed(stack):
    """Host `keyed` (its own engine root, key file and agent), and its key file's contents."""
    if HOST not in stack.roots:
        stack.add_host(HOST)
    stack.wait_host_online(HOST)
    with open(stack.key_file(HOST)) as handle:
        return HostConfig(**json.load(handle))


def processes_of(pid: int) -> list[int]:
    """`pid` and its descendants (a worker's pool processes)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in os.listdir(f"/proc/{current}/task"):
            with open(f"/proc/{current}/task/{task}/children") as handle:
                todo.extend(int(child) for child in handle.read().split())
    return found


def told(pid: int) -> str:
    with open(f"/proc/{pid}/environ", "rb") as handle:
        environment = handle.read().replace(b"\0", b"\n").decode(errors="replace")
    with open(f"/proc/{pid}/cmdline", "rb") as handle:
        return environment + handle.read().replace(b"\0", b" ").decode(errors="replace")


def test_the_agent_holds_its_key_and_no_credential_of_the_consoles(stack, keyed):
    with open(os.path.join(stack.tmp, "var", "secret_key")) as handle:
        secret_key = handle.read().strip()
    secrets_of_the_console = (stack.redis_password, secret_key, "console.sqlite3")
    for name in (f"worker-{HOST}", f"bridge-{HOST}"):
        for pid in processes_of(stack.processes[name].pid):
            text = told(pid)
            assert not any(secret in text for secret in secrets_of_the_console), (name, pid)
            assert "DATABASE_URL=" not in text and "SECRET_KEY=" not in text
    home = os.path.dirname(stack.key_file(HOST))
    assert os.stat(stack.key_file(HOST)).st_mode & 0o777 == 0o600
    for directory, _, files in os.walk(home):
        for name in files:
            with open(os.path.join(directory, name), "rb") as handle:
                content = handle.read().decode(errors="replace")
            assert not any(secret in content for secret in secrets_of_the_console), name


def test_its_redis_user_reaches_its_own_queue_and_nothing_else(stack, keyed):
    with redis.Redis.from_url(keyed.redis_url(), socket_timeout=5) as mine:
        assert mine.llen(wire.queue_name(HOST)) >= 0
        refused = [
            lambda: mine.lpush(wire.queue_name("e2e"), b"forged"),   # another host's queue
            lambda: mine.llen(wire.queue_name("e2e")),
            lambda: mine.keys("*"),
            lambda: mine.get("asgi:group:moorage.agent-sockets.e2e"),  # the channel layer
            lambda: mine.zadd("asgi:moorage.agent.e2e", {b"x": 1}),
            lambda: mine.publish("anything", b"x"),
            lambda: mine.execute_command("ACL", "LIST"),
            lambda: mine.flushall(),
        ]
        for attempt in refused:
            with pytest.raises(redis.exceptions.NoPermissionError):
                attempt()
    assert stack.host("e2e")["state"] == "online"


def test_a_notice_forged_onto_its_queue_does_only_what_the_console_says(stack, keyed):
    """Another host's job ID on this host's queue: the agent asks the console, which refuses
    (and audits) it; the job stays as it was."""
    job = stack.admin.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": "forged-" + secrets.token_hex(3),
        "cmd": ["sleep", "60"]})
    assert job["state"] == "succeeded", job
    try:
        forger = Celery("forger", broker=keyed.redis_url())
        forger.conf.broker_connection_retry_on_startup = False
        forger.conf.broker_transport_options = wire.transport_options(HOST)
        forger.send_task(wire.EXECUTE_TASK, args=[job["id"]], queue=wire.queue_name(HOST))

        def refusal():
            entries = stack.admin.ok("GET", "/api/audit/?action=hostapi.claim")["results"]
            return next((entry for entry in entries if entry["actor"] == f"host:{HOST}"
                         and entry["result"] == "denied"), None)
        wait_until(refusal, what="the refused claim in the audit log")
        after = stack.admin.ok("GET", f"/api/jobs/{job['id']}/")
        assert (after["state"], after["finished_at"]) == ("succeeded", job["finished_at"])
    finally:
        stack.admin.call("DELETE", f"/api/containers/{job['container']}/?force=1&wait=1")


def test_revoking_its_key_stops_its_agent_and_opens_nothing(stack, keyed):
    host = stack.host(HOST)
    assert host["joined"]
    status, answer = stack.admin.post(f"/api/hosts/{host['id']}/revoke-key/")
    assert status == 200, answer
    agent = [stack.processes[f"worker-{HOST}"], stack.processes[f"bridge-{HOST}"]]
    wait_until(lambda: all(process.poll() is not None for process in agent), timeout=20,
               what="the revoked host's agent to stop")
    status, _ = Api(stack.base, keyed.key).get("/api/agent/key/")
    assert status == 401
    with pytest.raises(redis.exceptions.AuthenticationError):
        with redis.Redis.from_url(keyed.redis_url(), socket_timeout=5) as mine:
            mine.ping()
    assert not stack.host(HOST)["joined"]
