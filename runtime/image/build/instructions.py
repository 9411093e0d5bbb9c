"""Instructions -> typed commands and build stages, checked before anything is built.

Each command keeps the parsed `Instruction` (its line and original text) and its arguments
still unsubstituted: variables are replaced when the step runs, with the environment of that
moment. Forms follow Docker: RUN, CMD and ENTRYPOINT take a JSON array (exec form) or a
string for the shell; COPY, ADD and VOLUME a JSON array or words; SHELL only JSON.
"""

import dataclasses
import json
import re

from runtime.image.build.parser import (
    HEREDOC_WORD,
    DockerfileError,
    Instruction,
    parse_instruction,
    shorten,
)
from runtime.image.build.words import split_words

STAGE_NAME = re.compile(r"^[a-z][a-z0-9._-]*$")
_LOOKS_LIKE_JSON = re.compile(r"^\[\s*[\"\]]")
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
                   "m": 60_000_000_000, "h": 3_600_000_000_000}
FLAGS = {
    "FROM": ("platform",),
    "COPY": ("from", "chown", "chmod"),
    "ADD": ("chown", "chmod"),
    "HEALTHCHECK": ("interval", "timeout", "start-period", "start-interval", "retries"),
}
# What the classic builder does not do, with the reason given to the user.
UNSUPPORTED_FLAGS = {
    ("RUN", "mount"): "RUN --mount needs BuildKit; this builder runs RUN without mounts",
    ("RUN", "network"): "RUN --network is not supported: the build's network is "
                          "`moor build --network`",
    ("RUN", "security"): "RUN --security is not supported",
    ("COPY", "link"): "COPY --link needs BuildKit",
    ("ADD", "link"): "ADD --link needs BuildKit",
    ("ADD", "checksum"): "ADD --checksum is only for URLs, which this builder does not fetch",
    ("ADD", "keep-git-dir"): "ADD of git repositories is not supported",
    ("COPY", "parents"): "COPY --parents needs BuildKit",
    ("COPY", "exclude"): "COPY --exclude needs BuildKit",
    ("ADD", "exclude"): "ADD --exclude needs BuildKit",
}
NOT_TRIGGERS = ("ONBUILD", "FROM", "MAINTAINER")


@dataclasses.dataclass(frozen=True)
class Command:
    node: Instruction

    @property
    def keyword(self) -> str:
        return self.node.keyword


@dataclasses.dataclass(frozen=True)
class From(Command):
    image: str                 # unsubstituted; ARGs declared before the first FROM apply
    stage_name: str | None
    platform: str | None


@dataclasses.dataclass(frozen=True)
class CommandLine(Command):
    """RUN, CMD, ENTRYPOINT: `exec_form` is a list; otherwise `shell_form` a string. A RUN
    that is a here-document starting with `#!` is a `script` (name, text) the shell runs
    from /dev/pipes/NAME, as BuildKit runs it."""
    exec_form: tuple | None
    shell_form: str | None
    script: tuple | None = None


@dataclasses.dataclass(frozen=True)
class Pairs(Command):
    """ENV, LABEL: (key, value) words still to substitute."""
    pairs: tuple


@dataclasses.dataclass(frozen=True)
class Arg(Command):
    names: tuple               # ((name, default word or None), ...)


@dataclasses.dataclass(frozen=True)
class Copy(Command):
    """COPY and ADD; `inline` are the here-documents among the sources (files named after
    their delimiters)."""
    sources: tuple
    destination: str
    source_stage: str | None   # COPY --from
    chown: str | None
    chmod: str | None
    inline: tuple = ()


@dataclasses.dataclass(frozen=True)
class Words(Command):
    """EXPOSE, VOLUME, SHELL: a list of words."""
    words: tuple


@dataclasses.dataclass(frozen=True)
class Text(Command):
    """USER, WORKDIR, STOPSIGNAL, MAINTAINER: one string."""
    text: str


@dataclasses.dataclass(frozen=True)
class Healthcheck(Command):
    test: tuple                # ("NONE",), ("CMD", ...), ("CMD-SHELL", "...")
    interval: int              # nanoseconds, 0 = inherit the default
    timeout: int
    start_period: int
    start_interval: int
    retries: int


@dataclasses.dataclass(frozen=True)
class Onbuild(Command):
    trigger: str               # the instruction stored in the image, as written


@dataclasses.dataclass(frozen=True)
class Stage:
    index: int
    base: From
    commands: tuple

    @property
    def name(self) -> str | None:
        return self.base.stage_name


def fail(node: Instruction, message: str):
    raise DockerfileError(node.line, message)


def _check_flags(node: Instruction) -> None:
    allowed = FLAGS.get(node.keyword, ())
    for name, value in node.flags:
        reason = UNSUPPORTED_FLAGS.get((node.keyword, name))
        if reason:
            fail(node, reason)
        if name not in allowed:
            fail(node, f"unknown flag: --{shorten(name, 40)} (for {node.keyword})")
        if value is None:
            fail(node, f"--{name} needs a value (--{name}=...)")


