"""The health checker: the loop that runs every running container's health checks on their
schedule, for the resident engine service to host (see `health.py` for what one check does
and how results are kept and shown).

    checker = engine.health_checker()
    checker.start()         # a thread of the hosting process; Conflict if another runs
    ...
    checker.stop()          # ends the loop, waits for the checks in progress

Scheduling is Docker's: a container's first check an interval after its start (or after
its last recorded result, when a checker takes over a running container), then every
`Interval`, every `StartInterval` while it is `starting` within its `StartPeriod`. Each check
runs in a thread of its own, so a slow one holds up no other; a container is never checked
twice at once. One checker runs per engine root: it holds `<run>/health-checker.lock`, and
keeps `<run>/health-checker.json` (its PID, start time and a heartbeat every couple of
seconds) so `inspect` can tell whether results are being kept current.
"""

import fcntl
import os
import threading
import time

from runtime import atomic
from runtime.container import health
from runtime.container.health import STARTING, check_now, configured, timing
from runtime.container.state import RUNNING, process_alive, process_start_time
from runtime.errors import Conflict, MoorError

HEARTBEAT_SECONDS = 2.0
HEARTBEAT_STALE = 30_000_000_000


def checker_running(paths) -> dict | None:
    """The live checker's heartbeat record ({Pid, StartTime, Heartbeat}), or None."""
    beat = atomic.read_json(os.path.join(paths.run, "health-checker.json"))
    if not beat or not process_alive(beat.get("Pid"), beat.get("StartTime")):
        return None
    if time.time_ns() - int(beat.get("Heartbeat") or 0) > HEARTBEAT_STALE:
        return None                      # alive but stuck (or stopped with SIGSTOP)
    return beat



class HealthChecker:
    """Runs the health checks of every running container of an engine root on their
    schedule, each check in a thread of its own (a slow one holds up no other).

    Hosted in a thread: `start()` returns at once, `stop()` ends it (waiting for checks in
    progress is not needed: their results are recorded by their own threads or dropped).
    In the foreground: `run(stop_event)` until the event is set. MoorError (Conflict) when
    another checker runs for the same root."""

    def __init__(self, engine, scan_seconds: float = 1.0):
        self.engine = engine
        self.scan_seconds = scan_seconds
        self._stop = threading.Event()
        self._thread = None
        self._schedule: dict[str, tuple[str, int]] = {}   # id -> (run's StartedAt, due ns)
        self._busy: set[str] = set()
        self._threads: set[threading.Thread] = set()
        self._guard = threading.Lock()

    def start(self) -> None:
        ready = threading.Event()
        failure = []

        def host():
            try:
                self.run(self._stop, ready)
            except BaseException as error:   # reported to start()'s caller
                failure.append(error)
                ready.set()
        self._thread = threading.Thread(target=host, name="health-checker", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]

    def stop(self, timeout: float | None = 60.0) -> None:
        """End the loop and wait for the checks in progress (and their on-failure actions)
        to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._guard:
            running = list(self._threads)
        for thread in running:
            thread.join(timeout)

    def run(self, stop=None, ready=None) -> None:
        """Check until `stop` (a threading.Event; the checker's own by default) is set;
        `ready` is set once the checker holds its lock."""
        stop = stop or self._stop
        paths = self.engine.paths.ensure()
        lock_path = os.path.join(paths.run, "health-checker.lock")
        handle = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                other = checker_running(paths) or {}
                raise Conflict("a health checker already runs for this engine root"
                               + (f" (pid {other['Pid']})" if other.get("Pid") else ""))
            beat_path = os.path.join(paths.run, "health-checker.json")
            identity = {"Pid": os.getpid(), "StartTime": process_start_time(os.getpid())}
            atomic.write_json(beat_path, {**identity, "Heartbeat": time.time_ns()})
            if ready is not None:
                ready.set()
            last_beat = time.monotonic()
            try:
                while not stop.is_set():
                    wait = self._tick()
                    if time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
                        atomic.write_json(beat_path, {**identity, "Heartbeat": time.time_ns()})
                        last_beat = time.monotonic()
                    stop.wait(min(wait, self.scan_seconds, HEARTBEAT_SECONDS))
            finally:
                try:
                    os.unlink(beat_path)
                except FileNotFoundError:
                    pass
        finally:
            os.close(handle)

    def _tick(self) -> float:
        """Start the checks that are due; returns the seconds until the next one."""
        from runtime.container import state
        now = time.time_ns()
        next_due = now + int(self.scan_seconds * 1e9)
        seen = set()
        for container in state.all_containers(self.engine):
            container.refresh()
            check = configured(container)
            if container.status != RUNNING or check is None:
                continue
            seen.add(container.id)
            started_at = container.state.get("StartedAt")
            with self._guard:
                scheduled = self._schedule.get(container.id)
                if scheduled is None or scheduled[0] != started_at:
                    scheduled = (started_at, self._first_due(container, check, started_at))
                    self._schedule[container.id] = scheduled
                if scheduled[1] <= now and container.id not in self._busy:
                    self._busy.add(container.id)
                    thread = threading.Thread(target=self._check, args=(container, started_at),
                                              name=f"health-{container.id[:12]}", daemon=True)
                    self._threads.add(thread)
                    thread.start()
                elif container.id not in self._busy:
                    next_due = min(next_due, scheduled[1])
        with self._guard:
            for gone in set(self._schedule) - seen:
                self._schedule.pop(gone, None)
        return max(0.0, (next_due - time.time_ns()) / 1e9)

    def _first_due(self, container, check: dict, started_at: str) -> int:
        """An interval after the last result of this run, or after the start."""
        from runtime.container.inspect import parse_time
        record = health.run_record(container, started_at)
        base = parse_time(started_at) or time.time()
        if record.get("StartedAt") == started_at and record["Log"] and \
                record["Status"] != STARTING:
            base = max(base, parse_time(record["Log"][-1].get("End")) or base)
        return int(base * 1e9) + self._interval(check, started_at, record["Status"])

    @staticmethod
    def _interval(check: dict, started_at: str, status: str) -> int:
        """Docker's: the start interval while `starting` within the start period."""
        from runtime.container.inspect import parse_time
        settings = timing(check)
        since_start = time.time_ns() - int((parse_time(started_at) or 0) * 1e9)
        if since_start < settings["StartPeriod"] and status == STARTING:
            return settings["StartInterval"]
        return settings["Interval"]

    def _check(self, container, started_at: str) -> None:
        status = STARTING
        try:
            status = check_now(self.engine, container)["Status"]
        except MoorError:
            pass                       # stopped or removed meanwhile: the next scan sees it
        except Exception as error:     # one container's failure must not end the checker
            import logging
            logging.getLogger(__name__).warning("health check of %s failed: %s",
                                                container.name, error)
        finally:
            check = configured(container) or {}
            with self._guard:
                self._busy.discard(container.id)
                self._threads.discard(threading.current_thread())
                if container.id in self._schedule and check:
                    self._schedule[container.id] = (
                        started_at,
                        time.time_ns() + self._interval(check, started_at, status))
