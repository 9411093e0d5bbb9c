"""Live logs end to end: a real container's log through the host's bridge, Redis and daphne to
a websocket client and to the HTTP endpoint. A counter's lines have no gap and no repeat
across a forced reconnect and across a restart of the bridge; stdout and stderr are told
apart; a flood neither slows the container nor grows memory while nobody reads; a container
on a second host is followed from the same web process."""
import asyncio
import secrets
import time
import urllib.request
from itertools import pairwise

import pytest

from runtime.container import logfiles
from tests.stack import wait_until
from tests.stream_client import LogsClient, run

pytestmark = [pytest.mark.e2e, pytest.mark.privileged]

COUNTER = "i=0; while true; do echo $i; i=$((i+1)); sleep 0.01; done"


def start(stack, cmd, host="e2e", **options):
    job = stack.admin.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": host, "name": "logs-" + secrets.token_hex(3),
        "cmd": cmd, "team": "default", **options})
    assert job["state"] == "succeeded", job
    return job["container"]


@pytest.fixture
def containers(stack):
    made = []
    yield lambda cmd, **options: made.append(start(stack, cmd, **options)) or made[-1]
    for container in made:
        stack.admin.call("DELETE", f"/api/containers/{container}/?force=1&wait=1")


def numbers(lines):
    return [int(line[3]) for line in lines if line[1] == "out"]


def assert_consecutive(values):
    assert values, "no lines"
    assert values == list(range(values[0], values[0] + len(values))), (
        f"gap or repeat near {[v for a, v in pairwise(values) if v != a + 1][:3]}")


def test_a_counter_has_no_gap_across_a_forced_reconnect(stack, containers):
    container = containers(["sh", "-c", COUNTER])

    async def scenario():
        client = await LogsClient.open(stack.base, stack.admin.token, container)
        await client.start(type="follow", tail=None)
        await client.until(lambda lines: len(lines) >= 50)
        first, cursor = list(client.lines), client.cursor
        await client.close()                    # the socket drops; the counter goes on
        await asyncio.sleep(1.0)
        again = await LogsClient.open(stack.base, stack.admin.token, container)
        await again.start(type="resume", cursor=cursor)
        await again.until(lambda lines: len(lines) >= 100)
        await again.close()
        values = numbers(first) + numbers(again.lines)
        assert values[0] == 0
        assert_consecutive(values)
        offsets = [line[0] for line in first + again.lines]
        assert offsets == sorted(set(offsets))
    run(scenario())


def test_resuming_after_an_offset_and_tail(stack, containers):
    container = containers(["sh", "-c", "seq 1 500; sleep 600"])

    async def scenario():
        client = await LogsClient.open(stack.base, stack.admin.token, container, tail=5)
        await client.until(lambda lines: len(lines) >= 5)
        assert numbers(client.lines) == [496, 497, 498, 499, 500]
        await client.close()
        full = await LogsClient.open(stack.base, stack.admin.token, container)
        await full.start(type="follow", tail=None)
        await full.until(lambda lines: len(lines) >= 500)
        offset_of_250 = next(line[0] for line in full.lines if line[3] == "250")
        await full.start(type="resume", after=offset_of_250)
        full.lines = []
        await full.until(lambda lines: len(lines) >= 250)
        assert numbers(full.lines) == list(range(251, 501))
        await full.close()
    run(scenario())


def test_stdout_and_stderr_are_told_apart_and_the_end_is_said(stack, containers):
    container = containers(["sh", "-c", "echo out-1; echo err-1 >&2; printf unfinished"])
    wait_until(lambda: stack.admin.ok("GET", f"/api/containers/{container}/")["state"]
               == "exited", timeout=20, what="the container ended")

    async def scenario():
        client = await LogsClient.open(stack.base, stack.admin.token, container)
        await client.start(type="follow", tail=None)
        while not client.ended:
            assert await client.batch(timeout=15) is not None
        return client.lines
    lines = run(scenario())
    # conmon reads the two pipes on its own: the streams' order is the log's, by offset.
    assert sorted((line[1], line[3], line[4]) for line in lines) == [
        ("err", "err-1", False), ("out", "out-1", False), ("out", "unfinished", True)]
    assert [line[0] for line in lines] == sorted(line[0] for line in lines)
    assert all(line[2].endswith("Z") for line in lines)


def test_the_follow_resumes_by_itself_when_the_bridge_restarts(stack, containers):
    container = containers(["sh", "-c", COUNTER])

    async def scenario():
        client = await LogsClient.open(stack.base, stack.admin.token, container)
        await client.start(type="follow", tail=None)
        await client.until(lambda lines: len(lines) >= 20)
        stack.kill_bridge("e2e")
        stack.start_bridge("e2e")
        seen = len(client.lines)
        await client.until(lambda lines: len(lines) >= seen + 100, timeout=40)
        await client.close()
        assert_consecutive(numbers(client.lines))
    run(scenario())


