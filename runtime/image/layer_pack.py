"""Pack a layer directory (an image layer or a container's overlay upper dir) into the
canonical layer tar, and optionally copy it into a new layer directory in the same pass.

Canonical means the same directory always gives the same bytes: PAX headers written here
(not by tarfile, whose PAX writer cannot carry binary xattr values), depth first with each
directory's whiteouts before its other names and names in byte order, numeric owners with no
user or group names, whole-second mtimes and no atime/ctime, hard links as type 1 entries to
the first path seen, and the archive ending with exactly two zero blocks. Overlay whiteouts
become OCI ones: a character device 0/0 is an empty `.wh.NAME`, an opaque directory is
followed by `dir/.wh..wh..opq`; both markers are fixed (0600, root, mtime 0) so that
pack -> unpack -> pack gives the same bytes. trusted.overlay.* xattrs are overlay's own and
never leave the directory; the copy keeps only the opaque flag.

The walk uses directory fds and O_NOFOLLOW throughout, so a container that swaps a directory
for a symlink while it is being committed cannot make this read or write outside.
"""

import dataclasses
import errno
import hashlib
import os
import stat

from runtime.errors import MoorError
from runtime.image.layer_unpack import (
    CHUNK,
    DIRECTORY_FLAGS,
    OPAQUE_MARKER,
    OPAQUE_XATTR,
    OVERLAY_XATTR_PREFIXES,
    WHITEOUT_PREFIX,
    is_whiteout,
    open_directory,
    open_directory_in,
)

_BLOCK = 512
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_REGULAR, _HARDLINK, _SYMLINK, _CHAR, _BLOCK_DEVICE, _DIRECTORY, _FIFO, _PAX = (
    b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"x")


@dataclasses.dataclass(frozen=True)
class PackResult:
    diff_id: str    # "sha256:<hex>" of the tar bytes
    size: int       # bytes of the tar
    content_size: int = 0   # bytes of regular file contents (what unpack_layer reports)


# --------------------------------------------------------------------------- tar format

def _octal(value: int, width: int) -> bytes | None:
    """A ustar number field, or None when the value needs a PAX record instead."""
    if 0 <= value < 8 ** (width - 1):
        return b"%0*o\0" % (width - 1, value)
    return None


def _pax_record(key: bytes, value: bytes) -> bytes:
    body = b" " + key + b"=" + value + b"\n"
    length = len(body) + len(str(len(body)))
    length = len(body) + len(str(length))       # the length counts its own digits
    return b"%d" % length + body


def _ustar(name: bytes, typeflag: bytes, mode: int, uid: bytes, gid: bytes, size: bytes,
           mtime: bytes, linkname: bytes = b"", devmajor: int = 0, devminor: int = 0) -> bytes:
    block = bytearray(_BLOCK)
    block[0:len(name)] = name
    block[100:108] = b"%07o\0" % mode
    block[108:116] = uid
    block[116:124] = gid
    block[124:136] = size
    block[136:148] = mtime
    block[148:156] = b" " * 8
    block[156:157] = typeflag
    block[157:157 + len(linkname)] = linkname
    block[257:265] = b"ustar\x0000"
    block[329:337] = b"%07o\0" % devmajor
    block[337:345] = b"%07o\0" % devminor
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def _ustar_text(value: bytes) -> bytes:
    """A name for a 100-byte ustar field when the real one is in a PAX record."""
    return bytes(c if c < 0x80 else 0x5F for c in value[:100])


def _fits(value: bytes) -> bool:
    return len(value) <= 100 and value.isascii()


def header(name: bytes, typeflag: bytes, *, mode: int, uid: int, gid: int, mtime: int,
           size: int = 0, linkname: bytes = b"", devmajor: int = 0, devminor: int = 0,
           xattrs: dict | None = None) -> bytes:
    """One entry's header blocks: a PAX extended header when something does not fit ustar."""
    records = []
    if not _fits(name):
        records.append((b"path", name))
    if not _fits(linkname):
        records.append((b"linkpath", linkname))
    if records and not all(_is_utf8(value) for _, value in records):
        records.insert(0, (b"hdrcharset", b"BINARY"))
    fields = []
    for key, value, width in ((b"uid", uid, 8), (b"gid", gid, 8), (b"size", size, 12),
                              (b"mtime", mtime, 12)):
        encoded = _octal(value, width)
        if encoded is None:
            records.append((key, b"%d" % value))
            encoded = _octal(0, width)
        fields.append(encoded)
    for attribute in sorted(xattrs or ()):
        records.append((b"SCHILY.xattr." + attribute.encode("utf-8", "surrogateescape"),
                        xattrs[attribute]))
    entry = _ustar(name if _fits(name) else _ustar_text(name), typeflag, mode, *fields,
                   linkname if _fits(linkname) else _ustar_text(linkname), devmajor, devminor)
    if not records:
        return entry
    body = b"".join(_pax_record(key, value) for key, value in records)
    zero = _octal(0, 8)
    pax = _ustar(b"././@PaxHeader", _PAX, 0o644, zero, zero, _octal(len(body), 12),
                 _octal(0, 12))
    return pax + body + _padding(len(body)) + entry


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _padding(size: int) -> bytes:
    return bytes(-size % _BLOCK)


