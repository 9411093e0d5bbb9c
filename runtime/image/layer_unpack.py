"""Unpack an OCI layer archive into a directory that overlayfs can use as a lower layer.

The archive is untrusted. Each name is cleaned, each parent directory is opened inside the
destination one component at a time with O_NOFOLLOW starting from an fd of the destination,
and every write is relative to such a directory fd. A symlink in a parent position refuses the
entry, so nothing outside the destination is ever created, changed or removed. tarfile only
parses headers here (streaming); members are written by this module, with numeric owners.

OCI whiteouts become overlay whiteouts: `dir/.wh.NAME` is a character device 0/0 named NAME,
`dir/.wh..wh..opq` is the xattr trusted.overlay.opaque=y on `dir`. A whiteout only hides what
lower layers have, so a whiteout for a path this layer itself created leaves it alone (a
directory becomes opaque), and a directory that replaces a whiteout is made opaque.
"""

import bz2
import dataclasses
import errno
import gzip
import hashlib
import lzma
import os
import posixpath
import stat
import tarfile
import zlib

from runtime.errors import InvalidArgument, MoorError, UnsafeArchive

# The overlay layer format, shared with layer_pack.
WHITEOUT_PREFIX = b".wh."
OPAQUE_MARKER = b".wh..wh..opq"
METADATA_PREFIX = b".wh..wh."
OPAQUE_XATTR = "trusted.overlay.opaque"
# Overlay's own metadata (redirects, origins, opaque flags) must never come from an archive.
OVERLAY_XATTR_PREFIXES = ("trusted.overlay.", "user.overlay.")

DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
CHUNK = 1 << 20
# tarfile's stream buffer, and the size in which file data is taken from it: larger reads
# make tarfile join and slice buffers, which costs more than the extra calls.
_TAR_BUFFER = 64 << 10
_CACHED_DIRECTORIES = 128


@dataclasses.dataclass(frozen=True)
class LayerLimits:
    """What an archive may cost before it is refused."""

    max_bytes: int = 64 << 30       # uncompressed archive bytes
    max_entries: int = 2_000_000
    max_name: int = 4096            # bytes in one entry or link name
    max_depth: int | None = None    # path components of one entry (a build context's limit)


@dataclasses.dataclass(frozen=True)
class LayerStats:
    diff_id: str    # "sha256:<hex>" of every uncompressed byte of the archive
    size: int       # sum of the sizes of regular files
    entries: int    # archive entries, global headers not counted


def is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def keeps_xattr(name: str) -> bool:
    """The xattrs a layer carries from an archive: file capabilities and user attributes."""
    if name.startswith(OVERLAY_XATTR_PREFIXES):
        return False
    return name == "security.capability" or name.startswith("user.")


def open_directory(path, *, empty: bool) -> int:
    """Open `path` (not a symlink) as a directory fd; with `empty`, refuse one with entries."""
    try:
        fd = os.open(path, DIRECTORY_FLAGS)
    except OSError as error:
        raise InvalidArgument(f"{path}: not a usable directory ({error.strerror})") from None
    if empty and os.listdir(fd):
        os.close(fd)
        raise InvalidArgument(f"{path}: directory is not empty")
    return fd


def open_directory_in(root_fd: int, parts) -> int:
    """Open the directory `parts` (bytes components) below `root_fd` without following any
    symlink. The caller closes the returned fd."""
    fd = os.dup(root_fd)
    try:
        for part in parts:
            try:
                next_fd = os.open(part, DIRECTORY_FLAGS, dir_fd=fd)
            except OSError as error:
                if error.errno in (errno.ENOTDIR, errno.ELOOP) and stat.S_ISLNK(
                        os.stat(part, dir_fd=fd, follow_symlinks=False).st_mode):
                    raise UnsafeArchive(
                        f"{_show(b'/'.join(parts))} goes through a symlink") from None
                raise
            os.close(fd)
            fd = next_fd
    except BaseException:
        os.close(fd)
        raise
    return fd


