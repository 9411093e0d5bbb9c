"""pack_layer: a layer or upper directory becomes the canonical layer tar (and, with copy_to,
a copy of itself), and unpack_layer of that tar describes the same file system.

Every test here runs as root: the trees have owners, devices, whiteouts and trusted.* xattrs.
"""

import contextlib
import hashlib
import io
import os
import pathlib
import shutil
import socket
import stat
import subprocess
import tarfile
import tempfile

import pytest
from tarfactory import Archive, describe_tree

from runtime.errors import InvalidArgument
from runtime.image.layer_pack import pack_layer
from runtime.image.layer_unpack import unpack_layer

pytestmark = pytest.mark.privileged

OPAQUE = "trusted.overlay.opaque"
CAPABILITY = bytes.fromhex("01000002" "ff0400fe" "00000000" "00000000" "00000000")
EMPTY_LAYER = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
LONG_DIR = "/".join(["deep" * 15] * 5)          # more than 255 bytes of path
LONG_NAME = "n" * 200


def layer_xattrs(name: str) -> bool:
    """The xattrs a layer keeps through a tar: capabilities, user attributes, opaque."""
    return name in ("security.capability", OPAQUE) or (
        name.startswith("user.") and not name.startswith("user.overlay."))


def make_upper(root, *, reverse: bool = False):
    """An upper dir with one of everything a layer can hold. `reverse` creates the same
    tree in another order, so inode numbers and directory order differ."""
    steps = [
        lambda: _file(root / "etc" / "hostname", b"moorage\n", 0o644, 0, 0),
        lambda: _file(root / "etc" / "shadow", b"root:*:1::::::\n", 0o640, 0, 42),
        lambda: _file(root / "empty", b"", 0o600, 1000, 1000),
        lambda: _file(root / "bin" / "su", b"#!suid\n", 0o4755, 0, 0),
        lambda: _file(root / "bin" / "ping", b"ping", 0o755, 0, 0,
                      {"security.capability": CAPABILITY, "user.origin": b"debian",
                       "trusted.overlay.origin": b"\x00\xfb"}),
        lambda: _hardlink(root / "bin" / "su", root / "usr" / "bin" / "su-again"),
        lambda: _symlink("/etc/passwd", root / "abs-link"),
        lambda: _symlink("../etc/hostname", root / "bin" / "rel-link"),
        lambda: _symlink("nowhere/at/all", root / "dangling"),
        lambda: _symlink("/etc", root / "escape"),
        lambda: _special(root / "run" / "fifo", stat.S_IFIFO | 0o620, 0),
        lambda: _special(root / "dev" / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3)),
        lambda: _special(root / "dev" / "loop9", stat.S_IFBLK | 0o660, os.makedev(7, 9)),
        lambda: _dir(root / "tmp", 0o1777),
        lambda: _dir(root / "srv" / "shared", 0o2775, gid=50, xattrs={"user.tag": b"s"}),
        lambda: _dir(root / "empty-dir", 0o700, uid=5),
        lambda: _file(root / "ünïcødé" / "文件.txt", "ok".encode(), 0o644, 0, 0),
        lambda: _file(root / LONG_DIR / LONG_NAME, b"long", 0o644, 0, 0),
        lambda: _file(root / "ids" / "big", b"ids", 0o644, 3_000_000, 4_000_000),
        lambda: _whiteout(root / "gone"),
        lambda: _whiteout(root / "etc" / "motd"),
        lambda: _dir(root / "var" / "cache", 0o755, xattrs={OPAQUE: b"y"}),
        lambda: _file(root / "var" / "cache" / "new", b"fresh", 0o644, 0, 0),
    ]
    for step in reversed(steps) if reverse else steps:
        step()
    # Directory times last, once nothing is added to them any more; only below `root`.
    for directory, _, _ in os.walk(root):
        os.utime(directory, (1_400_000_000, 1_400_000_000))
    for path, mtime in (("etc", 1_500_000_000), ("var/cache", 1_500_000_001), ("tmp", 7)):
        os.utime(root / path, (mtime, mtime))


def _parent(path):
    path.parent.mkdir(parents=True, exist_ok=True)


def _file(path, data, mode, uid, gid, xattrs=None):
    if path.exists():
        return
    _parent(path)
    path.write_bytes(data)
    os.chown(path, uid, gid)
    os.chmod(path, mode)
    for name, value in (xattrs or {}).items():
        os.setxattr(path, name, value)
    os.utime(path, (1_600_000_000, 1_600_000_000))


def _hardlink(existing, path):
    if not existing.exists():
        _file(existing, b"#!suid\n", 0o4755, 0, 0)
    _parent(path)
    os.link(existing, path)


def _symlink(target, path):
    _parent(path)
    os.symlink(target, path)
    os.utime(path, (1_600_000_002, 1_600_000_002), follow_symlinks=False)


def _special(path, mode, device):
    _parent(path)
    os.mknod(path, mode, device)
    os.chmod(path, stat.S_IMODE(mode))


