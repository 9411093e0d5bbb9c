"""`moor` verbs for containers: run, create, start, stop, kill, restart, rm, inspect, logs,
wait, pause, unpause, rename, top, stats, update, container prune."""

import contextlib
import json
import os
import sys

from runtime.cli import long_help_only
from runtime.cli.output import confirm, engine_for, print_table, write

TEMPLATE_HELP = ("Go template (https://pkg.go.dev/text/template) as in Docker: "
                 "'{{.ID}}\\t{{.Names}}', 'table {{.ID}}\\t{{.Status}}' (with column "
                 "titles), 'json', 'raw'")


@long_help_only
def args_run(parser):
    parser.description = "Create a container from IMAGE and start it."
    _add_create_flags(parser)
    parser.add_argument("-d", "--detach", action="store_true",
                        help="run in the background and print the container ID")
    parser.add_argument("-a", "--attach", action="append", default=[], metavar="STREAM",
                        help="attach only these streams: stdin, stdout, stderr (default "
                             "stdout and stderr)")
    parser.add_argument("--detach-keys", metavar="KEYS",
                        help="keys that detach from the container (default ctrl-p,ctrl-q)")
    parser.add_argument("--sig-proxy", default="true", choices=("true", "false"),
                        help="forward received signals to the container (default true)")


@long_help_only
def args_create(parser):
    _add_create_flags(parser)


def args_start(parser):
    parser.add_argument("-a", "--attach", action="store_true",
                        help="attach to the container's output")
    parser.add_argument("-i", "--interactive", action="store_true", help="attach stdin")
    parser.add_argument("--detach-keys", metavar="KEYS",
                        help="keys that detach from the container (default ctrl-p,ctrl-q)")
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def args_stop(parser):
    parser.add_argument("-t", "--time", type=int, default=None,
                        help="seconds to wait before killing (default 10)")
    parser.add_argument("-s", "--signal", default=None, help="signal to send first")
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def args_restart(parser):
    parser.add_argument("-t", "--time", type=int, default=None,
                        help="seconds to wait before killing (default 10)")
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def args_kill(parser):
    parser.add_argument("-s", "--signal", default="KILL", help="signal to send (default KILL)")
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def args_rm(parser):
    parser.add_argument("-f", "--force", action="store_true",
                        help="kill and remove running ones")
    parser.add_argument("-v", "--volumes", action="store_true",
                        help="also remove the container's anonymous volumes (never named ones)")
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def args_inspect(parser):
    parser.add_argument("-f", "--format", default=None,
                        help="Go template over each object's JSON, as in Docker: "
                             "'{{.State.Status}}', '{{json .Config}}', "
                             "'{{range .Mounts}}{{.Source}} {{end}}', or 'json'")
    parser.add_argument("--type", choices=("container", "image"), default=None)
    parser.add_argument("objects", nargs="+", metavar="NAME|ID")


def args_container_inspect(parser):
    parser.add_argument("-f", "--format", default=None,
                        help="Go template over each container's JSON, as in Docker: "
                             "'{{.State.Status}}', '{{json .Config}}', or 'json'")
    parser.add_argument("objects", nargs="+", metavar="CONTAINER")
    parser.set_defaults(type="container")


def args_logs(parser):
    parser.add_argument("-f", "--follow", action="store_true", help="follow new output")
    parser.add_argument("-n", "--tail", default="all", help="lines from the end (default all)")
    parser.add_argument("--since", default=None,
                        help="since a time (2026-01-02T15:04:05Z, unix time, or 10m)")
    parser.add_argument("--until", default=None, help="before a time (same forms as --since)")
    parser.add_argument("-t", "--timestamps", action="store_true", help="show timestamps")
    parser.add_argument("container", metavar="CONTAINER")


def args_wait(parser):
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def args_pause(parser):
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


args_unpause = args_pause


def args_rename(parser):
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument("new_name", metavar="NEW_NAME")


def args_top(parser):
    parser.add_argument("container", metavar="CONTAINER")


