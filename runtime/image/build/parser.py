"""Dockerfile text -> instructions, with Docker's rules for lines.

- Parser directives (`# escape=` and the ignored `# syntax=`/`# check=`) only at the very top;
  the first other line ends them.
- A line whose first non-blank character is `#` is a comment, also in the middle of a
  continued instruction; blank lines inside a continuation are skipped.
- A line ending in the escape character (`\\`, or `` ` ``) continues on the next one; the
  escape character is dropped and the lines are joined as they are.
- The first word is the instruction, in any case; leading `--name[=value]` words are its
  flags. Everything else is left to `instructions.py`.
- Here-documents, as BuildKit's Dockerfile frontend reads them, in RUN, COPY and ADD (not in
  their JSON form): each word `<<NAME` (`<<-NAME` strips leading tabs, a quoted `<<"NAME"`
  leaves `$VAR` alone) takes the lines after the instruction, up to a line that is NAME, as
  its content.

Every error names its line: `Dockerfile parse error line 3: unknown instruction: FORM`.
"""

import dataclasses
import re

from runtime.errors import InvalidArgument

KEYWORDS = frozenset((
    "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
    "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"))
# Docker's scanner refuses longer physical lines ("bufio.Scanner: token too long").
MAX_LINE = 64 * 1024
MAX_DOCKERFILE = 16 << 20

_DIRECTIVE = re.compile(r"^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$")
_KNOWN_DIRECTIVES = ("escape", "syntax", "check")
_WHITESPACE = re.compile(r"[\t\v\f\r ]+")


class DockerfileError(InvalidArgument):
    """A Dockerfile that cannot be parsed; the message names the line."""

    def __init__(self, line: int, message: str):
        super().__init__(f"Dockerfile parse error line {line}: {message}")
        self.line = line


@dataclasses.dataclass(frozen=True)
class Heredoc:
    name: str            # the delimiter, without quotes: the file name for COPY <<NAME
    content: str         # the lines, each with its newline, as written
    chomp: bool          # <<-NAME: leading tabs of each line are dropped
    expand: bool         # an unquoted delimiter: $VAR in the content is substituted

    @property
    def text(self) -> str:
        """The content as used: without leading tabs when chomped."""
        return re.sub(r"(?m)^\t+", "", self.content) if self.chomp else self.content


@dataclasses.dataclass(frozen=True)
class Instruction:
    line: int            # physical line the instruction starts on (1-based)
    keyword: str         # upper case: "RUN"
    flags: tuple         # (("from", "builder"), ("chown", "1:1")); a bare flag has None
    arguments: str       # the text after the keyword and its flags
    original: str        # the instruction as written, continuation lines joined
    heredocs: tuple = ()  # the here-documents its words open, in order

    def flag(self, name: str, default=None):
        for key, value in self.flags:
            if key == name:
                return value
        return default


@dataclasses.dataclass(frozen=True)
class Dockerfile:
    escape: str
    instructions: tuple


def shorten(text: str, limit: int = 60) -> str:
    """A piece of user input fit for a one-line message."""
    return text if len(text) <= limit else text[:limit] + "…"


def parse(text: str) -> Dockerfile:
    if len(text) > MAX_DOCKERFILE:
        raise InvalidArgument(f"the Dockerfile is larger than {MAX_DOCKERFILE >> 20} MiB")
    lines = text.removeprefix("\ufeff").split("\n")
    for number, line in enumerate(lines, 1):
        if len(line) > MAX_LINE:
            raise DockerfileError(number, f"line is longer than {MAX_LINE} characters")
        if "\0" in line:
            raise DockerfileError(number, "the line holds a NUL character")
    escape, index = _directives(lines)
    continuation = re.compile(re.escape(escape) + r"[ \t]*$")
    instructions = []
    while index < len(lines):
        start = index + 1
        line = lines[index].rstrip("\r").lstrip()
        index += 1
        if not line or line.startswith("#"):
            continue
        joined, continued = _strip_continuation(line, continuation)
        while continued and index < len(lines):
            line = lines[index].rstrip("\r")
            index += 1
            stripped = line.strip()
            if stripped.startswith("#") or not stripped:
                continue
            piece, continued = _strip_continuation(line, continuation)
            joined += piece
        if joined.strip():
            node = parse_instruction(joined, start)
            heredocs = []
            for name, chomp, expand in heredoc_words(node, escape):
                content, index = _heredoc_content(lines, index, name, chomp, start)
                heredocs.append(Heredoc(name, content, chomp, expand))
            if heredocs:
                node = dataclasses.replace(node, heredocs=tuple(heredocs))
            instructions.append(node)
    return Dockerfile(escape=escape, instructions=tuple(instructions))


