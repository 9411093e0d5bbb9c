"""`moor` verbs about the engine itself: info, version, system gc, system boot, system df,
the exit command conmon runs when a container's program ends, and the root's log keeper."""

import os
import platform

from runtime.cli.output import engine_for, write

VERSION = "0.1.0"


def register(subparsers):
    info = subparsers.add_parser("info", help="engine-wide information")
    info.add_argument("-f", "--format", default=None,
                      help="Go template (https://pkg.go.dev/text/template) as in Docker: "
                           "'{{.ServerVersion}}', '{{json .Runtimes}}', or 'json'")
    info.set_defaults(func=cmd_info)

    version = subparsers.add_parser("version", help="show the version")
    version.add_argument("-f", "--format", default=None,
                         help="Go template as in Docker: '{{.Server.Version}}', "
                              "'{{json .Client}}', or 'json'")
    version.set_defaults(func=cmd_version)

    system = subparsers.add_parser("system",
                                   help="manage the engine (df, gc, prune, boot, reset)")
    from runtime.cli import Parser
    verbs = system.add_subparsers(title="system commands", metavar="COMMAND",
                                  parser_class=Parser)
    gc = verbs.add_parser("gc", help="find and remove what crashed containers left behind "
                                     "(mounts, cgroups, runtime state, network devices)")
    gc.add_argument("-n", "--dry-run", action="store_true", help="only list the leftovers")
    gc.set_defaults(func=cmd_gc)
    boot = verbs.add_parser("boot", help="after a reboot or an engine restart: record what "
                                         "ended, clean up, and start containers whose "
                                         "restart policy asks for it")
    boot.set_defaults(func=cmd_boot)
    df = verbs.add_parser("df", help="show disk usage: images, containers, local volumes, "
                                     "build cache")
    df.add_argument("-v", "--verbose", action="store_true", help="one line per object")
    df.add_argument("--format", default=None, help="'json' or a template like "
                                                   "'{{.Type}} {{.Size}}'")
    df.set_defaults(func=cmd_df)
    prune = verbs.add_parser("prune", help="remove stopped containers and unused images")
    prune.add_argument("-a", "--all", action="store_true",
                       help="every unused image, not only dangling ones")
    prune.add_argument("--volumes", action="store_true",
                       help="also remove unused anonymous volumes")
    prune.add_argument("-f", "--force", action="store_true", help="do not ask")
    prune.set_defaults(func=cmd_system_prune)
    reset = verbs.add_parser("reset", help="remove all containers, images, networks and state "
                                           "of this engine root from the host")
    reset.add_argument("-f", "--force", action="store_true", help="do not ask for confirmation")
    reset.set_defaults(func=cmd_reset)
    service = verbs.add_parser(
        "service", help="serve Docker's Engine API on a Unix socket (the docker CLI, "
                        "docker-py, docker-compose...)",
        description="Serve Docker's Engine API (version 1.41) for this engine root on a Unix "
                    "socket, until SIGTERM: DOCKER_HOST=unix://SOCKET docker ps. The socket is "
                    "root-equivalent (it can run privileged containers) and bypasses the "
                    "console's teams and audit: it is mode 0660, owned by root and --group. "
                    "It never listens on TCP. Containers do not depend on the service.")
    service.add_argument("--socket", default=None, metavar="PATH",
                         help="the socket's path (default /run/moorage/docker.sock)")
    service.add_argument("--group", default=None,
                         help="the group that may use the socket (default: root only)")
    service.set_defaults(func=cmd_service)
    # conmon's exit command, not for people: kept out of the help listing.
    exited = verbs.add_parser("container-exited")
    exited.add_argument("container_id")
    exited.set_defaults(func=cmd_container_exited)
    session_exited = verbs.add_parser("exec-exited")     # a terminal session's, the same way
    session_exited.add_argument("container_id")
    session_exited.add_argument("session_id")
    session_exited.set_defaults(func=cmd_exec_exited)
    from runtime.cli import health
    health.register(verbs)
    # The root's log keeper (runtime/container/logkeeper.py), started by the engine itself.
    keeper = verbs.add_parser("log-keeper")
    keeper.add_argument("--ready-fd", type=int, default=None)
    keeper.set_defaults(func=cmd_log_keeper)
    listed = getattr(verbs, "_choices_actions", None)
    if isinstance(listed, list):        # a real subparsers action (not a one-verb stand-in)
        verbs._choices_actions = [a for a in listed if a.dest not in (
            "container-exited", "exec-exited", "log-keeper")]


def cmd_service(args) -> int:
    from runtime.service import server
    server.run(args.root, args.socket or server.DEFAULT_SOCKET, args.group)
    return 0


def cmd_container_exited(args) -> int:
    engine_for(args).container_exited(args.container_id)
    return 0


def cmd_exec_exited(args) -> int:
    from runtime.container import sessions
    sessions.exec_exited(engine_for(args), args.container_id, args.session_id)
    return 0


def cmd_log_keeper(args) -> int:
    from runtime.container import logkeeper
    logkeeper.run(engine_for(args).paths, args.ready_fd)
    return 0


def cmd_gc(args) -> int:
    from runtime import housekeeping
    engine = engine_for(args)
    found = housekeeping.gc(engine, dry_run=args.dry_run)
    write("".join(line + "\n" for line in found) or "nothing to clean up\n")
    return 0


