"""`moor` verbs for containers: run, create, start, stop, kill, restart, rm, ps, inspect, logs,
wait, pause, unpause, rename, top, stats."""

import json
import os
import sys

from runtime.cli.output import engine_for, print_table, write

TEMPLATE_HELP = ("Go template (https://pkg.go.dev/text/template) as in Docker: "
                 "'{{.ID}}\\t{{.Names}}', 'table {{.ID}}\\t{{.Status}}' (with column "
                 "titles), 'json', 'raw'")


def register(subparsers):
    run = subparsers.add_parser("run", help="create and start a container", add_help=False,
                                description="Create a container from IMAGE and start it.")
    _add_create_flags(run)
    run.add_argument("-d", "--detach", action="store_true",
                     help="run in the background and print the container ID")
    run.add_argument("--sig-proxy", default="true", choices=("true", "false"),
                     help="forward received signals to the container (default true)")
    run.set_defaults(func=cmd_run)

    create = subparsers.add_parser("create", help="create a container without starting it",
                                   add_help=False)
    _add_create_flags(create)
    create.set_defaults(func=cmd_create)

    start = subparsers.add_parser("start", help="start one or more stopped containers")
    start.add_argument("-a", "--attach", action="store_true",
                       help="attach to the container's output")
    start.add_argument("-i", "--interactive", action="store_true", help="attach stdin")
    start.add_argument("containers", nargs="+", metavar="CONTAINER")
    start.set_defaults(func=cmd_start)

    stop = subparsers.add_parser("stop", help="stop running containers (SIGTERM, then SIGKILL)")
    stop.add_argument("-t", "--time", type=int, default=None,
                      help="seconds to wait before killing (default 10)")
    stop.add_argument("-s", "--signal", default=None, help="signal to send first")
    stop.add_argument("containers", nargs="+", metavar="CONTAINER")
    stop.set_defaults(func=cmd_stop)

    restart = subparsers.add_parser("restart", help="restart containers")
    restart.add_argument("-t", "--time", type=int, default=None,
                         help="seconds to wait before killing (default 10)")
    restart.add_argument("containers", nargs="+", metavar="CONTAINER")
    restart.set_defaults(func=cmd_restart)

    kill = subparsers.add_parser("kill", help="send a signal to running containers")
    kill.add_argument("-s", "--signal", default="KILL", help="signal to send (default KILL)")
    kill.add_argument("containers", nargs="+", metavar="CONTAINER")
    kill.set_defaults(func=cmd_kill)

    rm = subparsers.add_parser("rm", help="remove containers")
    rm.add_argument("-f", "--force", action="store_true", help="kill and remove running ones")
    rm.add_argument("-v", "--volumes", action="store_true",
                    help="also remove the container's anonymous volumes (never named ones)")
    rm.add_argument("containers", nargs="+", metavar="CONTAINER")
    rm.set_defaults(func=cmd_rm)

    ps = subparsers.add_parser("ps", help="list containers")
    ps.add_argument("-a", "--all", action="store_true", help="show all, not only running")
    ps.add_argument("-q", "--quiet", action="store_true", help="only IDs")
    ps.add_argument("--no-trunc", action="store_true", help="do not truncate output")
    ps.add_argument("-f", "--filter", action="append", default=[],
                    help="filter: status=, name=, id=, label=, ancestor=, exited=, "
                         "health=")
    ps.add_argument("-l", "--latest", action="store_true", help="only the latest created")
    ps.add_argument("-n", "--last", type=int, default=None, help="the n latest created")
    ps.add_argument("-s", "--size", action="store_true", help="display total file sizes")
    ps.add_argument("--format", default=None, help=TEMPLATE_HELP + "; fields: .ID .Image "
                    ".Command .CreatedAt .RunningFor .Ports .State .Status .Size .Names "
                    ".Labels .Label .Mounts .Networks .LocalVolumes")
    ps.set_defaults(func=cmd_ps)

    inspect = subparsers.add_parser("inspect", help="low-level information on containers "
                                                    "or images, as JSON")
    inspect.add_argument("-f", "--format", default=None,
                         help="Go template over each object's JSON, as in Docker: "
                              "'{{.State.Status}}', '{{json .Config}}', "
                              "'{{range .Mounts}}{{.Source}} {{end}}', or 'json'")
    inspect.add_argument("--type", choices=("container", "image"), default=None)
    inspect.add_argument("objects", nargs="+", metavar="NAME|ID")
    inspect.set_defaults(func=cmd_inspect)

    logs = subparsers.add_parser("logs", help="fetch a container's logs")
    logs.add_argument("-f", "--follow", action="store_true", help="follow new output")
    logs.add_argument("-n", "--tail", default="all", help="lines from the end (default all)")
    logs.add_argument("--since", default=None,
                      help="since a time (2026-01-02T15:04:05Z, unix time, or 10m)")
    logs.add_argument("--until", default=None, help="before a time (same forms as --since)")
    logs.add_argument("-t", "--timestamps", action="store_true", help="show timestamps")
    logs.add_argument("container", metavar="CONTAINER")
    logs.set_defaults(func=cmd_logs)

    wait = subparsers.add_parser("wait", help="wait for containers to stop, print exit codes")
    wait.add_argument("containers", nargs="+", metavar="CONTAINER")
    wait.set_defaults(func=cmd_wait)

    for verb, text in (("pause", "pause all processes in containers"),
                       ("unpause", "unpause containers")):
        parser = subparsers.add_parser(verb, help=text)
        parser.add_argument("containers", nargs="+", metavar="CONTAINER")
        parser.set_defaults(func=cmd_pause if verb == "pause" else cmd_unpause)

    rename = subparsers.add_parser("rename", help="rename a container")
    rename.add_argument("container", metavar="CONTAINER")
    rename.add_argument("new_name", metavar="NEW_NAME")
    rename.set_defaults(func=cmd_rename)

    top = subparsers.add_parser("top", help="the running processes of a container")
    top.add_argument("container", metavar="CONTAINER")
    top.set_defaults(func=cmd_top)

    stats = subparsers.add_parser("stats", help="resource usage of containers")
    stats.add_argument("--no-stream", action="store_true", help="print once and exit")
    stats.add_argument("-a", "--all", action="store_true", help="all containers")
    stats.add_argument("--no-trunc", action="store_true", help="do not truncate output")
    stats.add_argument("--format", default=None, help=TEMPLATE_HELP + "; fields: .Container "
                       ".Name .ID .CPUPerc .MemUsage .MemPerc .NetIO .BlockIO .PIDs")
    stats.add_argument("containers", nargs="*", metavar="CONTAINER")
    stats.set_defaults(func=cmd_stats)

    container = subparsers.add_parser("container", help="manage containers (prune)")
    from runtime.cli import Parser
    container_verbs = container.add_subparsers(title="container commands", metavar="COMMAND",
                                               parser_class=Parser)
    prune = container_verbs.add_parser("prune", help="remove all stopped containers")
    prune.add_argument("-f", "--force", action="store_true", help="do not ask")
    prune.set_defaults(func=cmd_container_prune)

    from runtime.cli import interactive
    interactive.register(subparsers)


