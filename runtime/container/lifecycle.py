"""Create, start, stop, kill, restart and remove containers.

Every change to one container happens under that container's lock; creating (which must check
that a name is free) under the containers lock. Every allocation pushes its undo on an
ExitStack that unwinds on failure, so a failed `create` or `start` leaves no mount, cgroup,
network device, monitor or directory behind.
"""

import contextlib
import os
import shutil
import time

from runtime import atomic
from runtime.container import monitor, names, options as opts, rootfs, spec as oci_spec
from runtime.container.oci import OCIRuntime, default_name
from runtime.container.rootpath import Root
from runtime.container.state import (
    CREATED, DEAD, EXITED, PAUSED, REMOVING, RESTARTING, RUNNING, Container, all_containers,
    boot_id, find, index_name, name_owner, new_state, process_alive, process_start_time,
    rfc3339_ns, unindex_name)
from runtime.container import users
from runtime.errors import Conflict, InvalidArgument, MoorError, NotFound
from runtime.image.store import remove_tree
from runtime.locking import locked

DEFAULT_STOP_TIMEOUT = 10
RESTART_DELAY_START, RESTART_DELAY_MAX = 0.1, 60.0


class StartFailed(MoorError):
    """The program could not be started (126/127 when it cannot be run or found)."""


# -- finding containers: see state.all_containers and state.find -----------------------

@contextlib.contextmanager
def holding(container: Container):
    """The container's lock, with its files re-read once it is held."""
    with locked(container.lock_path()):
        fresh = Container.load(container.dir)
        if fresh is None:
            raise NotFound(f"No such container: {container.name}")
        container.config, container.state = fresh.config, fresh.state
        yield container


# -- create --------------------------------------------------------------------------------

def create(engine, options: dict) -> Container:
    image_text = options.get("image")
    if not image_text:
        raise InvalidArgument("an image is required")
    engine.paths.ensure()
    # Shared hold on the image store until the container's record exists: an `rmi` cannot
    # delete the image's layers between this lookup and the record that pins them.
    with locked(engine.paths.lock("images"), shared=True):
        return _create(engine, options, image_text)


def _create(engine, options: dict, image_text: str) -> Container:
    image_id = engine.store.resolve(image_text)
    image_config = engine.store.config(image_id)
    layers = engine.store.layers(image_id)
    config, host_config = opts.build(options, image_config)
    runtime_name = host_config["Runtime"] or default_name()
    OCIRuntime(runtime_name, engine.paths.oci_state(runtime_name))  # validates it exists
    host_config["Runtime"] = runtime_name
    network = _network_module()
    if host_config["NetworkMode"] is None:
        host_config["NetworkMode"] = network.DEFAULT_MODE if network else "none"
    if network and hasattr(network, "parse_ports"):
        host_config["PortBindings"] = network.parse_ports(host_config["PortSpecs"])
    elif host_config["PortSpecs"]:
        raise InvalidArgument("publishing ports needs the bridge network, which this "
                              "engine build does not have")

    container_id = options.get("id") or os.urandom(32).hex()
    if len(container_id) != 64 or any(c not in "0123456789abcdef" for c in container_id):
        raise InvalidArgument(f"invalid container ID {container_id!r}: 64 hex digits expected")
    name = names.validate(options["name"]) if options.get("name") else None

    engine.paths.ensure()
    with locked(engine.paths.lock("containers")):
        if os.path.exists(engine.paths.container(container_id)):
            raise Conflict(f"a container with ID {container_id} already exists")
        if name is None:
            name = names.generate(lambda candidate: name_owner(engine, candidate) is not None)
        elif (other := name_owner(engine, name)) is not None:
            raise Conflict(f'Conflict. The container name "/{name}" is already in use by '
                           f'container "{other.id}". You have to remove (or rename) that '
                           'container to be able to reuse that name.')
        staging = os.path.join(engine.paths.tmp, f"create-{container_id}")
        try:
            os.makedirs(staging, mode=0o700)
            rootfs.prepare_dirs(staging)
            final_dir = engine.paths.container(container_id)
            container = Container(final_dir, {
                "Id": container_id,
                "Name": name,
                "Created": rfc3339_ns(),
                "Image": image_id,
                "ImageRef": image_text,
                "Layers": layers,
                "Config": {**config, "Image": image_text},
                "HostConfig": host_config,
                "LogPath": os.path.join(final_dir, "ctr.log"),
                "Driver": "overlay",
            }, new_state())
            atomic.write_json(os.path.join(staging, "container.json"), container.config)
            atomic.write_json(os.path.join(staging, "state.json"), container.state)
            os.rename(staging, final_dir)
            index_name(engine, name, container_id)
        except BaseException:
            if os.path.lexists(staging):
                remove_tree(staging)
            raise
    return container


