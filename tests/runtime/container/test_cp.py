"""`cp` in both directions, files and directories, running and stopped containers, and the
symlink tricks that made `docker cp` write or read the host (CVE-2018-15664, CVE-2019-14271)."""

import os

import pytest

from runtime.errors import MoorError
from tests.stack import wait_until

pytestmark = [pytest.mark.privileged, pytest.mark.usefixtures("each_runtime")]


@pytest.fixture
def box(engine):
    """A running container with some files and some hostile symlinks."""
    container_id = engine.run({"image": "busybox", "cmd": ["sh", "-c", (
        "mkdir -p /data/sub && echo inside > /data/file.txt && echo deep > /data/sub/deep && "
        "ln -s / /escape && ln -s ../../../.. /data/up && ln -s /etc /data/etclink && "
        "touch /ready && sleep 300")]})
    wait_until(lambda: "ready" in "".join(_ls(engine, container_id, "/")),
               timeout=10, interval=0.05, what="the box's files")
    yield container_id
    engine.remove(container_id, force=True)


def _ls(engine, container_id, path):
    from runtime.container.copy import container_root
    with container_root(engine, engine.container(container_id)) as root:
        fd = root.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            return os.listdir(fd)
        finally:
            os.close(fd)


def _exec(engine, container_id, script):
    import subprocess

    from runtime.container import execute
    from runtime.container.lifecycle import oci_runtime
    container = engine.container(container_id)
    spec = execute.write_spec(container, execute.process_spec(container, ["sh", "-c", script]))
    try:
        return subprocess.run(oci_runtime(engine, container).argv(
            "exec", "--process", spec, container_id), capture_output=True, text=True).stdout
    finally:
        os.unlink(spec)


def test_copy_a_file_out_and_in(engine, moor, box, tmp_path):
    assert moor("cp", f"{box}:/data/file.txt", str(tmp_path / "out.txt")).returncode == 0
    assert (tmp_path / "out.txt").read_text() == "inside\n"
    (tmp_path / "in.txt").write_text("from host\n")
    os.chmod(tmp_path / "in.txt", 0o640)
    result = moor("cp", str(tmp_path / "in.txt"), f"{box}:/data/")
    assert result.returncode == 0, result.stderr
    assert _exec(engine, box, "cat /data/in.txt; stat -c '%a %u' /data/in.txt") == \
        "from host\n640 0\n"


def test_copy_directories_both_ways(engine, moor, box, tmp_path):
    assert moor("cp", f"{box}:/data", str(tmp_path / "copy")).returncode == 0
    assert (tmp_path / "copy" / "sub" / "deep").read_text() == "deep\n"
    # symlinks are copied as symlinks, never followed
    assert os.readlink(tmp_path / "copy" / "up") == "../../../.."
    # into an existing directory: the directory itself goes inside
    (tmp_path / "existing").mkdir()
    moor("cp", f"{box}:/data/sub", str(tmp_path / "existing"), check=True)
    assert (tmp_path / "existing" / "sub" / "deep").exists()
    # SRC/. copies the contents only
    (tmp_path / "contents").mkdir()
    moor("cp", f"{box}:/data/sub/.", str(tmp_path / "contents"), check=True)
    assert (tmp_path / "contents" / "deep").exists()
    tree = tmp_path / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "a" / "b" / "c.txt").write_text("c\n")
    moor("cp", str(tree), f"{box}:/srv", check=True)
    assert _exec(engine, box, "cat /srv/a/b/c.txt") == "c\n"


def test_copy_from_a_stopped_container(engine, moor, tmp_path):
    container_id = engine.run({"image": "busybox", "cmd": ["sh", "-c", "echo kept > /kept"]})
    engine.wait(container_id)
    moor("cp", f"{container_id}:/kept", str(tmp_path / "kept"), check=True)
    assert (tmp_path / "kept").read_text() == "kept\n"
    (tmp_path / "new").write_text("new\n")
    moor("cp", str(tmp_path / "new"), f"{container_id}:/new", check=True)
    engine.start(container_id)
    engine.wait(container_id)
    moor("cp", f"{container_id}:/new", str(tmp_path / "back"), check=True)
    assert (tmp_path / "back").read_text() == "new\n"


def test_writes_through_a_symlink_to_root_stay_inside(engine, moor, box, tmp_path):
    canary = tmp_path / "canary.txt"
    (tmp_path / "payload").write_text("payload\n")
    # /escape -> / in the container; writing to /escape/<host path> must land inside it.
    target = f"{box}:/escape{tmp_path}/canary.txt"
    result = moor("cp", str(tmp_path / "payload"), target)
    assert not canary.exists()
    if result.returncode == 0:
        assert _exec(engine, box, f"cat {tmp_path}/canary.txt") == "payload\n"
    up = moor("cp", str(tmp_path / "payload"), f"{box}:/data/up/tmp/through-up")
    assert not os.path.exists("/tmp/through-up")
    if up.returncode == 0:
        assert _exec(engine, box, "cat /tmp/through-up") == "payload\n"


def test_reads_through_symlinks_and_dotdot_stay_inside(engine, moor, box, tmp_path):
    # The container's /etc/hostname is its own; the host's file must never come out.
    for source in ("/escape/etc/hostname", "/data/up/etc/hostname",
                   "/data/etclink/hostname", "../../../../etc/hostname"):
        destination = tmp_path / source.replace("/", "_")
        result = moor("cp", f"{box}:{source}", str(destination))
        if result.returncode == 0:
            content = destination.read_text()
            assert content.strip() == box[:12], source
    with open("/etc/hostname") as f:
        host_name = f.read()
    assert all(p.read_text() != host_name or host_name.strip() == box[:12]
               for p in tmp_path.iterdir())


