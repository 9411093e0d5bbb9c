"""unpack_layer: a layer archive becomes an overlayfs-ready directory, and a hostile archive
is refused without touching anything outside its destination.

Every test here runs as root: unpacking sets numeric owners, makes devices and whiteouts and
writes trusted.* xattrs.
"""

import bz2
import gzip
import hashlib
import io
import lzma
import os
import resource
import stat
import subprocess
import tarfile

import pytest
import zstandard
from tarfactory import MTIME, Archive, CountingReader, describe_tree, gzip_repeated, header, padded

from runtime.errors import InvalidArgument, UnsafeArchive
from runtime.image.layer_unpack import LayerLimits, unpack_layer

pytestmark = pytest.mark.privileged

OPAQUE = "trusted.overlay.opaque"
# A version 2 file capability (CAP_NET_BIND_SERVICE, effective), and one whose bytes are not
# UTF-8, to show binary PAX values survive.
CAPABILITY = bytes.fromhex("01000002" "00040000" "00000000" "00000000" "00000000")
BINARY_CAPABILITY = bytes.fromhex("01000002" "ff0400fe" "00000000" "00000000" "00000000")


class Host:
    """A temporary 'host': the layer's staging destination, a victim directory and a canary
    directory beside it. `untouched()` says whether anything outside the destination
    changed since the Host was made."""

    def __init__(self, root):
        self.root = root
        self.victim = root / "victim"
        self.canary = root / "staging" / "canary"
        self.dest = root / "staging" / "layer"
        self.victim.mkdir()
        (self.victim / "f").write_text("victim file")
        (self.victim / "sub").mkdir()
        self.canary.mkdir(parents=True)
        (self.canary / "c").write_text("canary")
        self.dest.mkdir()
        self.passwd = _fingerprint("/etc/passwd")
        self.before = self._state()

    def _state(self):
        return describe_tree(self.root, mtime_ns=True, exclude=[self.dest])

    def untouched(self) -> bool:
        return self._state() == self.before and _fingerprint("/etc/passwd") == self.passwd

    def relative_to_dest(self, path) -> str:
        return os.path.relpath(path, self.dest)


def _fingerprint(path):
    st = os.lstat(path)
    with open(path, "rb") as data:
        return (st.st_mode, st.st_uid, st.st_nlink, st.st_mtime_ns,
                hashlib.sha256(data.read()).hexdigest())


@pytest.fixture
def host(tmp_path):
    return Host(tmp_path)


def unpack(data: bytes, dest, **options):
    return unpack_layer(io.BytesIO(data), str(dest), **options)


# --------------------------------------------------------------------------- digests

