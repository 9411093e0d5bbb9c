"""The steps that change files without running a program: COPY, ADD and WORKDIR.

A step mounts the current image's layers under an empty upper dir in the build's staging
directory (an overlay, as a container's root, but with no container and no process), makes its
changes in the merged view through `openat2(RESOLVE_IN_ROOT)`, unmounts, and the upper dir
becomes the step's layer. A stage that starts `FROM scratch` has no layers: the mount then
shows an empty directory.
"""

import contextlib
import hashlib
import os
import posixpath
import re
import stat
import tempfile

from runtime.container import rootfs
from runtime.container.rootpath import Root
from runtime.container.users import resolve as resolve_user
from runtime.errors import MoorError
from runtime.image.build import copying, signals
from runtime.image.build.copying import CopyError, Destination
from runtime.image.build.parser import shorten
from runtime.image.build.words import substitute
from runtime.image.store import remove_tree

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://|^git@")
KERNEL_DIRECTORIES = ("/proc", "/sys")


class StepFileSystem:
    """An image's file system mounted read-write over an empty upper dir (use with `with`)."""

    def __init__(self, engine, staging: str, image_id: str | None):
        self.engine = engine
        self.staging = staging
        self.image_id = image_id
        self.directory = None

    @property
    def merged(self) -> str:
        return os.path.join(self.directory, "merged")

    @property
    def upper(self) -> str:
        return os.path.join(self.directory, "upper")

    def __enter__(self):
        store = self.engine.store
        chains = store.layers(self.image_id) if self.image_id else []
        links = [store.layer_link(chain) for chain in chains]
        self.directory = tempfile.mkdtemp(prefix="step-", dir=self.staging)
        try:
            for name in ("init", "upper", "work", "merged"):
                os.mkdir(os.path.join(self.directory, name), 0o755)
            os.chmod(os.path.join(self.directory, "upper"), 0o755)
            rootfs.mount_overlay(self.engine.paths.root, self.directory, links)
        except BaseException:
            self._release()
            raise
        return self

    def unmount(self) -> None:
        with signals.deferred():
            rootfs.unmount(self.merged)

    def _release(self) -> None:
        with signals.deferred():
            rootfs.unmount(self.merged)
            remove_tree(self.directory)

    def __exit__(self, *exc):
        self._release()


def absolute(path: str, working_dir: str | None) -> str:
    """A path of the image, relative ones taken from the working directory."""
    joined = posixpath.join(working_dir or "/", path)
    return "/" + posixpath.normpath(joined).lstrip("/")


def chown_ids(root: Root, spec: str) -> tuple[int, int]:
    """`--chown=user[:group]`, names looked up in the image's own /etc/passwd and /etc/group;
    without a group the group ID is the user ID (Docker's rule)."""
    user_part, sep, _ = spec.partition(":")
    user = resolve_user(root, spec if sep else user_part)
    return (user.uid, user.gid) if sep else (user.uid, user.uid)


def copy_step(builder, state, command) -> None:
    keyword = command.keyword
    env = state.substitution_env()
    sources = [substitute(s, env, state.escape) for s in command.sources]
    destination = substitute(command.destination, env, state.escape)
    if not destination:
        raise CopyError(f"{keyword} failed: the destination is empty")
    for source in sources:
        if keyword == "ADD" and _URL.match(source):
            raise CopyError(f"ADD failed: {shorten(source)}: fetching URLs is not supported "
                            "by this builder; download the file into the build context and "
                            "COPY it")
    chown = substitute(command.chown, env, state.escape) if command.chown else None
    chmod_text = substitute(command.chmod, env, state.escape) if command.chmod else None
    chmod = copying.parse_chmod(chmod_text)
    target = absolute(destination, state.config.get("WorkingDir"))
    into_directory = destination.endswith(("/", "/.")) or destination == "."

    with builder.source_root(command.source_stage, state) as source_root, \
            _documents(builder, state, command) as documents:
        found = []     # (root, path): the context's (or --from's) sources, then documents
        for source in sources:
            found.extend((source_root, path)
                         for path in copying.find_sources(source_root, source, keyword))
        found.extend((documents, "/" + document.name) for document in command.inline)
        if len(found) > 1 and not into_directory:
            raise CopyError(f"When using {keyword} with more than one source file, the "
                            "destination must be a directory and end with a /")
        parts = [copying.source_hash(root, [path]) for root, path in found]
        digest = parts[0] if len(parts) == 1 else \
            "multi:" + hashlib.sha256(",".join(parts).encode()).hexdigest()
        flags = "".join(f"--{name}={value} " for name, value in
                        (("chown", chown), ("chmod", chmod_text)) if value)
        created_by = state.nop(f"{keyword} {flags}{digest} in {destination} ")
        if builder.try_cache(state, created_by):
            return
        with StepFileSystem(builder.engine, builder.staging, state.image_id) as step:
            with Root(step.merged) as root:
                owner = chown_ids(root, chown) if chown else (0, 0)
                into = Destination(root, owner, chmod)
                try:
                    for root, path in found:
                        # A document is a file as written, even for ADD.
                        _copy_one(builder, keyword if root is source_root else "COPY", root,
                                  path, into, target, into_directory, chown is not None)
                except OSError as error:
                    raise copying.os_error(error, keyword) from None
            step.unmount()
            builder.commit_files(state, created_by, step.upper)


