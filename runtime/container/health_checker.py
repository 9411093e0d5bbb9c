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

Where no engine service runs, whoever needs checks made now (`moor compose up` waiting for a
dependency to be healthy) calls `ensure_running(engine)`: it starts a *stand-in* checker,
`moor system health-checker --stand-in`, detached like the log keeper (in the monitors'
cgroup, nobody's child). A stand-in checks like any checker and ends by itself once no
running container of the root has had a health check for `IDLE_SECONDS`, or when the root
is reset. Any other checker (the service's, or one run in the foreground) takes over from a
stand-in: it ends it and takes the lock, so starting the service later needs nothing.
"""

import fcntl
import os
import select
import signal
import threading
import time

from runtime import atomic
from runtime.container import health
from runtime.container.health import STARTING, check_now, configured, timing
from runtime.container.state import RUNNING, process_alive, process_start_time
from runtime.errors import Conflict, MoorError

HEARTBEAT_SECONDS = 2.0
HEARTBEAT_STALE = 30_000_000_000
IDLE_SECONDS = 30.0          # a stand-in ends after this long with nothing to check
TAKE_OVER_SECONDS = 10.0     # how long a checker waits for a stand-in to hand over


def _lock_path(paths) -> str:
    return os.path.join(paths.run, "health-checker.lock")


def _beat_path(paths) -> str:
    return os.path.join(paths.run, "health-checker.json")


def checker_running(paths) -> dict | None:
    """The live checker's heartbeat record ({Pid, StartTime, Heartbeat, StandIn}), or
    None."""
    beat = atomic.read_json(_beat_path(paths))
    if not beat or not process_alive(beat.get("Pid"), beat.get("StartTime")):
        return None
    if time.time_ns() - int(beat.get("Heartbeat") or 0) > HEARTBEAT_STALE:
        return None                      # alive but stuck (or stopped with SIGSTOP)
    return beat


def ensure_running(engine, timeout: float = 10.0) -> dict:
    """The root's live checker ({Pid, StartTime, Heartbeat, StandIn}); when none runs, a
    stand-in is started first (see the module's docstring). MoorError when none can be."""
    beat = checker_running(engine.paths)
    if beat:
        return beat
    from runtime.container.monitor import start_detached_helper
    paths = engine.paths.ensure()
    deadline = time.monotonic() + timeout
    start_detached_helper(paths.root, "system", "health-checker", "--stand-in",
                          timeout=timeout)
    while True:
        beat = checker_running(paths)
        if beat:
            return beat
        if time.monotonic() > deadline:
            raise MoorError("no health checker runs for this engine root and none could be "
                            "started (moor system health-checker)")
        time.sleep(0.05)     # another one took the lock first: its record follows


def stop_stand_in(paths, timeout: float = TAKE_OVER_SECONDS) -> bool:
    """End the root's stand-in checker, if one runs, and wait for it to be gone; False when
    the checker that runs is not a stand-in."""
    beat = atomic.read_json(_beat_path(paths))
    if not beat or not process_alive(beat.get("Pid"), beat.get("StartTime")):
        return True
    if not beat.get("StandIn"):
        return False
    try:
        handle = os.pidfd_open(beat["Pid"])
    except OSError:
        return True
    try:
        os.kill(beat["Pid"], signal.SIGTERM)
        select.select([handle], [], [], timeout)
    except OSError:
        pass
    finally:
        os.close(handle)
    return True


def _take_lock(paths, handle: int, stand_in: bool) -> None:
    """The checker's lock; a checker that is no stand-in ends a stand-in holding it."""
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    if not stand_in:
        deadline = time.monotonic() + TAKE_OVER_SECONDS
        while time.monotonic() < deadline:
            beat = atomic.read_json(_beat_path(paths)) or {}
            if beat and not beat.get("StandIn") and process_alive(beat.get("Pid"),
                                                                  beat.get("StartTime")):
                break                # a checker of the same rank: refused below
            if beat.get("StandIn"):
                stop_stand_in(paths, max(deadline - time.monotonic(), 0.1))
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                time.sleep(0.05)     # the holder is starting or ending: its record follows
    other = checker_running(paths) or {}
    raise Conflict("a health checker already runs for this engine root"
                   + (f" (pid {other['Pid']})" if other.get("Pid") else ""))


class HealthChecker:
    """Runs the health checks of every running container of an engine root on their
    schedule, each check in a thread of its own (a slow one holds up no other).

    Hosted in a thread: `start()` returns at once, `stop()` ends it (waiting for checks in
    progress is not needed: their results are recorded by their own threads or dropped).
    In the foreground: `run(stop_event)` until the event is set. MoorError (Conflict) when
    another checker runs for the same root, unless that one is a stand-in: it is ended.

    `stand_in`: a checker started by `ensure_running`, which ends once no running
    container has had a health check for `idle_seconds`, and gives way to any other."""

    def __init__(self, engine, scan_seconds: float = 1.0, stand_in: bool = False,
                 idle_seconds: float = IDLE_SECONDS):
        self.engine = engine
        self.scan_seconds = scan_seconds
        self.stand_in = stand_in
        self.idle_seconds = idle_seconds
        self._watched = 0                                    # containers with a check
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
        handle = os.open(_lock_path(paths), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            _take_lock(paths, handle, self.stand_in)
            beat_path = _beat_path(paths)
            identity = {"Pid": os.getpid(), "StartTime": process_start_time(os.getpid()),
                        "StandIn": self.stand_in}
            atomic.write_json(beat_path, {**identity, "Heartbeat": time.time_ns()})
            if ready is not None:
                ready.set()
            last_beat = busy_since = time.monotonic()
            try:
                while not stop.is_set():
                    wait = self._tick()
                    if self._watched or self._busy:
                        busy_since = time.monotonic()
                    elif self.stand_in and (time.monotonic() - busy_since >= self.idle_seconds
                                            or not os.path.isdir(paths.containers)):
                        break                # nothing left to check, or the root is gone
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
        self._watched = len(seen)
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