def _network_module():
    try:
        from runtime import network
    except ImportError:
        return None
    return network if hasattr(network, "attach") else None


# -- start ---------------------------------------------------------------------------------

def start(engine, container: Container, before_start=None, owner_pid: int | None = None) -> None:
    """Start a created or exited container. `before_start(container)` runs once the
    container exists but before its program runs (to attach and catch the first output)."""
    with holding(container):
        if container.refresh():
            _cleanup(engine, container)
            container.save_state()
        if container.status in (RUNNING, PAUSED):
            return
        if container.status == REMOVING:
            raise Conflict(f"container {container.name} is being removed")
        if not container.state.get("CleanedUp", True):
            _cleanup(engine, container)
        _start_locked(engine, container, before_start, owner_pid)


def _start_locked(engine, container: Container, before_start=None,
                  owner_pid: int | None = None) -> None:
    host = container.host_config
    runtime = OCIRuntime(host["Runtime"], engine.paths.oci_state(host["Runtime"]))
    links = [engine.store.layer_link(chain) for chain in container.config["Layers"]]
    with contextlib.ExitStack() as undo:
        merged = rootfs.mount_overlay(engine.paths.root, container.dir, links)
        undo.callback(rootfs.unmount, merged)
        with Root(merged) as root:
            process = _process(container, root)
        network = _network_module()
        attachment = _attach_network(engine, container, network)
        undo.callback(_detach_network, engine, container, network)
        _write_hostname(container, attachment)
        bundle = oci_spec.build(container, merged, process["user"], process["env"],
                                process["argv"], process["cwd"], attachment["netns"],
                                attachment["share_host"], memory_swap_supported(),
                                engine.paths.cgroup_parent,
                                seccomp_cache=os.path.join(engine.paths.run, "seccomp")
                                if runtime.name == "crun" else None)
        atomic.write_json(container.path("config.json"), bundle)
        # Before the launch: a monitor that times out or dies may leave the runtime's
        # container (cgroups, a waiting init) behind; killing and deleting are idempotent.
        undo.callback(_kill_monitor, runtime, container)
        try:
            monitor_pid, pid = monitor.launch(
                root=engine.paths.root, runtime=runtime, container=container,
                sockets_dir=engine.paths.sockets,
                stdin_open=bool(container.config["Config"].get("OpenStdin")),
                stdin_once=bool(container.config["Config"].get("StdinOnce")),
                monitors_cgroup=f"{engine.paths.cgroup_parent}/monitors")
        except MoorError as error:
            raise _start_error(error) from None
        container.transition(RUNNING)
        container.state.update({
            "Pid": pid, "PidStartTime": process_start_time(pid),
            "MonitorPid": monitor_pid, "MonitorStartTime": process_start_time(monitor_pid),
            "StartedAt": rfc3339_ns(), "ExitCode": 0, "OOMKilled": False, "Error": "",
            "BootId": boot_id(), "CleanedUp": False, "ManualStop": False, "Paused": False,
            "NetworkSettings": attachment["settings"],
            "Owner": ({"Pid": owner_pid, "StartTime": process_start_time(owner_pid)}
                      if owner_pid else None),
        })
        if before_start is not None:
            before_start(container)
        runtime.start(container.id)
        container.save_state()
        undo.pop_all()


def _start_error(error: MoorError) -> MoorError:
    text = error.message
    lowered = text.lower()
    if "executable file not found" in lowered or "no such file or directory" in lowered:
        return StartFailed(text, 127)
    if "permission denied" in lowered:
        return StartFailed(text, 126)
    return StartFailed(text, 125)


