"""Health checks: Docker's HEALTHCHECK, run through exec in the container's namespaces.

Configuration, in the container's `Config` (container.json), in Docker's shape (durations in
nanoseconds, 0 = the default):

    "Healthcheck": {"Test": ["CMD-SHELL", "wget -q -O- localhost || exit 1"],
                    "Interval": 30000000000, "Timeout": 30000000000, "StartPeriod": 0,
                    "StartInterval": 5000000000, "Retries": 3}
    "HealthcheckOnFailureAction": "restart"        (Podman's: none, kill, restart, stop)

It comes from the image (`HEALTHCHECK` in a Dockerfile or `commit -c`), with what `create`'s
options `healthcheck` (the same shape, as Docker's API takes it) and `health_on_failure` set
on top: a field the option leaves at zero is the image's, as Docker merges them. `Test`
`["NONE"]` (`--no-healthcheck`) turns the image's check off.

One check (`check_now`) runs the test with the container's user, environment and working
directory (`CMD` as it is, `CMD-SHELL` with the image's SHELL or `/bin/sh -c`), with the
timeout, keeping 4 KiB of its output (stdout and stderr together, then "..."): exit status 0
is a pass, anything else (1 by convention), a timeout (`Health check exceeded timeout
(30s)`) or a program that cannot run is a failure. The result goes into the container's
`health.json` under `health.lock` (never the container's own lock: a slow check never holds
up a stop) with Docker's rules: the status is `starting` until the first pass; a pass makes
it `healthy` and resets the failing streak; a failure adds to the streak (not while
`starting` within the start period) and `Retries` failures in a row make it `unhealthy`. A
change of status is a `health_status: <status>` event in the journal; a failure that leaves
the container `unhealthy` applies its on-failure action (kill, restart or stop), as Podman's.

Who checks: `HealthChecker` (health_checker.py), the loop that runs every running
container's checks on their schedule, hosted by the resident engine service (or run in the
foreground by `moor system health-checker`, or started as a stand-in by whoever needs
checks made, `moor compose up`); `moor system healthcheck-run CONTAINER` runs one check by
hand. The checker keeps a heartbeat, so everyone can tell whether checks are being
run.

What `inspect` shows (`State.Health`) is what was recorded, as long as a live checker keeps
it current. While a container runs and nothing checks it (no checker, or its last result is
older than an interval and a timeout allow), it shows `Status: "starting"` (what Docker
shows until a check has decided, and what Docker clients wait on; never a `healthy` nobody
vouches for) with a `Note` saying it is not being checked and what the last result was;
`ps` shows `(health: not checked)`. Containers keep running either way.
"""

import os
import select
import subprocess
import time

from runtime import atomic, durations, events
from runtime.container.state import PAUSED, RUNNING, rfc3339_ns
from runtime.errors import Conflict, InvalidArgument, MoorError
from runtime.locking import locked

STARTING, HEALTHY, UNHEALTHY = "starting", "healthy", "unhealthy"
DEFAULTS = {"Interval": 30_000_000_000, "Timeout": 30_000_000_000, "StartPeriod": 0,
            "StartInterval": 5_000_000_000, "Retries": 3}
FIELDS = ("Test", "Interval", "Timeout", "StartPeriod", "StartInterval", "Retries")
MINIMUM = 1_000_000                   # Docker's MinimumDuration: 1 ms
ON_FAILURE = ("none", "kill", "restart", "stop")
MAX_LOG = 5
MAX_OUTPUT = 4096
RECORD, LOCK = "health.json", "health.lock"
# A result older than its interval and timeout plus this no longer counts as current.
STALE_GRACE = 10_000_000_000


# -- configuration --------------------------------------------------------------------------