def args_stats(parser):
    parser.add_argument("--no-stream", action="store_true", help="print once and exit")
    parser.add_argument("-a", "--all", action="store_true", help="all containers")
    parser.add_argument("--no-trunc", action="store_true", help="do not truncate output")
    parser.add_argument("--format", default=None, help=TEMPLATE_HELP + "; fields: .Container "
                        ".Name .ID .CPUPerc .MemUsage .MemPerc .NetIO .BlockIO .PIDs")
    parser.add_argument("containers", nargs="*", metavar="CONTAINER")


def args_prune(parser):
    parser.add_argument("-f", "--force", action="store_true", help="do not ask")


def args_update(parser):
    parser.add_argument("-m", "--memory", help="memory limit (e.g. 64m; 0: none)")
    parser.add_argument("--memory-swap", help="memory plus swap limit (-1: as much swap as "
                                              "memory)")
    parser.add_argument("--cpus", help="number of CPUs (e.g. 0.5; 0: no limit)")
    parser.add_argument("--pids-limit", help="maximum number of processes (-1: no limit)")
    parser.add_argument("--restart", help="no | on-failure[:N] | always | unless-stopped")
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def _add_create_flags(parser):
    add = parser.add_argument
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
    add("--network-alias", "--net-alias", dest="network_alias", action="append", default=[],
        metavar="ALIAS", help="another name of the container on its user-defined network")
    add("--ip", metavar="IPV4", help="the container's address on its user-defined network "
                                     "(one whose subnet was given)")
    add("--add-host", action="append", default=[], metavar="HOST:IP",
        help="add a line to /etc/hosts: NAME:ADDRESS, or NAME:host-gateway for the host")
    add("--dns", action="append", default=[], metavar="ADDRESS",
        help="a DNS server for the container's resolv.conf")
    add("--dns-search", action="append", default=[], metavar="DOMAIN",
        help="a DNS search domain ('.' for none)")
    add("--dns-option", "--dns-opt", dest="dns_option", action="append", default=[],
        metavar="OPTION", help="a resolv.conf option, like ndots:2")
    add("-p", "--publish", action="append", default=[],
        help="publish a port: [HOSTIP:]HOSTPORT:CONTAINERPORT[/PROTO] or CONTAINERPORT")
    add("-P", "--publish-all", action="store_true", help="publish all exposed ports")
    add("--expose", action="append", default=[], help="expose a port")
    add("-l", "--label", action="append", default=[], help="set metadata KEY=VALUE")
    add("--label-file", action="append", default=[], metavar="FILE",
        help="read labels from a file of KEY=VALUE lines")
    add("--privileged", action="store_true", help="give the container the host's devices "
                                                  "and every capability")
    add("--cap-add", action="append", default=[], help="add a capability")
    add("--cap-drop", action="append", default=[], help="drop a capability")
    add("--read-only", action="store_true", help="mount the root file system read-only")
    add("--security-opt", action="append", default=[], metavar="OPTION",
        help="no-new-privileges[=true], seccomp=unconfined, seccomp=PROFILE.json, "
             "apparmor=PROFILE (hosts with AppArmor), label=disable, systempaths=unconfined")
    add("--device", action="append", default=[], metavar="HOST[:CONTAINER][:rwm]",
        help="give the container a host device (r read, w write, m mknod; default rwm)")
    add("--ulimit", action="append", default=[], metavar="NAME=SOFT[:HARD]",
        help="a resource limit, like nofile=1024:2048 (at most the host's hard limit)")
    add("--init", action="store_true", help="run an init inside the container that forwards "
                                            "signals and reaps processes")
    add("--stop-signal", help="signal to stop the container (default SIGTERM)")
    add("--stop-timeout", type=int, help="seconds to wait on stop before killing")
    add("--shm-size", help="size of /dev/shm (default 64m)")
    add("--platform", help="the platform to run: only this host's (linux/amd64 here)")
    add("--cidfile", metavar="FILE", help="write the container's ID to FILE (which must not "
                                          "exist)")
    add("--pull", default="missing", choices=("missing", "always", "never"),
        help="pull the image before creating: missing (default: when it is not here), "
             "always, never")
    add("-q", "--quiet", action="store_true", help="do not print the pull's progress")
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


