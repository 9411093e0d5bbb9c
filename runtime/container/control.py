"""Stopping, killing, restarting, pausing, and waiting for a container's program."""

import os
import time

from runtime import atomic
from runtime.container import options as opts
from runtime.container.lifecycle import _cleanup, holding, oci_runtime, start
from runtime.container.state import (EXITED, PAUSED, RESTARTING, RUNNING, Container,
                                     process_alive)
from runtime.errors import Conflict, MoorError

DEFAULT_STOP_TIMEOUT = 10


def wait_for_exit(container: Container, timeout: float | None = None) -> bool:
    """Wait until conmon records the program's end (or the monitor vanished).
    True when it ended within the timeout. While the program runs this sleeps on a pidfd of
    it, and looks again every millisecond once it ended (conmon writes the exit file right
    after): a stop or `rm -f` is not late by the steps of a growing poll."""
    deadline = None if timeout is None else time.monotonic() + timeout
    pause = 0.001
    program = None
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
    with holding(container):
        if container.refresh():
            _cleanup(engine, container)
            container.save_state()
        if container.status == RESTARTING:
            container.state["ManualStop"] = True
            container.transition(EXITED)
            container.save_state()
            return
        if container.status not in (RUNNING, PAUSED):
            return
        container.state["ManualStop"] = True
        container.save_state()
        runtime = oci_runtime(engine, container)
        config = container.config["Config"]
        if timeout is None:
            timeout = config.get("StopTimeout")
        if timeout is None:
            timeout = DEFAULT_STOP_TIMEOUT
        first = str(opts.parse_signal(signal or config.get("StopSignal") or "SIGTERM"))
        runtime.kill(container.id, first)
        if container.status == PAUSED:
            # Frozen, it cannot act on the signal: thaw it once (the signal is pending).
            runtime.resume(container.id)
            container.transition(RUNNING)
            container.state["Paused"] = False
            container.save_state()
        if timeout < 0 or not wait_for_exit(container, timeout):
            runtime.kill(container.id, "KILL")
            if not wait_for_exit(container, 30):
                raise MoorError(f"container {container.name} did not stop after SIGKILL")
        container.refresh()
        _cleanup(engine, container)
        container.save_state()


def kill(engine, container: Container, signal="KILL") -> None:
    number = opts.parse_signal(signal)
    with holding(container):
        if container.refresh():
            _cleanup(engine, container)
            container.save_state()
        if container.status not in (RUNNING, PAUSED):
            raise Conflict(f"Cannot kill container: {container.name}: container "
                           f"{container.id} is not running")
        if number == 9:
            container.state["ManualStop"] = True
            container.save_state()
        runtime = oci_runtime(engine, container)
        if not runtime.kill(container.id, str(number)):
            raise MoorError(f"Cannot kill container {container.name}: the runtime refused")
        if container.status == PAUSED and number in (9, 15):
            runtime.resume(container.id)


def restart(engine, container: Container, timeout: int | None = None) -> None:
    stop(engine, container, timeout)
    start(engine, container)


def pause(engine, container: Container) -> None:
    with holding(container):
        container.refresh()
        if container.status != RUNNING:
            raise Conflict(f"Container {container.id} is not running")
        oci_runtime(engine, container).pause(container.id)
        container.transition(PAUSED)
        container.state["Paused"] = True
        container.save_state()


def unpause(engine, container: Container) -> None:
    with holding(container):
        container.refresh()
        if container.status != PAUSED:
            raise Conflict(f"Container {container.id} is not paused")
        oci_runtime(engine, container).resume(container.id)
        container.transition(RUNNING)
        container.state["Paused"] = False
        container.save_state()