def validate(healthcheck) -> dict | None:
    """A `healthcheck` option in Docker's API shape, checked (Docker's messages)."""
    if healthcheck is None:
        return None
    if not isinstance(healthcheck, dict):
        raise InvalidArgument(f"invalid healthcheck {healthcheck!r}: expected an object with "
                              "Test, Interval, Timeout, StartPeriod, StartInterval, Retries")
    unknown = sorted(set(healthcheck) - set(FIELDS))
    if unknown:
        raise InvalidArgument(f"unknown healthcheck field(s): {', '.join(unknown)}")
    result = {}
    test = healthcheck.get("Test") or []
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    if not isinstance(test, list) or not all(isinstance(part, str) for part in test):
        raise InvalidArgument("healthcheck Test must be a list of strings")
    if test:
        if test[0] not in ("NONE", "CMD", "CMD-SHELL"):
            raise InvalidArgument(f"unknown healthcheck type {test[0]!r}: use CMD, CMD-SHELL "
                                  "or NONE")
        if test[0] == "CMD-SHELL" and len(test) != 2:
            raise InvalidArgument("healthcheck CMD-SHELL takes one command string")
        if test[0] == "CMD" and len(test) < 2:
            raise InvalidArgument("healthcheck CMD requires a command")
        result["Test"] = list(test)
    for field in ("Interval", "Timeout", "StartPeriod", "StartInterval"):
        value = healthcheck.get(field) or 0
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidArgument(f"healthcheck {field} must be a whole number of "
                                  "nanoseconds")
        if value < 0:
            raise InvalidArgument(f"{field} in Healthcheck cannot be negative")
        if 0 < value < MINIMUM:
            raise InvalidArgument(f"{field} in Healthcheck cannot be less than 1ms")
        if value:
            result[field] = value
    retries = healthcheck.get("Retries") or 0
    if isinstance(retries, bool) or not isinstance(retries, int):
        raise InvalidArgument("healthcheck Retries must be a whole number")
    if retries < 0:
        raise InvalidArgument("Retries in Healthcheck cannot be negative")
    if retries:
        result["Retries"] = retries
    return result


def container_config(options: dict, image_config: dict) -> dict:
    """The `Config` entries a new container gets: `Healthcheck` (the option merged over the
    image's, Docker's rules), `HealthcheckOnFailureAction`, and the image's `Shell` that
    CMD-SHELL runs with."""
    wanted = validate(options.get("healthcheck"))
    image = (image_config.get("config") or {})
    from_image = image.get("Healthcheck") or None
    if wanted is None:
        merged = dict(from_image) if from_image else None
    else:
        merged = dict(wanted)
        for field in FIELDS:
            if from_image and not merged.get(field) and from_image.get(field):
                merged[field] = from_image[field]
    action = options.get("health_on_failure") or "none"
    if action not in ON_FAILURE:
        raise InvalidArgument(f"invalid health on failure action {action!r}: use none, "
                              "kill, restart or stop")
    config = {}
    if merged:
        config["Healthcheck"] = merged
    if action != "none":
        config["HealthcheckOnFailureAction"] = action
    if image.get("Shell"):
        config["Shell"] = list(image["Shell"])
    return config


