"""`moor` verbs that connect your terminal to a container: attached `run`, `start -a`,
`attach` and `exec`."""

import os
import signal
import sys

from runtime.cli.output import engine_for

DETACH_KEYS_HELP = "keys that detach from the container (default ctrl-p,ctrl-q)"


def args_attach(parser):
    parser.add_argument("--no-stdin", action="store_true", help="do not attach stdin")
    parser.add_argument("--detach-keys", metavar="KEYS", help=DETACH_KEYS_HELP)
    parser.add_argument("--sig-proxy", default="true", choices=("true", "false"),
                        help="forward signals to the container (non-tty only)")
    parser.add_argument("container", metavar="CONTAINER")


def args_exec(parser):
    parser.add_argument("-i", "--interactive", action="store_true", help="keep stdin open")
    parser.add_argument("-t", "--tty", action="store_true", help="allocate a pseudo-terminal")
    parser.add_argument("-d", "--detach", action="store_true", help="run in the background")
    parser.add_argument("-u", "--user", help="user: name|uid[:group|gid]")
    parser.add_argument("-w", "--workdir", help="working directory inside the container")
    parser.add_argument("-e", "--env", action="append", default=[], help="set variables")
    parser.add_argument("--env-file", action="append", default=[], metavar="FILE",
                        help="read variables from a file of NAME=VALUE lines")
    parser.add_argument("--detach-keys", metavar="KEYS",
                        help="keys that detach from the process, which goes on (default "
                             "ctrl-p,ctrl-q)")
    parser.add_argument("--privileged", action="store_true",
                        help="give the process every capability")
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument("command", nargs="...", metavar="COMMAND")


def _proxy_signals(engine, container_id):
    """Forward SIGINT/SIGTERM/SIGHUP... to the container, as `docker run --sig-proxy`."""
    def forward(signum, frame):
        try:
            engine.kill(container_id, signum)
        except Exception:
            pass
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
                   signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(signum, forward)


def run_attached(engine, options: dict, interactive: bool, sig_proxy: bool,
                 streams=frozenset({"stdout", "stderr"}), detach_keys: bytes | None = None,
                 before_start=None) -> int:
    """`moor run` in the foreground: the `streams` named by -a, `detach_keys` to leave
    with; `before_start(container)` runs once it exists (--cidfile)."""
    from runtime.container import attach
    from runtime.errors import MoorError
    connection = {}

    def connect(container):
        if before_start is not None:
            before_start(container)
        connection["sock"] = attach.connect(engine, container)
        connection["dir"] = container.dir

    try:
        container_id = engine.run(options, before_start=connect, owner_pid=os.getpid())
    except MoorError as error:
        sock = connection.get("sock")
        if sock:
            sock.close()
        if error.status not in (126, 127):
            error.status = 125  # Docker's status for a run that failed before the program
        raise
    if not streams & {"stdout", "stderr"}:
        # As Docker's: a run that shows none of the output (`-a stdin`) says which it is.
        sys.stdout.write(container_id + "\n")
        sys.stdout.flush()
    tty = bool(options.get("tty"))
    if sig_proxy and not tty:
        _proxy_signals(engine, container_id)
    outcome = attach.relay(connection["sock"], connection["dir"], tty=tty, stdin=interactive,
                           streams=streams, detach_keys=detach_keys or attach.DETACH_KEYS)
    connection["sock"].close()
    if outcome == attach.DETACHED:
        attach.detach_message()
        return 0
    code = engine.wait(container_id)
    if options.get("auto_remove"):
        try:
            engine.remove(container_id, force=True, background=True, volumes=True)
        except MoorError:
            pass
    return code


def start_attached(engine, ref: str, interactive: bool,
                   detach_keys: bytes | None = None) -> int:
    from runtime.container import attach, lifecycle
    container = engine.container(ref)
    connection = {}

    def connect(started):
        connection["sock"] = attach.connect(engine, started)

    lifecycle.start(engine, container, before_start=connect, owner_pid=os.getpid())
    if "sock" not in connection:  # it was already running
        connection["sock"] = attach.connect(engine, container)
    tty = container.tty
    if not tty:
        _proxy_signals(engine, container.id)
    stdin = interactive and bool(container.config["Config"].get("OpenStdin"))
    outcome = attach.relay(connection["sock"], container.dir, tty=tty, stdin=stdin,
                           detach_keys=detach_keys or attach.DETACH_KEYS)
    connection["sock"].close()
    if outcome == attach.DETACHED:
        attach.detach_message()
        return 0
    return engine.wait(container.id)


def cmd_attach(args) -> int:
    from runtime.container import attach
    from runtime.errors import Conflict
    detach_keys = attach.parse_detach_keys(args.detach_keys)
    engine = engine_for(args)
    container = engine.container(args.container)
    container.refresh()
    if container.status not in ("running", "paused"):
        raise Conflict("You cannot attach to a stopped container, start it first")
    if container.tty and not args.no_stdin and not os.isatty(0):
        sys.stderr.write("the input device is not a TTY\n")
        return 1
    sock = attach.connect(engine, container)
    if args.sig_proxy == "true" and not container.tty:
        _proxy_signals(engine, container.id)
    stdin = not args.no_stdin and bool(container.config["Config"].get("OpenStdin"))
    outcome = attach.relay(sock, container.dir, tty=container.tty, stdin=stdin,
                           detach_keys=detach_keys)
    sock.close()
    if outcome == attach.DETACHED:
        attach.detach_message()
        return 0
    return engine.wait(container.id)


def cmd_exec(args) -> int:
    from runtime.cli.containers import read_lines
    from runtime.container import attach, execute
    from runtime.errors import InvalidArgument
    if not args.command:
        raise InvalidArgument("exec needs a command to run")
    detach_keys = attach.parse_detach_keys(args.detach_keys)
    env = [line for path in args.env_file for line in read_lines(path, "env")] + args.env
    # As Docker's: only -it makes our terminal the process's; -t alone gives it a terminal
    # of its own, whatever stdin is.
    if args.tty and args.interactive and not args.detach and not os.isatty(0):
        sys.stderr.write("the input device is not a TTY\n")
        return 1
    engine = engine_for(args)
    container = engine.container(args.container)
    if args.tty and args.interactive and not args.detach:
        return execute.run_on_terminal(engine, container, list(args.command), user=args.user,
                                       workdir=args.workdir, env=env,
                                       privileged=args.privileged, detach_keys=detach_keys)
    return execute.run(engine, container, list(args.command), tty=args.tty,
                       interactive=args.interactive, detach=args.detach, user=args.user,
                       workdir=args.workdir, env=env, privileged=args.privileged)