def _add_create_flags(parser):
    add = parser.add_argument
    # -h is --hostname, as in Docker; help is --help only.
    add("--help", action="help", help="show this help message and exit")
    add("--name", help="assign a name to the container")
    add("-e", "--env", action="append", default=[], help="set environment variables")
    add("--env-file", action="append", default=[], help="read environment variables from a file")
    add("-v", "--volume", action="append", default=[],
        metavar="[HOST-DIR|VOLUME:]CONTAINER-DIR[:OPTIONS]",
        help="bind mount a host path, mount a named volume (made on first use), or an "
             "anonymous volume; options ro, rw, nocopy, z, Z, [r]shared, [r]slave, "
             "[r]private")
    add("--mount", action="append", default=[], metavar="type=volume|bind|tmpfs,...",
        help="attach a mount: type=, source=/src=, target=/dst=, readonly, volume-nocopy, "
             "volume-label=K=V, bind-propagation=, tmpfs-size=, tmpfs-mode=")
    add("--tmpfs", action="append", default=[], metavar="PATH[:OPTIONS]",
        help="mount a tmpfs, e.g. /run:size=64m,mode=1777")
    add("-w", "--workdir", help="working directory inside the container")
    add("-u", "--user", help="user: name|uid[:group|gid]")
    add("-h", "--hostname", help="container host name")
    add("-i", "--interactive", action="store_true", help="keep stdin open")
    add("-t", "--tty", action="store_true", help="allocate a pseudo-terminal")
    add("--rm", action="store_true", help="remove the container when it exits")
    add("-m", "--memory", help="memory limit (e.g. 64m)")
    add("--memory-swap", help="memory plus swap limit")
    add("--cpus", help="number of CPUs (e.g. 0.5)")
    add("--pids-limit", help="maximum number of processes")
    add("--group", "--cgroup-parent", dest="group", metavar="GROUP",
        help="run in this group (moor group set): its limits hold for all its containers "
             "together; CPUs and PIDs above the group's are capped to them")
    add("--restart", default="no", help="no | on-failure[:N] | always | unless-stopped")
    add("--entrypoint", help="override the image's entrypoint")
    add("--runtime", help="OCI runtime: crun or runc")
    add("--network", "--net", dest="network", help="none | host | bridge | NETWORK | "
                                                   "container:NAME")
    add("-p", "--publish", action="append", default=[],
        help="publish a port: [HOSTIP:]HOSTPORT:CONTAINERPORT[/PROTO] or CONTAINERPORT")
    add("-P", "--publish-all", action="store_true", help="publish all exposed ports")
    add("--expose", action="append", default=[], help="expose a port")
    add("-l", "--label", action="append", default=[], help="set metadata KEY=VALUE")
    add("--privileged", action="store_true", help="give the container the host's devices "
                                                  "and every capability")
    add("--cap-add", action="append", default=[], help="add a capability")
    add("--cap-drop", action="append", default=[], help="drop a capability")
    add("--read-only", action="store_true", help="mount the root file system read-only")
    add("--stop-signal", help="signal to stop the container (default SIGTERM)")
    add("--stop-timeout", type=int, help="seconds to wait on stop before killing")
    add("--shm-size", help="size of /dev/shm (default 64m)")
    _add_health_flags(parser)
    add("--log-opt", action="append", default=[], metavar="KEY=VALUE",
        help="cap the log: max-size=SIZE (one file, default $MOORAGE_LOG_MAX_SIZE or 100m), "
             "max-file=N (files kept, default $MOORAGE_LOG_MAX_FILE or 3)")
    add("image", metavar="IMAGE")
    add("command", nargs="...", metavar="COMMAND")


