"""`moor` verbs about the engine itself: info, version, system gc, system boot, the exit
command conmon runs when a container's program ends, and the root's log keeper."""

import json
import os
import platform

from runtime.cli.output import engine_for, write

VERSION = "0.1.0"


def register(subparsers):
    info = subparsers.add_parser("info", help="engine-wide information")
    info.add_argument("--format", default=None, help="'json'")
    info.set_defaults(func=cmd_info)

    version = subparsers.add_parser("version", help="show the version")
    version.set_defaults(func=cmd_version)

    system = subparsers.add_parser("system", help="manage the engine (gc, prune, boot, reset)")
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
    prune = verbs.add_parser("prune", help="remove stopped containers and unused images")
    prune.add_argument("-a", "--all", action="store_true",
                       help="every unused image, not only dangling ones")
    prune.add_argument("-f", "--force", action="store_true", help="do not ask")
    prune.set_defaults(func=cmd_system_prune)
    reset = verbs.add_parser("reset", help="remove all containers, images, networks and state "
                                           "of this engine root from the host")
    reset.add_argument("-f", "--force", action="store_true", help="do not ask for confirmation")
    reset.set_defaults(func=cmd_reset)
    # conmon's exit command, not for people: kept out of the help listing.
    exited = verbs.add_parser("container-exited")
    exited.add_argument("container_id")
    exited.set_defaults(func=cmd_container_exited)
    # The root's log keeper (runtime/container/logkeeper.py), started by the engine itself.
    keeper = verbs.add_parser("log-keeper")
    keeper.add_argument("--ready-fd", type=int, default=None)
    keeper.set_defaults(func=cmd_log_keeper)
    listed = getattr(verbs, "_choices_actions", None)
    if isinstance(listed, list):        # a real subparsers action (not a one-verb stand-in)
        verbs._choices_actions = [a for a in listed
                                  if a.dest not in ("container-exited", "log-keeper")]


def cmd_container_exited(args) -> int:
    engine_for(args).container_exited(args.container_id)
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
    if not confirm("WARNING! This will remove all stopped containers and "
                   f"{'all unused' if args.all else 'all dangling'} images. Are you sure you "
                   "want to continue?", args.force):
        return 0
    engine = engine_for(args)
    containers = engine.prune_containers()
    events = engine.prune_images(all=args.all)
    if containers:
        write("Deleted Containers:\n" + "".join(f"{i}\n" for i in containers) + "\n")
    if events:
        write("Deleted Images:\n" + "".join(
            f"{key.lower()}: {value}\n" for event in events for key, value in event.items()))
    if not containers and not events:
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


def cmd_version(args) -> int:
    from runtime.container.oci import find_binary
    write(f"moor version {VERSION}\n")
    for name in ("crun", "runc", "conmon"):
        path = find_binary(name)
        if path:
            import subprocess
            first = subprocess.run([path, "--version"], capture_output=True,
                                   text=True).stdout.splitlines()
            write(f"{name}: {first[0] if first else 'unknown'}\n")
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
    if args.format == "json":
        write(json.dumps(data) + "\n")
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