def options_from_flags(cmd=None, interval=None, timeout=None, retries=None,
                       start_period=None, start_interval=None, none: bool = False) -> dict | None:
    """The `healthcheck` option of `run`/`create`'s --health-* flags (Go durations), as
    Docker's command line builds it; None when no flag was given."""
    given = {"Interval": interval, "Timeout": timeout, "StartPeriod": start_period,
             "StartInterval": start_interval}
    if none:
        if cmd or retries is not None or any(value is not None for value in given.values()):
            raise InvalidArgument("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    if not cmd and retries is None and all(value is None for value in given.values()):
        return None
    option = {"Test": ["CMD-SHELL", cmd] if cmd else []}
    flags = {"Interval": "--health-interval", "Timeout": "--health-timeout",
             "StartPeriod": "--health-start-period", "StartInterval": "--health-start-interval"}
    for field, text in given.items():
        if text is None:
            continue
        try:
            value = durations.parse(text)
        except ValueError:
            raise InvalidArgument(f"invalid argument {text!r} for {flags[field]}: time: "
                                  f"invalid duration {text!r}") from None
        if value < 0:
            raise InvalidArgument(f"{flags[field]} cannot be negative")
        option[field] = value
    if retries is not None:
        if retries < 0:
            raise InvalidArgument("--health-retries cannot be negative")
        option["Retries"] = retries
    return option


def configured(container) -> dict | None:
    """The container's health check when it has one that runs (not absent, not NONE)."""
    check = container.config["Config"].get("Healthcheck") or {}
    test = check.get("Test") or []
    if len(test) < 2 or test[0] not in ("CMD", "CMD-SHELL"):
        return None
    return check


def timing(check: dict) -> dict:
    """Interval, Timeout, StartPeriod, StartInterval (ns) and Retries, defaults filled in."""
    return {field: check.get(field) or default for field, default in DEFAULTS.items()}


def on_failure(container) -> str:
    return container.config["Config"].get("HealthcheckOnFailureAction") or "none"


# -- the record -----------------------------------------------------------------------------

def _load(container) -> dict | None:
    try:
        return atomic.read_json(container.path(RECORD))
    except (OSError, ValueError):
        return None


def _for_run(record: dict | None, started_at: str) -> dict:
    """The record of the container's current run: a new run starts over at `starting`
    (Docker's), keeping the log of the last results."""
    record = record or {}
    if record.get("StartedAt") == started_at:
        return record
    return {"Status": STARTING, "FailingStreak": 0, "Log": list(record.get("Log") or []),
            "StartedAt": started_at}


def run_record(container, started_at: str) -> dict:
    """The health record of the container's run that started at `started_at`."""
    return _for_run(_load(container), started_at)


def _record(engine, container, started_at: str, result: dict, check: dict) -> tuple:
    """Fold one result into the record (Docker's handleProbeResult); returns the status
    before it and the new record, or None when the run it belongs to is over (or paused:
    a frozen check's failure says nothing about the program)."""
    from runtime.container.inspect import parse_time
    with locked(container.path(LOCK)):
        state = atomic.read_json(container.path("state.json")) or {}
        if state.get("Status") != RUNNING or state.get("StartedAt") != started_at:
            return None
        record = _for_run(_load(container), started_at)
        before = record["Status"]
        record["Log"] = (record["Log"] + [result])[-MAX_LOG:]
        if result["ExitCode"] == 0:
            record["FailingStreak"] = 0
            record["Status"] = HEALTHY
        else:
            settings = timing(check)
            begun = parse_time(result["Start"]) or 0
            ran_since = (begun - (parse_time(started_at) or 0)) * 1e9
            if record["Status"] != STARTING or ran_since >= settings["StartPeriod"]:
                record["FailingStreak"] += 1
                if record["FailingStreak"] >= settings["Retries"]:
                    record["Status"] = UNHEALTHY
        atomic.write_json(container.path(RECORD), record)
    return before, record


# -- one check ------------------------------------------------------------------------------

def _argv(container, check: dict) -> list[str]:
    test = check["Test"]
    if test[0] == "CMD-SHELL":
        shell = container.config["Config"].get("Shell") or ["/bin/sh", "-c"]
        return list(shell) + [test[1]]
    return list(test[1:])


def probe(engine, container, check: dict) -> dict:
    """Run the test once now; Docker's result `{Start, End, ExitCode, Output}`."""
    from runtime.container import execute
    from runtime.container.lifecycle import oci_runtime
    start = rfc3339_ns()
    timeout = timing(check)["Timeout"]
    try:
        process = execute.process_spec(container, _argv(container, check))
        runtime = oci_runtime(engine, container)
        spec_path = execute.write_spec(container, process)
    except MoorError as error:
        return {"Start": start, "End": rfc3339_ns(), "ExitCode": -1, "Output": error.message}
    pid_path = container.path(f"health-{os.urandom(8).hex()}.pid")
    try:
        child = subprocess.Popen(
            runtime.argv("exec", "--process", spec_path, "--pid-file", pid_path, container.id),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        output, timed_out = _collect(child, timeout / 1e9)
        if timed_out:
            _kill_probe(pid_path, child)
            return {"Start": start, "End": rfc3339_ns(), "ExitCode": -1,
                    "Output": f"Health check exceeded timeout ({durations.go_string(timeout)})"}
        return {"Start": start, "End": rfc3339_ns(), "ExitCode": child.returncode,
                "Output": output}
    except OSError as error:
        return {"Start": start, "End": rfc3339_ns(), "ExitCode": -1,
                "Output": f"cannot run the health check: {error.strerror or error}"}
    finally:
        for path in (spec_path, pid_path):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


def _collect(child, timeout: float) -> tuple[str, bool]:
    """The first MAX_OUTPUT bytes the probe writes (then "..."), read until it ends or the
    timeout passes; (output, timed out). A background process the check left behind may
    hold the pipe open: once the check itself has ended, only what is there is read."""
    deadline = time.monotonic() + timeout
    kept, truncated = bytearray(), False
    stream = child.stdout

    def keep(data: bytes) -> None:
        nonlocal truncated
        room = MAX_OUTPUT - len(kept)
        kept.extend(data[:max(room, 0)])
        truncated = truncated or len(data) > room

    try:
        while child.poll() is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "", True
            ready, _, _ = select.select([stream], [], [], min(remaining, 0.05))
            if ready:
                data = os.read(stream.fileno(), 65536)
                if data:
                    keep(data)
                    continue
                child.wait(max(deadline - time.monotonic(), 0.001))     # its output ended
        for _ in range(64):
            if not select.select([stream], [], [], 0)[0]:
                break
            data = os.read(stream.fileno(), 65536)
            if not data:
                break
            keep(data)
    except subprocess.TimeoutExpired:
        return "", True
    finally:
        stream.close()
    text = bytes(kept).decode("utf-8", "replace")
    return (text + "..." if truncated else text), False


def _kill_probe(pid_path: str, child) -> None:
    """End a check that ran out of time: its process in the container (the runtime's exec
    waits for it), then the runtime's exec if it still waits."""
    try:
        with open(pid_path) as f:
            os.kill(int(f.read().strip()), 9)
    except (OSError, ValueError):
        pass
    try:
        child.wait(5)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def check_now(engine, container) -> dict:
    """Run the container's health check once now and record it (see the module's
    docstring); returns `{"Status", "FailingStreak", "Result"}`. Conflict when the
    container has no health check or does not run."""
    container.refresh()
    check = configured(container)
    if check is None:
        raise Conflict(f"container {container.name} has no health check configured")
    if container.status != RUNNING:
        raise Conflict(f"container {container.name} is not running")
    started_at = container.state.get("StartedAt")
    result = probe(engine, container, check)
    change = _record(engine, container, started_at, result, check)
    if change is None:
        raise Conflict(f"container {container.name} stopped during its health check")
    before, record = change
    after = record["Status"]
    if after != before:
        events.container(engine, container, f"health_status: {after}")
    if result["ExitCode"] != 0 and after == UNHEALTHY:
        _act_on_failure(engine, container)
    return {"Status": after, "FailingStreak": record["FailingStreak"], "Result": result}


def _act_on_failure(engine, container) -> None:
    from runtime.container import control
    action = on_failure(container)
    try:
        if action == "kill":
            control.kill(engine, container, "KILL")
        elif action == "stop":
            control.stop(engine, container)
        elif action == "restart":
            control.restart(engine, container)
    except MoorError as error:
        import logging
        logging.getLogger(__name__).warning("health check of %s: --health-on-failure %s "
                                            "failed: %s", container.name, action, error.message)


# -- what is shown --------------------------------------------------------------------------

def view(engine, container, checker=...) -> dict | None:
    """`State.Health` for inspect (None: the container has no health check, or has never
    run with one). `checker` is `checker_running(...)` when the caller knows it already."""
    if configured(container) is None:
        return None
    record = _load(container)
    status = container.status
    if status not in (RUNNING, PAUSED):
        if not record:
            return None
        return {"Status": record["Status"], "FailingStreak": record["FailingStreak"],
                "Log": _docker_log(record)}
    record = _for_run(record, container.state.get("StartedAt"))
    shown = {"Status": record["Status"], "FailingStreak": record["FailingStreak"],
             "Log": _docker_log(record)}
    if status == PAUSED:
        return shown
    if checker is ...:
        from runtime.container.health_checker import checker_running
        checker = checker_running(engine.paths)
    note = _not_checked(record, configured(container), checker)
    if note:
        shown["Status"] = STARTING
        shown["Note"] = note
    return shown


def _docker_log(record: dict) -> list[dict]:
    return [{key: entry.get(key) for key in ("Start", "End", "ExitCode", "Output")}
            for entry in record.get("Log") or []]


def _not_checked(record: dict, check: dict, checker) -> str | None:
    """Why the recorded status of a running container is not current (None when it is)."""
    from runtime.container.inspect import parse_time
    last = record["Log"][-1] if record["Log"] and record["Status"] != STARTING else None
    since = ""
    if last:
        since = f"; last result: {record['Status']} at {last.get('End')}"
    if checker is None:
        return ("not being checked: no health checker runs for this engine (moor system "
                "service runs one)" + since)
    if last:
        settings = timing(check)
        ended = (parse_time(last.get("End")) or 0) * 1e9
        allowed = max(settings["Interval"], settings["StartInterval"]) + settings["Timeout"]
        if time.time_ns() - ended > allowed + STALE_GRACE:
            return "not being checked: no result for longer than an interval" + since
    return None


def status_suffix(shown: dict | None) -> str:
    """What `ps` adds to `Up ...`: ` (healthy)`, ` (unhealthy)`, ` (health: starting)`,
    ` (health: not checked)`."""
    if not shown:
        return ""
    if shown.get("Note"):
        return " (health: not checked)"
    return f" (health: {STARTING})" if shown["Status"] == STARTING else f" ({shown['Status']})"