def _add_health_flags(parser):
    add = parser.add_argument
    add("--health-cmd", help="command to run to check health (run by the engine service)")
    add("--health-interval", help="time between checks (ms|s|m|h, default 30s)")
    add("--health-timeout", help="longest a check may run (default 30s)")
    add("--health-retries", type=int, help="failures in a row that make it unhealthy "
                                          "(default 3)")
    add("--health-start-period", help="time to start before failures count (default 0s)")
    add("--health-start-interval", help="time between checks in the start period "
                                        "(default 5s)")
    add("--no-healthcheck", action="store_true", help="disable the image's HEALTHCHECK")
    add("--health-on-failure", choices=("none", "kill", "restart", "stop"),
        help="what to do once it is unhealthy (default none)")


def _health_options(args) -> dict:
    from runtime.container.health import options_from_flags
    from runtime.errors import InvalidArgument
    try:
        healthcheck = options_from_flags(
            cmd=args.health_cmd, interval=args.health_interval, timeout=args.health_timeout,
            retries=args.health_retries, start_period=args.health_start_period,
            start_interval=args.health_start_interval, none=args.no_healthcheck)
    except InvalidArgument as error:
        error.status = 125      # a bad flag, as Docker's run and create report it
        raise
    return {"healthcheck": healthcheck, "health_on_failure": args.health_on_failure}


