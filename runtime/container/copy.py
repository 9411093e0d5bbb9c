"""`cp` between a container and the host, files and directories, running or stopped.

The container side is opened through `openat2(RESOLVE_IN_ROOT)` on the container's own root
(`/proc/<pid>/root` while it runs, so bind mounts and tmpfs are seen as the program sees them;
when it is stopped, the overlay mount with its volumes and binds mounted in it for the time
of the copy, so a path in a volume is the volume's, as Docker's): symlinks in the container,
`..` and absolute links included, resolve inside it and never reach the host. Below the
starting points every step is relative to an open directory and never follows a symlink, on
both sides, so neither a link planted in the container nor one left on the host by an
earlier copy can redirect a write (the `docker cp` escapes, CVE-2018-15664 and
CVE-2019-14271).

`-` on the host side is a tar stream, as with `docker cp`: out of the container to standard
output, or from standard input into a container directory. Both go through a private
directory under the engine's root: the container's side is copied there as above and archived
from there, and a stream is unpacked there by the layer unpacker (no absolute paths, `..`,
links out or devices beyond its limits) before it is copied in, so a hostile archive meets
the same checks as a hostile image layer.
"""

import contextlib
import os
import stat
import tarfile

from runtime import events, staging
from runtime.container import rootfs
from runtime.container.rootpath import Root
from runtime.container.state import PAUSED, RUNNING, process_alive
from runtime.errors import InvalidArgument, NotFound
from runtime.fdtree import DIRECTORY_FLAGS as NOFOLLOW_DIR, TreeCopy, lstat_or_none


@contextlib.contextmanager
def container_root(engine, container):
    """A Root for the container's file system as its program sees it."""
    container.refresh()
    state = container.state
    if container.status in (RUNNING, PAUSED) and process_alive(state.get("Pid"),
                                                               state.get("PidStartTime")):
        with Root(f"/proc/{state['Pid']}/root") as root:
            yield root
        return
    links = [engine.store.layer_link(chain) for chain in container.config["Layers"]]
    from runtime.volume import mountpoints
    with rootfs.mounted(engine.paths.root, container.dir, links) as merged:
        with mountpoints.mounted(container, merged), Root(merged) as root:
            yield root


def split_target(text: str) -> tuple[str | None, str]:
    """`CONTAINER:PATH` -> (container, path); a host path -> (None, path)."""
    if ":" in text and not text.startswith(("/", ".")):
        name, _, path = text.partition(":")
        if name and path:
            return name, path
        raise InvalidArgument(f"invalid copy target {text!r}: CONTAINER:PATH expected")
    return None, text


# What goes out to the host belongs to whoever copies, without setuid/setgid bits or device
# nodes: a container must not be able to plant a setuid program or a disk on the host.
TO_HOST = TreeCopy(owner="caller", setid=False, devices=False)


# -- the two directions ----------------------------------------------------------------------

def _source_in_container(root: Root, path: str, container) -> tuple[int, str, bool]:
    """(fd of the confined parent, name, contents_only) for a container source path;
    NotFound, in Docker's words, when a part of the path is missing or no directory."""
    contents_only = path.endswith("/.") or path == "."
    clean = os.path.normpath("/" + path)
    missing = NotFound(f"Could not find the file {path} in container {container.name}")
    try:
        parent_fd, name = root.parent_and_name(clean)
    except (FileNotFoundError, NotADirectoryError):
        raise missing from None
    if name == ".":
        return parent_fd, ".", True
    if lstat_or_none(parent_fd, name) is None:
        os.close(parent_fd)
        raise missing
    return parent_fd, name, contents_only


def copy_from_container(engine, container, source: str, destination: str) -> None:
    """`moor cp CONTAINER:SRC DEST`."""
    with container_root(engine, container) as root:
        src_dir, name, contents_only = _source_in_container(root, source, container)
        try:
            _copy_to_host(src_dir, name, contents_only, destination)
        finally:
            os.close(src_dir)
    events.container(engine, container, "archive-path")


def _copy_to_host(src_dir: int, name: str, contents_only: bool, destination: str) -> None:
    st = os.stat(name, dir_fd=src_dir, follow_symlinks=False) if name != "." else \
        os.fstat(src_dir)
    destination = os.path.abspath(destination)
    exists = os.path.lexists(destination)
    dest_is_dir = os.path.isdir(destination)
    if stat.S_ISDIR(st.st_mode):
        if exists and not dest_is_dir:
            raise InvalidArgument(f"cannot copy a directory to a file: {destination}")
        if contents_only or not exists:
            if not exists:
                os.mkdir(destination, 0o755)
            source = os.open(name, NOFOLLOW_DIR, dir_fd=src_dir)
            target = os.open(destination, NOFOLLOW_DIR)
            try:
                TO_HOST.contents(source, target)
            finally:
                os.close(source)
                os.close(target)
            return
        target = os.open(destination, NOFOLLOW_DIR)
        try:
            TO_HOST.entry(src_dir, name, target, name)
        finally:
            os.close(target)
        return
    if contents_only:
        raise InvalidArgument("the source is not a directory")
    if dest_is_dir:
        parent, target_name = destination, name
    else:
        parent, target_name = os.path.split(destination)
        if destination.endswith("/"):
            raise InvalidArgument(f"destination directory {destination} does not exist")
        if not os.path.isdir(parent):
            raise InvalidArgument(f"destination directory {parent} does not exist")
    target = os.open(parent, NOFOLLOW_DIR)
    try:
        TO_HOST.entry(src_dir, name, target, target_name)
    finally:
        os.close(target)


