"""`moor` verbs that connect your terminal to a container: attached `run`, `start -a`,
`attach` and `exec`."""

import os
import signal
import sys

from runtime.cli.output import engine_for


def args_attach(parser):
    parser.add_argument("--no-stdin", action="store_true", help="do not attach stdin")
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


def run_attached(engine, options: dict, interactive: bool, sig_proxy: bool) -> int:
    from runtime.container import attach
    from runtime.errors import MoorError
    connection = {}

    def connect(container):
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
    tty = bool(options.get("tty"))
    if sig_proxy and not tty:
        _proxy_signals(engine, container_id)
    outcome = attach.relay(connection["sock"], connection["dir"], tty=tty, stdin=interactive)
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


def start_attached(engine, ref: str, interactive: bool) -> int:
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
    outcome = attach.relay(connection["sock"], container.dir, tty=tty, stdin=stdin)
    connection["sock"].close()
    if outcome == attach.DETACHED:
        attach.detach_message()
        return 0
    return engine.wait(container.id)


def cmd_attach(args) -> int:
    from runtime.container import attach
    from runtime.errors import Conflict
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
    outcome = attach.relay(sock, container.dir, tty=container.tty, stdin=stdin)
    sock.close()
    if outcome == attach.DETACHED:
        attach.detach_message()
        return 0
    return engine.wait(container.id)


def cmd_exec(args) -> int:
    from runtime.container import execute
    from runtime.errors import InvalidArgument
    if not args.command:
        raise InvalidArgument("exec needs a command to run")
    # As Docker's: only -it makes our terminal the process's; -t alone gives it a terminal
    # of its own, whatever stdin is.
    if args.tty and args.interactive and not args.detach and not os.isatty(0):
        sys.stderr.write("the input device is not a TTY\n")
        return 1
    engine = engine_for(args)
    container = engine.container(args.container)
    return execute.run(engine, container, list(args.command), tty=args.tty,
                       interactive=args.interactive, detach=args.detach, user=args.user,
                       workdir=args.workdir, env=args.env, privileged=args.privileged)