def _options(args) -> dict:
    from runtime.errors import InvalidArgument
    env = []
    for path in args.env_file:
        try:
            with open(path) as f:
                for line in f:
                    line = line.strip()
                    if line and not line.startswith("#"):
                        env.append(line)
        except OSError as error:
            raise InvalidArgument(f"cannot read env file {path}: {error.strerror}") from None
    env.extend(args.env)
    binds, volumes = _volume_flags(args.volume)
    from runtime.volume.specs import parse_mount_flag
    options = {
        "image": args.image, "name": args.name, "env": env, "binds": binds,
        "volumes": volumes, "mounts": [parse_mount_flag(text) for text in args.mount],
        "tmpfs": args.tmpfs,
        "workdir": args.workdir, "user": args.user, "hostname": args.hostname,
        "stdin_open": args.interactive, "tty": args.tty, "auto_remove": args.rm,
        "memory": args.memory, "memory_swap": args.memory_swap, "cpus": args.cpus,
        "pids_limit": args.pids_limit, "restart": args.restart, "runtime": args.runtime,
        "network": args.network, "ports": args.publish, "publish_all": args.publish_all,
        "expose": args.expose, "labels": args.label, "privileged": args.privileged,
        "cap_add": args.cap_add, "cap_drop": args.cap_drop, "read_only": args.read_only,
        "stop_signal": args.stop_signal, "stop_timeout": args.stop_timeout,
        "shm_size": args.shm_size, "group": args.group, **_health_options(args),
        "log_opts": args.log_opt,
    }
    if args.command:
        options["cmd"] = list(args.command)
    if args.entrypoint is not None:
        options["entrypoint"] = [args.entrypoint] if args.entrypoint else []
    return {k: v for k, v in options.items() if v not in (None, [], False, "")}


def _volume_flags(values: list[str]) -> tuple[list[str], list[str]]:
    """`-v` values -> (binds, anonymous volume paths), as Docker's CLI splits them: a value
    without a source is an anonymous volume; a host path `.` or `./dir` is made absolute."""
    binds, volumes = [], []
    for value in values:
        source, sep, rest = value.partition(":")
        if not sep:
            volumes.append(value)
            continue
        if source == "." or source.startswith("./"):
            value = os.path.abspath(source) + ":" + rest
        binds.append(value)
    return binds, volumes


def cmd_create(args) -> int:
    engine = engine_for(args)
    from runtime.errors import MoorError
    try:
        container_id = engine.create(_options(args))
    except MoorError as error:
        error.status = 125
        raise
    write(container_id + "\n")
    return 0


def cmd_run(args) -> int:
    from runtime.cli import interactive
    from runtime.errors import MoorError
    if args.tty and args.interactive and not args.detach and not os.isatty(0):
        sys.stderr.write("the input device is not a TTY\n")
        return 1
    engine = engine_for(args)
    try:
        options = _options(args)
    except MoorError as error:
        error.status = 125
        raise
    options["stdin_once"] = bool(args.interactive and not args.detach)
    if args.detach:
        try:
            container_id = engine.run(options)
        except MoorError as error:
            if error.status not in (126, 127):
                error.status = 125
            raise
        write(container_id + "\n")
        return 0
    return interactive.run_attached(engine, options, interactive=args.interactive,
                                    sig_proxy=args.sig_proxy == "true")


def cmd_start(args) -> int:
    engine = engine_for(args)
    if args.attach or args.interactive:
        if len(args.containers) > 1:
            from runtime.errors import InvalidArgument
            raise InvalidArgument("you cannot start and attach multiple containers at once")
        from runtime.cli import interactive
        return interactive.start_attached(engine, args.containers[0], args.interactive)
    return _each(args.containers, lambda ref: engine.start(ref), echo=True)


def _each(refs, action, echo=True) -> int:
    """Run `action` on every reference, Docker style: print each success, report each
    failure on its own line, exit 1 if any failed."""
    from runtime.errors import MoorError, os_error_text
    failed = False
    for ref in refs:
        try:
            action(ref)
        except MoorError as error:
            sys.stderr.write(f"Error: {error.message}\n")
            failed = True
            continue
        except OSError as error:      # a full disk: say so, and go on with the others
            sys.stderr.write(f"Error: {ref}: {os_error_text(error)}\n")
            failed = True
            continue
        if echo:
            write(ref + "\n")
    return 1 if failed else 0


def cmd_stop(args) -> int:
    engine = engine_for(args)
    return _each(args.containers, lambda ref: engine.stop(ref, args.time, args.signal))


def cmd_restart(args) -> int:
    engine = engine_for(args)
    return _each(args.containers, lambda ref: engine.restart(ref, args.time))


def cmd_kill(args) -> int:
    engine = engine_for(args)
    return _each(args.containers, lambda ref: engine.kill(ref, args.signal))


def cmd_rm(args) -> int:
    engine = engine_for(args)
    return _each(args.containers,
                 lambda ref: engine.remove(ref, args.force, background=True,
                                           volumes=args.volumes))


def cmd_pause(args) -> int:
    engine = engine_for(args)
    return _each(args.containers, engine.pause)


