"""Stopping, killing, restarting, pausing, and waiting for a container's program."""

import os
import time

from runtime import atomic, events
from runtime.container import cgroups, options as opts
from runtime.container.lifecycle import _cleanup, holding, oci_runtime, start
from runtime.container.state import (
    EXITED,
    PAUSED,
    RESTARTING,
    RUNNING,
    Container,
    process_alive,
    process_start_time,
)
from runtime.errors import Conflict, MoorError

DEFAULT_STOP_TIMEOUT = 10


# How long conmon may take to record an exit once the program is gone (it drains what is
# left of the output first); longer means it cannot (a full disk), and it then waits for its
# exit command, which waits for whoever holds the container's lock.
EXIT_RECORD_GRACE = 2.0


def wait_for_exit(container: Container, timeout: float | None = None) -> bool:
    """Wait until conmon records the program's end (or the monitor vanished, or the program
    is gone and conmon cannot record it). True when it ended within the timeout. While the
    program runs this sleeps on a pidfd of it, and looks again every millisecond once it
    ended (conmon writes the exit file right after): a stop or `rm -f` is not late by the
    steps of a growing poll."""
    deadline = None if timeout is None else time.monotonic() + timeout
    pause = 0.001
    program = None
    gone_since = None
    try:
        while True:
            if os.path.exists(container.path("exit")):
                return True
            state = atomic.read_json(container.path("state.json")) or {}
            if state.get("Status") not in (RUNNING, PAUSED, RESTARTING):
                return True
            if not process_alive(state.get("MonitorPid"), state.get("MonitorStartTime")) and \
                    not os.path.exists(container.path("exit")):
                time.sleep(0.05)
                return True
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            if program is None:
                program = _pidfd(state.get("Pid"), state.get("PidStartTime"))
                if program == ENDED:
                    pause = 0.001
            if program is not None and program >= 0:
                import select
                ready, _, _ = select.select([program], [], [], 0.05 if left is None
                                            else min(left, 0.05))
                if ready:                   # ended: the exit file follows at once
                    os.close(program)
                    program, pause = ENDED, 0.001
                continue
            if program == ENDED:
                gone_since = gone_since or time.monotonic()
                if time.monotonic() - gone_since > EXIT_RECORD_GRACE:
                    return True
            time.sleep(pause if left is None else min(pause, left))
            pause = min(pause * 2, 0.05)
    finally:
        if program is not None and program >= 0:
            os.close(program)


ENDED = -1


def _pidfd(pid, start_time) -> int | None:
    """A pidfd of the container's program while it is the one recorded; ENDED when that
    program is gone; None when no program is recorded."""
    if not pid:
        return None
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return ENDED
    if not process_alive(pid, start_time):      # checked after opening: no PID reuse race
        os.close(fd)
        return ENDED
    return fd


def stop(engine, container: Container, timeout: int | None = None,
         signal: str | None = None) -> None:
    """Signal the program (its stop signal, SIGKILL after `timeout`), then record the stop.
    Signalling comes first and writes nothing: a container that filled the disk can still be
    stopped (the record is then rewritten in place, see atomic.write_json)."""
    with holding(container):
        if container.refresh():
            events.container_ended(engine, container)
            _cleanup(engine, container)
            container.save_state()
        if container.status == RESTARTING:
            container.state["ManualStop"] = True
            container.transition(EXITED)
            container.save_state()
            events.container(engine, container, "stop")
            return
        if container.status not in (RUNNING, PAUSED):
            return
        runtime = oci_runtime(engine, container)
        config = container.config["Config"]
        if timeout is None:
            timeout = config.get("StopTimeout")
        if timeout is None:
            timeout = DEFAULT_STOP_TIMEOUT
        first = str(opts.parse_signal(signal or config.get("StopSignal") or "SIGTERM"))
        # The exit command waits for this lock, so it reads ManualStop (no restart policy
        # applies) however late it is recorded.
        container.state["ManualStop"] = True
        try:
            runtime.kill(container.id, first)
            events.container(engine, container, "kill", {"signal": first})
            if container.status == PAUSED:
                # Frozen, it cannot act on the signal: thaw it once (the signal is pending).
                _thaw(engine, container)
            if timeout < 0 or not wait_for_exit(container, timeout):
                runtime.kill(container.id, "KILL")
                events.container(engine, container, "kill", {"signal": "9"})
                if not wait_for_exit(container, 30):
                    raise MoorError(f"container {container.name} did not stop after SIGKILL")
            container.refresh()
            if not container.program_alive():
                container.end_unrecorded()   # ended; conmon could not say how
            events.container_ended(engine, container)
            _cleanup(engine, container)
        finally:
            container.save_state()
    events.container(engine, container, "stop")


def kill(engine, container: Container, signal="KILL") -> None:
    """Send a signal to the program; SIGKILL is also recorded as a stop by hand (after it is
    sent, so that a full disk cannot keep it from being sent)."""
    number = opts.parse_signal(signal)
    with holding(container):
        if container.refresh():
            events.container_ended(engine, container)
            _cleanup(engine, container)
            container.save_state()
        if container.status not in (RUNNING, PAUSED):
            raise Conflict(f"Cannot kill container: {container.name}: container "
                           f"{container.id} is not running")
        runtime = oci_runtime(engine, container)
        if not runtime.kill(container.id, str(number)):
            raise MoorError(f"Cannot kill container {container.name}: the runtime refused")
        events.container(engine, container, "kill", {"signal": number})
        if number == 9:
            container.state["ManualStop"] = True
        if container.status == PAUSED and number in (9, 15):
            _thaw(engine, container)   # frozen, it could not act on the signal
        elif number == 9:
            container.save_state()