def json_list(node: Instruction, text: str) -> list[str] | None:
    """The exec form when `text` is a JSON array of strings; None when it is not meant as
    one; an error when it looks like one but is malformed."""
    if not _LOOKS_LIKE_JSON.match(text):
        return None
    try:
        value = json.loads(text)
    except ValueError as error:
        fail(node, f"{node.keyword}: invalid JSON array: {error.msg} (at character "
                   f"{error.pos + 1}); use [\"a\", \"b\"] or the shell form")
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        fail(node, f"{node.keyword}: the JSON array must hold only strings")
    return value


def _command_line(node: Instruction) -> CommandLine:
    if not node.arguments:
        fail(node, f"{node.keyword} requires at least one argument")
    exec_form = json_list(node, node.arguments)
    if exec_form is not None:
        if node.keyword == "RUN" and not exec_form:
            fail(node, "RUN requires at least one argument")
        return CommandLine(node, tuple(exec_form), None)
    if node.heredocs:
        return _heredoc_run(node)
    return CommandLine(node, None, node.arguments)


def _heredoc_run(node: Instruction) -> CommandLine:
    """RUN with here-documents, as BuildKit runs it: `RUN <<EOF` alone runs the document
    with the shell (or, when it starts with `#!`, as a script of its own); otherwise the
    shell gets the command line with the documents after it, and reads them itself."""
    first = node.heredocs[0]
    if HEREDOC_WORD.match(node.arguments.strip()):
        if first.text.startswith("#!"):
            if not re.fullmatch(r"[A-Za-z0-9_.-]+", first.name) or first.name in (".", ".."):
                fail(node, f"RUN: the script's delimiter {shorten(first.name)!r} cannot name "
                           "a file: use letters, digits, '.', '_' and '-'")
            return CommandLine(node, None, f"/dev/pipes/{first.name}",
                               script=(first.name, first.text))
        return CommandLine(node, None, first.text)
    return CommandLine(node, None, node.arguments + "".join(
        "\n" + heredoc.content + heredoc.name for heredoc in node.heredocs))


def _pairs(node: Instruction, escape: str) -> Pairs:
    words = split_words(node.arguments, escape)
    if not words:
        fail(node, f"{node.keyword} requires at least one argument")
    if "=" not in words[0]:
        # The legacy form: ENV NAME the rest of the line
        parts = re.split(r"[\t\v\f\r\n ]+", node.arguments, maxsplit=1)
        if len(parts) < 2:
            fail(node, f"{node.keyword} must have two arguments: {node.keyword} NAME=VALUE")
        return Pairs(node, ((parts[0], parts[1]),))
    pairs = []
    for word in words:
        key, sep, value = word.partition("=")
        if not sep:
            fail(node, f"syntax error - can't find = in {shorten(word)!r}; "
                       "must be of the form: name=value")
        if not key:
            fail(node, f"{node.keyword} names must not be empty")
        pairs.append((key, value))
    return Pairs(node, tuple(pairs))


def _arg(node: Instruction, escape: str) -> Arg:
    words = split_words(node.arguments, escape)
    if not words:
        fail(node, "ARG requires at least one argument")
    names = []
    for word in words:
        name, sep, default = word.partition("=")
        if not name or not all(c.isalnum() or c in "_.-" for c in name):
            fail(node, f"invalid ARG name {shorten(name)!r}")
        names.append((name, default if sep else None))
    return Arg(node, tuple(names))


def _copy(node: Instruction) -> Copy:
    words = json_list(node, node.arguments)
    if words is None:
        words = node.arguments.split()
    if len(words) < 2:
        fail(node, f"{node.keyword} requires at least two arguments, but only "
                   f"{len(words)} {'was' if len(words) == 1 else 'were'} provided; the "
                   "destination could not be determined")
    if not node.heredocs:
        return Copy(node, tuple(words[:-1]), words[-1], node.flag("from"),
                    node.flag("chown"), node.flag("chmod"))
    if HEREDOC_WORD.match(words[-1]):
        fail(node, f"{node.keyword}: a here-document cannot be the destination")
    documents = iter(node.heredocs)
    sources, inline = [], []
    for word in words[:-1]:
        match = HEREDOC_WORD.match(word)
        if match and match.group(3):
            inline.append(next(documents))
        else:
            sources.append(word)
    return Copy(node, tuple(sources), words[-1], node.flag("from"), node.flag("chown"),
                node.flag("chmod"), tuple(inline))


def _from(node: Instruction) -> From:
    words = node.arguments.split()
    if len(words) not in (1, 3):
        fail(node, "FROM requires either one or three arguments: FROM IMAGE [AS NAME]")
    name = None
    if len(words) == 3:
        if words[1].upper() != "AS":
            fail(node, f"FROM: expected 'AS NAME' after the image, found {shorten(words[1])!r}")
        name = words[2].lower()
        if not STAGE_NAME.match(name):
            fail(node, f"invalid name for build stage: {shorten(words[2])!r}: names start "
                       "with a letter and hold letters, digits, '.', '_' and '-'")
    return From(node, words[0], name, node.flag("platform"))