def cmd_unpause(args) -> int:
    engine = engine_for(args)
    return _each(args.containers, engine.unpause)


def cmd_rename(args) -> int:
    engine_for(args).rename(args.container, args.new_name)
    return 0


def cmd_wait(args) -> int:
    engine = engine_for(args)
    return _each(args.containers, lambda ref: write(f"{engine.wait(ref)}\n"), echo=False)


def _filters(values):
    from runtime.errors import InvalidArgument
    filters = []
    for value in values:
        key, sep, wanted = value.partition("=")
        if not sep or key not in ("status", "name", "id", "label", "ancestor", "exited",
                                  "health"):
            raise InvalidArgument(f"invalid filter {value!r}")
        filters.append((key, wanted))
    return filters


def _matches(summary, filters) -> bool:
    for key, wanted in filters:
        if key == "status" and summary["State"] != wanted:
            return False
        if key == "name" and not any(wanted in n.lstrip("/") for n in summary["Names"]):
            return False
        if key == "id" and not summary["Id"].startswith(wanted):
            return False
        if key == "exited" and (summary["State"] != "exited" or
                                str(summary["ExitCode"]) != wanted):
            return False
        if key == "health" and (summary.get("Health") or {}).get("Status", "none") != wanted:
            return False
        if key == "ancestor" and wanted not in (summary["Image"], summary["ImageID"],
                                                summary["ImageID"][7:19]):
            return False
        if key == "label":
            name, _, value = wanted.partition("=")
            labels = summary["Labels"]
            if name not in labels or (value and labels[name] != value):
                return False
    return True


def cmd_ps(args) -> int:
    engine = engine_for(args)
    filters = _filters(args.filter)
    show_all = args.all or bool(filters) or args.latest or args.last is not None
    rows = [s for s in engine.containers(all=show_all) if _matches(s, filters)]
    if args.latest:
        rows = rows[:1]
    elif args.last is not None:
        rows = rows[:args.last]
    if args.quiet:
        if args.format and args.format != "table":
            sys.stderr.write("WARNING: Ignoring custom format, because both --format and "
                             "--quiet are set.\n")
        write("".join((s["Id"] if args.no_trunc else s["Id"][:12]) + "\n" for s in rows))
        return 0
    from runtime.cli.output import fields_used, print_rows
    from runtime.cli.rows import ContainerRow
    format_text, sizes = args.format, args.size
    if args.size and (not format_text or format_text in ("table", "raw")):
        format_text = (ContainerRow.RAW + "size: {{.Size}}\n" if format_text == "raw"
                       else ContainerRow.DEFAULT + "\\t{{.Size}}")
    elif format_text and not args.size:
        # Sizes are costly: computed only when the template shows them, as Docker does.
        probe = ContainerRow({"Id": "", "Names": [], "Created": 0, "State": "", "Status": ""})
        sizes = "Size" in fields_used(format_text, probe)
    print_rows(format_text, [ContainerRow(summary, trunc=not args.no_trunc,
                                          details=_details(engine, summary["Id"]),
                                          sizes=_sizes(engine, summary) if sizes else None)
                             for summary in rows], ContainerRow)
    return 0


def _details(engine, container_id: str):
    """The container's inspect document, read when a template first needs it."""
    from runtime.errors import MoorError

    def read() -> dict:
        try:
            return engine.inspect(container_id)
        except MoorError:           # removed meanwhile
            return {}
    return read


def _sizes(engine, summary: dict):
    """(SizeRw, SizeRootFs) of a container, as Docker counts them: the bytes of the files of
    its writable layer (each inode once), and those plus its image's."""
    def measure() -> tuple[int, int]:
        from runtime.errors import MoorError
        seen, size_rw = set(), 0
        try:
            upper = engine.container(summary["Id"]).path("upper")
        except MoorError:
            return 0, 0
        for directory, subdirectories, files in os.walk(upper):
            for name in files + [d for d in subdirectories
                                 if os.path.islink(os.path.join(directory, d))]:
                try:
                    info = os.lstat(os.path.join(directory, name))
                except OSError:
                    continue
                if info.st_size and info.st_ino not in seen:
                    seen.add(info.st_ino)
                    size_rw += info.st_size
        try:
            image_size = engine.store.size(summary["ImageID"])
        except MoorError:
            image_size = 0
        return size_rw, size_rw + image_size
    return measure


