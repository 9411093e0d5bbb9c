"""Archives and trees for the layer tests.

`Archive` writes tar headers byte by byte, so a test can put in them what a careful writer
would refuse or fix: names that climb out, NUL bytes, PAX records that override a harmless
ustar name, GNU long names, global headers, binary xattr values, huge size claims.
`describe_tree` turns a directory into a comparable value without following any symlink.
"""

import hashlib
import os
import stat
import zlib

BLOCK = 512
MTIME = 1_600_000_000


def _number(value: int, width: int) -> bytes:
    if 0 <= value < 8 ** (width - 1):
        return b"%0*o\0" % (width - 1, value)
    return b"\x80" + value.to_bytes(width - 1, "big")   # GNU base-256


def _bytes(value) -> bytes:
    return value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value


def header(name, typeflag: bytes, *, size: int = 0, mode: int = 0o644, uid: int = 0,
           gid: int = 0, mtime: int = MTIME, linkname=b"", devmajor: int = 0,
           devminor: int = 0) -> bytes:
    """One ustar header block; `name` and `linkname` are cut to their fields."""
    block = bytearray(BLOCK)
    name, linkname = _bytes(name)[:100], _bytes(linkname)[:100]
    block[0:len(name)] = name
    block[100:108] = _number(mode, 8)
    block[108:116] = _number(uid, 8)
    block[116:124] = _number(gid, 8)
    block[124:136] = _number(size, 12)
    block[136:148] = _number(mtime, 12)
    block[148:156] = b" " * 8
    block[156:157] = typeflag
    block[157:157 + len(linkname)] = linkname
    block[257:265] = b"ustar\x0000"
    block[329:337] = _number(devmajor, 8)
    block[337:345] = _number(devminor, 8)
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def pax_record(key, value) -> bytes:
    body = b" " + _bytes(key) + b"=" + _bytes(value) + b"\n"
    length = len(body) + len(str(len(body)))
    length = len(body) + len(str(length))
    return b"%d" % length + body


def padded(data: bytes) -> bytes:
    return data + bytes(-len(data) % BLOCK)


class Archive:
    """A tar built entry by entry. `pax` adds a PAX extended header before the entry."""

    def __init__(self):
        self._parts: list[bytes] = []

    def _add(self, name, typeflag, data=b"", pax=None, **fields):
        if pax:
            records = b"".join(pax_record(k, v) for k, v in pax.items())
            self._parts.append(header("././@PaxHeader", b"x", size=len(records)))
            self._parts.append(padded(records))
        self._parts.append(header(name, typeflag, size=len(data), **fields))
        self._parts.append(padded(data))
        return self

    def file(self, name, data: bytes = b"", *, pax=None, **fields):
        return self._add(name, b"0", data, pax, **fields)

    def dir(self, name, *, pax=None, **fields):
        fields.setdefault("mode", 0o755)
        return self._add(name, b"5", b"", pax, **fields)

    def symlink(self, name, target, *, pax=None, **fields):
        return self._add(name, b"2", b"", pax, linkname=target, mode=0o777, **fields)

    def hardlink(self, name, target, *, pax=None, **fields):
        return self._add(name, b"1", b"", pax, linkname=target, **fields)

    def fifo(self, name, **fields):
        return self._add(name, b"6", **fields)

    def device(self, name, kind: str, major: int, minor: int, **fields):
        return self._add(name, b"3" if kind == "c" else b"4", devmajor=major, devminor=minor,
                         **fields)

    def gnu_longname(self, name, data: bytes = b"x"):
        """A GNU 'L' entry carrying `name` for the regular file that follows."""
        long_name = _bytes(name) + b"\0"
        self._parts.append(header("././@LongLink", b"L", size=len(long_name)))
        self._parts.append(padded(long_name))
        return self.file("placeholder", data)

    def global_header(self, records: dict):
        body = b"".join(pax_record(k, v) for k, v in records.items())
        self._parts.append(header("pax_global_header", b"g", size=len(body)))
        self._parts.append(padded(body))
        return self

    def raw(self, data: bytes):
        self._parts.append(data)
        return self

    def bytes(self, *, trailing: int = 0) -> bytes:
        """The archive with its two zero end blocks and `trailing` extra zero bytes."""
        return b"".join(self._parts) + bytes(2 * BLOCK + trailing)


def gzip_repeated(piece: bytes, count: int) -> bytes:
    """A gzip stream expanding to `piece` repeated `count` times, built without compressing
    all of it: a deflate block that ends in a full flush refers to nothing before it, so
    its bytes can be repeated. The trailer is left off; the stream is meant to be refused
    long before its end."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(piece) + compressor.flush(zlib.Z_FULL_FLUSH)
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03" + block * count


class CountingReader:
    """A binary stream that remembers how many bytes were taken from it."""

    def __init__(self, data: bytes):
        self._data = memoryview(data)
        self.taken = 0

    def read(self, size=-1):
        if size is None or size < 0:
            size = len(self._data) - self.taken
        chunk = bytes(self._data[self.taken:self.taken + size])
        self.taken += len(chunk)
        return chunk


def _xattrs(path: bytes) -> dict:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}
    return {name: os.getxattr(path, name, follow_symlinks=False) for name in sorted(names)}


def describe_tree(root, *, mtime_ns: bool = False, xattr_filter=None,
                  exclude=()) -> dict:
    """{relative path: what a layer says about it}, never following a symlink.

    Whiteouts (char devices 0/0) are described only as whiteouts. Hard links show as the
    first path (in sorted order) of their inode. The root is described by its xattrs only.
    """
    root = os.fsencode(root)
    exclude = {os.fsencode(path) for path in exclude}
    keep = xattr_filter or (lambda name: True)
    found = {}
    inodes: dict[tuple, list] = {}
    for directory, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if os.path.join(directory, d) not in exclude]
        for name in dirs + files:
            path = os.path.join(directory, name)
            if path in exclude:
                continue
            found[os.path.relpath(path, root)] = os.lstat(path)
    description = {b".": {"xattrs": {k: v for k, v in _xattrs(root).items() if keep(k)}}}
    for rel, st in sorted(found.items()):
        if not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1:
            inodes.setdefault((st.st_dev, st.st_ino), []).append(rel)
    first_link = {rel: paths[0] for paths in inodes.values() for rel in paths}
    for rel, st in sorted(found.items()):
        path = os.path.join(root, rel)
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            description[rel] = {"kind": "whiteout"}
            continue
        item = {
            "kind": stat.S_IFMT(st.st_mode),
            "mode": stat.S_IMODE(st.st_mode),
            "owner": (st.st_uid, st.st_gid),
            "mtime": st.st_mtime_ns if mtime_ns else st.st_mtime_ns // 10**9,
            "xattrs": {k: v for k, v in _xattrs(path).items() if keep(k)},
        }
        if stat.S_ISREG(st.st_mode):
            with open(path, "rb") as data:
                item["sha256"] = hashlib.sha256(data.read()).hexdigest()
            item["size"] = st.st_size
        elif stat.S_ISLNK(st.st_mode):
            item["target"] = os.readlink(path)
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            item["rdev"] = (os.major(st.st_rdev), os.minor(st.st_rdev))
        if rel in first_link:
            item["link"] = first_link[rel]
        description[rel] = item
    return description