@contextlib.contextmanager
def _documents(builder, state, command):
    """The here-documents of a COPY or ADD as files named after their delimiters (mode
    0644, `$VAR` substituted unless the delimiter was quoted), in a directory of the
    build's, opened as a Root; None without any."""
    if not command.inline:
        yield None
        return
    directory = tempfile.mkdtemp(prefix="heredoc-", dir=builder.staging)
    try:
        env = state.substitution_env()
        for document in command.inline:
            if "/" in document.name or document.name in (".", ".."):
                raise CopyError(f"{command.keyword}: {shorten(document.name)!r} cannot name "
                                "a here-document's file")
            text = expand_variables(document.text, env, state.escape) if document.expand \
                else document.text
            path = os.path.join(directory, document.name)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(path, 0o644)
        with Root(directory) as root:
            yield root
    finally:
        with signals.deferred():
            remove_tree(directory)


_VARIABLE = re.compile(r"\\\$|\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*")


def expand_variables(text: str, env: dict, escape: str) -> str:
    """`$NAME` and `${NAME...}` in a here-document, as a shell expands an unquoted one;
    quotes and everything else are left as they are, `\\$` is a `$`."""
    def one(match) -> str:
        word = match.group(0)
        return "$" if word == "\\$" else substitute(word, env, escape)
    return _VARIABLE.sub(one, text)


def _copy_one(builder, keyword: str, source_root: Root, path: str, into: Destination,
              target: str, into_directory: bool, chowned: bool) -> None:
    fd, st = copying.open_source(source_root, path)
    try:
        if stat.S_ISDIR(st.st_mode):
            directory = into.directory(target)
            try:
                into.write_tree(fd, directory)
            finally:
                os.close(directory)
        elif keyword == "ADD" and copying.is_archive(fd):
            unpacked = tempfile.mkdtemp(prefix="add-", dir=builder.staging)
            try:
                copying.unpack_archive(fd, unpacked, path.lstrip("/"))
                extracted = Destination(into.root, into.owner if chowned else None, into.chmod)
                source = os.open(unpacked, copying.DIRECTORY_FLAGS)
                directory = into.directory(target)
                try:
                    extracted.write_tree(source, directory)
                finally:
                    os.close(source)
                    os.close(directory)
            finally:
                with signals.deferred():
                    remove_tree(unpacked)
        else:
            if into_directory or into.is_directory(target):
                parent, name = target, posixpath.basename(path)
            else:
                parent, name = posixpath.split(target)
            directory = into.directory(parent)
            try:
                into.write_file(fd, st, directory, name)
            finally:
                os.close(directory)
    finally:
        os.close(fd)


def workdir_step(builder, state, command) -> None:
    text = substitute(command.text, state.substitution_env(), state.escape)
    if not text:
        raise MoorError("WORKDIR requires a path")
    path = absolute(text, state.config.get("WorkingDir"))
    if any(path == d or path.startswith(d + "/") for d in KERNEL_DIRECTORIES):
        raise MoorError(f"WORKDIR {path}: a working directory cannot be inside /proc or "
                        "/sys, which the kernel provides when a container runs")
    state.config["WorkingDir"] = path
    created_by = state.nop(f"WORKDIR {path}")
    if builder.try_cache(state, created_by):
        return
    with StepFileSystem(builder.engine, builder.staging, state.image_id) as step:
        with Root(step.merged) as root:
            try:
                os.close(Destination(root, (0, 0), None).directory(path))
            except (OSError, CopyError) as error:
                reason = error.message if isinstance(error, CopyError) else error.strerror
                raise MoorError(f"WORKDIR {path}: cannot create it: {reason}") from None
        step.unmount()
        builder.commit_files(state, created_by, step.upper)