def _dir(path, mode, uid=0, gid=0, xattrs=None):
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, uid, gid)
    os.chmod(path, mode)
    for name, value in (xattrs or {}).items():
        os.setxattr(path, name, value)


def _whiteout(path):
    _parent(path)
    os.mknod(path, stat.S_IFCHR, 0)


@pytest.fixture
def upper(tmp_path):
    root = tmp_path / "upper"
    root.mkdir()
    make_upper(root)
    return root


def packed(directory, **options) -> tuple[bytes, object]:
    out = io.BytesIO()
    result = pack_layer(str(directory), out, **options)
    return out.getvalue(), result


def members(data: bytes) -> list:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        return tar.getmembers()


def unpacked(data: bytes, directory):
    directory.mkdir()
    unpack_layer(io.BytesIO(data), str(directory))
    return directory


# --------------------------------------------------------------------------- the tar

def test_result_is_the_digest_and_size_of_the_bytes_written(upper):
    data, result = packed(upper)
    assert result.diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    assert result.size == len(data)
    assert pack_layer(str(upper), None) == result


def test_empty_directory_is_the_well_known_empty_layer(tmp_path):
    data, result = packed(tmp_path)
    assert data == bytes(1024)
    assert result.diff_id == EMPTY_LAYER


def test_whiteouts_and_opaque_directories_become_oci_markers(upper):
    by_name = {member.name: member for member in members(packed(upper)[0])}
    for marker in (".wh.gone", "etc/.wh.motd", "var/cache/.wh..wh..opq"):
        member = by_name[marker]
        assert member.isreg() and member.size == 0
        assert (member.mode, member.uid, member.gid, member.mtime) == (0o600, 0, 0, 0)
    assert "gone" not in by_name and "etc/motd" not in by_name
    assert by_name["var/cache"].isdir()
    assert not any("overlay" in key for member in by_name.values()
                   for key in member.pax_headers)


def test_entries_are_canonical(upper):
    entries = members(packed(upper)[0])
    names = [member.name for member in entries]
    assert names.index("var") < names.index("var/cache") < names.index("var/cache/.wh..wh..opq")
    assert names.index("var/cache/.wh..wh..opq") < names.index("var/cache/new")
    assert names.index("etc/.wh.motd") < names.index("etc/hostname")  # whiteouts first
    assert names.index(".wh.gone") == 0
    assert "run/fifo" in names and "dev/null" in names
    for member in entries:
        assert (member.uname, member.gname) == ("", "")
        assert isinstance(member.mtime, int)
        assert not {"atime", "ctime", "uname", "gname"} & set(member.pax_headers)
    by_name = {member.name: member for member in entries}
    assert by_name["etc"].mtime == 1_500_000_000
    assert by_name["ids/big"].uid == 3_000_000 and by_name["ids/big"].gid == 4_000_000
    assert by_name["bin/su"].mode == 0o4755 and by_name["tmp"].mode == 0o1777
    ping = by_name["bin/ping"].pax_headers
    assert ping["SCHILY.xattr.user.origin"] == "debian"
    assert "SCHILY.xattr.security.capability" in ping


def test_hard_links_point_to_the_first_path(upper):
    by_name = {member.name: member for member in members(packed(upper)[0])}
    assert by_name["bin/su"].isreg()
    assert by_name["usr/bin/su-again"].islnk()
    assert by_name["usr/bin/su-again"].linkname == "bin/su"


def test_symlinked_directories_are_not_walked(upper):
    names = [member.name for member in members(packed(upper)[0])]
    assert "escape" in names
    assert not any(name.startswith("escape/") for name in names)


def test_sockets_are_left_out(tmp_path):
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(tmp_path / "sock"))
        (tmp_path / "f").write_text("f")
        assert [member.name for member in members(packed(tmp_path)[0])] == ["f"]


def test_gnu_tar_reads_the_archive(upper, tmp_path):
    data, _ = packed(upper)
    target = tmp_path / "gnu"
    target.mkdir()
    subprocess.run(["tar", "--xattrs", "--xattrs-include=user.*", "--numeric-owner",
                    "-C", str(target), "-xf", "-"], input=data, check=True)
    assert (target / LONG_DIR / LONG_NAME).read_bytes() == b"long"
    assert os.getxattr(target / "bin" / "ping", "user.origin") == b"debian"
    assert os.lstat(target / "ids" / "big").st_uid == 3_000_000


