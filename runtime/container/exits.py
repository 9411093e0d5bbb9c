"""What happens when a container's program ends: conmon runs `moor system container-exited`,
which records the end, cleans up, and applies `--rm` or the restart policy (Docker's:
on-failure[:N], always, unless-stopped; a manual stop suspends it; the delay starts at 100 ms
and doubles, back to 100 ms after a run of 10 s or more)."""

import os
import time

from runtime import events
from runtime.container.lifecycle import _cleanup, _start_locked, holding
from runtime.container.removal import _disappear, _forget_name, remove_volumes
from runtime.container.state import (
    DEAD,
    EXITED,
    RESTARTING,
    Container,
    process_alive,
    process_start_time,
)
from runtime.errors import MoorError
from runtime.image.store import remove_tree

RESTART_DELAY_START, RESTART_DELAY_MAX = 0.1, 60.0


def container_exited(engine, container_id: str) -> None:
    """conmon's exit command: record the end, clean up, then apply --rm or the restart
    policy (Docker's: on-failure[:N], always, unless-stopped; a manual stop suspends it;
    the delay starts at 100 ms and doubles, back to 100 ms after a run of 10 s or more)."""
    directory = engine.paths.container(container_id)
    container = Container.load(directory)
    if container is None:
        return
    # An attached `moor run` that is still there cleans up (and removes) itself as soon as it
    # has read the exit code: let it, instead of racing it for the lock.
    owner = container.state.get("Owner") or {}
    _wait_for_process_end(owner.get("Pid"), owner.get("StartTime"), OWNER_GRACE_SECONDS)
    container = Container.load(directory)
    if container is None:
        return
    with holding(container):
        container.refresh()
        if not os.path.exists(container.path("exit")) and not container.program_alive():
            # conmon runs this command once the program has ended; without an exit file it
            # could not write one (a full disk).
            container.end_unrecorded()
        if container.status not in (EXITED, DEAD):
            return
        events.container_ended(engine, container)
        if not container.state.get("CleanedUp", True):
            _cleanup(engine, container)
        delay = _restart_delay(container)
        if delay is None:
            container.save_state()
            owner = container.state.get("Owner") or {}
            owner_alive = process_alive(owner.get("Pid"), owner.get("StartTime"))
            if container.host_config.get("AutoRemove") and not owner_alive:
                container.state["RemoveVolumes"] = True
                doomed = _disappear(engine, container)
            else:
                return
        else:
            container.transition(RESTARTING)
            container.state["RestartDelay"] = delay
            # `ps` tells a back-off from an exit by this process being there (state.py).
            container.state["RestartWaiterPid"] = os.getpid()
            container.state["RestartWaiterStartTime"] = process_start_time(os.getpid())
            container.save_state()
    if delay is None:  # removed (--rm), with its anonymous volumes
        _forget_name(engine, container)
        remove_volumes(engine, container)
        events.container(engine, container, "destroy")
        remove_tree(doomed)
        return
    time.sleep(delay)
    with holding(container):
        if container.status != RESTARTING or container.state.get("ManualStop"):
            return
        container.state["RestartCount"] = container.state.get("RestartCount", 0) + 1
        container.state.pop("RestartWaiterPid", None)
        container.state.pop("RestartWaiterStartTime", None)
        try:
            _start_locked(engine, container)
        except MoorError as error:
            container.transition(EXITED)
            container.state["Error"] = error.message
            container.save_state()


OWNER_GRACE_SECONDS = 60.0


def _wait_for_process_end(pid: int | None, start_time: int | None, timeout: float) -> None:
    if not process_alive(pid, start_time):
        return
    import select
    try:
        handle = os.pidfd_open(pid)
    except OSError:
        return
    try:
        select.select([handle], [], [], timeout)
    finally:
        os.close(handle)


def _restart_delay(container: Container) -> float | None:
    policy = container.host_config.get("RestartPolicy") or {}
    name = policy.get("Name") or ""
    if not name or container.state.get("ManualStop"):
        return None
    code = container.state.get("ExitCode", 0)
    if name == "on-failure":
        if code == 0:
            return None
        limit = policy.get("MaximumRetryCount") or 0
        if limit and container.state.get("RestartCount", 0) >= limit:
            return None
    ran = _seconds_between(container.state.get("StartedAt"), container.state.get("FinishedAt"))
    previous = container.state.get("RestartDelay") or 0
    if ran >= 10 or not previous:
        return RESTART_DELAY_START
    return min(previous * 2, RESTART_DELAY_MAX)


def _seconds_between(start: str | None, end: str | None) -> float:
    import datetime
    try:
        a = datetime.datetime.fromisoformat(start[:26] + "+00:00")
        b = datetime.datetime.fromisoformat(end[:26] + "+00:00")
        return (b - a).total_seconds()
    except (TypeError, ValueError):
        return 0.0