def copy_to_container(engine, container, source: str, destination: str,
                      archive: bool = False) -> None:
    """`moor cp SRC CONTAINER:DEST`. New files belong to the container's root user unless
    `archive` (-a) keeps the host owners."""
    source = os.path.abspath(source) + ("/." if source.endswith("/.") else "")
    contents_only = source.endswith("/.")
    host_path = source[:-2] if contents_only else source
    if not os.path.lexists(host_path):
        raise NotFound(f"no such file or directory: {host_path}")
    src_parent, src_name = os.path.split(host_path)
    with container_root(engine, container) as root:
        src_dir = os.open(src_parent or "/", NOFOLLOW_DIR)
        try:
            st = os.lstat(src_name, dir_fd=src_dir) if src_name else os.fstat(src_dir)
            is_dir = stat.S_ISDIR(st.st_mode)
            try:
                dest_fd = root.open(destination, os.O_PATH | os.O_DIRECTORY)
                dest_is_dir = True
            except OSError:
                dest_fd, dest_is_dir = None, False
            try:
                if dest_is_dir and not (is_dir and contents_only):
                    _copy_in(src_dir, src_name, dest_fd, src_name, archive)
                elif dest_is_dir:
                    source_fd = os.open(src_name, NOFOLLOW_DIR, dir_fd=src_dir)
                    try:
                        for child in sorted(os.listdir(source_fd)):
                            _copy_in(source_fd, child, dest_fd, child, archive)
                    finally:
                        os.close(source_fd)
                else:
                    if destination.endswith("/"):
                        raise InvalidArgument(
                            f"destination directory {destination} does not exist in the "
                            "container")
                    try:
                        parent_fd, name = root.parent_and_name(destination)
                    except OSError:
                        raise InvalidArgument(f"destination directory of {destination} does "
                                              "not exist in the container") from None
                    try:
                        _copy_in(src_dir, src_name, parent_fd, name, archive)
                    finally:
                        os.close(parent_fd)
            finally:
                if dest_fd is not None:
                    os.close(dest_fd)
        finally:
            os.close(src_dir)
    events.container(engine, container, "extract-to-dir")


def _copy_in(src_dir: int, name: str, dst_dir: int, dst_name: str, archive: bool) -> None:
    # An O_PATH descriptor of a directory cannot be written through; reopen it.
    target_dir = os.open(".", NOFOLLOW_DIR, dir_fd=dst_dir)
    try:
        copier = TreeCopy(owner="source" if archive else (0, 0), devices=True)
        copier.entry(src_dir, name, target_dir, dst_name)
    finally:
        os.close(target_dir)


# -- tar streams (`-`) -----------------------------------------------------------------------

def _scratch(engine):
    """A private, empty directory on the engine's root, held against `system gc` while in
    use and removed afterwards."""
    engine.paths.ensure()
    return staging.working_dir(engine.paths.tmp, "cp-")


def _numeric_owners(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uname = info.gname = ""      # the container's users, not the host's names for them
    return info


def copy_from_container_as_tar(engine, container, source: str, out) -> None:
    """`moor cp CONTAINER:SRC -`: SRC as a tar stream on `out`, its base name at the top (the
    contents at the top for `DIR/.`), owners, modes and links as they are in the container."""
    with _scratch(engine) as scratch:
        with container_root(engine, container) as root:
            src_dir, name, contents_only = _source_in_container(root, source, container)
            target = os.open(scratch, NOFOLLOW_DIR)
            try:
                keep = TreeCopy(owner="source", devices=True)
                if name == "." or contents_only:
                    inner = os.open(name, NOFOLLOW_DIR, dir_fd=src_dir) if name != "." \
                        else os.dup(src_dir)
                    try:
                        keep.contents(inner, target)
                    finally:
                        os.close(inner)
                else:
                    keep.entry(src_dir, name, target, name)
            except NotADirectoryError:
                raise InvalidArgument("the source is not a directory") from None
            finally:
                os.close(target)
                os.close(src_dir)
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as archive:
            for entry in sorted(os.listdir(scratch)):
                archive.add(os.path.join(scratch, entry), arcname=entry,
                            filter=_numeric_owners)
    events.container(engine, container, "archive-path")


def copy_tar_to_container(engine, container, stream, destination: str,
                          archive: bool = False) -> None:
    """`moor cp - CONTAINER:DIR`: unpack the tar stream on `stream` (plain or compressed) into
    the existing directory DIR. New files belong to the container's root user unless
    `archive` keeps the owners the archive names."""
    from runtime.image.layer_unpack import unpack_layer

    with _scratch(engine) as scratch:
        unpack_layer(stream, scratch)
        with container_root(engine, container) as root:
            try:
                dest_fd = root.open(destination, os.O_PATH | os.O_DIRECTORY)
            except OSError:
                raise InvalidArgument(f"destination {destination} must be a directory in the "
                                      "container when copying from standard input") from None
            source = os.open(scratch, NOFOLLOW_DIR)
            try:
                for child in sorted(os.listdir(source)):
                    _copy_in(source, child, dest_fd, child, archive)
            finally:
                os.close(source)
                os.close(dest_fd)
    events.container(engine, container, "extract-to-dir")