def parse_duration(node: Instruction, flag: str, text: str) -> int:
    """A Go duration (`30s`, `1m30s`, `500ms`) in nanoseconds."""
    position, total = 0, 0.0
    while position < len(text):
        match = _DURATION.match(text, position)
        if not match:
            fail(node, f"HEALTHCHECK --{flag}: invalid duration {shorten(text)!r} "
                       "(use e.g. 30s, 1m30s, 500ms)")
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    if not text:
        fail(node, f"HEALTHCHECK --{flag} needs a duration")
    return int(total)


def _healthcheck(node: Instruction) -> Healthcheck:
    words = node.arguments.split(None, 1)
    if not words:
        fail(node, "HEALTHCHECK requires an argument: CMD ... or NONE")
    kind = words[0].upper()
    if kind == "NONE":
        if len(words) > 1 or node.flags:
            fail(node, "HEALTHCHECK NONE takes no other arguments")
        return Healthcheck(node, ("NONE",), 0, 0, 0, 0, 0)
    if kind != "CMD":
        fail(node, f"unknown type {shorten(words[0])!r} in HEALTHCHECK (try CMD)")
    if len(words) < 2:
        fail(node, "HEALTHCHECK CMD requires a command")
    exec_form = json_list(node, words[1])
    test = ("CMD", *exec_form) if exec_form is not None else ("CMD-SHELL", words[1])
    durations = {}
    for flag in ("interval", "timeout", "start-period", "start-interval"):
        value = node.flag(flag)
        durations[flag] = parse_duration(node, flag, value) if value is not None else 0
        minimum = 0 if flag == "start-period" else 1_000_000
        if value is not None and durations[flag] < minimum:
            fail(node, f"HEALTHCHECK --{flag} cannot be less than 1ms")
    retries = node.flag("retries")
    if retries is not None and not retries.isdigit():
        fail(node, f"HEALTHCHECK --retries must be a whole number, not {shorten(retries)!r}")
    return Healthcheck(node, test, durations["interval"], durations["timeout"],
                       durations["start-period"], durations["start-interval"],
                       int(retries or 0))


def command(node: Instruction, escape: str) -> Command:
    """Check one instruction's flags and arguments and return its command."""
    _check_flags(node)
    keyword = node.keyword
    if keyword in ("RUN", "CMD", "ENTRYPOINT"):
        return _command_line(node)
    if keyword in ("ENV", "LABEL"):
        return _pairs(node, escape)
    if keyword == "ARG":
        return _arg(node, escape)
    if keyword in ("COPY", "ADD"):
        return _copy(node)
    if keyword == "FROM":
        return _from(node)
    if keyword == "HEALTHCHECK":
        return _healthcheck(node)
    if not node.arguments:
        fail(node, f"{keyword} requires at least one argument")
    if keyword == "SHELL":
        words = json_list(node, node.arguments)
        if words is None:
            fail(node, "SHELL requires the arguments to be in JSON form: "
                       "SHELL [\"executable\", \"parameters\"]")
        if not words:
            fail(node, "SHELL requires at least one argument")
        return Words(node, tuple(words))
    if keyword == "VOLUME":
        words = json_list(node, node.arguments)
        return Words(node, tuple(words if words is not None else node.arguments.split()))
    if keyword == "EXPOSE":
        return Words(node, tuple(node.arguments.split()))
    if keyword == "ONBUILD":
        trigger = parse_instruction(node.arguments, node.line)
        if trigger.keyword in NOT_TRIGGERS:
            fail(node, f"{trigger.keyword} isn't allowed as an ONBUILD trigger")
        command(trigger, escape)
        return Onbuild(node, node.arguments)
    return Text(node, node.arguments)  # USER, WORKDIR, STOPSIGNAL, MAINTAINER


def stages(instructions, escape: str) -> tuple[tuple, tuple]:
    """(ARGs before the first FROM, stages). Raises for a Dockerfile without FROM, an
    instruction before it, or a stage name used twice."""
    meta_args, result = [], []
    current_base, current = None, []
    names = set()
    for node in instructions:
        parsed = command(node, escape)
        if isinstance(parsed, From):
            if current_base is not None:
                result.append(Stage(len(result), current_base, tuple(current)))
            if parsed.stage_name:
                if parsed.stage_name in names:
                    fail(node, f"duplicate name for build stage: {parsed.stage_name!r}")
                names.add(parsed.stage_name)
            current_base, current = parsed, []
        elif current_base is None:
            if not isinstance(parsed, Arg):
                fail(node, f"{node.keyword} before FROM: a Dockerfile must begin with FROM "
                           "(only ARG may come before it)")
            meta_args.append(parsed)
        else:
            current.append(parsed)
    if current_base is None:
        if not instructions:
            raise DockerfileError(1, "the Dockerfile has no instructions")
        raise DockerfileError(instructions[-1].line, "the Dockerfile has no FROM instruction")
    result.append(Stage(len(result), current_base, tuple(current)))
    return tuple(meta_args), tuple(result)