def _kill_monitor(runtime, container: Container) -> None:
    runtime.kill(container.id, "KILL")
    runtime.delete(container.id)
    pid = monitor.read_int(container.path("conmon.pid"))
    monitor.kill_quietly(pid)


def _process(container: Container, root: Root) -> dict:
    """The program to run, as the OCI process wants it: argv, env, cwd and user, resolved
    inside the container's own root."""
    config = container.config["Config"]
    user = users.resolve(root, config.get("User"))
    env = process_environment(container, user, bool(config.get("Tty")))
    argv = list(config.get("Entrypoint") or []) + list(config.get("Cmd") or [])
    if not argv:
        raise StartFailed("no command specified", 125)
    path_value = next((item[5:] for item in env if item.startswith("PATH=")), "")
    argv[0] = find_program(root, argv[0], path_value)
    cwd = config.get("WorkingDir") or "/"
    if cwd != "/":
        try:
            root.makedirs(cwd)
        except OSError as error:
            raise StartFailed(f"cannot use working directory {cwd}: {error.strerror}",
                              125) from None
    return {"argv": argv, "env": env, "cwd": cwd, "user": user}


def process_environment(container: Container, user, tty: bool, extra=()) -> list[str]:
    """Docker's environment for a container's processes: PATH and HOSTNAME, TERM with a
    terminal, then the container's own variables, then `extra` (exec -e), and HOME from the
    user's entry in the container's passwd unless set."""
    config = container.config["Config"]
    hostname = config.get("Hostname") or container.id[:12]
    base = [f"PATH={oci_spec.DEFAULT_PATH}", f"HOSTNAME={hostname}"]
    if tty:
        base.append("TERM=xterm")
    env = opts.merge_env(base, config.get("Env") or [], list(extra))
    if not any(item.startswith("HOME=") and len(item) > 5 for item in env):
        env = opts.merge_env(env, [f"HOME={user.home}"])
    return env


def find_program(root: Root, program: str, path_value: str) -> str:
    if "/" in program:
        if not root.exists(program):
            raise StartFailed(f'exec: "{program}": stat {program}: no such file or directory',
                              127)
        if not root.is_executable_file(program):
            raise StartFailed(f'exec: "{program}": permission denied', 126)
        return program
    for directory in path_value.split(":"):
        candidate = os.path.join(directory or ".", program)
        if root.is_executable_file(candidate):
            return program
    raise StartFailed(f'exec: "{program}": executable file not found in $PATH', 127)


def _write_hostname(container: Container, attachment: dict) -> None:
    config = container.config["Config"]
    hostname = config.get("Hostname") or (
        os.uname().nodename if attachment["share_host"] else container.id[:12])
    with open(container.path("hostname"), "w") as f:
        f.write(hostname + "\n")


def _attach_network(engine, container: Container, network) -> dict:
    host = container.host_config
    mode = host.get("NetworkMode") or "none"
    peer = None
    if mode.startswith("container:"):
        other = find(engine, mode.split(":", 1)[1])
        other.refresh()
        if other.status != RUNNING:
            raise Conflict(f"cannot join the network of container {other.name}: it is not "
                           "running")
        peer = f"/proc/{other.state['Pid']}/ns/net"
    if network is None:
        return _basic_network_files(container, mode)
    request = network.NetworkRequest(
        container_id=container.id, name=container.name,
        hostname=container.config["Config"].get("Hostname") or container.id[:12],
        mode=mode, ports=host.get("PortSpecs") or [],
        publish_all=bool(host.get("PublishAllPorts")),
        exposed=sorted((container.config["Config"].get("ExposedPorts") or {}).keys()),
        container_dir=container.dir, peer_netns=peer)
    attachment = network.attach(engine.paths, request)
    return {"netns": attachment.netns, "share_host": attachment.share_host,
            "settings": attachment.settings}


