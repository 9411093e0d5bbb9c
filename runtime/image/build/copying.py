"""COPY and ADD: finding the sources, hashing them for the cache, copying them into an image.

Both sides are untrusted trees opened as a `Root` (`openat2(RESOLVE_IN_ROOT)`): the sources
are the context snapshot or another stage's file system, the destination is the step's own
overlay mount. A source path is the context-relative path the user wrote (`..` that climbs
out is refused; `/x` means the context's `x`, as in Docker); the source itself may be a
symlink, resolved inside its root; below it nothing is followed. On the destination side
directories are resolved inside the image and every entry is written relative to an open
directory with O_NOFOLLOW, so neither side's symlinks can make the copy touch the host.

Cache keys follow the classic builder: `file:<sha256>` for one file, `dir:<sha256>` for a
directory, `multi:<sha256>` for several, hashed over each entry's name, type, mode, size,
link target and content (not its time or owner: COPY sets the owner).
"""

import errno
import hashlib
import os
import posixpath
import stat
import tarfile

from runtime.container.rootpath import Root
from runtime.errors import InvalidArgument, MoorError, NotFound
from runtime.fdtree import TreeCopy
from runtime.image.build.context import MAX_DEPTH, TooDeep, has_glob, pattern_regex

DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_ARCHIVE_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")


class CopyError(MoorError):
    """A COPY or ADD that cannot be done."""


# -- sources ---------------------------------------------------------------------------------

def clean_source(text: str, keyword: str) -> str:
    """The source as a path inside its root ("/a/b"); refuses one that climbs out."""
    relative = posixpath.normpath(text.lstrip("/") or ".")
    if relative == ".." or relative.startswith("../"):
        raise CopyError(f"{keyword} failed: forbidden path outside the build context: {text}")
    return "/" if relative == "." else "/" + relative


def find_sources(root: Root, text: str, keyword: str) -> list[str]:
    """The in-root paths `text` names: itself, or what its glob matches (Go's filepath.Match,
    component by component, in name order)."""
    path = clean_source(text, keyword)
    if not has_glob(path):
        if not root.exists(path):
            raise NotFound(f"{keyword} failed: file not found in build context or excluded "
                           f"by .dockerignore: stat {path.lstrip('/') or '.'}: file does not "
                           "exist")
        return [path]
    matches = ["/"]
    for component in [c for c in path.split("/") if c]:
        regex = pattern_regex(component, double_star=False) if has_glob(component) else None
        found = []
        for directory in matches:
            try:
                fd = root.open(directory, DIRECTORY_FLAGS & ~os.O_NOFOLLOW)
            except OSError:
                continue
            try:
                names = sorted(os.listdir(fd))
            finally:
                os.close(fd)
            for name in names:
                if (regex.match(name) if regex else name == component):
                    found.append(posixpath.join(directory, name))
        matches = found
    if not matches:
        raise NotFound(f"{keyword} failed: no source files were specified: {text!r} matches "
                       "nothing in the build context")
    return matches


def open_source(root: Root, path: str) -> tuple[int, os.stat_result]:
    """An fd of the source (a symlink resolved inside the root) and its stat."""
    fd = root.open(path, os.O_PATH)
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            opened = root.open(path, os.O_RDONLY | os.O_DIRECTORY)
        elif stat.S_ISREG(st.st_mode):
            opened = root.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        else:
            raise CopyError(f"cannot copy {path}: not a file or directory")
    finally:
        os.close(fd)
    return opened, st


# -- cache key -------------------------------------------------------------------------------

def _entry_record(name: str, st, link: str = "") -> bytes:
    kind = "d" if stat.S_ISDIR(st.st_mode) else "l" if stat.S_ISLNK(st.st_mode) else \
        "f" if stat.S_ISREG(st.st_mode) else "o"
    size = st.st_size if kind == "f" else 0
    return f"{name}\0{kind}\0{stat.S_IMODE(st.st_mode):o}\0{size}\0{link}\0".encode(
        "utf-8", "surrogateescape")


def _file_digest(fd: int) -> bytes:
    digest = hashlib.sha256()
    os.lseek(fd, 0, os.SEEK_SET)
    while True:
        data = os.read(fd, 1 << 20)
        if not data:
            break
        digest.update(data)
    os.lseek(fd, 0, os.SEEK_SET)
    return digest.digest()


def _tree_digest(directory: int, prefix: str, digest) -> None:
    if prefix.count("/") >= MAX_DEPTH:
        raise TooDeep(prefix)
    for name in sorted(os.listdir(directory)):
        st = os.lstat(name, dir_fd=directory)
        path = f"{prefix}/{name}" if prefix else name
        if stat.S_ISLNK(st.st_mode):
            digest.update(_entry_record(path, st, os.readlink(name, dir_fd=directory)))
        elif stat.S_ISREG(st.st_mode):
            digest.update(_entry_record(path, st))
            fd = os.open(name, FILE_FLAGS, dir_fd=directory)
            try:
                digest.update(_file_digest(fd))
            finally:
                os.close(fd)
        elif stat.S_ISDIR(st.st_mode):
            digest.update(_entry_record(path, st))
            fd = os.open(name, DIRECTORY_FLAGS, dir_fd=directory)
            try:
                _tree_digest(fd, path, digest)
            finally:
                os.close(fd)
        else:
            digest.update(_entry_record(path, st))