def remove_tree(parent_fd: int, name: bytes) -> None:
    """Remove `name` and everything below it, never leaving the directory of `parent_fd`."""
    stack = [(parent_fd, name, None)]   # (fd of parent, name, fd of the dir once opened)
    try:
        while stack:
            parent, child, fd = stack[-1]
            if fd is None:
                fd = os.open(child, DIRECTORY_FLAGS, dir_fd=parent)
                stack[-1] = (parent, child, fd)
                with os.scandir(fd) as entries:
                    names = [(os.fsencode(e.name), e.is_dir(follow_symlinks=False))
                             for e in entries]
                for entry, is_dir in names:
                    if is_dir:
                        stack.append((fd, entry, None))
                    else:
                        os.unlink(entry, dir_fd=fd)
                continue
            stack.pop()
            os.close(fd)
            os.rmdir(child, dir_fd=parent)
    finally:
        for _, _, fd in stack:
            if fd is not None:
                os.close(fd)


def _show(name) -> str:
    """A name for an error message: one line, whatever bytes it holds."""
    if isinstance(name, bytes):
        name = name.decode("utf-8", "backslashreplace")
    return repr(name)


# --------------------------------------------------------------------------- the stream

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class _Prefixed:
    """A stream whose first bytes were already read to find its compression."""

    def __init__(self, head: bytes, rest):
        self._head = head
        self._rest = rest

    def read(self, size=-1):
        if self._head:
            if size is None or size < 0:
                data, self._head = self._head + self._rest.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._rest.read(size)


def decompressed(stream):
    """`stream` decompressed (gzip, bzip2, xz, zstd) according to its magic bytes; a plain tar
    as it is."""
    head = b""
    while len(head) < 6:
        data = stream.read(6 - len(head))
        if not data:
            break
        head += data
    raw = _Prefixed(head, stream)
    if head.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if head.startswith(b"BZh"):
        return bz2.BZ2File(raw)
    if head.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(raw)
    if head.startswith(_ZSTD_MAGIC):
        return _zstd_reader(raw)
    return raw


def _zstd_reader(raw):
    """A zstd stream's bytes (every frame of it), with the `zstandard` package's decoder;
    imported here, as few layers are zstd."""
    try:
        import zstandard
    except ImportError:
        raise InvalidArgument("this layer is compressed with zstd: install the Python "
                              "package zstandard to read it") from None
    return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)


def _zstd_errors() -> tuple:
    import sys
    module = sys.modules.get("zstandard")
    return (module.ZstdError,) if module else ()


class _DigestingReader:
    """The uncompressed archive, hashed and counted as it is read, so that the digest covers
    every byte and an archive that expands too far stops as soon as it passes the limit."""

    def __init__(self, source, max_bytes: int):
        self._source = source
        self._max_bytes = max_bytes
        self._digest = hashlib.sha256()
        self.total = 0

    def read(self, size=-1):
        try:
            data = self._source.read(size)
        except EOFError:
            raise InvalidArgument("layer archive: compressed data ends early") from None
        except (OSError, zlib.error, lzma.LZMAError, *_zstd_errors()) as error:
            raise InvalidArgument(f"layer archive cannot be read: {error}") from None
        self.total += len(data)
        if self.total > self._max_bytes:
            raise UnsafeArchive(
                f"layer archive expands beyond the limit of {self._max_bytes} bytes")
        self._digest.update(data)
        return data

    def drain(self) -> None:
        """Read to the end: padding after the last entry belongs to the digest too."""
        while self.read(CHUNK):
            pass

    def diff_id(self) -> str:
        return "sha256:" + self._digest.hexdigest()


class _Header(tarfile.TarInfo):
    """tarfile's header parser, made strict for layers: a damaged header is an error rather
    than a silent end of the archive, and PAX global headers are returned as entries of
    their own (which are skipped) instead of being merged into every later entry."""

    @classmethod
    def fromtarfile(cls, tar):
        try:
            return super().fromtarfile(tar)
        except (tarfile.InvalidHeaderError, tarfile.TruncatedHeaderError) as error:
            raise InvalidArgument(
                f"not a valid layer archive: {error} at byte {tar.offset}") from None

    def _proc_member(self, tar):
        if self.type == tarfile.XGLTYPE:
            self.offset_data = tar.fileobj.tell()
            tar.offset = self.offset_data + self._block(self.size)
            return self
        return super()._proc_member(tar)


