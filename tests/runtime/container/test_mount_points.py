"""Whether a container's root file system is mounted is asked on every start, stop and
removal, and by gc for every container: it must cost the same with a thousand containers'
mounts on the host as with none, so it never reads the host's mount table (whose every line
the kernel formats: 15 ms at 600 containers)."""

import builtins
import os
import subprocess

import pytest

from runtime.container import rootfs


@pytest.fixture
def no_mount_table(monkeypatch):
    real_open = builtins.open

    def guarded(file, *args, **kwargs):
        if "mountinfo" in str(file) or str(file).endswith("/mounts"):
            raise AssertionError(f"read the mount table: {file}")
        return real_open(file, *args, **kwargs)
    monkeypatch.setattr(builtins, "open", guarded)


def test_is_mounted_never_reads_the_mount_table(no_mount_table, tmp_path):
    assert rootfs.is_mounted("/proc")
    assert not rootfs.is_mounted(str(tmp_path))
    assert not rootfs.is_mounted(str(tmp_path / "missing"))


@pytest.mark.privileged
def test_is_mounted_tells_a_mount_point_from_a_directory(tmp_path):
    mountpoint = tmp_path / "point"
    mountpoint.mkdir()
    (tmp_path / "file").write_text("")
    assert not rootfs.is_mounted(str(mountpoint))
    assert not rootfs.is_mounted(str(tmp_path / "file"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "moorage-test", str(mountpoint)],
                   check=True)
    try:
        assert rootfs.is_mounted(str(mountpoint))
        os.mkdir(mountpoint / "inside")
        assert not rootfs.is_mounted(str(mountpoint / "inside"))
        # A bind mount of a directory on the same file system is a mount point too.
        subprocess.run(["mount", "--bind", str(mountpoint / "inside"),
                        str(mountpoint / "inside")], check=True)
        assert rootfs.is_mounted(str(mountpoint / "inside"))
        rootfs.unmount(str(mountpoint / "inside"))
        assert not rootfs.is_mounted(str(mountpoint / "inside"))
    finally:
        rootfs.unmount(str(mountpoint))
    assert not rootfs.is_mounted(str(mountpoint))