def source_hash(root: Root, paths: list[str]) -> str:
    """`file:<hex>`, `dir:<hex>` or `multi:<hex>` of the sources' content."""
    parts = []
    for path in paths:
        fd, st = open_source(root, path)
        try:
            digest = hashlib.sha256()
            if stat.S_ISDIR(st.st_mode):
                _tree_digest(fd, "", digest)
                parts.append("dir:" + digest.hexdigest())
            else:
                digest.update(_entry_record(posixpath.basename(path), st))
                digest.update(_file_digest(fd))
                parts.append("file:" + digest.hexdigest())
        finally:
            os.close(fd)
    if len(parts) == 1:
        return parts[0]
    return "multi:" + hashlib.sha256(",".join(parts).encode()).hexdigest()


# -- archives (ADD) -------------------------------------------------------------------------

def is_archive(fd: int) -> bool:
    """A tar archive, plain or compressed, recognised by its content (as Docker's ADD)."""
    from runtime.image.layer_unpack import decompressed
    head = os.pread(fd, 6, 0)
    if not head:
        return False
    with os.fdopen(os.dup(fd), "rb") as stream:
        try:
            block = decompressed(stream).read(tarfile.BLOCKSIZE) if head.startswith(
                _ARCHIVE_MAGIC) else stream.read(tarfile.BLOCKSIZE)
        except (MoorError, OSError, EOFError, ValueError):
            return head.startswith(_ARCHIVE_MAGIC[3])  # zstd: the unpacker says why it can't
    if len(block) < tarfile.BLOCKSIZE:
        return False
    try:
        tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
    except tarfile.HeaderError:
        return False
    return True


def unpack_archive(fd: int, target: str, name: str) -> None:
    """Unpack the archive into the empty staging directory `target` with the layer unpacker,
    which refuses entries that climb out, links out and device tricks."""
    from runtime.image.layer_unpack import unpack_layer
    with os.fdopen(os.dup(fd), "rb") as stream:
        stream.seek(0)
        try:
            unpack_layer(stream, target)
        except MoorError as error:
            raise CopyError(f"ADD failed: cannot extract {name}: {error.message}") from None


# -- writing into the image -------------------------------------------------------------------

class Destination:
    """The step's file system (a Root) and how new files are owned and moded."""

    def __init__(self, root: Root, owner: tuple[int, int] | None, chmod: int | None):
        self.root = root
        self.owner = owner      # None keeps the source's owners (ADD of an archive)
        self.chmod = chmod
        # Device nodes (and the whiteouts of an unpacked archive) are not copied.
        self.copier = TreeCopy(owner=owner if owner is not None else "source", mode=chmod,
                               devices=False, max_depth=MAX_DEPTH, too_deep=TooDeep,
                               error=CopyError)

    def directory(self, path: str) -> int:
        """An fd of directory `path` in the image, created (root:root or the --chown owner,
        0755) where missing."""
        current = "/"
        for part in [p for p in path.split("/") if p]:
            parent = self.root.open(current, os.O_PATH | os.O_DIRECTORY)
            try:
                try:
                    os.mkdir(part, 0o700, dir_fd=parent)
                    os.chown(part, *(self.owner or (0, 0)), dir_fd=parent,
                             follow_symlinks=False)
                    os.chmod(part, 0o755, dir_fd=parent)  # whatever the umask
                except FileExistsError:
                    pass
            finally:
                os.close(parent)
            current = posixpath.join(current, part)
        try:
            return self.root.open(current, os.O_RDONLY | os.O_DIRECTORY)
        except NotADirectoryError:
            raise CopyError(f"cannot copy to {path}: it is not a directory") from None

    def is_directory(self, path: str) -> bool:
        try:
            os.close(self.root.open(path, os.O_PATH | os.O_DIRECTORY))
            return True
        except OSError:
            return False

    def write_file(self, source: int, st, directory: int, name: str) -> None:
        self.copier.file(source, st, directory, name)

    def write_tree(self, source: int, directory: int, depth: int = 0) -> None:
        """The contents of the open source directory into the open target directory."""
        self.copier.contents(source, directory, depth)


def parse_chmod(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        mode = int(text, 8)
    except ValueError:
        raise InvalidArgument(f"invalid --chmod {text!r}: an octal mode like 0755 is "
                              "expected") from None
    if not 0 <= mode <= 0o7777:
        raise InvalidArgument(f"invalid --chmod {text!r}: out of range")
    return mode


def os_error(error: OSError, keyword: str) -> CopyError:
    name = error.filename if isinstance(error.filename, str) else ""
    reason = error.strerror or errno.errorcode.get(error.errno, str(error))
    return CopyError(f"{keyword} failed: {name + ': ' if name else ''}{reason}")
