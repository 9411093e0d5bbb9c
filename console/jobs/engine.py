"""The console's only door to the engine: one `runtime.api.Engine` per worker process, on the
host root the worker was started with (`MOORAGE_ROOT`). Unit tests replace `get_engine`.

The web process uses only the pure functions of the sections below (the engine's grammar of
published ports, references and Dockerfiles), never an `Engine`."""
import contextlib
import functools
import re

from django.conf import settings


@functools.lru_cache(maxsize=1)
def get_engine():
    from runtime.api import Engine

    return Engine(settings.MOORAGE_ROOT or None)


def engine_root(engine) -> str:
    """The directory the engine keeps its state in (what a host's rows were made from)."""
    return engine.paths.root


def engine_error_types() -> tuple[type[BaseException], ...]:
    from runtime.errors import MoorError

    return (MoorError,)


def error_message(error: BaseException) -> str:
    """The engine's one-line message, as the user will read it on the job."""
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return message.strip().splitlines()[0] if message.strip() else type(error).__name__


def container_diff(engine, ref: str) -> list[dict]:
    """The container's file changes as `[{"kind": "A|C|D", "path": ..., "size": ...}]`."""
    return [{"kind": kind, "path": path, "size": size}
            for kind, path, size in engine.diff(ref)]


# -- published ports ---------------------------------------------------------------------------
# The web process checks a run request's ports with the engine's grammar.

def port_specs(specs: list[str]) -> list[tuple[str, list]]:
    """Each `-p` value with the ports it publishes (the engine's `PortSpec`s: `container_port`,
    `proto`, `host_ip` ("" for every address), `host_port` (0: the host picks one)); ValueError
    with the engine's message for the first one it would refuse, or for a host port
    published twice."""
    from runtime.errors import MoorError
    from runtime.network.ports import parse_port, parse_port_specs

    try:
        parsed = [(spec, parse_port(spec)) for spec in specs]
        parse_port_specs(specs)
    except MoorError as error:
        raise ValueError(error.message) from None
    return parsed


# -- pull and build ----------------------------------------------------------------------------
# Reading a reference or a Dockerfile is pure (no engine, no files): the web process checks a
# request with the engine's own grammar here, before it makes a job.

def pull_policy(deny=(), allow=()):
    """The engine's AddressPolicy for a pull made for a user: the host's own, loopback and
    link-local addresses and its containers' networks refused, `deny` too, `allow` let
    through (`MOORAGE_PULL_DENY`, `MOORAGE_PULL_ALLOW`)."""
    from runtime.image.distribution.policy import AddressPolicy

    return AddressPolicy(local=True, deny=deny, allow=allow,
                         names=("MOORAGE_PULL_DENY", "MOORAGE_PULL_ALLOW"))


def local_tag(text: str) -> str:
    """`text` as the engine stores a tag (`name:tag`, `latest` by default); ValueError with the
    engine's message when it is not a valid tag."""
    from runtime.errors import MoorError
    from runtime.image import reference

    try:
        parsed = reference.parse(text)
    except MoorError as error:
        raise ValueError(error.message) from None
    if parsed.digest:
        raise ValueError(f"{text}: a tag cannot hold a digest")
    return str(parsed)


def pulled_tag(text: str) -> str:
    """The tag a pull of `text` leaves on the host (`127.0.0.1:5000/app` -> `...app:latest`,
    `busybox` -> `busybox:latest`); '' for a pull by digest. ValueError when the engine would
    refuse the reference."""
    from runtime.errors import MoorError
    from runtime.image.distribution.names import locate

    try:
        location = locate(text)
    except MoorError as error:
        raise ValueError(error.message) from None
    return "" if location.digest else location.familiar_reference


def registry_of(text: str) -> str:
    """The registry a pull of `text` contacts, as `host[:port]` (Docker Hub: docker.io)."""
    from runtime.image.distribution.names import locate

    return locate(text).registry.lower()


LINE_SUFFIX = re.compile(r"\s*\(Dockerfile line (\d+)\)$")
PARSE_ERROR = re.compile(r"^Dockerfile parse error line (\d+): ")