HEREDOC_KEYWORDS = ("RUN", "COPY", "ADD")
HEREDOC_WORD = re.compile(r"^(\d*)<<(-?)([^<]*)$")


def heredoc_words(node: "Instruction", escape: str) -> list[tuple[str, bool, bool]]:
    """(name, chomp, expand) of each here-document the instruction's words open."""
    if node.keyword not in HEREDOC_KEYWORDS or node.arguments.lstrip().startswith("["):
        return []
    from runtime.image.build.words import split_words
    found = []
    for word in split_words(node.arguments, escape):
        match = HEREDOC_WORD.match(word)
        if not match or not match.group(3):
            continue
        rest = match.group(3)
        name = re.sub(r"['\"]", "", rest.replace(escape, ""))
        if not name:
            continue
        found.append((name, match.group(2) == "-", not any(q in rest for q in "'\"")))
    return found


def _heredoc_content(lines: list[str], index: int, name: str, chomp: bool,
                     start: int) -> tuple[str, int]:
    """The lines from `index` up to the terminator line, and the index after it."""
    content = []
    while index < len(lines):
        line = lines[index].rstrip("\r")
        index += 1
        if (line.lstrip("\t") if chomp else line) == name:
            return "".join(content), index
        content.append(lines[index - 1] + "\n")
    raise DockerfileError(start, f"unterminated heredoc {shorten(name)}: no line {name!r} "
                                 "ends it")


def _directives(lines: list[str]) -> tuple[str, int]:
    escape = "\\"
    seen = set()
    index = 0
    while index < len(lines):
        match = _DIRECTIVE.match(lines[index].rstrip("\r"))
        if not match or match.group(1).lower() not in _KNOWN_DIRECTIVES:
            break
        name, value = match.group(1).lower(), match.group(2)
        if name in seen:
            raise DockerfileError(index + 1, f"only one {name} parser directive can be used")
        seen.add(name)
        if name == "escape":
            if value not in ("\\", "`"):
                raise DockerfileError(index + 1, f"invalid escape token {shorten(value)!r}: "
                                                 "use \\ or `")
            escape = value
        index += 1
    return escape, index


def _strip_continuation(line: str, continuation: re.Pattern) -> tuple[str, bool]:
    stripped, count = continuation.subn("", line)
    return stripped, bool(count)


def parse_instruction(text: str, line: int) -> Instruction:
    """One logical line -> an Instruction (also used for ONBUILD triggers)."""
    text = text.strip()
    parts = _WHITESPACE.split(text, maxsplit=1)
    keyword = parts[0].upper()
    if keyword not in KEYWORDS:
        raise DockerfileError(line, f"unknown instruction: {shorten(parts[0])}")
    rest = parts[1] if len(parts) > 1 else ""
    flags, rest = _flags(rest, line)
    return Instruction(line=line, keyword=keyword, flags=tuple(flags), arguments=rest.strip(),
                       original=text)


def _flags(rest: str, line: int) -> tuple[list, str]:
    """Leading `--name=value` / `--name` words; `--` alone ends them."""
    flags = []
    while True:
        stripped = rest.lstrip()
        if not stripped.startswith("--"):
            return flags, stripped
        end = _WHITESPACE.search(stripped)
        word = stripped[:end.start()] if end else stripped
        rest = stripped[len(word):]
        if word == "--":
            return flags, rest.lstrip()
        name, sep, value = word[2:].partition("=")
        if not name:
            raise DockerfileError(line, f"invalid flag {shorten(word)!r}")
        if sep and len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        flags.append((name, value if sep else None))
