"""Workers die and come back without losing jobs or containers; each host's sync reports what
happened outside the console; a second host is just another worker with its own root. The
console runs on PostgreSQL here (`postgres_stack`)."""
import os
import signal
import subprocess
import time
import urllib.request

import pytest

from tests.stack import PYTHON, REPO, wait_until
from tests.stream_client import TerminalClient, resume_and_exit, run

pytestmark = [pytest.mark.e2e, pytest.mark.privileged]


@pytest.fixture(scope="module")
def stack(postgres_stack):
    """These tests run several hosts against one console: on PostgreSQL, as a console that
    several machines share does."""
    return postgres_stack


def container_state(api, ref):
    status, answer = api.get(f"/api/containers/{ref}/")
    return answer if status == 200 else None


def test_a_worker_killed_during_a_job_leaves_the_job_failed(stack):
    api = stack.admin
    job = api.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": "stubborn",
        "cmd": ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"]})
    assert job["state"] == "succeeded", job
    stop = api.ok("POST", "/api/containers/stubborn/stop/", {"timeout": 60})
    wait_until(lambda: api.ok("GET", f"/api/jobs/{stop['id']}/")["state"] == "running",
               timeout=20, interval=0.05, what="stop job running")
    time.sleep(0.5)
    stack.kill_worker("e2e")
    try:
        # Nobody else serves the host: the web process's reaper notices the silence.
        failed = wait_until(lambda: (lambda j: j if j["state"] == "failed" else None)(
            api.ok("GET", f"/api/jobs/{stop['id']}/")), timeout=40, interval=0.5,
            what="the stop job failed")
        assert "worker" in failed["error"]
        assert stack.host("e2e")["state"] == "offline"
        status, answer = api.post("/api/containers/stubborn/kill/")
        assert status == 409 and "offline" in answer["detail"]
        # The container outlived its worker.
        assert stack.moor("e2e", "inspect", "-f", "{{.State.Status}}",
                          "stubborn").stdout.strip() == "running"
    finally:
        stack.start_worker("e2e")
    stack.wait_host_online("e2e")
    assert container_state(api, "stubborn")["state"] == "running"
    job = api.ok("DELETE", "/api/containers/stubborn/?force=1&wait=1")
    assert job["state"] == "succeeded", job


def test_a_restarted_worker_fails_what_its_predecessor_was_running(stack):
    api = stack.admin
    api.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": "stubborn2",
        "cmd": ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"]})
    stop = api.ok("POST", "/api/containers/stubborn2/stop/", {"timeout": 60})
    wait_until(lambda: api.ok("GET", f"/api/jobs/{stop['id']}/")["state"] == "running",
               timeout=20, interval=0.05, what="stop job running")
    stack.kill_worker("e2e")
    stack.start_worker("e2e")           # at once: before the host is even seen offline
    failed = stack.wait_job(stop["id"], timeout=30)
    # The new worker fails it at its start; on a loaded machine whose new worker takes longer
    # to start than a host may stay silent, the web process's reaper fails it first. Either
    # way the job ends, saying the worker went away (tests/console pin each path alone).
    assert failed["state"] == "failed", failed
    assert ("restarted" in failed["error"] or "stopped responding" in failed["error"]), failed
    stack.wait_host_online("e2e")
    api.ok("DELETE", "/api/containers/stubborn2/?force=1&wait=1")


def test_sync_picks_up_containers_started_and_killed_outside(stack):
    api = stack.admin
    stack.moor("e2e", "run", "-d", "--name", "outside", "busybox", "sleep", "300")
    # A sync may meet it between create and start (`created`); the next one sees it running.
    adopted = wait_until(lambda: (lambda c: c if c and c["state"] == "running" else None)(
        container_state(api, "outside")), timeout=20, what="outside container adopted")
    assert adopted["team"] is None
    assert adopted["image"] == "busybox"
    stack.moor("e2e", "kill", "outside")
    exited = wait_until(lambda: (lambda c: c if c and c["state"] == "exited" else None)(
        container_state(api, "outside")), timeout=20, what="outside container exited")
    assert exited["exit_code"] == 137
    stack.moor("e2e", "rm", "outside")
    wait_until(lambda: container_state(api, "outside") is None, timeout=20,
               what="outside container gone")


