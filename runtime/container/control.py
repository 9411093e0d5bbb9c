"""Stopping, killing, restarting, pausing, and waiting for a container's program."""

import os
import time

from runtime import atomic, events
from runtime.container import options as opts
from runtime.container.lifecycle import _cleanup, holding, oci_runtime, start
from runtime.container.state import (EXITED, PAUSED, RESTARTING, RUNNING, Container,
                                     process_alive)
from runtime.errors import Conflict, MoorError

DEFAULT_STOP_TIMEOUT = 10


def wait_for_exit(container: Container, timeout: float | None = None) -> bool:
    """Wait until conmon records the program's end (or the monitor vanished).
    True when it ended within the timeout."""
    deadline = None if timeout is None else time.monotonic() + timeout
    pause = 0.001
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
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def stop(engine, container: Container, timeout: int | None = None,
         signal: str | None = None) -> None:
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
        events.container(engine, container, "kill", {"signal": first})
        if container.status == PAUSED:
            # Frozen, it cannot act on the signal: thaw it once (the signal is pending).
            runtime.resume(container.id)
            container.transition(RUNNING)
            container.state["Paused"] = False
            container.save_state()
        if timeout < 0 or not wait_for_exit(container, timeout):
            runtime.kill(container.id, "KILL")
            events.container(engine, container, "kill", {"signal": "9"})
            if not wait_for_exit(container, 30):
                raise MoorError(f"container {container.name} did not stop after SIGKILL")
        container.refresh()
        events.container_ended(engine, container)
        _cleanup(engine, container)
        container.save_state()
    events.container(engine, container, "stop")


def kill(engine, container: Container, signal="KILL") -> None:
    number = opts.parse_signal(signal)
    with holding(container):
        if container.refresh():
            events.container_ended(engine, container)
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
        events.container(engine, container, "kill", {"signal": number})
        if container.status == PAUSED and number in (9, 15):
            runtime.resume(container.id)


def restart(engine, container: Container, timeout: int | None = None) -> None:
    stop(engine, container, timeout)
    start(engine, container)
    events.container(engine, container, "restart")


def pause(engine, container: Container) -> None:
    with holding(container):
        container.refresh()
        if container.status != RUNNING:
            raise Conflict(f"Container {container.id} is not running")
        oci_runtime(engine, container).pause(container.id)
        container.transition(PAUSED)
        container.state["Paused"] = True
        container.save_state()
    events.container(engine, container, "pause")


def unpause(engine, container: Container) -> None:
    with holding(container):
        container.refresh()
        if container.status != PAUSED:
            raise Conflict(f"Container {container.id} is not paused")
        oci_runtime(engine, container).resume(container.id)
        container.transition(RUNNING)
        container.state["Paused"] = False
        container.save_state()
    events.container(engine, container, "unpause")