def test_a_host_symlink_left_at_the_destination_is_not_followed(engine, moor, box, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    destination = tmp_path / "dest"
    destination.mkdir()
    (destination / "sub").symlink_to(outside)
    moor("cp", f"{box}:/data/.", str(destination), check=True)
    assert not (outside / "deep").exists()
    assert (destination / "sub" / "deep").read_text() == "deep\n"
    assert not (destination / "sub").is_symlink()


def test_missing_paths_are_clear_errors(engine, moor, box, tmp_path):
    result = moor("cp", f"{box}:/nope", str(tmp_path / "x"))
    assert result.returncode == 1 and "Could not find" in result.stderr
    result = moor("cp", str(tmp_path / "nope"), f"{box}:/tmp/")
    assert result.returncode == 1 and "no such file" in result.stderr
    result = moor("cp", str(tmp_path), str(tmp_path / "y"))
    assert result.returncode == 1
    with pytest.raises(MoorError):
        from runtime.container import copy
        copy.copy_to_container(engine, engine.container(box), str(tmp_path),
                               "/nonexistent/dir/")


def test_copying_out_plants_no_setuid_program_or_device_on_the_host(engine, moor, tmp_path):
    container_id = engine.run({"image": "busybox", "cmd": ["sh", "-c", (
        "mkdir /loot && cp /bin/busybox /loot/suid && chmod 6755 /loot/suid && "
        "mknod /loot/disk b 8 0 && echo ok")]})
    assert engine.wait(container_id) == 0
    moor("cp", f"{container_id}:/loot", str(tmp_path / "loot"), check=True)
    mode = os.stat(tmp_path / "loot" / "suid").st_mode
    assert not mode & 0o6000 and mode & 0o755 == 0o755
    assert not os.path.exists(tmp_path / "loot" / "disk")


# -- tar streams: `moor cp CONTAINER:SRC -` and `moor cp - CONTAINER:DIR` ---------------------

def _tar_names(data: bytes) -> dict:
    import io
    import tarfile
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return {member.name: member for member in archive.getmembers()}


def _tar(*entries) -> bytes:
    """A tar of (name, text or None for a directory, uid, symlink target) entries."""
    import io
    import tarfile
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, text, uid, link in entries:
            info = tarfile.TarInfo(name)
            info.uid = info.gid = uid
            if link is not None:
                info.type, info.linkname = tarfile.SYMTYPE, link
                archive.addfile(info)
            elif text is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                archive.addfile(info)
            else:
                info.size, info.mode = len(text.encode()), 0o644
                archive.addfile(info, io.BytesIO(text.encode()))
    return buffer.getvalue()


def _scratch_left(engine):
    return [name for name in os.listdir(engine.paths.tmp) if name.startswith("cp-")]


def test_copy_out_as_a_tar_stream(engine, moor, box):
    result = moor("cp", f"{box}:/data", "-", text=False)
    assert result.returncode == 0, result.stderr
    members = _tar_names(result.stdout)
    assert {"data", "data/file.txt", "data/sub", "data/sub/deep", "data/up"} <= set(members)
    assert members["data/up"].issym() and members["data/up"].linkname == "../../../.."
    assert (members["data/file.txt"].uid, members["data/file.txt"].uname) == (0, "")
    contents = _tar_names(moor("cp", f"{box}:/data/.", "-", text=False).stdout)
    assert "file.txt" in contents and "data" not in contents
    assert set(_tar_names(moor("cp", f"{box}:/data/file.txt", "-", text=False).stdout)) == {
        "file.txt"}
    assert _scratch_left(engine) == []


def test_copy_in_from_a_tar_stream(engine, moor, box):
    archive = _tar(("new", None, 1234, None), ("new/hello", "from a tar\n", 1234, None),
                   ("new/link", None, 1234, "hello"))
    result = moor("cp", "-", f"{box}:/data", input=archive, text=False)
    assert result.returncode == 0, result.stderr
    assert _exec(engine, box, "cat /data/new/link; stat -c '%u' /data/new/hello") == \
        "from a tar\n0\n"
    moor("cp", "-a", "-", f"{box}:/tmp", input=archive, text=False, check=True)
    assert _exec(engine, box, "stat -c '%u' /tmp/new/hello") == "1234\n"
    result = moor("cp", "-", f"{box}:/data/file.txt", input=archive, text=False)
    assert result.returncode == 1 and b"must be a directory" in result.stderr
    assert _scratch_left(engine) == []


@pytest.mark.parametrize("entries", [
    [("../../escaped", "x", 0, None)],
    [("link", None, 0, "/"), ("link/escaped", "x", 0, None)],
], ids=["dotdot", "through-a-symlink"])
def test_a_hostile_tar_stream_writes_nothing(engine, moor, box, entries):
    before = sorted(_ls(engine, box, "/data"))
    result = moor("cp", "-", f"{box}:/data", input=_tar(*entries), text=False)
    assert result.returncode == 1, result.stdout
    assert sorted(_ls(engine, box, "/data")) == before
    assert "escaped" not in _ls(engine, box, "/") and not os.path.exists("/escaped")
    assert _scratch_left(engine) == []


def test_an_absolute_name_in_a_tar_stream_lands_below_the_destination(engine, moor, box):
    """As tar does: the leading / is dropped, never the destination."""
    moor("cp", "-", f"{box}:/data", input=_tar(("/rooted", "x", 0, None)), text=False,
         check=True)
    assert "rooted" in _ls(engine, box, "/data") and "rooted" not in _ls(engine, box, "/")