def _basic_network_files(container: Container, mode: str) -> dict:
    hostname = container.config["Config"].get("Hostname") or container.id[:12]
    if mode == "host":
        shutil.copyfile("/etc/hosts", container.path("hosts"))
        shutil.copyfile("/etc/resolv.conf", container.path("resolv.conf"))
        return {"netns": None, "share_host": True, "settings": {}}
    if mode != "none":
        raise InvalidArgument(f"network mode {mode!r} is not available")
    with open(container.path("hosts"), "w") as f:
        f.write("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                f"127.0.0.1\t{hostname}\n")
    with open(container.path("resolv.conf"), "w") as f:
        f.write("")
    return {"netns": None, "share_host": False, "settings": {}}


def _detach_network(engine, container: Container, network) -> None:
    if network is not None:
        network.detach(engine.paths, container.id)


_SWAP_FILE = "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"


def memory_swap_supported() -> bool:
    return os.path.exists(_SWAP_FILE)


# -- after the program ends ----------------------------------------------------------------

def _cleanup(engine, container: Container) -> None:
    """Release what a started container holds once its program has ended. Idempotent."""
    host = container.host_config
    runtime = OCIRuntime(host["Runtime"], engine.paths.oci_state(host["Runtime"]))
    runtime.delete(container.id)
    rootfs.unmount(container.path("merged"))
    _detach_network(engine, container, _network_module())
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(engine.paths.sockets, container.id))
    container.state["CleanedUp"] = True


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
        if container.status not in (EXITED, DEAD):
            return
        if not container.state.get("CleanedUp", True):
            _cleanup(engine, container)
        delay = _restart_delay(container)
        if delay is None:
            container.save_state()
            owner = container.state.get("Owner") or {}
            owner_alive = process_alive(owner.get("Pid"), owner.get("StartTime"))
            if container.host_config.get("AutoRemove") and not owner_alive:
                doomed = _disappear(engine, container)
            else:
                return
        else:
            container.transition(RESTARTING)
            container.state["RestartDelay"] = delay
            container.save_state()
    if delay is None:  # removed (--rm)
        _forget_name(engine, container)
        remove_tree(doomed)
        return
    time.sleep(delay)
    with holding(container):
        if container.status != RESTARTING or container.state.get("ManualStop"):
            return
        container.state["RestartCount"] = container.state.get("RestartCount", 0) + 1
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


# -- stop, kill, wait ----------------------------------------------------------------------

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
            runtime.resume(container.id)
        if timeout < 0 or not wait_for_exit(container, timeout):
            runtime.kill(container.id, "KILL")
            if container.status == PAUSED:
                runtime.resume(container.id)
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


def oci_runtime(engine, container: Container) -> OCIRuntime:
    name = container.host_config["Runtime"]
    return OCIRuntime(name, engine.paths.oci_state(name))


# -- remove, rename ------------------------------------------------------------------------

def remove(engine, container: Container, force: bool = False,
           background: bool = False) -> None:
    """Remove a container. With `background`, it is gone (from `ps`, by name and ID) when
    this returns, and a detached process releases its runtime state, network and files
    right after — for a command line that should not wait for the kernel's veth teardown;
    `system gc` finishes the job should that process die."""
    with holding(container):
        container.refresh()
        if container.status in (RUNNING, PAUSED, RESTARTING):
            if not force:
                raise Conflict(
                    f"You cannot remove a running container {container.id}. Stop the "
                    "container before attempting removal or force remove")
            container.state["ManualStop"] = True
            container.save_state()
            if container.status != RESTARTING:
                runtime = oci_runtime(engine, container)
                runtime.kill(container.id, "KILL")
                if container.status == PAUSED:
                    runtime.resume(container.id)
                wait_for_exit(container, 30)
            container.refresh()
        if not background and not container.state.get("CleanedUp", True):
            _cleanup(engine, container)
        doomed = _disappear(engine, container)
    _forget_name(engine, container)
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
    and return at once. For single-threaded callers such as the command line."""
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


__all__ = ["create", "start", "stop", "kill", "restart", "pause", "unpause", "remove",
           "rename", "find", "all_containers", "container_exited", "wait_for_exit",
           "StartFailed", "CREATED", "DEAD"]
