"""`moor build`: a Dockerfile and its context (a directory, or a tar archive or a Dockerfile
on standard input), built with the classic builder."""

import contextlib
import os
import signal
import sys

from runtime.cli.output import engine_for, write, write_while_read


def args_build(parser):
    parser.add_argument("-t", "--tag", action="append", default=[], metavar="NAME[:TAG]",
                        help="name and optionally a tag (may be given more than once)")
    parser.add_argument("-f", "--file", default=None, metavar="PATH",
                        help="the Dockerfile (default: PATH/Dockerfile); - reads it from "
                             "standard input")
    parser.add_argument("--build-arg", action="append", default=[], metavar="NAME[=VALUE]",
                        help="set a build-time variable (NAME alone takes it from your "
                             "environment)")
    parser.add_argument("--no-cache", action="store_true",
                        help="do not use the cache when building the image")
    parser.add_argument("--target", default=None, metavar="STAGE",
                        help="the build stage to stop at")
    parser.add_argument("--network", default="default", metavar="NETWORK",
                        help="the network of RUN steps: default (the bridge), none, host or "
                             "a network's name")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print only the image ID on success")
    parser.add_argument("path", metavar="PATH|-",
                        help="the build context directory; - reads a tar archive of it "
                             "(plain or compressed) or a Dockerfile alone from standard input")


def args_prune(parser):
    parser.add_argument("-a", "--all", action="store_true",
                        help="all the build cache, not only the dangling steps")
    parser.add_argument("-f", "--force", action="store_true", help="do not ask")
    parser.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE",
                        help="until=TIME (made before it), label=KEY[=VALUE], "
                             "label!=KEY[=VALUE]")


def cmd_prune(args) -> int:
    """`builder prune`: the step images of builds no name and no container holds (the
    classic builder's cache), as Docker reports a prune of its build cache."""
    from runtime.cli import filters
    from runtime.cli.output import confirm
    from runtime.cli.rows import human_size
    wanted = filters.parse(args.filter, filters.PRUNE_FILTERS)
    what = "all build cache" if args.all else "all dangling build cache"
    if not confirm(f"WARNING! This will remove {what}. Are you sure you want to continue?",
                   args.force):
        return 0
    engine = engine_for(args)

    def keep(image_id: str) -> bool:
        config = engine.store.config(image_id)
        return not filters.prune_matches(wanted, (config.get("config") or {}).get("Labels")
                                         or {}, config.get("created"))
    removed, reclaimed = engine.prune_build_cache(all=args.all, keep=keep)
    if removed:
        write("Deleted build cache objects:\n" + "".join(f"{i[7:]}\n" for i in removed) +
              "\n")
    write(f"Total reclaimed space: {human_size(reclaimed)}\n")
    return 0


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
    buffered = []
    # `moor build ... | head`: the build goes on to its end when the reader has gone.
    output = buffered.append if args.quiet else write_while_read
    try:
        with _sources(engine, args) as (context, dockerfile):
            image_id = engine.build(context, dockerfile=dockerfile, tags=args.tag,
                                    build_args=_build_args(args.build_arg),
                                    no_cache=args.no_cache, target=args.target,
                                    output=output,
                                    network="bridge" if args.network == "default"
                                    else args.network)
    except MoorError:
        if args.quiet:
            sys.stderr.write("".join(buffered))
        raise
    if args.quiet:
        write(image_id + "\n")
    return 0


@contextlib.contextmanager
def _sources(engine, args):
    """(context directory, Dockerfile) for the build, as Docker's `build` takes them: PATH
    and `-f` as they are (`-f` relative to where you are); `build -` a tar archive of the
    context (gzip, bzip2, xz, zstd or plain; `-f` then names a file in it) or, when stdin
    is no archive, a Dockerfile with an empty context; `-f -` a Dockerfile from stdin with
    PATH's context. What comes from stdin is kept in a private directory of the engine's,
    removed afterwards."""
    from runtime.errors import InvalidArgument
    if args.path != "-" and args.file != "-":
        # As Docker's: -f is relative to where you are, not to the context.
        yield args.path, os.path.abspath(args.file) if args.file else None
        return
    if args.path == "-" and args.file == "-":
        raise InvalidArgument("invalid argument: can't use stdin for both build context and "
                              "dockerfile")
    from runtime import staging
    engine.paths.ensure()
    with staging.working_dir(engine.paths.tmp, "build-stdin-") as directory:
        context = os.path.join(directory, "context")
        os.mkdir(context, 0o700)
        stdin = sys.stdin.buffer
        if args.file == "-":
            yield args.path, _dockerfile_file(directory, stdin.read(MAX_DOCKERFILE + 1))
            return
        head = _read_at_least(stdin, 512)
        if _is_archive(head):
            from runtime.image.layer_unpack import LayerLimits, unpack_layer
            unpack_layer(_Joined(head, stdin), context, limits=LayerLimits(max_depth=256))
            yield context, args.file
        else:
            yield context, _dockerfile_file(directory,
                                            head + stdin.read(MAX_DOCKERFILE + 1 - len(head)))


MAX_DOCKERFILE = 16 << 20


def _dockerfile_file(directory: str, data: bytes) -> str:
    from runtime.errors import InvalidArgument
    if len(data) > MAX_DOCKERFILE:
        raise InvalidArgument(f"the Dockerfile is larger than {MAX_DOCKERFILE >> 20} MiB")
    path = os.path.join(directory, "Dockerfile")
    with open(path, "wb") as f:
        f.write(data)
    return path


def _read_at_least(stream, size: int) -> bytes:
    data = b""
    while len(data) < size:
        more = stream.read(size - len(data))
        if not more:
            break
        data += more
    return data


_COMPRESSED = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")


def _is_archive(head: bytes) -> bool:
    """A tar archive (its `ustar` magic) or a compressed stream, as Docker's build tells a
    context from a Dockerfile on stdin."""
    return head.startswith(_COMPRESSED) or head[257:262] == b"ustar"


class _Joined:
    """The bytes already read, then the rest of the stream."""

    def __init__(self, head: bytes, rest):
        self._head, self._rest = head, rest

    def read(self, size=-1):
        if not self._head:
            return self._rest.read(size)
        if size is None or size < 0:
            data, self._head = self._head + self._rest.read(), b""
            return data
        data, self._head = self._head[:size], self._head[size:]
        return data
