"""End to end through the API, real Redis, a real Celery worker on host.e2e and the real engine:
run -> running -> stop -> exited -> remove; the engine's own error text on a failed job."""
import pytest

from tests.stack import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.privileged]


def test_create_run_stop_remove(stack):
    api = stack.admin
    job = api.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": "life", "cmd": ["sleep", "300"],
        "memory": "64m", "cpus": 0.5, "pids_limit": 64, "env": ["GREETING=hello"]})
    assert job["state"] == "succeeded", job
    container = api.ok("GET", f"/api/containers/{job['container']}/")
    assert container["state"] == "running" and container["host"] == "e2e"
    assert container["name"] == "life" and container["team"] == "default"
    # The engine agrees, and it has our ID.
    assert stack.moor("e2e", "inspect", "-f", "{{.State.Status}}", "life").stdout.strip() \
        == "running"
    assert container["id"] in stack.moor("e2e", "ps", "-q", "--no-trunc").stdout
    inspect = api.ok("GET", f"/api/containers/{container['id'][:10]}/inspect/")
    assert inspect["HostConfig"]["Memory"] == 64 * 2 ** 20

    job = api.ok("POST", f"/api/containers/{container['id']}/stop/?wait=1", {"timeout": 2})
    assert job["state"] == "succeeded", job
    stopped = api.ok("GET", f"/api/containers/{container['id']}/")
    assert stopped["state"] == "exited" and stopped["exit_code"] in (137, 143)

    job = api.ok("POST", f"/api/containers/{container['id']}/start/?wait=1")
    assert job["state"] == "succeeded"
    assert api.ok("GET", f"/api/containers/{container['id']}/")["state"] == "running"

    job = api.ok("DELETE", f"/api/containers/{container['id']}/?force=1&wait=1")
    assert job["state"] == "succeeded", job
    status, _ = api.get(f"/api/containers/{container['id']}/")
    assert status == 404
    assert "life" not in stack.moor("e2e", "ps", "-a").stdout


def test_a_program_that_exits_shows_its_exit_code(stack):
    api = stack.admin
    job = api.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": "quick", "cmd": ["sh", "-c", "exit 3"]})
    assert job["state"] == "succeeded"
    # It exits on its own; the host's sync notices.
    final = wait_until(lambda: (lambda c: c if c["state"] == "exited" else None)(
        api.ok("GET", "/api/containers/quick/")), timeout=20, what="exit recorded")
    assert final["exit_code"] == 3
    api.ok("DELETE", "/api/containers/quick/?wait=1")


def test_the_engine_error_is_shown_on_the_job(stack):
    api = stack.admin
    job = api.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": "nocmd", "cmd": ["/no/such/program"]})
    assert job["state"] == "failed"
    assert job["error"] and "\n" not in job["error"]
    assert "/no/such/program" in job["error"]
    status, _ = api.get("/api/containers/nocmd/")
    assert status == 404                      # nothing half-created
    assert "nocmd" not in stack.moor("e2e", "ps", "-a").stdout


def test_bad_input_against_the_real_stack(stack):
    api = stack.admin
    base = {"image": "busybox", "host": "e2e", "cmd": ["sleep", "1"]}
    cases = [({"image": "nosuch"}, "image"), ({"memory": "abc"}, "memory"),
             ({"cpus": -1}, "cpus"), ({"host": "nowhere"}, "host")]
    for change, field in cases:
        status, answer = api.post("/api/containers/", {**base, **change})
        assert status == 400 and field in answer, (change, status, answer)
    api.ok("POST", "/api/containers/?wait=1", {**base, "name": "dup", "cmd": ["sleep", "60"]})
    status, answer = api.post("/api/containers/", {**base, "name": "dup"})
    assert status == 400 and "already in use" in answer["name"][0]
    api.ok("DELETE", "/api/containers/dup/?force=1&wait=1")