class _TarStream:
    """Where the tar goes: always into the digest, into `out` when there is one."""

    def __init__(self, out):
        self._out = out
        self._digest = hashlib.sha256()
        self.size = 0
        self.content_size = 0

    def write(self, data) -> None:
        self._digest.update(data)
        self.size += len(data)
        if self._out is not None:
            view = memoryview(data)
            while view:
                written = self._out.write(view)
                view = view[len(view) if written is None else written:]

    def marker(self, name: bytes) -> None:
        """A whiteout or opaque marker: an empty file with fixed metadata."""
        self.write(header(name, _REGULAR, mode=0o600, uid=0, gid=0, mtime=0))

    def result(self) -> PackResult:
        return PackResult("sha256:" + self._digest.hexdigest(), self.size, self.content_size)


# --------------------------------------------------------------------------- the walk

def _xattrs(target) -> dict[str, bytes]:
    """All xattrs of an fd, or of a path without following it."""
    follow = {} if isinstance(target, int) else {"follow_symlinks": False}
    try:
        names = os.listxattr(target, **follow)
    except OSError as error:
        if error.errno in (errno.ENOTSUP, errno.EPERM):
            return {}
        raise
    values = {}
    for name in names:
        try:
            values[name] = os.getxattr(target, name, **follow)
        except OSError as error:
            if error.errno != errno.ENODATA:
                raise
    return values


def _layer_xattrs(xattrs: dict) -> dict:
    # A name holding "=" or NUL cannot be written as a PAX record; no tool reads it back.
    return {name: value for name, value in xattrs.items()
            if not name.startswith(OVERLAY_XATTR_PREFIXES) and "=" not in name
            and "\x00" not in name}


@dataclasses.dataclass
class _Frame:
    """A directory being walked: its fd, its copy's fd and the children still to visit."""
    fd: int
    copy_fd: int | None
    path: bytes             # relative path with a trailing slash ("" for the root)
    children: list
    st: os.stat_result | None = None
    xattrs: dict | None = None


