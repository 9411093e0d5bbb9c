"""Removing and renaming containers."""

import os

from runtime import events
from runtime.container import names, rootfs
from runtime.container.control import wait_for_exit
from runtime.container.lifecycle import _cleanup, _network_module, holding, oci_runtime
from runtime.container.state import (
    PAUSED,
    REMOVING,
    RESTARTING,
    RUNNING,
    Container,
    index_name,
    name_owner,
    unindex_name,
)
from runtime.errors import Conflict
from runtime.image.store import remove_tree
from runtime.locking import locked


def remove(engine, container: Container, force: bool = False,
           background: bool = False, volumes: bool = False) -> None:
    """Remove a container. With `background`, it is gone (from `ps`, by name and ID) when
    this returns, and a detached process releases its runtime state, network and files
    right after — for a command line that should not wait for the kernel's veth teardown;
    `system gc` finishes the job should that process die. With `volumes` (`rm -v`), its
    anonymous volumes go too (see `remove_volumes`)."""
    with holding(container):
        ended = container.refresh()
        if container.status in (RUNNING, PAUSED, RESTARTING):
            if not force:
                raise Conflict(
                    f"You cannot remove a running container {container.id}. Stop the "
                    "container before attempting removal or force remove")
            # Signal first, record after (in `_disappear`): nothing needs disk space
            # before the program is killed.
            container.state["ManualStop"] = True
            if container.status != RESTARTING:
                runtime = oci_runtime(engine, container)
                runtime.kill(container.id, "KILL")
                events.container(engine, container, "kill", {"signal": "9"})
                if container.status == PAUSED:
                    runtime.resume(container.id)
                wait_for_exit(container, 30)
            ended = container.refresh()
        if ended:
            events.container_ended(engine, container)
        if not background and not container.state.get("CleanedUp", True):
            _cleanup(engine, container)
        if volumes:
            container.state["RemoveVolumes"] = True  # for gc, should this process die
        doomed = _disappear(engine, container)
    _forget_name(engine, container)
    if volumes:
        remove_volumes(engine, container)
    events.container(engine, container, "destroy")
    if background:
        _in_background(_finish_removal, engine, container, doomed)
    else:
        remove_tree(doomed)


def _disappear(engine, container: Container) -> str:
    """Take the container out of sight, holding its lock: renamed under tmp/, where `gc`
    finds what a crash midway leaves, never a half container."""
    container.state["Status"] = REMOVING
    container.save_state()
    rootfs.unmount(container.path("merged"))
    doomed = os.path.join(engine.paths.tmp, f"removing-{container.id}")
    if os.path.lexists(doomed):
        remove_tree(doomed)
    os.rename(container.dir, doomed)
    return doomed


def remove_volumes(engine, container: Container) -> None:
    """The anonymous volumes of a container that is out of sight, unless another container
    names them (Docker's `rm -v` and `--rm`); named volumes stay."""
    from runtime.volume import mountpoints
    mountpoints.remove_anonymous_volumes(engine, container)


def _forget_name(engine, container: Container) -> None:
    """Drop the container's name from the index, under the containers lock (taken after the
    container's own: create and rename take them the other way round)."""
    with locked(engine.paths.lock("containers")):
        unindex_name(engine, container.name, container.id)


def _finish_removal(engine, container: Container, doomed: str) -> None:
    """Release what the removed container held (see `_cleanup`), then delete its files."""
    from runtime import staging
    staging.hold(doomed)  # until this process ends: gc leaves the removal to it
    container.dir = doomed
    _cleanup(engine, container)
    remove_tree(doomed)


def _in_background(function, *args) -> None:
    """Run `function(*args)` in a detached grandchild (its own session, stdio on /dev/null)
    and return at once. For single-threaded callers such as the command line; a process that
    answers its caller first (a command run by the engine service) does it after answering
    instead, without forking (runtime.background)."""
    from runtime import background
    if background.defer(function, *args):
        return
    child = os.fork()
    if child:
        os.waitpid(child, 0)
        return
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        function(*args)
        os._exit(0)
    except BaseException:
        os._exit(1)


def rename(engine, container: Container, new_name: str) -> None:
    new_name = names.validate(new_name)
    with locked(engine.paths.lock("containers")):
        other = name_owner(engine, new_name)
        if other is not None and other.id != container.id:
            raise Conflict(f'Error when allocating new name: Conflict. The container name '
                           f'"/{new_name}" is already in use by container "{other.id}".')
        with holding(container):
            old_name = container.name
            container.config["Name"] = new_name
            container.save_config()
            index_name(engine, new_name, container.id)
            if old_name != new_name:
                unindex_name(engine, old_name, container.id)
                network = _network_module()
                if network is not None and hasattr(network, "renamed"):
                    network.renamed(engine.paths, container.id, new_name)
    events.container(engine, container, "rename", {"oldName": "/" + old_name})
