"""`moor system healthcheck-run` (one health check now, as `podman healthcheck run`) and
`moor system health-checker` (the checker loop in the foreground: what the resident engine
service hosts; for hosts without the service, and for tests)."""

import argparse
import os
import sys

from runtime.cli.output import engine_for, write


def args_healthcheck_run(parser):
    parser.add_argument("container", metavar="CONTAINER")


def args_health_checker(parser):
    # What `moor compose up` starts, detached, where no engine service runs: it ends once
    # nothing is left to check and gives way to any other checker (not in the listing).
    parser.add_argument("--stand-in", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ready-fd", type=int, default=None, help=argparse.SUPPRESS)


def cmd_healthcheck_run(args) -> int:
    outcome = engine_for(args).health_check(args.container)
    result = outcome["Result"]
    write(f"{outcome['Status']}\n")
    if result["ExitCode"] != 0 and result["Output"]:
        sys.stderr.write(result["Output"].rstrip("\n") + "\n")
    return 0 if result["ExitCode"] == 0 else 1


def cmd_health_checker(args) -> int:
    import signal
    import threading
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, lambda *_: stop.set())
    engine = engine_for(args)
    if args.stand_in:
        from runtime.container import cgroups
        cgroups.move_to(f"{engine.paths.cgroup_parent}/monitors", os.getpid())
    engine.health_checker(stand_in=args.stand_in).run(stop, _Ready(args.ready_fd))
    return 0


class _Ready:
    """Says "checking" to whoever started the checker: one byte on `--ready-fd`."""

    def __init__(self, fd):
        self.fd = fd

    def set(self) -> None:
        if self.fd is None:
            return
        try:
            os.write(self.fd, b"1")
            os.close(self.fd)
        except OSError:
            pass
        self.fd = None