def restart(engine, container: Container, timeout: int | None = None) -> None:
    stop(engine, container, timeout)
    start(engine, container)
    events.container(engine, container, "restart")


def pause(engine, container: Container) -> None:
    """Freeze the container for its user. A container a commit holds frozen becomes the
    user's: the commit will leave it frozen."""
    with holding(container):
        if container.refresh():
            _cleanup(engine, container)
            container.save_state()
        if container.status == PAUSED and container.state.get("PausedBy"):
            container.state["PausedBy"] = None
            container.save_state()
            return
        if container.status != RUNNING:
            raise Conflict(f"Container {container.id} is not running")
        _freeze(engine, container, None)
    events.container(engine, container, "pause")


def unpause(engine, container: Container) -> None:
    """Thaw a container its user paused, or one a commit holds (the commit then finds it
    running and leaves it so)."""
    with holding(container):
        if container.refresh():
            _cleanup(engine, container)
            container.save_state()
        if container.status != PAUSED:
            raise Conflict(f"Container {container.id} is not paused")
        _thaw(engine, container)
    events.container(engine, container, "unpause")


# -- freezing ------------------------------------------------------------------------------
#
# A freeze is recorded before the freezer is touched, and who holds it with it: `PausedBy` is
# None for the user's own `pause`, or {"Reason", "Pid", "StartTime"} of a process that
# freezes the container for a while (a commit). If that process dies holding it (kill -9 at
# the wrong moment), the record says so, and the next command, `ps`, `inspect` or `gc` thaws
# the container; the user's pause is never undone behind the user's back.

def _freeze(engine, container: Container, holder: dict | None) -> None:
    """Freeze a running container (holding its lock), recording the freeze first."""
    container.transition(PAUSED)
    container.state["Paused"] = True
    container.state["PausedBy"] = holder
    container.save_state()
    try:
        oci_runtime(engine, container).pause(container.id)
    except BaseException:
        container.transition(RUNNING)
        container.state["Paused"] = False
        container.state["PausedBy"] = None
        container.save_state()
        raise


def _thaw(engine, container: Container) -> None:
    """Thaw a paused container (holding its lock) and record it running. The freezer may
    already be thawed (its holder died between the two steps): that is not an error."""
    try:
        oci_runtime(engine, container).resume(container.id)
    except MoorError:
        # runc refuses to resume what is not paused; only a freeze still there is an error.
        if cgroups.frozen(engine.paths.cgroup_parent, container.id):
            raise
    container.transition(RUNNING)
    container.state["Paused"] = False
    container.state["PausedBy"] = None
    container.save_state()


def hold_frozen(engine, container: Container, reason: str) -> bool:
    """Freeze a running container on behalf of this process (for `reason`, e.g. a commit)
    until `release_frozen`. False, and nothing done, when it is not running (a container the
    user paused stays theirs)."""
    with holding(container):
        if container.refresh():
            _cleanup(engine, container)
            container.save_state()
        settle_abandoned_freeze(engine, container, locked=True)
        if container.status != RUNNING:
            return False
        me = os.getpid()
        _freeze(engine, container, {"Reason": reason, "Pid": me,
                                    "StartTime": process_start_time(me)})
        return True


def release_frozen(engine, container: Container) -> None:
    """Thaw what `hold_frozen` froze, unless the freeze is no longer this process's (the
    user paused or unpaused it, or it was stopped, meanwhile)."""
    with holding(container):
        if container.refresh():
            _cleanup(engine, container)
            container.save_state()
            return
        holder = container.state.get("PausedBy") or {}
        if container.status == PAUSED and holder.get("Pid") == os.getpid() and \
                holder.get("StartTime") == process_start_time(os.getpid()):
            _thaw(engine, container)


def abandoned_freeze(engine, container: Container, check_kernel: bool = False) -> str | None:
    """Why the container is frozen with nobody to thaw it, or None: a recorded holder that
    is gone, or (`check_kernel`, one file read) a freezer frozen while the record says
    running (left by an engine that froze without recording it)."""
    if container.freeze_abandoned():
        return f"its {container.state['PausedBy'].get('Reason') or 'freezing'} process is gone"
    if check_kernel and container.status == RUNNING and \
            cgroups.frozen(engine.paths.cgroup_parent, container.id):
        return "frozen with no record of who holds it"
    return None


def settle_abandoned_freeze(engine, container: Container, locked: bool = False,
                            check_kernel: bool = False) -> str | None:
    """Thaw the container if it is frozen with nobody to thaw it (see `abandoned_freeze`);
    returns why it did. Without `locked`, takes the container's lock (only when there is
    something to do, so `ps` pays nothing for healthy containers)."""
    if abandoned_freeze(engine, container, check_kernel) is None:
        return None
    if not locked:
        with holding(container):
            container.refresh()
            return settle_abandoned_freeze(engine, container, locked=True,
                                           check_kernel=check_kernel)
    reason = abandoned_freeze(engine, container, check_kernel)
    if reason is None:
        return None
    if container.status == RUNNING:   # frozen behind the record's back: record it, then thaw
        container.transition(PAUSED)
    _thaw(engine, container)
    return reason