class _Packer:
    def __init__(self, tar: _TarStream, copy_root: int | None):
        self._tar = tar
        self._copy_root = copy_root
        self._owners = os.geteuid() == 0
        self._links: dict[tuple, bytes] = {}       # (st_dev, st_ino) -> first path
        self._buffer = memoryview(bytearray(CHUNK))

    def pack(self, root: int) -> None:
        root_xattrs = _xattrs(root)
        if root_xattrs.get(OPAQUE_XATTR) == b"y":
            self._tar.marker(OPAQUE_MARKER)
            if self._copy_root is not None:
                os.setxattr(self._copy_root, OPAQUE_XATTR, b"y")
        copy_root = None if self._copy_root is None else os.dup(self._copy_root)
        stack = [_Frame(os.dup(root), copy_root, b"", self._children(root))]
        try:
            while stack:
                frame = stack[-1]
                if frame.children:
                    child = self._visit(frame, *frame.children.pop())
                    if child is not None:
                        stack.append(child)
                    continue
                stack.pop()
                self._leave(frame)
        finally:
            for frame in stack:
                os.close(frame.fd)
                if frame.copy_fd is not None:
                    os.close(frame.copy_fd)

    @staticmethod
    def _children(fd: int) -> list:
        """(name, stat) pairs in reverse visiting order, to pop from the end: whiteouts
        first (the OCI layer spec asks for them before their siblings), then byte order."""
        with os.scandir(fd) as entries:
            children = [(os.fsencode(e.name), e.stat(follow_symlinks=False)) for e in entries]
        children.sort(key=lambda child: (not is_whiteout(child[1]), child[0]), reverse=True)
        return children

    def _leave(self, frame: _Frame) -> None:
        try:
            if frame.copy_fd is not None and frame.st is not None:
                self._copy_metadata(frame.copy_fd, frame.st, frame.xattrs)
        finally:
            os.close(frame.fd)
            if frame.copy_fd is not None:
                os.close(frame.copy_fd)

    def _visit(self, frame: _Frame, name: bytes, st: os.stat_result) -> _Frame | None:
        path = frame.path + name
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            return self._directory(frame, name, path, st)
        if is_whiteout(st):
            self._tar.marker(frame.path + WHITEOUT_PREFIX + name)
            if frame.copy_fd is not None:
                self._copy_special(frame, name, st, {})
            return None
        if stat.S_ISSOCK(mode):
            return None     # a socket cannot be archived; Docker leaves them out too
        if st.st_nlink > 1 and not stat.S_ISLNK(mode) and self._hardlink(frame, name, path, st):
            return None
        if stat.S_ISREG(mode):
            self._regular(frame, name, path, st)
        elif stat.S_ISLNK(mode):
            self._symlink(frame, name, path, st)
        else:
            self._special(frame, name, path, st)
        return None

    def _entry(self, path: bytes, typeflag: bytes, st: os.stat_result, **fields) -> None:
        self._tar.write(header(path, typeflag, mode=stat.S_IMODE(st.st_mode), uid=st.st_uid,
                               gid=st.st_gid, mtime=st.st_mtime_ns // 10**9, **fields))

    def _directory(self, frame: _Frame, name: bytes, path: bytes, st) -> _Frame:
        fd = os.open(name, DIRECTORY_FLAGS, dir_fd=frame.fd)
        copy_fd = None
        try:
            _same_inode(os.fstat(fd), st, path)
            xattrs = _xattrs(fd)
            self._entry(path + b"/", _DIRECTORY, st, xattrs=_layer_xattrs(xattrs))
            opaque = xattrs.get(OPAQUE_XATTR) == b"y"
            if opaque:
                self._tar.marker(path + b"/" + OPAQUE_MARKER)
            if frame.copy_fd is not None:
                os.mkdir(name, 0o700, dir_fd=frame.copy_fd)
                copy_fd = os.open(name, DIRECTORY_FLAGS, dir_fd=frame.copy_fd)
            copy_xattrs = _layer_xattrs(xattrs)
            if opaque:
                copy_xattrs[OPAQUE_XATTR] = b"y"
            return _Frame(fd, copy_fd, path + b"/", self._children(fd), st, copy_xattrs)
        except BaseException:
            os.close(fd)
            if copy_fd is not None:
                os.close(copy_fd)
            raise

    def _hardlink(self, frame: _Frame, name: bytes, path: bytes, st) -> bool:
        """Emit a link to the first path of this inode; False when this is the first."""
        first = self._links.get((st.st_dev, st.st_ino))
        if first is None:
            self._links[(st.st_dev, st.st_ino)] = path
            return False
        self._entry(path, _HARDLINK, st, linkname=first)
        if frame.copy_fd is not None:
            parts = first.split(b"/")
            source = open_directory_in(self._copy_root, parts[:-1])
            try:
                os.link(parts[-1], name, src_dir_fd=source, dst_dir_fd=frame.copy_fd,
                        follow_symlinks=False)
            finally:
                os.close(source)
        return True

    def _regular(self, frame: _Frame, name: bytes, path: bytes, st) -> None:
        fd = os.open(name, _FILE_FLAGS, dir_fd=frame.fd)
        copy_fd = None
        try:
            st = _same_inode(os.fstat(fd), st, path)
            xattrs = _layer_xattrs(_xattrs(fd))
            self._entry(path, _REGULAR, st, size=st.st_size, xattrs=xattrs)
            self._tar.content_size += st.st_size
            if frame.copy_fd is not None:
                copy_fd = os.open(name, _NEW_FILE_FLAGS, 0o600, dir_fd=frame.copy_fd)
            self._data(fd, copy_fd, st.st_size, path)
            if copy_fd is not None:
                self._copy_metadata(copy_fd, st, xattrs)
        finally:
            os.close(fd)
            if copy_fd is not None:
                os.close(copy_fd)

    def _data(self, fd: int, copy_fd: int | None, size: int, path: bytes) -> None:
        """Each chunk is read once and goes to the digest, the tar and the copy."""
        buffer = self._buffer
        remaining = size
        while remaining:
            count = os.readv(fd, [buffer[:min(remaining, CHUNK)]])
            if not count:
                raise MoorError(f"{_show(path)} shrank while it was being packed")
            chunk = buffer[:count]
            self._tar.write(chunk)
            if copy_fd is not None:
                while chunk:
                    chunk = chunk[os.write(copy_fd, chunk):]
            remaining -= count
        self._tar.write(_padding(size))

    def _symlink(self, frame: _Frame, name: bytes, path: bytes, st) -> None:
        target = os.readlink(name, dir_fd=frame.fd)
        xattrs = _layer_xattrs(_xattrs(_proc_path(frame.fd, name)))
        self._entry(path, _SYMLINK, st, linkname=target, xattrs=xattrs)
        if frame.copy_fd is not None:
            os.symlink(target, name, dir_fd=frame.copy_fd)
            self._copy_path_metadata(frame.copy_fd, name, st, xattrs, chmod=False)

    def _special(self, frame: _Frame, name: bytes, path: bytes, st) -> None:
        xattrs = _layer_xattrs(_xattrs(_proc_path(frame.fd, name)))
        if stat.S_ISFIFO(st.st_mode):
            self._entry(path, _FIFO, st, xattrs=xattrs)
        else:
            typeflag = _CHAR if stat.S_ISCHR(st.st_mode) else _BLOCK_DEVICE
            self._entry(path, typeflag, st, devmajor=os.major(st.st_rdev),
                        devminor=os.minor(st.st_rdev), xattrs=xattrs)
        if frame.copy_fd is not None:
            self._copy_special(frame, name, st, xattrs)

    # ------------------------------------------------------------------ the copy

    def _copy_special(self, frame: _Frame, name: bytes, st, xattrs: dict) -> None:
        if stat.S_ISFIFO(st.st_mode):
            os.mkfifo(name, 0o600, dir_fd=frame.copy_fd)
        else:
            os.mknod(name, stat.S_IFMT(st.st_mode) | 0o600, st.st_rdev, dir_fd=frame.copy_fd)
        self._copy_path_metadata(frame.copy_fd, name, st, xattrs, chmod=True)

    def _copy_metadata(self, fd: int, st, xattrs: dict) -> None:
        """Owner, mode (after chown, which clears setuid), xattrs (after chown, which clears
        capabilities), times."""
        if self._owners:
            os.fchown(fd, st.st_uid, st.st_gid)
        os.fchmod(fd, stat.S_IMODE(st.st_mode))
        for attribute, value in xattrs.items():
            os.setxattr(fd, attribute, value)
        os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))

    def _copy_path_metadata(self, dir_fd: int, name: bytes, st, xattrs: dict, *, chmod: bool):
        if self._owners:
            os.chown(name, st.st_uid, st.st_gid, dir_fd=dir_fd, follow_symlinks=False)
        if chmod:
            os.chmod(name, stat.S_IMODE(st.st_mode), dir_fd=dir_fd, follow_symlinks=False)
        for attribute, value in xattrs.items():
            os.setxattr(_proc_path(dir_fd, name), attribute, value, follow_symlinks=False)
        os.utime(name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=dir_fd,
                 follow_symlinks=False)


