"""Health checks: Docker's rules for one check at a time, the checker driving a container
from starting to healthy to unhealthy, --health-on-failure, a checker killed mid-check, what
is shown while nothing checks, and where the configuration comes from (image, flags, commit).
"""

import os
import signal
import subprocess
import sys
import time

import pytest

from runtime.container import cgroups, execute, health
from runtime.errors import Conflict, InvalidArgument
from tests.runtime.conftest import REPOSITORY
from tests.stack import wait_until

pytestmark = pytest.mark.privileged

MS = 1_000_000
SECOND = 1_000_000_000
TRAPPING = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.05; done"]


def run_checked(engine, test, on_failure=None, **healthcheck):
    """A running container with this health check (Docker's API shape)."""
    options = {"image": "busybox", "cmd": TRAPPING,
               "healthcheck": {"Test": test, **healthcheck}}
    if on_failure:
        options["health_on_failure"] = on_failure
    return engine.run(options)


def in_container(engine, container_id, *argv) -> int:
    return execute.run(engine, engine.container(container_id), list(argv))


def health_events(engine, since: int, container_id: str) -> list[str]:
    return [event["Action"] for event in engine.events(
        since=f"{since // 10**9}.{since % 10**9:09d}",
        filters={"container": [container_id], "event": ["health_status"]})]


@pytest.fixture
def checker(engine):
    """A health checker for the test root, in a thread of this process (as the engine
    service hosts it), scanning often."""
    the_checker = engine.health_checker(scan_seconds=0.05)
    the_checker.start()
    yield the_checker
    the_checker.stop()


def shown(engine, container_id) -> dict:
    return engine.inspect(container_id)["State"]["Health"]


def test_one_check_at_a_time_follows_dockers_rules(engine):
    since = time.time_ns()
    container_id = run_checked(engine, ["CMD-SHELL", "test -e /tmp/ok"],
                               StartPeriod=60 * SECOND, Retries=3)
    first = engine.health_check(container_id)
    assert (first["Status"], first["FailingStreak"]) == ("starting", 0)  # in its start period
    assert first["Result"]["ExitCode"] == 1
    in_container(engine, container_id, "touch", "/tmp/ok")
    assert engine.health_check(container_id)["Status"] == "healthy"
    in_container(engine, container_id, "rm", "/tmp/ok")
    outcomes = [engine.health_check(container_id) for _ in range(4)]
    assert [(o["Status"], o["FailingStreak"]) for o in outcomes] == [
        ("healthy", 1), ("healthy", 2), ("unhealthy", 3), ("unhealthy", 4)]
    assert health_events(engine, since, container_id) == [
        "health_status: healthy", "health_status: unhealthy"]
    record = health.view(engine, engine.container(container_id), checker={"Pid": 1})
    assert [entry["ExitCode"] for entry in record["Log"]] == [0, 1, 1, 1, 1]
    assert list(record["Log"][0]) == ["Start", "End", "ExitCode", "Output"]
    engine.remove(container_id, force=True)


def test_the_checker_takes_a_container_from_starting_to_healthy_to_unhealthy(engine, checker,
                                                                              moor):
    since = time.time_ns()
    container_id = run_checked(engine, ["CMD-SHELL", "test -e /tmp/ok"],
                               Interval=150 * MS, Retries=2, StartPeriod=60 * SECOND,
                               StartInterval=50 * MS)
    wait_until(lambda: len(shown(engine, container_id)["Log"]) >= 2, what="failing checks")
    starting = shown(engine, container_id)
    assert starting["Status"] == "starting" and "Note" not in starting
    assert starting["FailingStreak"] == 0
    assert "(health: starting)" in moor("ps", "--filter", f"id={container_id}").stdout
    in_container(engine, container_id, "touch", "/tmp/ok")
    wait_until(lambda: shown(engine, container_id)["Status"] == "healthy", what="healthy")
    assert "(healthy)" in moor("ps", "--filter", "health=healthy").stdout
    in_container(engine, container_id, "rm", "/tmp/ok")
    wait_until(lambda: shown(engine, container_id)["Status"] == "unhealthy", what="unhealthy")
    unhealthy = shown(engine, container_id)
    assert unhealthy["FailingStreak"] >= 2
    streak = unhealthy["FailingStreak"]
    assert [entry["ExitCode"] for entry in unhealthy["Log"]][-streak:] == [1] * streak
    assert f"{container_id[:12]}" in moor("ps", "--filter", "health=unhealthy").stdout
    assert health_events(engine, since, container_id) == [
        "health_status: healthy", "health_status: unhealthy"]
    checker.stop()
    engine.remove(container_id, force=True)