def test_non_utf8_names_survive(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    name = os.fsencode(source) + b"/caf\xe9-\xff"
    with open(name, "wb") as out:
        out.write(b"latin-1")
    data, _ = packed(source)
    target = unpacked(data, tmp_path / "target")
    assert os.listdir(os.fsencode(target)) == [b"caf\xe9-\xff"]


# --------------------------------------------------------------------------- round trips

def test_pack_then_unpack_describes_the_same_file_system(upper, tmp_path):
    data, _ = packed(upper)
    target = unpacked(data, tmp_path / "target")
    assert describe_tree(target, xattr_filter=layer_xattrs) == \
        describe_tree(upper, xattr_filter=layer_xattrs)


def test_pack_unpack_pack_is_a_fixed_point(upper, tmp_path):
    first, _ = packed(upper)
    second, _ = packed(unpacked(first, tmp_path / "once"))
    assert second == first
    third, _ = packed(unpacked(second, tmp_path / "twice"))
    assert third == first


@pytest.fixture
def tmpfs_dir(tmp_path):
    """A directory on tmpfs, whose readdir order (newest first) differs from ext4's."""
    shm = pathlib.Path(tempfile.mkdtemp(dir="/dev/shm", prefix="moorage-test-"))
    yield shm
    shutil.rmtree(shm)


def test_same_tree_gives_the_same_bytes(upper, tmpfs_dir):
    again = tmpfs_dir / "again"
    again.mkdir()
    make_upper(again, reverse=True)
    assert os.listdir(again) != os.listdir(upper)
    assert describe_tree(again) == describe_tree(upper)
    first, _ = packed(upper)
    assert packed(upper)[0] == first
    assert packed(again)[0] == first


def test_copy_to_makes_an_exact_overlay_copy(upper, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    data, result = packed(upper, copy_to=str(copy))

    def no_overlay_internals(name):
        return not name.startswith("trusted.overlay.") or name == OPAQUE

    assert describe_tree(copy, mtime_ns=True, xattr_filter=no_overlay_internals) == \
        describe_tree(upper, mtime_ns=True, xattr_filter=no_overlay_internals)
    assert os.listxattr(copy / "bin" / "ping") == ["security.capability", "user.origin"]
    assert os.getxattr(copy / "var" / "cache", OPAQUE) == b"y"
    assert stat.S_ISCHR(os.lstat(copy / "gone").st_mode)
    assert (os.lstat(copy / "usr" / "bin" / "su-again").st_ino
            == os.lstat(copy / "bin" / "su").st_ino)
    assert packed(copy) == (data, result)


def test_copy_of_an_opaque_root(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    os.setxattr(source, OPAQUE, b"y")
    copy = tmp_path / "copy"
    copy.mkdir()
    data, _ = packed(source, copy_to=str(copy))
    assert [member.name for member in members(data)] == [".wh..wh..opq"]
    assert os.getxattr(copy, OPAQUE) == b"y"
    target = unpacked(data, tmp_path / "target")
    assert os.getxattr(target, OPAQUE) == b"y"


def test_copy_to_must_be_an_empty_directory(upper, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "x").write_text("x")
    with pytest.raises(InvalidArgument, match="not empty"):
        pack_layer(str(upper), None, copy_to=str(copy))


def test_source_must_be_a_directory_not_a_symlink(upper, tmp_path):
    os.symlink(upper, tmp_path / "link")
    with pytest.raises(InvalidArgument, match="not a usable directory"):
        pack_layer(str(tmp_path / "link"), None)


# --------------------------------------------------------------------------- through overlayfs

@contextlib.contextmanager
def overlay(merged, lower: list, upper=None, work=None):
    """A real overlay mount, always unmounted afterwards."""
    options = "lowerdir=" + ":".join(str(path) for path in lower)
    if upper is not None:
        options += f",upperdir={upper},workdir={work}"
    merged.mkdir()
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, str(merged)],
                   check=True)
    try:
        yield merged
    finally:
        subprocess.run(["umount", str(merged)], check=True)


def view(directory) -> dict:
    """What a container sees: paths, kinds and contents."""
    return {path: (item.get("kind"), item.get("sha256"), item.get("target"))
            for path, item in describe_tree(directory).items() if path != b"."}


def test_commit_of_a_real_overlay_upper_dir(tmp_path):
    """The kernel writes this upper dir; its whiteouts share one inode (overlayfs links
    them to a single whiteout), and must still come out as whiteouts, not hard links."""
    base = unpacked(Archive().file("etc/hostname", b"old").file("etc/motd", b"motd")
                    .file("var/cache/a", b"a").file("var/cache/b", b"b")
                    .file("bin/tool", b"tool").file("tmp/x", b"x").bytes(), tmp_path / "base")
    upper, work = tmp_path / "upper", tmp_path / "work"
    upper.mkdir()
    work.mkdir()
    with overlay(tmp_path / "merged", [base], upper, work) as merged:
        (merged / "etc" / "motd").unlink()
        (merged / "tmp" / "x").unlink()
        shutil.rmtree(merged / "var" / "cache")
        (merged / "var" / "cache").mkdir()
        (merged / "var" / "cache" / "new").write_bytes(b"new")
        (merged / "etc" / "hostname").write_bytes(b"new")
        expected = view(merged)
    copy = tmp_path / "copy"
    copy.mkdir()
    data, _ = packed(upper, copy_to=str(copy))
    names = [member.name for member in members(data)]
    assert {"etc/.wh.motd", "tmp/.wh.x", "var/cache/.wh..wh..opq"} <= set(names)
    assert "var/cache/new" in names and "bin/tool" not in names
    with overlay(tmp_path / "from-copy", [copy, base]) as merged:
        assert view(merged) == expected
    with overlay(tmp_path / "from-tar", [unpacked(data, tmp_path / "layer"), base]) as merged:
        assert view(merged) == expected
