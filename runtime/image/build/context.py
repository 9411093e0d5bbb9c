"""The build context: `.dockerignore` rules, and the snapshot of the context a build reads.

As Docker's client sends the daemon a tar of the context, a build first copies the context
directory, minus what `.dockerignore` excludes, into its private staging directory. Every
COPY/ADD then reads that snapshot through `openat2(RESOLVE_IN_ROOT)`, so a symlink in the
context (to `/etc`, `../..`) resolves inside the snapshot and never reaches the host, and the
files cannot change between the cache check and the copy.

`.dockerignore` follows moby's patternmatcher: one pattern a line, `#` comments, `!` makes an
exception, patterns are cleaned (`./a/` is `a`), Go's `filepath.Match` syntax plus `**` for
any number of directories, a pattern that matches a directory excludes what is inside it, and
the last pattern that matches a path decides.
"""

import errno
import os
import posixpath
import re
import stat

from runtime.errors import MoorError
from runtime.fdtree import copy_data

DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
MAX_DOCKERIGNORE = 1 << 20
CHUNK = 1 << 20
# Deeper trees are refused rather than walked: the walks recurse once per level.
MAX_DEPTH = 256


class TooDeep(MoorError):
    """A directory tree nested deeper than MAX_DEPTH."""

    def __init__(self, path: str):
        shown = path if len(path) <= 80 else path[:80] + "…"
        super().__init__(f"{shown}: directories nested deeper than {MAX_DEPTH} levels are "
                         "not supported")


def pattern_regex(pattern: str, double_star: bool) -> re.Pattern:
    """A Go `filepath.Match` pattern as an anchored regex: `*` and `?` never match `/`,
    `[...]` is a class, `\\` escapes. With `double_star`, `**` matches any number of
    directories (moby's .dockerignore extension)."""
    out = ["^"]
    index = 0
    while index < len(pattern):
        char = pattern[index]
        index += 1
        if char == "*":
            if double_star and pattern.startswith("*", index):
                index += 1
                if pattern.startswith("/", index):
                    index += 1
                out.append(".*" if index >= len(pattern) else "(?:.*/)?")
            else:
                out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", index + 1)
            if end < 0:
                out.append(re.escape(char))
                continue
            body = pattern[index:end]
            index = end + 1
            negate = body.startswith("^")
            body = body[1:] if negate else body
            escaped = "".join("\\" + c if c in "\\[]" else c for c in body)
            out.append(f"[{'^' if negate else ''}{escaped}]")
        elif char == "\\" and index < len(pattern):
            out.append(re.escape(pattern[index]))
            index += 1
        else:
            out.append(re.escape(char))
    out.append("$")
    return re.compile("".join(out), re.DOTALL)


def has_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


class IgnoreRules:
    """The patterns of a `.dockerignore`, in order; `(regex, text, is_exception)`."""

    def __init__(self, lines=()):
        self.patterns = []
        for raw in lines:
            if raw.startswith("#"):
                continue
            text = raw.strip()
            if not text:
                continue
            exception = text.startswith("!")
            if exception:
                text = text[1:].strip()
                if not text:
                    continue
            text = posixpath.normpath(text)
            if len(text) > 1 and text.startswith("/"):
                text = text.lstrip("/") or "/"
            self.patterns.append((pattern_regex(text, double_star=True), text, exception))

    @classmethod
    def read(cls, context_dir: str) -> "IgnoreRules":
        try:
            fd = os.open(os.path.join(context_dir, ".dockerignore"), FILE_FLAGS)
        except FileNotFoundError:
            return cls()
        except OSError as error:
            if error.errno == errno.ELOOP:  # a symlink: not followed, as the rest
                return cls()
            raise
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return cls()
            data = os.read(fd, MAX_DOCKERIGNORE + 1)
        finally:
            os.close(fd)
        if len(data) > MAX_DOCKERIGNORE:
            raise MoorError(".dockerignore is larger than 1 MiB")
        text = data.decode("utf-8", "replace").removeprefix("\ufeff")
        return cls(text.split("\n"))

    @property
    def has_exceptions(self) -> bool:
        return any(exception for _, _, exception in self.patterns)

    def excluded(self, path: str) -> bool:
        """Whether the context-relative `path` ("a/b/c") is left out."""
        parents = path.split("/")[:-1]
        result = False
        for regex, _, exception in self.patterns:
            matched = bool(regex.match(path))
            if not matched:
                for depth in range(1, len(parents) + 1):
                    if regex.match("/".join(parents[:depth])):
                        matched = True
                        break
            if matched:
                result = not exception
        return result

    def may_include_below(self, directory: str) -> bool:
        """Whether an exception could bring back something inside an excluded directory
        (moby walks into it only then)."""
        prefix = directory + "/"
        return any(exception and (text + "/").startswith(prefix)
                   for _, text, exception in self.patterns)


def snapshot(context_dir: str, target: str, rules: IgnoreRules) -> int:
    """Copy the context into the empty directory `target`, leaving out what `rules` exclude
    and anything that is not a directory, regular file or symlink. Symlinks are copied as
    links, never followed. Returns the bytes copied."""
    source = os.open(context_dir, DIRECTORY_FLAGS)
    destination = os.open(target, DIRECTORY_FLAGS)
    try:
        return _copy_directory(source, destination, "", rules)
    finally:
        os.close(source)
        os.close(destination)


def _copy_directory(source: int, destination: int, relative: str, rules: IgnoreRules) -> int:
    if relative.count("/") >= MAX_DEPTH:
        raise TooDeep(f"build context: {relative}")
    total = 0
    for entry in sorted(os.scandir(source), key=lambda e: e.name):
        name = entry.name
        path = f"{relative}/{name}" if relative else name
        st = entry.stat(follow_symlinks=False)
        excluded = rules.excluded(path)
        if stat.S_ISDIR(st.st_mode):
            if excluded and not (rules.has_exceptions and rules.may_include_below(path)):
                continue
            os.mkdir(name, 0o700, dir_fd=destination)
            child_source = os.open(name, DIRECTORY_FLAGS, dir_fd=source)
            child_destination = os.open(name, DIRECTORY_FLAGS, dir_fd=destination)
            try:
                total += _copy_directory(child_source, child_destination, path, rules)
                os.fchmod(child_destination, stat.S_IMODE(st.st_mode))
                os.utime(child_destination, ns=(st.st_atime_ns, st.st_mtime_ns))
            finally:
                os.close(child_source)
                os.close(child_destination)
        elif excluded:
            continue
        elif stat.S_ISREG(st.st_mode):
            total += _copy_file(source, name, destination, st)
        elif stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(name, dir_fd=source), name, dir_fd=destination)
            os.utime(name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=destination,
                     follow_symlinks=False)
    return total


def _copy_file(source_dir: int, name: str, destination_dir: int, st) -> int:
    source = os.open(name, FILE_FLAGS, dir_fd=source_dir)
    try:
        target = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW |
                         os.O_CLOEXEC, 0o600, dir_fd=destination_dir)
        try:
            copied = copy_data(source, target)
            os.fchmod(target, stat.S_IMODE(st.st_mode))
            os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
        finally:
            os.close(target)
    finally:
        os.close(source)
    return copied