def _tarfile_layer() -> bytes:
    """A tar from tarfile, which pads to a 10 KiB record: the digest must cover it."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in (("etc/hostname", b"moorage\n"), ("bin/tool", b"\x7fELF" * 300)):
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), MTIME
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.mark.parametrize("compress", [
    pytest.param(lambda data: data, id="plain"),
    pytest.param(gzip.compress, id="gzip"),
    pytest.param(bz2.compress, id="bzip2"),
    pytest.param(lzma.compress, id="xz"),
    pytest.param(lambda data: zstandard.ZstdCompressor().compress(data), id="zstd"),
])
def test_diff_id_is_sha256_of_every_uncompressed_byte(host, compress):
    layer = _tarfile_layer() + bytes(4096)     # padding after the end blocks counts too
    stats = unpack(compress(layer), host.dest)
    assert stats.diff_id == "sha256:" + hashlib.sha256(layer).hexdigest()
    assert stats.size == 8 + 1200
    assert stats.entries == 2
    assert (host.dest / "etc" / "hostname").read_bytes() == b"moorage\n"


def test_multi_member_gzip_is_one_stream(host):
    layer = Archive().file("a", b"1").file("b", b"2").bytes()
    stats = unpack(gzip.compress(layer[:1024]) + gzip.compress(layer[1024:]), host.dest)
    assert stats.diff_id == "sha256:" + hashlib.sha256(layer).hexdigest()
    assert (host.dest / "b").read_bytes() == b"2"


def test_empty_stream_is_an_empty_layer(host):
    stats = unpack(b"", host.dest)
    assert stats.diff_id == "sha256:" + hashlib.sha256(b"").hexdigest()
    assert (stats.size, stats.entries) == (0, 0)
    assert os.listdir(host.dest) == []


def test_zstd_of_several_frames_is_one_stream(host):
    """As zstd's own tool writes a long stream, and skopeo's zstd:chunked layers."""
    layer = Archive().file("a", b"1").file("b", b"2").bytes()
    compressor = zstandard.ZstdCompressor()
    stats = unpack(compressor.compress(layer[:1024]) + compressor.compress(layer[1024:]),
                   host.dest)
    assert stats.diff_id == "sha256:" + hashlib.sha256(layer).hexdigest()
    assert (host.dest / "b").read_bytes() == b"2"


def test_damaged_zstd_is_refused_clearly(host):
    with pytest.raises(InvalidArgument, match="layer archive cannot be read"):
        unpack(b"\x28\xb5\x2f\xfd" + b"\xff" * 100, host.dest)


def test_garbage_is_not_a_layer(host):
    with pytest.raises(InvalidArgument, match="not a valid layer archive"):
        unpack(b"this is not a tar archive at all" * 40, host.dest)


def test_damaged_header_in_the_middle_is_an_error_not_an_end(host):
    layer = bytearray(Archive().file("a", b"1").file("b", b"2").bytes())
    layer[1024 + 148] ^= 0x01   # checksum of the second header
    with pytest.raises(InvalidArgument, match="not a valid layer archive"):
        unpack(bytes(layer), host.dest)


def test_archive_cut_inside_a_file_is_an_error(host):
    layer = Archive().file("big", b"x" * 5000).bytes()
    with pytest.raises(InvalidArgument, match="damaged"):
        unpack(layer[:2048], host.dest)


def test_truncated_gzip_is_an_error(host):
    data = gzip.compress(Archive().file("a", os.urandom(20000)).bytes())
    with pytest.raises(InvalidArgument, match="compressed data ends early"):
        unpack(data[:-100], host.dest)


def test_destination_must_be_empty(host):
    (host.dest / "already").write_text("x")
    with pytest.raises(InvalidArgument, match="not empty"):
        unpack(Archive().file("a").bytes(), host.dest)


# --------------------------------------------------------------------------- contents

def test_files_keep_content_mode_owner_and_mtime(host):
    layer = (Archive()
             .file("bin/su", b"#!suid", mode=0o4755, uid=0, gid=0)
             .file("bin/wall", b"sgid", mode=0o2755, gid=5)
             .file("home/user/.profile", b"PS1=$", mode=0o600, uid=1000, gid=1000,
                   mtime=1_234_567_890)
             .dir("tmp", mode=0o1777)
             .bytes())
    unpack(layer, host.dest)
    su = os.lstat(host.dest / "bin" / "su")
    assert stat.S_IMODE(su.st_mode) == 0o4755
    assert stat.S_IMODE(os.lstat(host.dest / "bin" / "wall").st_mode) == 0o2755
    assert os.lstat(host.dest / "bin" / "wall").st_gid == 5
    profile = os.lstat(host.dest / "home" / "user" / ".profile")
    assert (profile.st_uid, profile.st_gid, stat.S_IMODE(profile.st_mode)) == (1000, 1000, 0o600)
    assert profile.st_mtime == 1_234_567_890
    assert (host.dest / "home" / "user" / ".profile").read_bytes() == b"PS1=$"
    assert stat.S_IMODE(os.lstat(host.dest / "tmp").st_mode) == 0o1777


def test_large_owner_ids_from_pax_records(host):
    layer = Archive().file("f", b"x", pax={"uid": "3000000", "gid": "4000000"}).bytes()
    unpack(layer, host.dest)
    st = os.lstat(host.dest / "f")
    assert (st.st_uid, st.st_gid) == (3_000_000, 4_000_000)


def test_directory_metadata_is_applied_after_its_children(host):
    layer = (Archive()
             .dir("d", mode=0o555, uid=42, gid=43, mtime=1_000_000_000)
             .file("d/inner/f", b"data")
             .dir("d/inner", mode=0o700, mtime=1_100_000_000)
             .bytes())
    unpack(layer, host.dest)
    d = os.lstat(host.dest / "d")
    assert (stat.S_IMODE(d.st_mode), d.st_uid, d.st_gid) == (0o555, 42, 43)
    assert d.st_mtime == 1_000_000_000
    assert os.lstat(host.dest / "d" / "inner").st_mtime == 1_100_000_000
    assert (host.dest / "d" / "inner" / "f").read_bytes() == b"data"


def test_missing_parents_are_made_0755_root(host):
    unpack(Archive().file("a/b/c", b"x", uid=7).bytes(), host.dest)
    for path in (host.dest / "a", host.dest / "a" / "b"):
        st = os.lstat(path)
        assert stat.S_ISDIR(st.st_mode)
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o755, 0, 0)
    assert os.lstat(host.dest / "a" / "b" / "c").st_uid == 7


def test_symlinks_are_not_followed_and_keep_owner_and_time(host):
    layer = (Archive()
             .symlink("etc/mtab", "/proc/mounts", uid=5, gid=6, mtime=1_200_000_000)
             .symlink("lib", "usr/lib")
             .symlink("dangling", "../../nowhere/at/all")
             .bytes())
    unpack(layer, host.dest)
    mtab = os.lstat(host.dest / "etc" / "mtab")
    assert stat.S_ISLNK(mtab.st_mode)
    assert (mtab.st_uid, mtab.st_gid, mtab.st_mtime) == (5, 6, 1_200_000_000)
    assert os.readlink(host.dest / "etc" / "mtab") == "/proc/mounts"
    assert os.readlink(host.dest / "lib") == "usr/lib"
    assert os.readlink(host.dest / "dangling") == "../../nowhere/at/all"


def test_hard_links_share_the_inode(host):
    layer = (Archive().file("bin/busybox", b"BB", mode=0o755)
             .hardlink("bin/sh", "bin/busybox").hardlink("/sbin/init", "/bin/busybox")
             .bytes())
    unpack(layer, host.dest)
    inode = os.lstat(host.dest / "bin" / "busybox").st_ino
    assert os.lstat(host.dest / "bin" / "sh").st_ino == inode
    assert os.lstat(host.dest / "sbin" / "init").st_ino == inode
    assert os.lstat(host.dest / "bin" / "busybox").st_nlink == 3


def test_fifo_and_devices(host):
    layer = (Archive().fifo("run/fifo", mode=0o620)
             .device("dev/null", "c", 1, 3, mode=0o666)
             .device("dev/sda", "b", 8, 0, mode=0o660, gid=6)
             .bytes())
    unpack(layer, host.dest)
    fifo = os.lstat(host.dest / "run" / "fifo")
    assert stat.S_ISFIFO(fifo.st_mode) and stat.S_IMODE(fifo.st_mode) == 0o620
    null = os.lstat(host.dest / "dev" / "null")
    assert stat.S_ISCHR(null.st_mode) and os.major(null.st_rdev) == 1
    assert os.minor(null.st_rdev) == 3 and stat.S_IMODE(null.st_mode) == 0o666
    sda = os.lstat(host.dest / "dev" / "sda")
    assert stat.S_ISBLK(sda.st_mode) and (os.major(sda.st_rdev), sda.st_gid) == (8, 6)


def test_xattrs_keep_capabilities_and_user_attributes_only(host):
    layer = (Archive()
             .file("bin/ping", b"p", pax={"SCHILY.xattr.security.capability": CAPABILITY,
                                          "SCHILY.xattr.user.origin": "debian",
                                          "SCHILY.xattr.trusted.overlay.redirect": "/x",
                                          "SCHILY.xattr.trusted.other": "t",
                                          "SCHILY.xattr.user.overlay.opaque": "y"})
             .file("bin/raw", b"r",
                   pax={"SCHILY.xattr.security.capability": BINARY_CAPABILITY})
             .dir("data", pax={"SCHILY.xattr.trusted.overlay.opaque": "y",
                               "SCHILY.xattr.user.tag": "d"})
             .bytes())
    unpack(layer, host.dest)
    ping = os.fsencode(host.dest / "bin" / "ping")
    assert sorted(os.listxattr(ping)) == ["security.capability", "user.origin"]
    assert os.getxattr(ping, "security.capability") == CAPABILITY
    assert os.getxattr(host.dest / "bin" / "raw", "security.capability") == BINARY_CAPABILITY
    assert os.listxattr(host.dest / "data") == ["user.tag"]


def test_unicode_and_long_names(host):
    deep = "/".join(["d" * 60] * 6) + "/" + "f" * 200     # a path of more than 500 bytes
    layer = (Archive()
             .file("ünïcødé/文件.txt", "ok".encode())
             .file("x", b"long", pax={"path": deep})
             .gnu_longname("g" * 150 + "/file", b"gnu")
             .bytes())
    unpack(layer, host.dest)
    assert (host.dest / "ünïcødé" / "文件.txt").read_bytes() == b"ok"
    assert (host.dest / deep).read_bytes() == b"long"
    assert (host.dest / ("g" * 150) / "file").read_bytes() == b"gnu"


def test_root_entry_and_global_headers_are_ignored(host):
    layer = (Archive().global_header({"path": "../../pwned", "uid": "99"})
             .dir("./", mode=0o700, uid=5)
             .file("kept", b"k")
             .bytes())
    stats = unpack(layer, host.dest)
    assert os.listdir(host.dest) == ["kept"]
    assert os.lstat(host.dest / "kept").st_uid == 0
    assert stats.entries == 2
    assert host.untouched()


def test_sparse_files_are_refused(host):
    layer = Archive().file("s", b"data", pax={"GNU.sparse.map": "0,4",
                                             "GNU.sparse.realsize": "1000000"}).bytes()
    with pytest.raises(InvalidArgument, match="sparse"):
        unpack(layer, host.dest)


def test_gnu_tar_layer_unpacks_to_the_same_tree(host, tmp_path):
    source = tmp_path / "source"
    (source / "etc").mkdir(parents=True)
    (source / "etc" / "motd").write_text("hello")
    os.chown(source / "etc" / "motd", 1234, 5678)
    os.chmod(source / "etc" / "motd", 0o640)
    os.setxattr(source / "etc" / "motd", "user.origin", b"gnu")
    (source / "bin").mkdir()
    (source / "bin" / "app").write_bytes(b"\x7fELF")
    os.chmod(source / "bin" / "app", 0o4711)
    os.link(source / "bin" / "app", source / "bin" / "app2")
    os.symlink("/etc/motd", source / "motd")
    os.mkfifo(source / "fifo")
    os.mknod(source / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    layer = subprocess.run(["tar", "--xattrs", "--xattrs-include=*", "--numeric-owner",
                            "--sort=name", "-C", str(source), "-cf", "-", "."],
                           check=True, capture_output=True).stdout
    stats = unpack(layer, host.dest)
    assert stats.diff_id == "sha256:" + hashlib.sha256(layer).hexdigest()
    assert describe_tree(host.dest) == describe_tree(source)


def test_many_directories_use_a_bounded_number_of_fds(host):
    archive = Archive()
    for index in range(600):
        archive.dir(f"d{index:03d}/sub", mode=0o750).file(f"d{index:03d}/sub/f", b"x")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    open_before = len(os.listdir("/proc/self/fd"))
    resource.setrlimit(resource.RLIMIT_NOFILE, (open_before + 200, hard))
    try:
        unpack(archive.bytes(), host.dest)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert len(os.listdir("/proc/self/fd")) == open_before
    assert stat.S_IMODE(os.lstat(host.dest / "d599" / "sub").st_mode) == 0o750


# --------------------------------------------------------------------------- later entries

def test_later_file_replaces_earlier_file(host):
    unpack(Archive().file("f", b"one").file("f", b"two", mode=0o600).bytes(), host.dest)
    assert (host.dest / "f").read_bytes() == b"two"
    assert stat.S_IMODE(os.lstat(host.dest / "f").st_mode) == 0o600


def test_directory_over_directory_merges(host):
    layer = (Archive().dir("d", mode=0o700).file("d/keep", b"k").dir("d", mode=0o750, uid=3)
             .bytes())
    unpack(layer, host.dest)
    d = os.lstat(host.dest / "d")
    assert (stat.S_IMODE(d.st_mode), d.st_uid) == (0o750, 3)
    assert (host.dest / "d" / "keep").read_bytes() == b"k"


def test_file_replaces_directory_and_directory_replaces_file(host):
    layer = (Archive().dir("a").file("a/child", b"c").file("a", b"now a file")
             .file("b", b"was a file").dir("b").file("b/child", b"c")
             .bytes())
    unpack(layer, host.dest)
    assert (host.dest / "a").read_bytes() == b"now a file"
    assert (host.dest / "b" / "child").read_bytes() == b"c"


def test_file_replaces_symlink_without_following_it(host):
    """CVE-2021-32760: a later entry over a symlink must not chmod or write its target."""
    target = str(host.victim / "f")
    layer = (Archive().symlink("x", target).file("x", b"mine", mode=0o4777)
             .symlink("d", str(host.victim)).dir("d", mode=0o777)
             .bytes())
    unpack(layer, host.dest)
    assert (host.dest / "x").read_bytes() == b"mine"
    assert stat.S_ISDIR(os.lstat(host.dest / "d").st_mode)
    assert host.untouched()


def test_absolute_names_land_inside(host):
    unpack(Archive().file("/etc/pwned", b"inside").file("//x", b"x").bytes(), host.dest)
    assert (host.dest / "etc" / "pwned").read_bytes() == b"inside"
    assert (host.dest / "x").read_bytes() == b"x"
    assert not os.path.exists("/etc/pwned")
    assert host.untouched()


# --------------------------------------------------------------------------- whiteouts

def _is_whiteout(path) -> bool:
    st = os.lstat(path)
    return (stat.S_ISCHR(st.st_mode) and st.st_rdev == 0 and stat.S_IMODE(st.st_mode) == 0
            and (st.st_uid, st.st_gid) == (0, 0))


def test_whiteout_becomes_a_character_device(host):
    unpack(Archive().file("etc/.wh.passwd", mode=0o644, uid=5).file(".wh.gone").bytes(),
           host.dest)
    assert _is_whiteout(host.dest / "etc" / "passwd")
    assert _is_whiteout(host.dest / "gone")
    assert not os.path.lexists(host.dest / "etc" / ".wh.passwd")


def test_opaque_marker_sets_the_xattr(host):
    layer = (Archive().dir("var").file("var/.wh..wh..opq").file("var/new", b"n")
             .file("fresh/.wh..wh..opq").file(".wh..wh..opq")
             .bytes())
    unpack(layer, host.dest)
    assert os.getxattr(host.dest / "var", OPAQUE) == b"y"
    assert os.getxattr(host.dest / "fresh", OPAQUE) == b"y"
    assert os.getxattr(host.dest, OPAQUE) == b"y"
    assert sorted(os.listdir(host.dest / "var")) == ["new"]


def test_other_metadata_whiteouts_are_skipped(host):
    layer = (Archive().dir(".wh..wh.plnk").file(".wh..wh.plnk/123.456", b"x")
             .file(".wh..wh.aufs").file("d/.wh..wh.orph").file("kept", b"k").bytes())
    unpack(layer, host.dest)
    assert os.listdir(host.dest) == ["kept"]


def test_whiteout_only_hides_lower_layers(host):
    layer = (Archive().file("mine", b"kept").file(".wh.mine")
             .dir("dir").file("dir/x", b"x").file(".wh.dir")
             .bytes())
    unpack(layer, host.dest)
    assert (host.dest / "mine").read_bytes() == b"kept"
    assert (host.dest / "dir" / "x").read_bytes() == b"x"
    assert os.getxattr(host.dest / "dir", OPAQUE) == b"y"


def test_directory_replacing_a_whiteout_is_opaque(host):
    layer = (Archive().file(".wh.a").dir("a").file("a/x", b"x")
             .file(".wh.b").file("b/y", b"y")
             .bytes())
    unpack(layer, host.dest)
    assert os.getxattr(host.dest / "a", OPAQUE) == b"y"
    assert os.getxattr(host.dest / "b", OPAQUE) == b"y"
    assert (host.dest / "b" / "y").read_bytes() == b"y"


# --------------------------------------------------------------------------- hostile

def _symlink_then_write(host, link_target):
    return Archive().symlink("evil", link_target).file("evil/pwned", b"pwned").bytes()


HOSTILE = {
    "dotdot": (lambda h: Archive().file("../../pwned", b"x").bytes(), "breakout"),
    "inner-dotdot": (lambda h: Archive().file("a/../../pwned", b"x").bytes(), "breakout"),
    "dot-slash-dotdot": (lambda h: Archive().file("./a/../../../pwned", b"x").bytes(),
                         "breakout"),
    "absolute-dotdot": (lambda h: Archive().file("/../pwned", b"x").bytes(), "breakout"),
    "pax-path-override": (
        lambda h: Archive().file("harmless", b"x", pax={"path": "../pwned"}).bytes(),
        "breakout"),
    "gnu-longname-dotdot": (
        lambda h: Archive().gnu_longname("a" * 120 + "/../../../pwned").bytes(), "breakout"),
    "symlink-to-root": (
        lambda h: Archive().symlink("evil", "/")
        .file("evil" + str(h.victim / "pwned"), b"x").bytes(), "symlink"),
    "symlink-to-victim": (lambda h: _symlink_then_write(h, str(h.victim)), "symlink"),
    "symlink-relative-up": (
        lambda h: _symlink_then_write(h, h.relative_to_dest(h.victim)), "symlink"),
    "symlink-dotdot-chain": (
        lambda h: Archive().symlink("up", "../..").symlink("up2", "up/..")
        .file("up2/victim/pwned", b"x").bytes(), "symlink"),
    "dir-then-symlink-then-file": (
        lambda h: Archive().dir("a").symlink("a", str(h.victim)).file("a/pwned", b"x")
        .bytes(), "symlink"),
    "symlink-then-nested-dir": (
        lambda h: Archive().symlink("evil", str(h.victim)).dir("evil/sub/deeper").bytes(),
        "symlink"),
    "hardlink-absolute-host-file": (
        lambda h: Archive().hardlink("h", "/etc/passwd").bytes(), "not in the layer"),
    "hardlink-dotdot": (
        lambda h: Archive().hardlink("h", h.relative_to_dest(h.victim / "f")).bytes(),
        "breakout"),
    "hardlink-to-symlink-pointing-out": (
        lambda h: Archive().symlink("s", "/etc/passwd").hardlink("h", "s").bytes(),
        "symlink"),
    "hardlink-through-symlinked-dir": (
        lambda h: Archive().symlink("evil", str(h.victim)).hardlink("h", "evil/f").bytes(),
        "symlink"),
    "hardlink-to-directory": (
        lambda h: Archive().dir("d").hardlink("h", "d").bytes(), "directory"),
    "whiteout-through-symlink": (
        lambda h: Archive().symlink("evil", str(h.victim)).file("evil/.wh.f").bytes(),
        "symlink"),
    "whiteout-through-symlink-to-etc": (
        lambda h: Archive().symlink("etc", "/etc").file("etc/.wh.passwd").bytes(), "symlink"),
    "opaque-through-symlink": (
        lambda h: Archive().symlink("evil", str(h.victim)).file("evil/.wh..wh..opq").bytes(),
        "symlink"),
    "whiteout-empty-name": (lambda h: Archive().file(".wh.").bytes(), "whiteout"),
    "whiteout-dot": (lambda h: Archive().file("a/.wh..").bytes(), "whiteout"),
    "whiteout-dotdot": (lambda h: Archive().file("a/.wh...").bytes(), "whiteout"),
    "nul-in-name": (lambda h: Archive().file("x", pax={"path": "a\x00/../../pwned"}).bytes(),
                    "NUL"),
    "nul-in-symlink-target": (
        lambda h: Archive().symlink("s", "x", pax={"linkpath": "/etc\x00passwd"}).bytes(),
        "symlink target"),
    "nul-in-hardlink-target": (
        lambda h: Archive().file("f").hardlink("h", "x", pax={"linkpath": "f\x00"}).bytes(),
        "NUL"),
    "name-too-long": (lambda h: Archive().file("x", pax={"path": "a/" * 2500}).bytes(),
                      "longer than 4096"),
    "size-claim-of-a-terabyte": (
        lambda h: Archive().raw(header("huge", b"0", size=1 << 40)).raw(bytes(4096)).bytes(),
        "claims"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_archive_is_refused_and_host_untouched(host, case):
    build, message = HOSTILE[case]
    with pytest.raises(UnsafeArchive, match=message):
        unpack(build(host), host.dest)
    assert host.untouched()
    assert not os.path.lexists(host.root / "pwned")
    assert not os.path.lexists(host.victim / "pwned")


@pytest.mark.parametrize("compressed", [True, False], ids=["gzip", "plain"])
def test_hostile_archive_compressed_or_not_goes_through_the_same_checks(host, compressed):
    layer = Archive().symlink("evil", "/").file("evil" + str(host.victim / "pwned")).bytes()
    with pytest.raises(UnsafeArchive, match="symlink"):
        unpack(gzip.compress(layer) if compressed else layer, host.dest)
    assert host.untouched()


def test_gzip_bomb_of_files_stops_at_the_limit_early(host):
    member = header("bomb", b"0", size=1 << 20) + bytes(1 << 20)
    bomb = gzip_repeated(member, 2048)      # about 2 GiB once expanded
    stream = CountingReader(bomb)
    with pytest.raises(UnsafeArchive, match="expands beyond the limit"):
        unpack_layer(stream, str(host.dest), limits=LayerLimits(max_bytes=16 << 20))
    assert stream.taken < len(bomb) // 20
    assert os.lstat(host.dest / "bomb").st_size <= 16 << 20
    assert host.untouched()


def test_gzip_bomb_of_zeros_after_the_end_stops_at_the_limit(host):
    bomb = gzip_repeated(bytes(1 << 20), 2048)
    stream = CountingReader(bomb)
    with pytest.raises(UnsafeArchive, match="expands beyond the limit"):
        unpack_layer(stream, str(host.dest), limits=LayerLimits(max_bytes=16 << 20))
    assert stream.taken < len(bomb) // 20


def test_too_many_entries(host):
    archive = Archive()
    for index in range(11):
        archive.file(f"f{index}")
    with pytest.raises(UnsafeArchive, match="more than 10 entries"):
        unpack(archive.bytes(), host.dest, limits=LayerLimits(max_entries=10))
    assert host.untouched()


def test_hard_link_to_a_later_entry_is_refused(host):
    with pytest.raises(UnsafeArchive, match="not in the layer"):
        unpack(Archive().hardlink("h", "f").file("f", b"x").bytes(), host.dest)


def test_pax_record_can_not_hide_in_a_damaged_block(host):
    broken = header("././@PaxHeader", b"x", size=20) + padded(b"99 path=../../pwned\n")
    with pytest.raises(InvalidArgument):
        unpack(Archive().raw(broken).file("x").bytes(), host.dest)
    assert host.untouched()
