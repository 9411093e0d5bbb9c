"""Creating and starting containers. Stopping, killing, restarting, pausing and waiting are
in `control.py`; removing and renaming in `removal.py`.

Every change to one container happens under that container's lock; creating (which must check
that a name is free) under the containers lock. Every allocation pushes its undo on an
ExitStack that unwinds on failure, so a failed `create` or `start` leaves no mount, cgroup,
network device, monitor or directory behind.
"""

import contextlib
import os
import shutil

from runtime import atomic, events
from runtime.container import (
    groups,
    health,
    logfiles,
    logkeeper,
    monitor,
    names,
    options as opts,
    rootfs,
    spec as oci_spec,
    users,
)
from runtime.container.oci import OCIRuntime, default_name
from runtime.container.rootpath import Root
from runtime.container.state import (
    PAUSED,
    REMOVING,
    RUNNING,
    Container,
    boot_id,
    find,
    index_name,
    name_owner,
    new_state,
    process_start_time,
    rfc3339_ns,
)
from runtime.errors import Conflict, InvalidArgument, MoorError, NotFound
from runtime.image.store import remove_tree
from runtime.locking import locked
from runtime.volume import mountpoints

DEFAULT_STOP_TIMEOUT = 10
# Options of `create` that runtime.container.health reads (Docker's Config.Healthcheck shape,
# and Podman's on-failure action).
HEALTH_OPTIONS = ("healthcheck", "health_on_failure")
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

def _image_shown(engine, image_id: str, image_text: str, image_name) -> str:
    """What `ps` and `inspect` show as the container's image: the reference it was created
    from, or `image_name` when a caller pins the image by ID (the console does, so the image
    it checked is the one that runs) and that name still names the same image."""
    if not image_name:
        return image_text
    try:
        return image_name if engine.store.resolve(str(image_name)) == image_id else image_text
    except MoorError:
        return image_text


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
    shown = _image_shown(engine, image_id, image_text, options.get("image_name"))
    image_config = engine.store.config(image_id)
    layers = engine.store.layers(image_id)
    health_options = {key: options[key] for key in HEALTH_OPTIONS if key in options}
    config, host_config = opts.build({key: value for key, value in options.items()
                                      if key not in HEALTH_OPTIONS}, image_config)
    config.update(health.container_config(health_options, image_config))
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
        groups.require(engine, host_config)
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
            # Volumes are found or made (and filled from the image) under the volumes lock,
            # held until the record is in place: see runtime.volume.mountpoints.
            with mountpoints.prepared(engine, staging, layers, config,
                                      host_config) as mount_points:
                container = Container(final_dir, {
                    "Id": container_id,
                    "Name": name,
                    "Created": rfc3339_ns(),
                    "Image": image_id,
                    "ImageRef": shown,
                    "Layers": layers,
                    "Config": {**config, "Image": shown},
                    "HostConfig": host_config,
                    "MountPoints": mount_points,
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
    events.container(engine, container, "create")
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
            events.container_ended(engine, container)
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
    with contextlib.ExitStack() as undo, groups.placement(engine, container) as placement:
        merged = rootfs.mount_overlay(engine.paths.root, container.dir, links)
        undo.callback(rootfs.unmount, merged)
        with Root(merged) as root:
            process = _process(container, root)
        network = _network_module()
        attachment = _attach_network(engine, container, network)
        undo.callback(_detach_network, engine, container, network)
        _write_hostname(container, attachment)
        mountpoints.make_bind_sources(container)
        bundle = oci_spec.build(container, merged, process["user"], process["env"],
                                process["argv"], process["cwd"], attachment["netns"],
                                attachment["share_host"], memory_swap_supported(),
                                placement.parent, group=placement.limits,
                                seccomp_cache=os.path.join(engine.paths.run, "seccomp")
                                if runtime.name == "crun" else None)
        atomic.write_json(container.path("config.json"), bundle)
        # Each start writes a new log file: conmon caps it at max-size (logfiles).
        log_size_max, log_max_files = opts.log_limits(host)
        logfiles.begin(container.path("ctr.log"), log_max_files)
        # The files conmon rotates from the start on are kept by the root's log keeper.
        logkeeper.ensure_running(engine)
        # Before the launch: a monitor that times out or dies may leave the runtime's
        # container (cgroups, a waiting init) behind; killing and deleting are idempotent.
        undo.callback(_kill_monitor, runtime, container)
        with contextlib.suppress(FileNotFoundError):    # a new run, whose die is to come
            os.unlink(container.path(events.EXIT_JOURNALED))
        try:
            monitor_pid, pid = monitor.launch(
                root=engine.paths.root, runtime=runtime, container=container,
                sockets_dir=engine.paths.sockets,
                stdin_open=bool(container.config["Config"].get("OpenStdin")),
                stdin_once=bool(container.config["Config"].get("StdinOnce")),
                monitors_cgroup=f"{engine.paths.cgroup_parent}/monitors",
                log_size_max=log_size_max)
        except MoorError as error:
            raise _start_error(error) from None
        container.transition(RUNNING)
        container.state.update({
            "Pid": pid, "PidStartTime": process_start_time(pid),
            "MonitorPid": monitor_pid, "MonitorStartTime": process_start_time(monitor_pid),
            "StartedAt": rfc3339_ns(), "ExitCode": 0, "OOMKilled": False, "Error": "",
            "BootId": boot_id(), "CleanedUp": False, "ManualStop": False, "Paused": False,
            "PausedBy": None,
            "NetworkSettings": attachment["settings"],
            "Owner": ({"Pid": owner_pid, "StartTime": process_start_time(owner_pid)}
                      if owner_pid else None),
        })
        if before_start is not None:
            before_start(container)
        runtime.start(container.id)
        container.save_state()
        undo.pop_all()
    mountpoints.journal(engine, container, "mount")
    events.container(engine, container, "start")


def _start_error(error: MoorError) -> MoorError:
    text = error.message
    lowered = text.lower()
    # 127 is for the program only; a missing mount source is the run's failure (125).
    if "executable file" in lowered or (lowered.startswith("exec:")
                                        and "no such file or directory" in lowered):
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
    try:
        user = users.resolve(root, config.get("User"))
    except users.UnknownUser as error:
        raise StartFailed(error.message, error.status) from None
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
        publish_loopback=host.get("PublishLoopback", True),
        exposed=sorted((container.config["Config"].get("ExposedPorts") or {}).keys()),
        container_dir=container.dir, peer_netns=peer,
        aliases=host.get("NetworkAliases") or [], address=host.get("IPv4Address") or None,
        extra_hosts=host.get("ExtraHosts") or [], dns=host.get("Dns") or [],
        dns_search=host.get("DnsSearch") or [], dns_options=host.get("DnsOptions") or [])
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
    if not container.state.get("CleanedUp", True):
        mountpoints.journal(engine, container, "unmount")
    rootfs.unmount(container.path("merged"))
    _detach_network(engine, container, _network_module())
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(engine.paths.sockets, container.id))
    container.state["CleanedUp"] = True


def oci_runtime(engine, container: Container) -> OCIRuntime:
    name = container.host_config["Runtime"]
    return OCIRuntime(name, engine.paths.oci_state(name))