def read_lines(path: str, what: str) -> list[str]:
    """The lines of an env or label file, as Docker reads them: leading white space
    dropped, blank lines and lines that start with # skipped."""
    from runtime.errors import InvalidArgument
    try:
        with open(path) as f:
            lines = [line.rstrip("\r\n").lstrip() for line in f]
    except OSError as error:
        raise InvalidArgument(f"cannot read {what} file {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidArgument(f"cannot read {what} file {path}: not UTF-8 text") from None
    return [line for line in lines if line and not line.startswith("#")]


def _security_options(values: list[str]) -> list[str]:
    """`--security-opt seccomp=FILE` carries the file's profile, as Docker's CLI sends it."""
    from runtime.container.security_options import split
    from runtime.errors import InvalidArgument
    options = []
    for value in values:
        key, profile = split(value)
        if key == "seccomp" and profile != "unconfined":
            try:
                with open(profile) as f:
                    text = json.dumps(json.load(f), separators=(",", ":"))
            except OSError as error:
                raise InvalidArgument(f"opening seccomp profile ({profile}) failed: "
                                      f"{error.strerror}") from None
            except ValueError as error:
                raise InvalidArgument(f"compacting json for seccomp profile ({profile}) "
                                      f"failed: {error}") from None
            value = f"seccomp={text}"
        options.append(value)
    return options


def _options(args) -> dict:
    env = [line for path in args.env_file for line in read_lines(path, "env")]
    env.extend(args.env)
    labels = [line for path in args.label_file for line in read_lines(path, "label")]
    labels.extend(args.label)
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
        "expose": args.expose, "labels": labels, "privileged": args.privileged,
        "cap_add": args.cap_add, "cap_drop": args.cap_drop, "read_only": args.read_only,
        "init": args.init,
        "stop_signal": args.stop_signal, "stop_timeout": args.stop_timeout,
        "shm_size": args.shm_size, "group": args.group, **_health_options(args),
        "log_opts": args.log_opt, "network_aliases": args.network_alias, "ip": args.ip,
        "extra_hosts": args.add_host, "dns": args.dns, "dns_search": args.dns_search,
        "dns_options": args.dns_option, "ulimits": args.ulimit, "devices": args.device,
        "security_opt": _security_options(args.security_opt), "platform": args.platform,
    }
    if args.command:
        options["cmd"] = list(args.command)
    if args.entrypoint is not None:
        options["entrypoint"] = [args.entrypoint] if args.entrypoint else []
    return {k: v for k, v in options.items() if v not in (None, [], False, "")}


def pull_as_asked(engine, args) -> None:
    """Docker's `--pull` of run and create: `missing` pulls an image that is not here (after
    saying so), `always` pulls it anyway, `never` leaves the create to fail. The pull is
    `moor pull`'s, its progress on stderr (none with -q); failing, it is run's failure
    (125)."""
    from runtime.errors import MoorError, NotFound
    from runtime.image import reference
    if args.pull == "never":
        return
    try:
        if args.pull == "missing":
            try:
                engine.image_id(args.image)
                return
            except NotFound:
                pass
        wanted = str(reference.parse(args.image))      # with its tag: `latest` is no news
        if args.pull == "missing":
            sys.stderr.write(f"Unable to find image '{wanted}' locally\n")
        progress = None if args.quiet else (lambda line: sys.stderr.write(line + "\n"))
        engine.pull(wanted, progress=progress)
    except MoorError as error:
        error.status = 125
        raise


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


class ContainerIdFile:
    """`--cidfile`: made (empty) before the container, refused if it exists, as Docker's
    CLI does; the ID is written once the container exists, before its program runs; a file
    no ID was written to, or whose container was removed again by a failed run, is
    removed."""

    def __init__(self, path: str | None):
        from runtime.errors import InvalidArgument
        self.path, self.written = path, False
        if not path:
            return
        if os.path.lexists(path):
            raise InvalidArgument(f"container ID file found, make sure the other container "
                                  f"isn't running or delete {path}", 125)
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                             0o644))
        except OSError as error:
            raise InvalidArgument(f"failed to create the container ID file: "
                                  f"{error.strerror}", 125) from None

    def write(self, container) -> None:
        if self.path:
            container_id = container if isinstance(container, str) else container.id
            with open(self.path, "w") as f:
                f.write(container_id)
            self.written = True

    def discard(self) -> None:
        if self.path:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            self.path = None

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if kind is not None or not self.written:
            self.discard()


