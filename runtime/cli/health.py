"""`moor system healthcheck-run` (one health check now, as `podman healthcheck run`) and
`moor system health-checker` (the checker loop in the foreground: what the resident engine
service hosts; for hosts without the service, and for tests)."""

import sys

from runtime.cli.output import engine_for, write


def register(verbs):
    run = verbs.add_parser("healthcheck-run",
                           help="run a container's health check now and print the result "
                                "(status 0 when it passed, 1 when it failed)")
    run.add_argument("container", metavar="CONTAINER")
    run.set_defaults(func=cmd_healthcheck_run)
    checker = verbs.add_parser("health-checker",
                               help="run every container's health checks on schedule, in "
                                    "the foreground, until interrupted (the engine service "
                                    "does this; one checker per engine root)")
    checker.set_defaults(func=cmd_health_checker)


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
    engine_for(args).health_checker().run(stop)
    return 0