# --------------------------------------------------------------------------- the writer

@dataclasses.dataclass
class _DirectoryMetadata:
    uid: int
    gid: int
    mode: int
    mtime_ns: int
    xattrs: dict


class _Unpacker:
    def __init__(self, root_fd: int, limits: LayerLimits):
        self._root = root_fd
        self._limits = limits
        self._owners = os.geteuid() == 0
        self._cache: dict[tuple, int] = {}      # parent path -> directory fd
        self._stale = False                     # a directory was removed: the cache may lie
        self._directories: dict[tuple, _DirectoryMetadata] = {}
        self.size = 0
        self.entries = 0

    def close(self) -> None:
        for fd in self._cache.values():
            os.close(fd)
        self._cache.clear()

    def unpack(self, reader: _DigestingReader) -> None:
        try:
            tar = tarfile.open(fileobj=reader, mode="r|", tarinfo=_Header, bufsize=_TAR_BUFFER,
                               encoding="utf-8", errors="surrogateescape")
        except tarfile.ReadError as error:
            if reader.total == 0:
                return      # an empty stream is an empty layer, as Docker takes it
            raise InvalidArgument(f"not a valid layer archive: {error}") from None
        seen = 0
        while True:
            try:
                member = tar.next()
            except tarfile.TarError as error:
                raise InvalidArgument(f"layer archive is damaged: {error}") from None
            if member is None:
                return
            tar.members.clear()     # streaming: do not keep every header in memory
            seen += 1
            if seen > self._limits.max_entries:
                raise UnsafeArchive(
                    f"layer archive has more than {self._limits.max_entries} entries")
            if member.type == tarfile.XGLTYPE:
                continue
            self.entries += 1
            name = self._clean(member.name)
            if name is None:
                continue
            try:
                self._entry(tar, member, name)
            except tarfile.TarError as error:
                raise InvalidArgument(f"layer archive is damaged: {error}") from None
            except OSError as error:
                raise MoorError(f"cannot unpack layer entry {_show(name)}: {error.strerror}"
                                ) from None
            except (ValueError, OverflowError) as error:
                raise InvalidArgument(f"layer entry {_show(name)}: {error}") from None

    def finish(self) -> None:
        """Directory metadata last, deepest first, so that no later write changes it."""
        for parts in sorted(self._directories, key=len, reverse=True):
            self._refresh()
            meta = self._directories[parts]
            try:
                parent = self._directory(parts[:-1], b"/".join(parts), create=False)
                fd = os.open(parts[-1], DIRECTORY_FLAGS, dir_fd=parent)
            except (FileNotFoundError, NotADirectoryError, InvalidArgument):
                continue    # replaced later by something else; its metadata went with it
            except OSError as error:
                if error.errno == errno.ELOOP:
                    continue
                raise
            try:
                self._apply(fd, meta.uid, meta.gid, meta.mode, meta.xattrs, meta.mtime_ns)
            finally:
                os.close(fd)

    # ------------------------------------------------------------------ names

    def _clean(self, raw: str, what: str = "entry") -> bytes | None:
        """The path relative to the layer, None for the layer root itself."""
        if "\x00" in raw:
            raise UnsafeArchive(f"layer {what} name contains a NUL byte: {_show(raw)}")
        name = raw.encode("utf-8", "surrogateescape")
        if len(name) > self._limits.max_name:
            raise UnsafeArchive(
                f"layer {what} name is longer than {self._limits.max_name} bytes")
        name = posixpath.normpath(name.lstrip(b"/") or b".")
        if name == b".":
            return None
        if name == b".." or name.startswith(b"../"):
            raise UnsafeArchive(f"layer {what} {_show(raw)} points outside the layer (breakout)")
        depth = self._limits.max_depth
        if depth is not None and name.count(b"/") >= depth:
            shown = _show(name[:60] + b"..." if len(name) > 60 else name)
            raise UnsafeArchive(f"layer {what} {shown} is nested more than {depth} "
                                "directories deep")
        return name

    # ------------------------------------------------------------------ directories

    def _refresh(self) -> None:
        """Called between entries, never inside one, so fds handed out stay valid."""
        if self._stale or len(self._cache) > _CACHED_DIRECTORIES:
            self.close()
            self._stale = False

    def _directory(self, parts: tuple, name: bytes, *, create: bool) -> int:
        """An fd of directory `parts`, opened without following symlinks; with `create`,
        missing directories are made (0755, root) as parents of `name`."""
        if not parts:
            return self._root
        fd = self._cache.get(parts)
        if fd is not None:
            return fd
        start, fd = 0, self._root
        for depth in range(len(parts) - 1, 0, -1):
            cached = self._cache.get(parts[:depth])
            if cached is not None:
                start, fd = depth, cached
                break
        opened = None
        try:
            for depth in range(start, len(parts)):
                next_fd = self._step(fd, parts[:depth + 1], name, create)
                if opened is not None:
                    os.close(opened)
                opened = fd = next_fd
        except BaseException:
            if opened is not None:
                os.close(opened)
            raise
        self._cache[parts] = fd
        return fd

    def _step(self, fd: int, parts: tuple, name: bytes, create: bool) -> int:
        part = parts[-1]
        try:
            return os.open(part, DIRECTORY_FLAGS, dir_fd=fd)
        except FileNotFoundError:
            if not create:
                raise
            return self._implicit_directory(fd, part, opaque=False)
        except OSError as error:
            if error.errno not in (errno.ENOTDIR, errno.ELOOP):
                raise
        found = os.stat(part, dir_fd=fd, follow_symlinks=False)
        if stat.S_ISLNK(found.st_mode):
            raise UnsafeArchive(f"layer entry {_show(name)} goes through the symlink "
                                f"{_show(b'/'.join(parts))}")
        if create and is_whiteout(found):
            os.unlink(part, dir_fd=fd)
            return self._implicit_directory(fd, part, opaque=True)
        raise InvalidArgument(
            f"layer entry {_show(name)}: {_show(b'/'.join(parts))} is not a directory")

    def _implicit_directory(self, parent: int, part: bytes, *, opaque: bool) -> int:
        os.mkdir(part, 0o755, dir_fd=parent)
        fd = os.open(part, DIRECTORY_FLAGS, dir_fd=parent)
        if self._owners:
            os.fchown(fd, 0, 0)
        os.fchmod(fd, 0o755)
        if opaque:
            os.setxattr(fd, OPAQUE_XATTR, b"y")
        return fd

    def _parent(self, parts: tuple, name: bytes) -> int:
        return self._directory(parts[:-1], name, create=True)

    def _clear(self, parent: int, base: bytes, *, keep_directory: bool) -> str:
        """Make room for a new entry: 'free', 'directory' (kept), 'whiteout' or 'other'
        (removed)."""
        try:
            found = os.stat(base, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            return "free"
        if stat.S_ISDIR(found.st_mode):
            if keep_directory:
                return "directory"
            remove_tree(parent, base)
            self._stale = True
            return "other"
        os.unlink(base, dir_fd=parent)
        return "whiteout" if is_whiteout(found) else "other"

    # ------------------------------------------------------------------ entries

    def _entry(self, tar, member, name: bytes) -> None:
        self._refresh()
        parts = tuple(name.split(b"/"))
        if any(part.startswith(METADATA_PREFIX) for part in parts[:-1]):
            return      # inside aufs bookkeeping (.wh..wh.plnk/...), not part of the tree
        base = parts[-1]
        if base.startswith(WHITEOUT_PREFIX):
            self._whiteout(parts, name)
        elif member.isdir():
            self._make_directory(parts, name, member)
        elif member.isreg():
            if member.sparse is not None or member.type == tarfile.GNUTYPE_SPARSE:
                raise InvalidArgument(f"layer entry {_show(name)}: sparse files are not "
                                      "supported")
            self._regular(tar, member, parts, name)
        elif member.issym():
            self._symlink(member, parts, name)
        elif member.islnk():
            self._hardlink(member, parts, name)
        elif member.ischr() or member.isblk() or member.isfifo():
            self._special(member, parts, name)
        else:
            raise InvalidArgument(
                f"layer entry {_show(name)} has an unsupported type {member.type!r}")

    def _whiteout(self, parts: tuple, name: bytes) -> None:
        base = parts[-1]
        if base == OPAQUE_MARKER:
            os.setxattr(self._parent(parts, name), OPAQUE_XATTR, b"y")
            return
        if base.startswith(METADATA_PREFIX):
            return      # aufs bookkeeping such as .wh..wh.plnk, not a file
        hidden = base[len(WHITEOUT_PREFIX):]
        if hidden in (b"", b".", b".."):
            raise UnsafeArchive(f"layer entry {_show(name)} is not a valid whiteout")
        parent = self._parent(parts, name)
        try:
            found = os.stat(hidden, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            os.mknod(hidden, stat.S_IFCHR, 0, dir_fd=parent)
            if self._owners:
                os.chown(hidden, 0, 0, dir_fd=parent, follow_symlinks=False)
            return
        if stat.S_ISDIR(found.st_mode):
            self._set_opaque(parent, hidden)
        # Anything else this layer made itself already hides the lower path.

    def _set_opaque(self, parent: int, base: bytes) -> None:
        fd = os.open(base, DIRECTORY_FLAGS, dir_fd=parent)
        try:
            os.setxattr(fd, OPAQUE_XATTR, b"y")
        finally:
            os.close(fd)

    def _make_directory(self, parts: tuple, name: bytes, member) -> None:
        parent = self._parent(parts, name)
        found = self._clear(parent, parts[-1], keep_directory=True)
        if found != "directory":
            os.mkdir(parts[-1], 0o700, dir_fd=parent)
            if found == "whiteout":
                self._set_opaque(parent, parts[-1])
        uid, gid, mode, mtime_ns = self._metadata(member, name)
        xattrs = self._xattrs(member)
        earlier = self._directories.get(parts)
        if earlier is not None:
            xattrs = {**earlier.xattrs, **xattrs}
        self._directories[parts] = _DirectoryMetadata(uid, gid, mode, mtime_ns, xattrs)

    def _regular(self, tar, member, parts: tuple, name: bytes) -> None:
        if member.size > self._limits.max_bytes:
            raise UnsafeArchive(f"layer entry {_show(name)} claims {member.size} bytes, "
                                f"beyond the limit of {self._limits.max_bytes}")
        uid, gid, mode, mtime_ns = self._metadata(member, name)
        parent = self._parent(parts, name)
        self._clear(parent, parts[-1], keep_directory=False)
        fd = os.open(parts[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                     | os.O_CLOEXEC, 0o600, dir_fd=parent)
        try:
            if member.size:
                data = tar.extractfile(member)
                while chunk := data.read(_TAR_BUFFER):
                    _write_all(fd, chunk)
            self._apply(fd, uid, gid, mode, self._xattrs(member), mtime_ns)
        finally:
            os.close(fd)
        self.size += member.size

    def _symlink(self, member, parts: tuple, name: bytes) -> None:
        target = member.linkname
        if "\x00" in target or not target:
            raise UnsafeArchive(f"layer entry {_show(name)} has an invalid symlink target")
        target = target.encode("utf-8", "surrogateescape")
        if len(target) > self._limits.max_name:
            raise UnsafeArchive(
                f"layer entry {_show(name)}: link target longer than {self._limits.max_name}")
        uid, gid, _, mtime_ns = self._metadata(member, name)
        parent = self._parent(parts, name)
        self._clear(parent, parts[-1], keep_directory=False)
        os.symlink(target, parts[-1], dir_fd=parent)
        if self._owners:
            os.chown(parts[-1], uid, gid, dir_fd=parent, follow_symlinks=False)
        os.utime(parts[-1], ns=(mtime_ns, mtime_ns), dir_fd=parent, follow_symlinks=False)

    def _hardlink(self, member, parts: tuple, name: bytes) -> None:
        target_name = self._clean(member.linkname, "hard link target")
        if target_name is None:
            raise UnsafeArchive(f"layer entry {_show(name)} is a hard link to the layer root")
        if target_name == name:
            raise InvalidArgument(f"layer entry {_show(name)} is a hard link to itself")
        target_parts = tuple(target_name.split(b"/"))
        missing = UnsafeArchive(f"layer entry {_show(name)} is a hard link to "
                                f"{_show(target_name)}, which is not in the layer")
        try:
            target_parent = self._directory(target_parts[:-1], target_name, create=False)
            found = os.stat(target_parts[-1], dir_fd=target_parent, follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError):
            raise missing from None
        if stat.S_ISDIR(found.st_mode):
            raise UnsafeArchive(f"layer entry {_show(name)} is a hard link to a directory")
        if stat.S_ISLNK(found.st_mode):
            raise UnsafeArchive(f"layer entry {_show(name)} is a hard link to the symlink "
                                f"{_show(target_name)}")
        parent = self._parent(parts, name)
        self._clear(parent, parts[-1], keep_directory=False)
        try:
            os.link(target_parts[-1], parts[-1], src_dir_fd=target_parent, dst_dir_fd=parent,
                    follow_symlinks=False)
        except FileNotFoundError:
            raise missing from None     # the entry replaced a directory holding its target

    def _special(self, member, parts: tuple, name: bytes) -> None:
        uid, gid, mode, mtime_ns = self._metadata(member, name)
        parent = self._parent(parts, name)
        self._clear(parent, parts[-1], keep_directory=False)
        if member.isfifo():
            os.mkfifo(parts[-1], 0o600, dir_fd=parent)
        else:
            kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
            os.mknod(parts[-1], kind | 0o600, os.makedev(member.devmajor, member.devminor),
                     dir_fd=parent)
        if self._owners:
            os.chown(parts[-1], uid, gid, dir_fd=parent, follow_symlinks=False)
        os.chmod(parts[-1], mode, dir_fd=parent, follow_symlinks=False)
        os.utime(parts[-1], ns=(mtime_ns, mtime_ns), dir_fd=parent, follow_symlinks=False)

    # ------------------------------------------------------------------ metadata

    def _metadata(self, member, name: bytes) -> tuple[int, int, int, int]:
        for value in (member.uid, member.gid):
            if not 0 <= value < 0xFFFFFFFF:
                raise InvalidArgument(f"layer entry {_show(name)} has an invalid owner {value}")
        try:
            mtime_ns = int(member.mtime) * 10**9 if isinstance(member.mtime, int) \
                else round(member.mtime * 1e9)
        except (OverflowError, ValueError):
            raise InvalidArgument(f"layer entry {_show(name)} has an invalid mtime") from None
        return member.uid, member.gid, member.mode & 0o7777, mtime_ns

    @staticmethod
    def _xattrs(member) -> dict[str, bytes]:
        xattrs = {}
        for key, value in member.pax_headers.items():
            if key.startswith("SCHILY.xattr."):
                attribute = key[len("SCHILY.xattr."):]
                if keeps_xattr(attribute):
                    xattrs[attribute] = value.encode("utf-8", "surrogateescape")
        return xattrs

    def _apply(self, fd: int, uid: int, gid: int, mode: int, xattrs: dict, mtime_ns: int):
        """Owner, then mode (chown clears setuid bits), then xattrs (chown clears file
        capabilities), then times."""
        if self._owners:
            os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
        for attribute, value in xattrs.items():
            os.setxattr(fd, attribute, value)
        os.utime(fd, ns=(mtime_ns, mtime_ns))


def _write_all(fd: int, data) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def unpack_layer(stream, dest, *, limits: LayerLimits | None = None) -> LayerStats:
    """Unpack the layer archive `stream` (tar, gzip, bzip2, xz or zstd) into the existing, empty
    directory `dest`. On error `dest` is left as it is; the caller removes it."""
    limits = limits or LayerLimits()
    root = open_directory(dest, empty=True)
    unpacker = _Unpacker(root, limits)
    try:
        reader = _DigestingReader(decompressed(stream), limits.max_bytes)
        unpacker.unpack(reader)
        reader.drain()
        unpacker.finish()
    finally:
        unpacker.close()
        os.close(root)
    return LayerStats(reader.diff_id(), unpacker.size, unpacker.entries)