def cmd_inspect(args) -> int:
    from runtime.errors import MoorError, NotFound
    engine = engine_for(args)
    documents, failed = [], False
    for ref in args.objects:
        document = None
        if args.type in (None, "container"):
            try:
                document = engine.inspect(ref)
            except NotFound:
                if args.type == "container":
                    sys.stderr.write(f"Error: No such container: {ref}\n")
                    failed = True
                    continue
        if document is None:
            try:
                document = engine.image_inspect(ref)
            except MoorError:
                sys.stderr.write(f"Error: No such object: {ref}\n")
                failed = True
                continue
        documents.append(document)
    if args.format:
        from runtime.cli.output import print_documents
        failed = not print_documents(args.format, documents) or failed
    else:
        write(json.dumps(documents, indent=4) + "\n")
    return 1 if failed else 0


def cmd_logs(args) -> int:
    from runtime.container.logs import parse_since
    from runtime.errors import InvalidArgument
    engine = engine_for(args)
    tail = None
    if args.tail != "all":
        try:
            tail = int(args.tail)
        except ValueError:
            raise InvalidArgument(f"invalid value for --tail: {args.tail!r}") from None
        if tail < 0:
            tail = None
    until = parse_since(args.until) if args.until else None
    out, err = sys.stdout.buffer, sys.stderr.buffer
    batch, batch_stream, size = [], None, 0
    for record in engine.logs(args.container, follow=args.follow, tail=tail, since=args.since):
        if until and record.time > until:
            break
        line = (record.time.encode() + b" " + record.data) if args.timestamps else record.data
        target = err if record.stream == "stderr" else out
        if args.follow:     # each line as it comes: the next may be long in coming
            target.write(line)
            target.flush()
            continue
        if target is not batch_stream or size > 1 << 16:
            if batch:
                batch_stream.write(b"".join(batch))
                batch_stream.flush()
            batch, batch_stream, size = [], target, 0
        batch.append(line)
        size += len(line)
    if batch:
        batch_stream.write(b"".join(batch))
        batch_stream.flush()
    return 0


def confirm(question: str, force: bool) -> bool:
    """Ask on a terminal; without one, only --force goes ahead (as Docker's prune)."""
    if force:
        return True
    if not sys.stdin.isatty():
        from runtime.errors import InvalidArgument
        raise InvalidArgument("refusing to prune without --force when not on a terminal")
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def cmd_container_prune(args) -> int:
    if not confirm("WARNING! This will remove all stopped containers. Are you sure you want "
                   "to continue?", args.force):
        return 0
    removed = engine_for(args).prune_containers()
    write("Deleted Containers:\n" + "".join(f"{i}\n" for i in removed) if removed
          else "Total reclaimed space: 0B\n")
    return 0


def cmd_top(args) -> int:
    from runtime.container import cgroups
    engine = engine_for(args)
    container = engine.container(args.container)
    rows = cgroups.processes(engine.paths.cgroup_parent, container)
    # Docker's top aligns its columns on 20 characters.
    print_table(["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"], rows, minwidth=20)
    return 0


def cmd_stats(args) -> int:
    from runtime.cli.output import listing_template
    from runtime.cli.rows import StatsRow
    from runtime.container import cgroups
    listing_template(args.format, StatsRow)     # a bad template fails before sampling
    engine = engine_for(args)
    parent = engine.paths.cgroup_parent

    def chosen():
        if args.containers:
            return [(ref, engine.container(ref)) for ref in args.containers]
        return [(s["Id"][:12], engine.container(s["Id"]))
                for s in engine.containers(all=args.all)]

    def render(interval=None) -> str:
        from runtime.cli.output import render_rows
        named = chosen()
        samples = cgroups.sample_stats(parent, [container for _, container in named],
                                       **({"interval": interval} if interval else {}))
        return render_rows(args.format, [StatsRow(sample, ref, trunc=not args.no_trunc)
                                         for (ref, _), sample in zip(named, samples)],
                           StatsRow)

    if args.no_stream:
        write(render())
        return 0
    clear = "\x1b[2J\x1b[H" if sys.stdout.isatty() else ""
    try:
        while True:
            text = render(interval=1.0)
            write(clear + text)
    except KeyboardInterrupt:
        return 0