def cmd_create(args) -> int:
    engine = engine_for(args)
    from runtime.errors import MoorError
    try:
        options = _options(args)
        with ContainerIdFile(args.cidfile) as cidfile:
            pull_as_asked(engine, args)
            container_id = engine.create(options)
            cidfile.write(container_id)
    except MoorError as error:
        error.status = 125
        raise
    write(container_id + "\n")
    return 0


STREAMS = ("stdin", "stdout", "stderr")


def _attached_streams(args) -> set[str]:
    """`-a`: the streams of a foreground run to attach (Docker's: stdout and stderr when
    none is named; stdin is given by -i)."""
    from runtime.errors import InvalidArgument
    named = {stream.lower() for stream in args.attach}
    if not named:
        return {"stdout", "stderr"}
    for stream in named:
        if stream not in STREAMS:
            raise InvalidArgument(f"invalid argument {stream!r} for \"-a, --attach\" flag: "
                                  "valid streams are STDIN, STDOUT and STDERR")
    if args.detach:
        raise InvalidArgument("Conflicting options: -a and -d")
    return named


def cmd_run(args) -> int:
    from runtime.cli import interactive
    from runtime.container import attach
    from runtime.errors import MoorError
    if args.tty and args.interactive and not args.detach and not os.isatty(0):
        sys.stderr.write("the input device is not a TTY\n")
        return 1
    engine = engine_for(args)
    try:
        options = _options(args)
        streams = _attached_streams(args)
        detach_keys = attach.parse_detach_keys(args.detach_keys)
    except MoorError as error:
        error.status = 125
        raise
    options["stdin_once"] = bool(args.interactive and not args.detach)
    with ContainerIdFile(args.cidfile) as cidfile:
        pull_as_asked(engine, args)
        if args.detach:
            try:
                container_id = engine.run(options, before_start=cidfile.write)
            except MoorError as error:
                if error.status not in (126, 127):
                    error.status = 125
                raise
            write(container_id + "\n")
            return 0
        return interactive.run_attached(engine, options, interactive=args.interactive,
                                        sig_proxy=args.sig_proxy == "true", streams=streams,
                                        detach_keys=detach_keys, before_start=cidfile.write)


def cmd_start(args) -> int:
    engine = engine_for(args)
    if args.attach or args.interactive:
        if len(args.containers) > 1:
            from runtime.errors import InvalidArgument
            raise InvalidArgument("you cannot start and attach multiple containers at once")
        from runtime.cli import interactive
        from runtime.container import attach
        return interactive.start_attached(engine, args.containers[0], args.interactive,
                                          attach.parse_detach_keys(args.detach_keys))
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


def cmd_update(args) -> int:
    from runtime.errors import InvalidArgument
    changes = {key: value for key, value in (
        ("memory", args.memory), ("memory_swap", args.memory_swap), ("cpus", args.cpus),
        ("pids_limit", args.pids_limit), ("restart", args.restart)) if value is not None}
    if not changes:
        raise InvalidArgument("you must provide one or more flags when using this command")
    engine = engine_for(args)
    return _each(args.containers, lambda ref: engine.update(ref, changes))


def cmd_rename(args) -> int:
    engine_for(args).rename(args.container, args.new_name)
    return 0


def cmd_wait(args) -> int:
    engine = engine_for(args)
    return _each(args.containers, lambda ref: write(f"{engine.wait(ref)}\n"), echo=False)


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


cmd_container_inspect = cmd_inspect     # with --type container (args_container_inspect)


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


def cmd_prune(args) -> int:
    if not confirm("WARNING! This will remove all stopped containers. Are you sure you want "
                   "to continue?", args.force):
        return 0
    removed = engine_for(args).prune_containers()
    write("Deleted Containers:\n" + "".join(f"{i}\n" for i in removed) if removed
          else "Total reclaimed space: 0B\n")
    return 0


def cmd_top(args) -> int:
    from runtime.container import cgroups
    from runtime.errors import Conflict
    engine = engine_for(args)
    container = engine.container(args.container)
    container.refresh()
    if container.status not in ("running", "paused"):
        raise Conflict(f"container {container.id} is not running")
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
                                         for (ref, _), sample in zip(named, samples, strict=True)],
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