def dockerfile_message(message: str, line: int | None = None) -> str:
    """A build error as `Dockerfile line N: ...` when the engine's message names its line, or
    when `line` (the step that was running) is known."""
    found = PARSE_ERROR.match(message)
    if found:
        return f"Dockerfile line {found.group(1)}: {message[found.end():]}"
    found = LINE_SUFFIX.search(message)
    if found:
        return f"Dockerfile line {found.group(1)}: {message[:found.start()]}"
    return f"Dockerfile line {line}: {message}" if line else message


def dockerfile_problem(text: str) -> str | None:
    """What is wrong with a Dockerfile that no build could get past (its syntax, its
    instructions), as `Dockerfile line N: ...`; None when it is fine."""
    from runtime.errors import MoorError
    from runtime.image.build import instructions, parser

    try:
        dockerfile = parser.parse(text)
        instructions.stages(dockerfile.instructions, dockerfile.escape)
        # The console adds a last instruction of its own: the file must end where its last
        # instruction does, not in a line continuation.
        closed = parser.parse(f"{text.rstrip()}\n{CLOSING_CHECK}\n").instructions
    except MoorError as error:
        return dockerfile_message(error.message)
    if closed[-1].original != CLOSING_CHECK:
        return (f"Dockerfile line {dockerfile.instructions[-1].line}: the last instruction "
                "ends with a line continuation")
    return None


CLOSING_CHECK = "LABEL moorage.check=1"


def named_images(text: str, build_args: dict) -> list[tuple[int, str, str]]:
    """(line, "FROM" or "COPY --from", name) of each image of the host a Dockerfile that
    `dockerfile_problem` accepts names, as the engine's build would read them: FROM with the
    ARGs before the first FROM and `build_args`; COPY --from when it names no variable (those
    may come from the image's ENV, which only the host knows). Build stages and `scratch`
    are not images of the host."""
    from runtime.errors import MoorError
    from runtime.image.build import instructions, parser
    from runtime.image.build.words import substitute

    dockerfile = parser.parse(text)
    escape = dockerfile.escape
    meta_args, stages = instructions.stages(dockerfile.instructions, escape)
    values = {}
    try:
        for command in meta_args:
            for name, default in command.names:
                known = {k: v for k, v in values.items() if v is not None}
                values[name] = build_args[name] if name in build_args else (
                    substitute(default, known, escape) if default is not None else None)
    except MoorError:
        return []       # the build itself will say what is wrong
    known = {k: v for k, v in values.items() if v is not None}
    found, built = [], set()
    for stage in stages:
        try:
            base = substitute(stage.base.image, known, escape)
        except MoorError:
            base = ""
        if base and base != "scratch" and base.lower() not in built:
            found.append((stage.base.node.line, "FROM", base))
        for command in stage.commands:
            source = getattr(command, "source_stage", None)
            if not source or "$" in source:
                continue
            try:
                source = substitute(source, {}, escape)
            except MoorError:
                continue
            if source and not source.isdigit() and source.lower() not in built \
                    and source.lower() != (stage.name or ""):
                found.append((command.node.line, "COPY --from", source))
        if stage.name:
            built.add(stage.name)
    return found


def instruction_lines(text: str) -> list[tuple[int, str]]:
    """(line, instruction as written) of each instruction of a Dockerfile, in order."""
    from runtime.image.build import parser

    return [(node.line, node.original) for node in parser.parse(text).instructions]


def unpack_context(stream, directory: str, *, max_bytes: int, max_entries: int,
                   max_depth: int) -> None:
    """Unpack an uploaded build context (tar, or tar compressed with gzip, bzip2 or xz) into
    the empty `directory` with the engine's layer unpacker, which opens every path inside the
    directory and never follows a link out of it, and refuses an entry nested more than
    `max_depth` path components deep."""
    from runtime.image.layer_unpack import LayerLimits, unpack_layer

    unpack_layer(stream, directory, limits=LayerLimits(max_bytes=max_bytes,
                                                       max_entries=max_entries,
                                                       max_depth=max_depth))


@contextlib.contextmanager
def working_directory(engine, prefix: str):
    """A new private directory under the engine's tmp/ (mode 0700; under the engine root only
    root reads), held so that `system gc` leaves it alone while the job works in it, and
    removed afterwards without recursion, however deep what was put in it."""
    from runtime import staging

    engine.paths.ensure()
    with staging.working_dir(engine.paths.tmp, prefix) as path:
        yield path


def untag(engine, reference: str) -> None:
    """Take the tag `reference` off its image (the image stays)."""
    with engine.store.lock():
        engine.store.untag(reference)