def _proc_path(dir_fd: int, name: bytes) -> bytes:
    """A path to `name` in the directory of `dir_fd`, for the xattr calls that take no
    dir_fd; used with follow_symlinks=False, so only the directory is reached through
    /proc, and the name itself is never followed."""
    return b"/proc/self/fd/%d/%s" % (dir_fd, name)


def _same_inode(opened: os.stat_result, listed: os.stat_result, path: bytes):
    if (opened.st_dev, opened.st_ino) != (listed.st_dev, listed.st_ino) or \
            stat.S_IFMT(opened.st_mode) != stat.S_IFMT(listed.st_mode):
        raise MoorError(f"{_show(path)} changed while it was being packed")
    return opened


def _show(path: bytes) -> str:
    return repr(path.decode("utf-8", "backslashreplace"))


def pack_layer(src, out=None, *, copy_to=None) -> PackResult:
    """Write the canonical layer tar of directory `src` to the binary file `out` (or only
    hash it when `out` is None); with `copy_to`, an existing empty directory, also copy
    `src` there as an overlay layer in the same pass."""
    root = open_directory(src, empty=False)
    copy_root = None
    try:
        if copy_to is not None:
            copy_root = open_directory(copy_to, empty=True)
        tar = _TarStream(out)
        try:
            _Packer(tar, copy_root).pack(root)
        except BrokenPipeError:
            raise                       # the reader went away (`moor export c | head`)
        except OSError as error:
            name = error.filename if error.filename is not None else src
            if isinstance(name, bytes):
                name = name.decode("utf-8", "backslashreplace")
            raise MoorError(f"cannot pack layer {src}: {name}: {error.strerror}") from None
        tar.write(bytes(2 * _BLOCK))
        return tar.result()
    finally:
        os.close(root)
        if copy_root is not None:
            os.close(copy_root)