def test_a_flood_nobody_reads_neither_slows_the_container_nor_grows_memory(stack, containers):
    container = containers(["sh", "-c", "yes flood-line"])
    # How much it wrote: the log's end offset, across the files the engine rotates.
    log = logfiles.LogStream(f"{stack.roots['e2e']}/containers/{container}/ctr.log")
    bridge, web = stack.processes["bridge-e2e"].pid, stack.processes["web"].pid

    def rss(pid):
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))

    async def scenario():
        client = await LogsClient.open(stack.base, stack.admin.token, container)
        await client.start(type="follow", tail=0)
        batch = await client.batch(ack=False)          # one batch, never acknowledged
        assert batch is not None and batch["type"] == "logs"
        before = {pid: rss(pid) for pid in (bridge, web)}
        sizes = []
        for _ in range(4):
            sizes.append(log.end())
            await asyncio.sleep(1)
        after = {pid: rss(pid) for pid in (bridge, web)}
        assert sizes == sorted(sizes) and sizes[-1] - sizes[0] > 5_000_000, sizes
        for pid in (bridge, web):
            assert after[pid] - before[pid] < 40_000, (before, after)
        # Acknowledging lets it flow again.
        await client.socket.send('{"type": "ack", "batch": 1}')
        count = len(client.lines)
        await client.until(lambda lines: len(lines) > count + 10_000, timeout=30)
        await client.close()
    run(scenario())


def test_a_log_rotated_under_a_follow_has_no_gap(stack, containers):
    """A worker whose host caps logs at 16 KiB (three files kept): the follow, and a resume
    from its cursor, go on across the engine's rotations with no gap and no repeat."""
    stack.end("worker-e2e")
    stack.start_worker("e2e", extra_env={"MOORAGE_LOG_MAX_SIZE": "16k",
                                         "MOORAGE_LOG_MAX_FILE": "3"})
    try:
        container = containers(["sh", "-c", COUNTER])
    finally:
        stack.end("worker-e2e")
        stack.start_worker("e2e")
    log = f"{stack.roots['e2e']}/containers/{container}/ctr.log"

    async def scenario():
        client = await LogsClient.open(stack.base, stack.admin.token, container)
        await client.start(type="follow", tail=None)
        # 16 KiB hold about 330 of these lines: this follows across three rotations.
        await client.until(lambda lines: len(lines) >= 1100, timeout=60)
        first, cursor = list(client.lines), client.cursor
        await client.close()
        again = await LogsClient.open(stack.base, stack.admin.token, container)
        await again.start(type="resume", cursor=cursor)
        seen = logfiles.segments(log)[-1].base
        await again.until(lambda lines: lines and lines[-1][0] > seen + 20_000, timeout=60)
        await again.close()
        return first, again.lines
    first, resumed = run(scenario())
    values = numbers(first) + numbers(resumed)
    assert values[0] == 0
    assert_consecutive(values)
    found = logfiles.segments(log)
    assert len(found) == 3 and found[0].base > 0 and all(s.size <= 16 << 10 for s in found)


def test_http_logs_whole_and_followed(stack, containers):
    container = containers(["sh", "-c", "echo first; echo second >&2; sleep 1; echo third; "
                            "sleep 600"])
    request = urllib.request.Request(
        stack.base + f"/api/containers/{container}/logs/?follow=1&timestamps=0",
        headers={"Authorization": f"Token {stack.admin.token}"})
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=20) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        got = b""
        while b"third\n" not in got:
            got += response.read1(65536)
    assert got == b"first\nsecond\nthird\n" and time.monotonic() - started < 15
    request = urllib.request.Request(
        stack.base + f"/api/containers/{container}/logs/?stderr=0&download=1",
        headers={"Authorization": f"Token {stack.admin.token}"})
    with urllib.request.urlopen(request, timeout=20) as response:
        assert "attachment" in response.headers["Content-Disposition"]
        assert response.read() == b"first\nthird\n"


def test_logs_of_a_container_on_a_second_host(stack):
    if "e2e3" not in stack.roots:
        stack.add_host("e2e3")
        stack.wait_host_online("e2e3")
        team = next(t for t in stack.admin.ok("GET", "/api/teams/")["results"]
                    if t["name"] == "default")
        stack.admin.ok("POST", f"/api/teams/{team['id']}/hosts/", {"host": "e2e3"})
    container = start(stack, ["sh", "-c", "echo from-the-second-host; sleep 600"], host="e2e3")
    try:
        async def scenario():
            client = await LogsClient.open(stack.base, stack.admin.token, container, tail=10)
            await client.until(lambda lines: any(line[3] == "from-the-second-host"
                                                 for line in lines))
            await client.close()
        run(scenario())
    finally:
        stack.admin.call("DELETE", f"/api/containers/{container}/?force=1&wait=1")
