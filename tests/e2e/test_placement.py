"""Placement across real hosts, the console on PostgreSQL: `host: "any"` spreads containers by
free memory, a cordoned host takes none, and a host whose agent is killed goes offline (its
containers unknown, its jobs failing at once) and comes back with the console made right
again, every container still its team's."""
import pytest

from tests.stack import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.privileged]

GiB = 1024 ** 3


@pytest.fixture(scope="module")
def stack(postgres_stack):
    """Two hosts on one PostgreSQL-backed console, both granted to team default."""
    postgres_stack.add_host("e2e2")
    postgres_stack.wait_host_online("e2e2")
    api = postgres_stack.admin
    team = next(t for t in api.ok("GET", "/api/teams/")["results"] if t["name"] == "default")
    api.ok("POST", f"/api/teams/{team['id']}/hosts/", {"host": "e2e2"})
    return postgres_stack


def run(api, **fields):
    job = api.ok("POST", "/api/containers/?wait=1", {"image": "busybox", "host": "any",
                                                      "cmd": ["sleep", "600"], **fields})
    assert job["state"] == "succeeded", job
    return job


def container(api, ref):
    status, answer = api.get(f"/api/containers/{ref}/")
    return answer if status == 200 else None


def remove(api, *names):
    for name in names:
        api.call("DELETE", f"/api/containers/{name}/?force=1&wait=1")


def test_any_host_spreads_containers_by_free_memory(stack):
    """Each host reports the machine's available memory (they share one here); what tells
    them apart is the limits of what runs on each: the second 4 GiB container goes to the
    host the first one did not take."""
    api = stack.admin
    try:
        first = run(api, name="spread-1", memory="4g")
        second = run(api, name="spread-2", memory="4g")
        assert {first["host"], second["host"]} == {"e2e", "e2e2"}, (first, second)
        for job in (first, second):
            detail = api.ok("GET", f"/api/jobs/{job['id']}/")
            assert detail["output"].startswith(f"placed on {job['host']}: ")
            assert "(4.0 GiB asked), the most among e2e (" in detail["output"]
        assert "spread-2" in stack.moor(second["host"], "ps").stdout
        assert "spread-1" in stack.moor(first["host"], "ps").stdout
        hosts = {h["name"]: h for h in api.ok("GET", "/api/hosts/")["results"]}
        assert all(hosts[name]["memory_free"] <= hosts[name]["memory_available"] - 4 * GiB
                   for name in ("e2e", "e2e2"))
    finally:
        remove(api, "spread-1", "spread-2")


def test_a_cordoned_host_takes_no_new_container(stack):
    api = stack.admin
    e2e2 = stack.host("e2e2")
    api.ok("POST", f"/api/hosts/{e2e2['id']}/cordon/")
    try:
        for number in range(2):
            job = run(api, name=f"cordoned-{number}", memory="64m")
            assert job["host"] == "e2e"
            output = api.ok("GET", f"/api/jobs/{job['id']}/")["output"]
            assert output.rstrip().endswith("left out: e2e2 (cordoned)"), output
        status, answer = api.post("/api/containers/", {"image": "busybox", "host": "e2e2",
                                                       "cmd": ["sleep", "1"]})
        assert status == 400 and "cordoned" in answer["host"][0]
    finally:
        api.ok("POST", f"/api/hosts/{e2e2['id']}/uncordon/")
        remove(api, "cordoned-0", "cordoned-1")


def test_a_drain_lists_and_once_confirmed_stops_what_runs_there(stack):
    api = stack.admin
    api.ok("POST", "/api/containers/?wait=1", {"image": "busybox", "host": "e2e2",
                                               "name": "drained", "cmd": ["sleep", "600"]})
    e2e2 = stack.host("e2e2")
    try:
        listed = api.ok("POST", f"/api/hosts/{e2e2['id']}/drain/", {})
        assert listed["host"]["cordoned"] and listed["jobs"] == []
        assert "drained" in [c["name"] for c in listed["running"]]
        assert container(api, "drained")["state"] == "running"
        stopped = api.ok("POST", f"/api/hosts/{e2e2['id']}/drain/",
                         {"stop": True, "confirm": "e2e2"})
        for job in stopped["jobs"]:
            assert stack.wait_job(job["id"])["state"] == "succeeded"
        assert container(api, "drained")["state"] == "exited"
        assert stack.moor("e2e2", "inspect", "-f", "{{.State.Status}}",
                          "drained").stdout.strip() == "exited"
    finally:
        api.ok("POST", f"/api/hosts/{e2e2['id']}/uncordon/")
        remove(api, "drained")


def test_a_host_whose_agent_is_killed_goes_offline_and_comes_back_right(stack):
    api = stack.admin
    api.ok("POST", "/api/containers/?wait=1", {"image": "busybox", "host": "e2e2",
                                               "name": "stranded", "cmd": ["sleep", "600"],
                                               "team": "default"})
    stack.kill_worker("e2e2")
    try:
        # Asked before the silence is noticed, the stop waits in the queue; the reaper fails it
        # as soon as the host is offline. Asked after, it is refused at once. Either way no
        # job for the host waits for a worker that is not there.
        status, stop = api.post("/api/containers/stranded/stop/")
        assert status in (202, 409), (status, stop)
        if status == 202:
            failed = stack.wait_job(stop["id"], timeout=60)
            assert failed["state"] == "failed" and failed["error"].startswith(
                "host offline: e2e2"), failed
        wait_until(lambda: stack.host("e2e2")["state"] == "offline", timeout=60,
                   what="e2e2 offline")
        shown = container(api, "stranded")
        assert (shown["state"], shown["host_state"], shown["team"]) == (
            "running", "offline", "default")
        status, answer = api.post("/api/containers/stranded/kill/")
        assert status == 409 and "offline" in answer["detail"]
        job = run(api, name="while-away", memory="64m")
        assert job["host"] == "e2e"
        assert "e2e2 (offline)" in api.ok("GET", f"/api/jobs/{job['id']}/")["output"]
        # Meanwhile, on the host itself, the container ends.
        stack.moor("e2e2", "kill", "stranded")
    finally:
        stack.start_worker("e2e2")
    stack.wait_host_online("e2e2", timeout=60)
    back = wait_until(lambda: (lambda c: c if c and c["state"] == "exited" else None)(
        container(api, "stranded")), timeout=30, what="stranded seen exited")
    assert (back["host_state"], back["team"], back["exit_code"]) == ("online", "default", 137)
    remove(api, "stranded", "while-away")