def cmd_system_prune(args) -> int:
    from runtime.cli.containers import confirm
    what = "all stopped containers, " if args.volumes else "all stopped containers and "
    if args.volumes:
        what += "all anonymous volumes not used by at least one container and "
    if not confirm(f"WARNING! This will remove {what}"
                   f"{'all unused' if args.all else 'all dangling'} images. Are you sure you "
                   "want to continue?", args.force):
        return 0
    engine = engine_for(args)
    containers = engine.prune_containers()
    volumes = engine.volume_prune() if args.volumes else {"VolumesDeleted": []}
    events = engine.prune_images(all=args.all)
    if containers:
        write("Deleted Containers:\n" + "".join(f"{i}\n" for i in containers) + "\n")
    if volumes["VolumesDeleted"]:
        write("Deleted Volumes:\n" + "".join(f"{name}\n" for name in volumes["VolumesDeleted"])
              + "\n")
    if events:
        write("Deleted Images:\n" + "".join(
            f"{key.lower()}: {value}\n" for event in events for key, value in event.items()))
    if not containers and not events and not volumes["VolumesDeleted"]:
        write("Total reclaimed space: 0B\n")
    return 0


def cmd_df(args) -> int:
    from runtime.cli import disk_usage
    engine = engine_for(args)
    usage = engine.system_df()
    if args.verbose and not args.format:
        write(disk_usage.verbose_text(usage))
        return 0
    from runtime.cli.output import print_rows
    from runtime.cli.rows import DiskUsageRow
    print_rows(args.format, [DiskUsageRow(row) for row in disk_usage.summary_rows(usage)],
               DiskUsageRow)
    return 0


def cmd_reset(args) -> int:
    from runtime import housekeeping
    from runtime.errors import InvalidArgument
    engine = engine_for(args)
    if not args.force:
        import sys
        if not sys.stdin.isatty():
            raise InvalidArgument("refusing to reset without --force")
        answer = input(f"Remove everything under {engine.paths.root}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            return 1
    for line in housekeeping.reset(engine):
        write(line + "\n")
    return 0


def cmd_boot(args) -> int:
    from runtime import housekeeping
    engine = engine_for(args)
    for line in housekeeping.boot(engine):
        write(line + "\n")
    return 0


def _runtime_versions() -> list[tuple[str, str]]:
    """(name, first line of `NAME --version`) of the OCI runtimes and the monitor found."""
    import subprocess
    from runtime.container.oci import find_binary
    found = []
    for name in ("crun", "runc", "conmon"):
        path = find_binary(name)
        if path:
            first = subprocess.run([path, "--version"], capture_output=True,
                                   text=True).stdout.splitlines()
            found.append((name, first[0] if first else "unknown"))
    return found


_GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}


def cmd_version(args) -> int:
    components = _runtime_versions()
    if args.format is None:
        write(f"moor version {VERSION}\n")
        write("".join(f"{name}: {line}\n" for name, line in components))
        return 0
    from runtime.cli.output import go_document, render_template
    from runtime.cli.tabwriter import align
    arch = _GO_ARCH.get(platform.machine(), platform.machine())
    data = {
        "Client": {"Version": VERSION, "Os": "linux", "Arch": arch,
                   "PythonVersion": platform.python_version()},
        "Server": {"Version": VERSION, "Os": "linux", "Arch": arch,
                   "KernelVersion": platform.release(),
                   "Components": [{"Name": name, "Version": line.split()[-1]}
                                  for name, line in components]},
    }
    # As Docker's: the output goes through a tabwriter, and what a failing template wrote
    # before its error is still printed.
    text, error = render_template("{{json .}}" if args.format == "json" else args.format,
                                  go_document(data, type_name="system.versionInfo"),
                                  name="version")
    write(align(text + "\n", minwidth=20, padding=1))
    if error:
        raise error
    return 0


def cmd_info(args) -> int:
    from runtime.container import seccomp
    from runtime.container.oci import KNOWN, default_name, find_binary, \
        hybrid_cgroup2_owns_controllers
    engine = engine_for(args)
    containers = engine.containers(all=True)
    states = [c["State"] for c in containers]
    data = {
        "Containers": len(containers),
        "ContainersRunning": states.count("running"),
        "ContainersPaused": states.count("paused"),
        "ContainersStopped": len(states) - states.count("running") - states.count("paused"),
        "Images": len(engine.store.image_ids()),
        "Driver": "overlay",
        "RootDir": engine.paths.root,
        "Runtimes": [name for name in KNOWN if find_binary(name)],
        "DefaultRuntime": default_name(),
        "CgroupVersion": "2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "1",
        "CgroupHybridShadow": hybrid_cgroup2_owns_controllers(),
        "SeccompProfile": seccomp.DISTRIBUTION_PROFILE if seccomp.available() else None,
        "KernelVersion": platform.release(),
        "OperatingSystem": _os_name(),
        "Architecture": platform.machine(),
        "NCPU": os.cpu_count(),
        "MemTotal": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
        "Name": platform.node(),
        "ServerVersion": VERSION,
    }
    if args.format is not None:
        from runtime.cli.output import go_document, render_template
        text, error = render_template("{{json .}}" if args.format == "json" else args.format,
                                      go_document(data, type_name="system.dockerInfo"))
        write(text + "\n")
        if error:
            raise error
        return 0
    for key, value in data.items():
        write(f" {key}: {value}\n")
    return 0


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()
