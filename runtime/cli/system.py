"""`moor` verbs about the engine itself: info, version, system df, prune, gc, boot, reset and
service, and the internal ones the engine runs itself: the exit commands conmon runs when a
container's program or a terminal session ends, and the root's log keeper."""

import os
import platform

from runtime.cli.output import engine_for, write

VERSION = "0.1.0"


def args_info(parser):
    parser.add_argument("-f", "--format", default=None,
                        help="Go template (https://pkg.go.dev/text/template) as in Docker: "
                             "'{{.ServerVersion}}', '{{json .Runtimes}}', or 'json'")


def args_version(parser):
    parser.add_argument("-f", "--format", default=None,
                        help="Go template as in Docker: '{{.Server.Version}}', "
                             "'{{json .Client}}', or 'json'")


def args_df(parser):
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="one line per image, container, volume and build cache entry")
    parser.add_argument("--format", default=None,
                        help="Go template as in Docker: 'table {{.Type}}\\t{{.Size}}', "
                             "'json'; fields: .Type .TotalCount .Active .Size .Reclaimable")


def cmd_df(args) -> int:
    """Docker's `system df`: the summary table of Engine.system_df(), or with -v a section
    per kind (runtime.cli.disk_usage)."""
    from runtime.cli import disk_usage
    usage = engine_for(args).system_df()
    if args.verbose and not args.format:
        write(disk_usage.verbose_text(usage))
        return 0
    from runtime.cli.output import print_rows
    from runtime.cli.rows import DiskUsageRow
    print_rows(args.format, [DiskUsageRow(row) for row in disk_usage.summary_rows(usage)],
               DiskUsageRow)
    return 0


def args_gc(parser):
    parser.add_argument("-n", "--dry-run", action="store_true", help="only list the leftovers")


def args_boot(parser):
    pass


def args_prune(parser):
    parser.add_argument("-a", "--all", action="store_true",
                        help="every unused image, not only dangling ones, and all the build "
                             "cache")
    parser.add_argument("--volumes", action="store_true",
                        help="also remove anonymous volumes no container uses")
    parser.add_argument("-f", "--force", action="store_true", help="do not ask")


def args_reset(parser):
    parser.add_argument("-f", "--force", action="store_true", help="do not ask for confirmation")


def args_service(parser):
    parser.description = (
        "Serve Docker's Engine API (version 1.41) for this engine root on a Unix socket, "
        "until SIGTERM: DOCKER_HOST=unix://SOCKET docker ps. The socket is root-equivalent "
        "(it can run privileged containers) and bypasses the console's teams and audit: it "
        "is mode 0660, owned by root and --group. It never listens on TCP. Containers do not "
        "depend on the service.")
    parser.add_argument("--socket", default=None, metavar="PATH",
                        help="the socket's path (default /run/moorage/docker.sock)")
    parser.add_argument("--group", default=None,
                        help="the group that may use the socket (default: root only)")


def cmd_service(args) -> int:
    from runtime.service import server
    server.run(args.root, args.socket or server.DEFAULT_SOCKET, args.group)
    return 0


def args_container_exited(parser):
    parser.add_argument("container_id")


def cmd_container_exited(args) -> int:
    engine_for(args).container_exited(args.container_id)
    return 0


def args_exec_exited(parser):
    parser.add_argument("container_id")
    parser.add_argument("session_id")


def cmd_exec_exited(args) -> int:
    """A terminal session's end, which conmon reports the way it reports a container's."""
    from runtime.container import sessions
    sessions.exec_exited(engine_for(args), args.container_id, args.session_id)
    return 0


def args_log_keeper(parser):
    parser.add_argument("--ready-fd", type=int, default=None)


def cmd_log_keeper(args) -> int:
    """The root's log keeper (runtime/container/logkeeper.py), started by the engine itself."""
    from runtime.container import logkeeper
    logkeeper.run(engine_for(args).paths, args.ready_fd)
    return 0


def cmd_gc(args) -> int:
    from runtime import housekeeping
    engine = engine_for(args)
    found = housekeeping.gc(engine, dry_run=args.dry_run)
    write("".join(line + "\n" for line in found) or "nothing to clean up\n")
    return 0


def cmd_prune(args) -> int:
    """Docker's `system prune`: stopped containers, networks no container uses, with
    --volumes anonymous volumes no container uses, dangling (with -a: unused) images, and
    the build cache (with -a: all of it)."""
    from runtime.cli.network import remove_unused_networks
    from runtime.cli.output import confirm
    images = "all images without at least one container associated to them" if args.all \
        else "all dangling images"
    volume_line = "  - all anonymous volumes not used by at least one container\n" \
        if args.volumes else ""
    if not confirm("WARNING! This will remove:\n  - all stopped containers\n  - all networks "
                   f"not used by at least one container\n{volume_line}  - {images}\n  - "
                   f"{'all' if args.all else 'unused'} build cache\n\nAre you sure you want "
                   "to continue?", args.force):
        return 0
    engine = engine_for(args)
    containers = engine.prune_containers()
    networks = remove_unused_networks(engine.paths, {})
    volumes = engine.volume_prune()["VolumesDeleted"] if args.volumes else []
    events = engine.prune_images(all=args.all)
    cache, _ = engine.prune_build_cache(all=args.all)
    if containers:
        write("Deleted Containers:\n" + "".join(f"{i}\n" for i in containers) + "\n")
    if networks:
        write("Deleted Networks:\n" + "".join(f"{name}\n" for name in networks) + "\n")
    if volumes:
        write("Deleted Volumes:\n" + "".join(f"{name}\n" for name in volumes) + "\n")
    if events:
        write("Deleted Images:\n" + "".join(
            f"{key.lower()}: {value}\n" for event in events for key, value in event.items())
            + "\n")
    if cache:
        write("Deleted build cache objects:\n" + "".join(f"{i[7:]}\n" for i in cache) + "\n")
    if not (containers or networks or volumes or events or cache):
        write("Total reclaimed space: 0B\n")
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
    from runtime.container.oci import (
        KNOWN,
        default_name,
        find_binary,
        hybrid_cgroup2_owns_controllers,
    )
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
