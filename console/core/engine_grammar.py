"""The engine's own grammar for what users type, read in the web process: published ports
(`-p`), image references and tags, Dockerfiles, and Compose files with their `.env`. A
request is checked with the words the engine will read it with, before a job is made for it.

Everything here is pure: no engine, no files, no host (the Compose loader is called with
`read_files=False`: no `env_file`, no `.env` of a directory is read here). These are the
only engine modules the web side imports (tests/console/test_boundaries.py holds it to the
list); the rest of `runtime` belongs to the host agent (`console/agent/`).
"""
import re

from runtime.compose.interpolation import parse_env_file
from runtime.compose.normalize import port_spec
from runtime.compose.project import load as load_compose
from runtime.compose.source import parse as parse_compose_source
from runtime.errors import MoorError
from runtime.image.build.instructions import stages
from runtime.image.build.parser import parse as parse_dockerfile
from runtime.image.build.words import substitute
from runtime.image.distribution.names import locate
from runtime.image.reference import parse as parse_reference
from runtime.network.ports import parse_port, parse_port_specs

# -- published ports ---------------------------------------------------------------------------

def port_specs(specs: list[str]) -> list[tuple[str, list]]:
    """Each `-p` value with the ports it publishes (the engine's `PortSpec`s: `container_port`,
    `proto`, `host_ip` ("" for every address), `host_port` (0: the host picks one)); ValueError
    with the engine's message for the first one it would refuse, or for a host port
    published twice."""
    try:
        parsed = [(spec, parse_port(spec)) for spec in specs]
        parse_port_specs(specs)
    except MoorError as error:
        raise ValueError(error.message) from None
    return parsed


# -- image references --------------------------------------------------------------------------

def local_tag(text: str) -> str:
    """`text` as the engine stores a tag (`name:tag`, `latest` by default); ValueError with the
    engine's message when it is not a valid tag."""
    try:
        parsed = parse_reference(text)
    except MoorError as error:
        raise ValueError(error.message) from None
    if parsed.digest:
        raise ValueError(f"{text}: a tag cannot hold a digest")
    return str(parsed)


def pulled_tag(text: str) -> str:
    """The tag a pull of `text` leaves on the host (`127.0.0.1:5000/app` -> `...app:latest`,
    `busybox` -> `busybox:latest`); '' for a pull by digest. ValueError when the engine would
    refuse the reference."""
    try:
        location = locate(text)
    except MoorError as error:
        raise ValueError(error.message) from None
    return "" if location.digest else location.familiar_reference


def registry_of(text: str) -> str:
    """The registry a pull of `text` contacts, as `host[:port]` (Docker Hub: docker.io)."""
    return locate(text).registry.lower()


# -- Dockerfiles -------------------------------------------------------------------------------

LINE_SUFFIX = re.compile(r"\s*\(Dockerfile line (\d+)\)$")
PARSE_ERROR = re.compile(r"^Dockerfile parse error line (\d+): ")
# The console adds a last instruction of its own to a team's build (its team label): the file
# must end where its last instruction does, not in a line continuation.
CLOSING_CHECK = "LABEL moorage.check=1"


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
    try:
        dockerfile = parse_dockerfile(text)
        stages(dockerfile.instructions, dockerfile.escape)
        closed = parse_dockerfile(f"{text.rstrip()}\n{CLOSING_CHECK}\n").instructions
    except MoorError as error:
        return dockerfile_message(error.message)
    if closed[-1].original != CLOSING_CHECK:
        return (f"Dockerfile line {dockerfile.instructions[-1].line}: the last instruction "
                "ends with a line continuation")
    return None


def named_images(text: str, build_args: dict) -> list[tuple[int, str, str]]:
    """(line, "FROM" or "COPY --from", name) of each image of the host a Dockerfile that
    `dockerfile_problem` accepts names, as the engine's build would read them: FROM with the
    ARGs before the first FROM and `build_args`; COPY --from when it names no variable (those
    may come from the image's ENV, which only the host knows). Build stages and `scratch`
    are not images of the host."""
    dockerfile = parse_dockerfile(text)
    escape = dockerfile.escape
    meta_args, build_stages = stages(dockerfile.instructions, escape)
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
    for stage in build_stages:
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
    return [(node.line, node.original) for node in parse_dockerfile(text).instructions]


# -- Compose files (stacks) ------------------------------------------------------------------

COMPOSE_FILE = "compose.yaml"      # what messages call a stack's file
DOT_ENV = ".env"
# Where a stack's relative paths point in the web process's reading of it (bind mounts and
# build contexts are superusers' and are read on the host, from the stack's own directory).
STACK_DIRECTORY = "/stack"
LOCATION = re.compile(r"^(?:compose\.yaml|\.env), line (\d+): ")


def compose_line(message: str) -> int | None:
    """The line a Compose message (`compose.yaml, line 4: ...`) names, if it names one."""
    found = LOCATION.match(message)
    return int(found.group(1)) if found else None


def stack_variables(text: str) -> dict:
    """The variables of a stack's `.env` text, as `docker compose` reads a `.env` file
    (`${VAR}` inside it refers to the lines above); ValueError with `.env, line N: ...`."""
    values = {}
    try:
        values.update(parse_env_file(text, DOT_ENV, values.get))
    except MoorError as error:
        raise ValueError(error.message) from None
    return values


def compose_document(text: str):
    """The YAML document of a Compose file as written (before interpolation): `.data` and
    `.line(path)`; ValueError with the engine's message (bombs, depth, size, syntax)."""
    try:
        return parse_compose_source(text, COMPOSE_FILE)
    except MoorError as error:
        raise ValueError(error.message) from None


def stack_project(text: str, variables: dict, name: str):
    """The Compose project a stack's file makes, read as the engine reads it (the Compose
    Specification's schema, Moorage's supported keys, interpolation with `variables` and
    nothing else, dependencies, cycles, ports) but without reading any file of this machine;
    ValueError with the engine's message, which names the line. The project's `services`,
    `networks` and `volumes` are the engine's canonical model; `where(path)` locates one."""
    try:
        return load_compose(content=text, environ=variables, project_name=name,
                            working_dir=STACK_DIRECTORY, read_files=False)
    except MoorError as error:
        raise ValueError(error.message) from None


def compose_port_specs(ports: list[dict]) -> list[str]:
    """A service's canonical ports as the engine's `-p` values."""
    return [port_spec(port) for port in ports]
