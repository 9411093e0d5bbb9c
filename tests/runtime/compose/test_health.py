"""Health checks in Compose files: `healthcheck` becomes the engine's health options, and
`depends_on: condition: service_healthy` waits on real checks — run by a stand-in checker
`up` starts where no engine service runs — never on a status nobody checked."""

import pytest

from runtime import compose
from runtime.compose import containers as labels
from runtime.compose.errors import ComposeError
from runtime.container import health_checker
from runtime.container.inspect import parse_time

pytestmark = pytest.mark.privileged

SECOND = 1_000_000_000

WAITS = """
services:
  db:
    image: busybox
    # ready only after a while: the first checks fail, a later one passes
    command: sh -c 'sleep 1; touch /tmp/ready; exec sleep 600'
    stop_grace_period: 1s
    healthcheck:
      test: test -f /tmp/ready
      interval: 200ms
      retries: 50
  app:
    image: busybox
    command: sleep 600
    stop_grace_period: 1s
    depends_on:
      db: {condition: service_healthy}
"""


def test_service_healthy_waits_for_a_passing_check_made_without_a_service(engine,
                                                                          compose_project, up):
    assert health_checker.checker_running(engine.paths) is None
    _, started, events = up(compose_project(WAITS))
    steps = [(event["service"], event["status"]) for event in events
             if event["kind"] == "container"]
    assert steps.index(("db", "Started")) < steps.index(("db", "Waiting")) < \
        steps.index(("db", "Healthy")) < steps.index(("app", "Creating"))
    db = engine.inspect(started["db"])["State"]
    assert db["Health"]["Status"] == "healthy" and "Note" not in db["Health"]
    log = db["Health"]["Log"]
    assert log[0]["ExitCode"] == 1 and log[-1]["ExitCode"] == 0    # checked, failing first
    first_pass = next(entry for entry in log if entry["ExitCode"] == 0)
    app_started = engine.inspect(started["app"])["State"]["StartedAt"]
    assert parse_time(app_started) >= parse_time(first_pass["End"])
    # a stand-in checker keeps checking after up returned
    beat = health_checker.checker_running(engine.paths)
    assert beat is not None and beat["StandIn"] is True


def test_a_broken_health_check_keeps_the_dependent_from_starting(engine, compose_project, up):
    project = compose_project(WAITS.replace("test: test -f /tmp/ready",
                                            "test: echo no such thing; exit 3")
                                   .replace("retries: 50", "retries: 2"))
    with pytest.raises(ComposeError) as error:
        up(project)
    assert error.value.message == (
        "service app was not started: its dependency db is unhealthy (last check: exit code "
        "3, no such thing)")
    assert {labels.service_of(s) for s in engine.compose_containers("proj")} == {"db"}


def test_healthcheck_keys_become_the_engines_health_options(engine, compose_project, up):
    project = compose_project("""
services:
  web:
    image: busybox
    command: sleep 600
    stop_grace_period: 1s
    healthcheck:
      test: ["CMD", "true"]
      interval: 1m30s
      timeout: 5s
      retries: 4
      start_period: 10s
      start_interval: 500ms
""")
    _, started, _ = up(project)
    assert engine.inspect(started["web"])["Config"]["Healthcheck"] == {
        "Test": ["CMD", "true"], "Interval": 90 * SECOND, "Timeout": 5 * SECOND,
        "Retries": 4, "StartPeriod": 10 * SECOND, "StartInterval": SECOND // 2}


def test_an_images_health_check_counts_and_disable_turns_it_off(engine, compose_project, up,
                                                               tmp_path):
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox\nHEALTHCHECK --interval=200ms CMD [\"true\"]\n")
    engine.build(str(tmp_path), tags=["compose-checked:1"])
    try:
        text = """
services:
  db:
    image: compose-checked:1
    command: sleep 600
    stop_grace_period: 1s
  app:
    image: busybox
    command: sleep 600
    stop_grace_period: 1s
    depends_on:
      db: {condition: service_healthy}
"""
        _, started, _ = up(compose_project(text))
        assert engine.inspect(started["db"])["State"]["Health"]["Status"] == "healthy"
        compose.down(engine, "proj")
        disabled = compose_project(text.replace("    command: sleep 600\n",
                                                "    command: sleep 600\n"
                                                "    healthcheck: {disable: true}\n", 1))
        with pytest.raises(ComposeError, match="service app waits for db to be healthy, but "
                                               "db has no health check"):
            up(disabled)
        assert engine.compose_containers("proj") == []
    finally:
        engine.remove_image("compose-checked:1")


def test_a_health_check_the_engine_refuses_is_refused_before_anything_runs(engine,
                                                                          compose_project,
                                                                          up):
    project = compose_project("""
services:
  first:
    image: busybox
    command: sleep 600
  web:
    image: busybox
    command: sleep 600
    healthcheck:
      test: ["CMD"]
""")
    with pytest.raises(ComposeError, match=r"compose.yaml, line 9: services.web.healthcheck: "
                                           r"healthcheck CMD requires a command"):
        up(project)
    assert engine.compose_containers("proj") == []