def test_a_worker_started_on_an_empty_root_wipes_nothing(stack):
    """The host's worker restarted with a wrong MOORAGE_ROOT lists no container and no image:
    the host says its root changed, and however many syncs pass, every row, its team and its
    grants stay; back on its root, nothing was lost."""
    api = stack.admin
    api.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": "kept", "cmd": ["sleep", "300"]})
    viewer = api.ok("POST", "/api/users/", {"username": "kept-viewer",
                                            "password": "a long enough password 7"})
    api.ok("POST", "/api/grants/", {"user": viewer["username"], "container": "kept",
                                    "actions": ["start"]})
    host = stack.host("e2e")
    empty = os.path.join(stack.tmp, "root-empty")
    stack.kill_worker("e2e")
    stack.start_worker("e2e", root=empty)
    try:
        wait_until(lambda: (stack.host("e2e") or {}).get("root_changed"), timeout=30,
                   what="the host reports another root")
        for _ in range(4):         # more syncs than a row may be missed (MOORAGE_SYNC_MISSES)
            job = api.ok("POST", f"/api/hosts/{host['id']}/sync/")
            assert stack.wait_job(job["id"])["state"] == "succeeded"
        kept = container_state(api, "kept")
        assert kept is not None and kept["team"] == "default"
        assert [g for g in api.ok("GET", "/api/grants/")["results"]
                if g["user"] == "kept-viewer"]
        images = api.ok("GET", "/api/images/?host=e2e")["results"]
        assert any("busybox:latest" in image["tags"] for image in images)
    finally:
        stack.kill_worker("e2e")
        stack.start_worker("e2e")
        subprocess.run([PYTHON, "-m", "runtime", "--root", empty,
                        "system", "reset", "--force"], cwd=REPO, env=stack.env, check=False,
                       capture_output=True)
    wait_until(lambda: (lambda h: h and h["state"] == "online" and not h["root_changed"])(
        stack.host("e2e")), timeout=30, what="the host back on its root")
    assert container_state(api, "kept")["state"] == "running"
    api.ok("DELETE", "/api/containers/kept/?force=1&wait=1")


def test_a_second_host_is_another_worker_with_its_own_root(stack):
    api = stack.admin
    stack.add_host("e2e2")
    stack.wait_host_online("e2e2")
    team = next(t for t in api.ok("GET", "/api/teams/")["results"] if t["name"] == "default")
    api.ok("POST", f"/api/teams/{team['id']}/hosts/", {"host": "e2e2"})
    job = api.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e2", "name": "elsewhere", "cmd": ["sleep", "300"]})
    assert job["state"] == "succeeded", job
    assert job["host"] == "e2e2"
    assert "elsewhere" in stack.moor("e2e2", "ps").stdout
    assert "elsewhere" not in stack.moor("e2e", "ps", "-a").stdout
    listed = {c["name"]: c["host"] for c in api.ok("GET", "/api/containers/")["results"]}
    assert listed["elsewhere"] == "e2e2"
    api.ok("DELETE", "/api/containers/elsewhere/?force=1&wait=1")


TICKER = "i=1; while true; do echo tick-$i; i=$((i+1)); sleep 0.05; done"


def test_containers_and_their_logs_outlive_a_restart_of_redis(stack):
    """Redis is the broker and the channel layer, not where containers live: killing it keeps
    every container running, every log line and the shells open in them; once it is back the
    host's worker serves jobs and its bridge resumes the shell, without anyone restarting
    either."""
    api = stack.admin
    job = api.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": "ticker", "cmd": ["sh", "-c", TICKER]})
    assert job["state"] == "succeeded", job
    try:
        async def open_shell():
            client = await TerminalClient.open(stack.base, api.token, "ticker")
            await client.expect(b"# ")
            return client, await client.shell_pid()
        shell, pid = run(open_shell())
        argv = stack.processes["redis"].args
        stack.end("redis", signal.SIGKILL)
        try:
            time.sleep(1.0)
            # Asked meanwhile: the job cannot be queued, and the answer says so at once.
            status, restart = api.post("/api/containers/ticker/restart/")
            assert status == 503 and "Redis is unreachable" in restart["detail"], restart
        finally:
            stack.spawn("redis", argv)
            wait_until(stack._redis_ping, what="redis again")
        assert stack.moor("e2e", "inspect", "-f", "{{.State.Status}}",
                          "ticker").stdout.strip() == "running"
        stack.wait_host_online("e2e", timeout=60)

        run(resume_and_exit(stack.base, api.token, "ticker", shell.session["id"], pid))
        stop = api.ok("POST", "/api/containers/ticker/stop/?wait=1")
        assert stop["state"] == "succeeded", stop
        with urllib.request.urlopen(urllib.request.Request(
                stack.base + "/api/containers/ticker/logs/?download=1",
                headers={"Authorization": f"Token {api.token}"}), timeout=30) as response:
            lines = response.read().decode().split()
        numbers = [int(line.removeprefix("tick-")) for line in lines]
        assert len(numbers) > 20 and numbers == list(range(1, len(numbers) + 1))
    finally:
        api.call("DELETE", "/api/containers/ticker/?force=1&wait=1")