@pytest.mark.parametrize("action, expected", [
    ("kill", ["health_status: unhealthy", "kill", "die"]),
    ("stop", ["health_status: unhealthy", "kill", "die", "stop"]),
    ("restart", ["health_status: unhealthy", "kill", "die", "stop", "start", "restart"]),
])
def test_health_on_failure(engine, checker, action, expected):
    since = time.time_ns()
    container_id = run_checked(engine, ["CMD", "false"], Interval=100 * MS, Retries=1,
                               on_failure=action)

    def after_the_start() -> list[str]:
        return [event["Action"] for event in engine.events(
            since=f"{since // 10**9}.{since % 10**9:09d}",
            filters={"container": [container_id]})][2:]
    wait_until(lambda: len(after_the_start()) >= len(expected), what=f"the {action}")
    checker.stop()
    assert after_the_start()[:len(expected)] == expected
    state = engine.inspect(container_id)["State"]
    if action == "kill":
        assert (state["Status"], state["ExitCode"]) == ("exited", 137)
    elif action == "stop":
        assert (state["Status"], state["ExitCode"]) == ("exited", 0)
    else:
        assert state["Running"] and state["Health"]["Status"] == "starting"
    engine.remove(container_id, force=True)


def test_killing_the_checker_mid_check_leaves_the_container_running(engine, moor):
    container_id = run_checked(engine, ["CMD-SHELL", "sleep 30"], Interval=100 * MS,
                               Timeout=60 * SECOND)
    checker = subprocess.Popen([sys.executable, "-m", "runtime", "system", "health-checker"],
                               cwd=REPOSITORY, env={**os.environ,
                                                    "MOORAGE_ROOT": engine.paths.root},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        container = engine.container(container_id)
        wait_until(lambda: any(row[-1] == "sleep 30" for row in cgroups.processes(
            engine.paths.cgroup_parent, container)), what="the check to be running")
        assert "Note" not in shown(engine, container_id)
    finally:
        checker.send_signal(signal.SIGKILL)
        checker.wait(20)
    state = engine.inspect(container_id)["State"]
    assert state["Running"] and state["Status"] == "running"
    assert state["Health"]["Status"] == "starting" and state["Health"]["Log"] == []
    assert state["Health"]["Note"].startswith("not being checked: no health checker runs")
    assert "(health: not checked)" in moor("ps", "--filter", f"id={container_id}").stdout
    another = engine.health_checker()          # its lock went with it
    another.start()
    another.stop()
    engine.remove(container_id, force=True)


def test_a_result_nobody_keeps_current_is_never_shown_as_healthy(engine, moor):
    container_id = run_checked(engine, ["CMD", "true"])
    assert engine.health_check(container_id)["Status"] == "healthy"
    health_now = shown(engine, container_id)
    assert health_now["Status"] == "starting"
    assert "last result: healthy at " in health_now["Note"]
    assert container_id[:12] in moor("ps", "--filter", "health=starting").stdout
    assert container_id[:12] not in moor("ps", "--filter", "health=healthy").stdout
    engine.remove(container_id, force=True)


def test_a_check_that_runs_too_long_is_ended_and_fails(engine):
    container_id = run_checked(engine, ["CMD-SHELL", "sleep 30"], Timeout=300 * MS)
    result = engine.health_check(container_id)["Result"]
    assert (result["ExitCode"], result["Output"]) == (
        -1, "Health check exceeded timeout (300ms)")
    container = engine.container(container_id)
    assert not any("sleep 30" in row[-1] for row in cgroups.processes(
        engine.paths.cgroup_parent, container))
    engine.remove(container_id, force=True)


def test_output_is_capped_at_4_kib_and_stderr_is_kept(engine):
    container_id = run_checked(engine, ["CMD-SHELL", "echo oops >&2; head -c 10000 /dev/zero "
                                                     "| tr '\\0' x; exit 2"])
    result = engine.health_check(container_id)["Result"]
    assert result["ExitCode"] == 2
    assert result["Output"] == "oops\n" + "x" * (4096 - 5) + "..."
    engine.remove(container_id, force=True)


def test_a_missing_program_is_a_failed_check(engine):
    container_id = run_checked(engine, ["CMD", "no-such-program"])
    result = engine.health_check(container_id)["Result"]
    assert result["ExitCode"] == -1
    assert "executable file not found" in result["Output"]
    engine.remove(container_id, force=True)


def test_healthcheck_run_by_hand_and_its_errors(engine, moor):
    container_id = run_checked(engine, ["CMD-SHELL", "echo sick; exit 1"])
    result = moor("system", "healthcheck-run", container_id)
    assert (result.returncode, result.stdout, result.stderr) == (1, "starting\n", "sick\n")
    plain = engine.run({"image": "busybox", "cmd": TRAPPING})
    result = moor("system", "healthcheck-run", plain)
    assert result.returncode == 1
    assert result.stderr.endswith("has no health check configured\n")
    for made in (container_id, plain):
        engine.remove(made, force=True)


def test_one_checker_per_root(engine, checker, moor):
    result = moor("system", "health-checker")
    assert result.returncode == 1
    assert result.stderr == (f"Error: a health checker already runs for this engine root "
                             f"(pid {os.getpid()})\n")


def test_image_healthcheck_flags_and_commit(engine, moor, tmp_path):
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox\nHEALTHCHECK --interval=5s --retries=2 CMD wget -q localhost || exit 1\n")
    engine.build(str(tmp_path), tags=["ev-health:1"])
    from_image = moor("create", "ev-health:1", "true", check=True).stdout.strip()
    assert engine.inspect(from_image)["Config"]["Healthcheck"] == {
        "Test": ["CMD-SHELL", "wget -q localhost || exit 1"], "Interval": 5 * SECOND,
        "Retries": 2}
    flagged = moor("create", "--health-interval", "1m30s", "--health-on-failure", "restart",
                   "ev-health:1", "true", check=True).stdout.strip()
    config = engine.inspect(flagged)["Config"]
    assert config["Healthcheck"] == {"Test": ["CMD-SHELL", "wget -q localhost || exit 1"],
                                     "Interval": 90 * SECOND, "Retries": 2}
    assert config["HealthcheckOnFailureAction"] == "restart"
    disabled = moor("run", "-d", "--no-healthcheck", "ev-health:1", *TRAPPING,
                    check=True).stdout.strip()
    assert "Health" not in engine.inspect(disabled)["State"]
    assert disabled[:12] in moor("ps", "--filter", "health=none").stdout
    image_id = engine.commit(disabled, "ev-health:2",
                             changes=["HEALTHCHECK --timeout=3s CMD [\"true\"]"])
    assert engine.image_inspect(image_id)["Config"]["Healthcheck"] == {
        "Test": ["CMD", "true"], "Timeout": 3 * SECOND}
    for made in (from_image, flagged, disabled):
        engine.remove(made, force=True)
    engine.remove_image("ev-health:2")
    engine.remove_image("ev-health:1")


@pytest.mark.parametrize("option, message", [
    ({"Test": ["CMD", "true"], "Interval": 500},
     "Interval in Healthcheck cannot be less than 1ms"),
    ({"Test": ["CMD", "true"], "Retries": -1}, "Retries in Healthcheck cannot be negative"),
    ({"Test": ["SOMETIMES", "true"]},
     "unknown healthcheck type 'SOMETIMES': use CMD, CMD-SHELL or NONE"),
    ({"Test": ["CMD"]}, "healthcheck CMD requires a command"),
    ({"Test": ["CMD", "true"], "Colour": 1}, "unknown healthcheck field(s): Colour"),
])
def test_bad_healthcheck_options_are_refused_and_nothing_is_made(engine, option, message):
    before = engine.containers(all=True)
    with pytest.raises(InvalidArgument) as error:
        engine.create({"image": "busybox", "cmd": ["true"], "healthcheck": option})
    assert error.value.message == message
    assert engine.containers(all=True) == before


@pytest.mark.parametrize("flags, message", [
    (["--health-interval=-1s"], "--health-interval cannot be negative"),
    (["--health-timeout", "soon"], "invalid argument 'soon' for --health-timeout"),
    (["--no-healthcheck", "--health-cmd", "true"],
     "--no-healthcheck conflicts with --health-* options"),
])
def test_bad_health_flags_are_refused(moor, flags, message):
    result = moor("run", "-d", *flags, "busybox", "true")
    assert result.returncode == 125
    assert result.stderr.startswith(f"Error: {message}")


def test_a_checked_container_without_a_check_is_a_conflict(engine):
    container_id = engine.create({"image": "busybox", "cmd": ["true"],
                                  "healthcheck": {"Test": ["CMD", "true"]}})
    with pytest.raises(Conflict, match="is not running"):
        engine.health_check(container_id)
    engine.remove(container_id)
