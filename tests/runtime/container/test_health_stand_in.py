"""The stand-in health checker: started on demand where no engine service runs
(`Engine.ensure_health_checker`, what `moor compose up` calls), one per root, ending by itself
once nothing is left to check, giving way to the service's (or any other) checker, and ended
by `system reset`."""

import os
import tempfile
import threading

import pytest

from runtime.api import Engine
from runtime.container import health_checker
from runtime.container.state import process_alive
from tests.runtime.conftest import destroy_root
from tests.stack import wait_until

pytestmark = pytest.mark.privileged

SECOND = 1_000_000_000
TRAPPING = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.05; done"]


def stand_in_cmdline(pid: int) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().replace(b"\0", b" ").decode()


@pytest.fixture
def no_stand_in_after(engine):
    yield
    health_checker.stop_stand_in(engine.paths)
    assert health_checker.checker_running(engine.paths) is None


def test_ensure_starts_one_detached_stand_in_that_checks(engine, no_stand_in_after):
    assert health_checker.checker_running(engine.paths) is None
    container_id = engine.run({"image": "busybox", "cmd": TRAPPING,
                               "healthcheck": {"Test": ["CMD", "true"],
                                               "Interval": SECOND // 10}})
    beat = engine.ensure_health_checker()
    assert beat["StandIn"] is True and beat["Pid"] != os.getpid()
    assert f"--root {engine.paths.root} system health-checker --stand-in" in \
        stand_in_cmdline(beat["Pid"])
    assert engine.ensure_health_checker()["Pid"] == beat["Pid"]      # not a second one
    wait_until(lambda: engine.inspect(container_id)["State"]["Health"]["Status"] ==
               "healthy", what="the stand-in's first check")
    health = engine.inspect(container_id)["State"]["Health"]
    assert "Note" not in health and health["Log"][-1]["ExitCode"] == 0
    engine.remove(container_id, force=True)


def test_a_stand_in_ends_once_nothing_is_left_to_check(engine):
    container_id = engine.run({"image": "busybox", "cmd": TRAPPING,
                               "healthcheck": {"Test": ["CMD", "true"],
                                               "Interval": SECOND // 10}})
    stand_in = health_checker.HealthChecker(engine, scan_seconds=0.05, stand_in=True,
                                            idle_seconds=0.2)
    thread = threading.Thread(target=stand_in.run, daemon=True)
    thread.start()
    wait_until(lambda: engine.inspect(container_id)["State"]["Health"]["Status"] ==
               "healthy", what="a check by the stand-in")
    assert thread.is_alive()     # a container with a check runs: it stays
    engine.remove(container_id, force=True)
    thread.join(20)
    assert not thread.is_alive()
    assert health_checker.checker_running(engine.paths) is None


def test_any_other_checker_takes_over_from_a_stand_in(engine, no_stand_in_after):
    stand_in = engine.ensure_health_checker()
    service_checker = engine.health_checker()     # as the engine service hosts it
    service_checker.start()
    try:
        assert not process_alive(stand_in["Pid"], stand_in["StartTime"])
        beat = health_checker.checker_running(engine.paths)
        assert beat["Pid"] == os.getpid() and beat["StandIn"] is False
        # while it runs, ensuring finds it and starts nothing
        assert engine.ensure_health_checker()["Pid"] == os.getpid()
    finally:
        service_checker.stop()


def test_reset_ends_the_stand_in_with_its_root():
    root = tempfile.mkdtemp(prefix="moorage-test-stand-in-")
    engine = Engine(root)
    engine.paths.ensure()
    beat = engine.ensure_health_checker()
    destroy_root(engine)     # asserts that nothing of the root is left in /run
    assert not process_alive(beat["Pid"], beat["StartTime"])


def test_two_callers_at_once_get_the_one_stand_in(engine, no_stand_in_after):
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(4) as pool:
        beats = list(pool.map(lambda _: health_checker.ensure_running(engine), range(4)))
    assert len({beat["Pid"] for beat in beats}) == 1
    stand_ins = [pid for pid in os.listdir("/proc") if pid.isdigit() and
                 f"--root {engine.paths.root} system health-checker --stand-in" in
                 _cmdline_or_empty(int(pid))]
    assert stand_ins == [str(beats[0]["Pid"])]


def _cmdline_or_empty(pid: int) -> str:
    try:
        return stand_in_cmdline(pid)
    except OSError:
        return ""
