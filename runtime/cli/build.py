"""`moor` verbs: build."""

import os
import signal
import sys

from runtime.cli.output import engine_for, write


def register(subparsers):
    """Add this group's verbs to the `moor` parser."""
    build = subparsers.add_parser("build", help="build an image from a Dockerfile")
    build.add_argument("-t", "--tag", action="append", default=[], metavar="NAME[:TAG]",
                       help="name and optionally a tag (may be given more than once)")
    build.add_argument("-f", "--file", default=None, metavar="PATH",
                       help="the Dockerfile (default: PATH/Dockerfile)")
    build.add_argument("--build-arg", action="append", default=[], metavar="NAME[=VALUE]",
                       help="set a build-time variable (NAME alone takes it from your "
                            "environment)")
    build.add_argument("--no-cache", action="store_true",
                       help="do not use the cache when building the image")
    build.add_argument("--target", default=None, metavar="STAGE",
                       help="the build stage to stop at")
    build.add_argument("--network", default="default", metavar="NETWORK",
                       help="the network of RUN steps: default (the bridge), none, host or "
                            "a network's name")
    build.add_argument("-q", "--quiet", action="store_true",
                       help="print only the image ID on success")
    build.add_argument("path", metavar="PATH", help="the build context directory")
    build.set_defaults(func=cmd_build)


def _build_args(items: list[str]) -> dict:
    """`NAME=VALUE`, or `NAME` taken from the environment (skipped when it is not set)."""
    result = {}
    for item in items:
        name, sep, value = item.partition("=")
        if sep:
            result[name] = value
        elif name in os.environ:
            result[name] = os.environ[name]
        else:
            result.setdefault(name, None)
    return result


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def cmd_build(args) -> int:
    from runtime.errors import MoorError
    engine = engine_for(args)
    # A terminal closing or a `kill` stops the build the way Ctrl-C does: with its clean-up.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    # As Docker's: -f is relative to where you are, not to the context.
    dockerfile = os.path.abspath(args.file) if args.file else None
    buffered = []
    output = buffered.append if args.quiet else write
    try:
        image_id = engine.build(args.path, dockerfile=dockerfile, tags=args.tag,
                                build_args=_build_args(args.build_arg),
                                no_cache=args.no_cache, target=args.target, output=output,
                                network="bridge" if args.network == "default" else args.network)
    except MoorError:
        if args.quiet:
            sys.stderr.write("".join(buffered))
        raise
    if args.quiet:
        write(image_id + "\n")
    return 0
