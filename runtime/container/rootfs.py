"""A container's root file system: an overlayfs mount of the image's layers, the container's
init layer and its own writable upper dir.

Lower dirs are passed as short relative links (`l/<20 hex>`) with the engine root as the
working directory of the mount call, as Docker's overlay2 does, so an image of 128 layers still
fits in the one page the kernel accepts for mount options.
"""

import contextlib
import ctypes
import os

from runtime.errors import MoorError

MNT_DETACH = 2
EINVAL, EBUSY, ENOENT = 22, 16, 2

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]

# Placeholders for what the OCI runtime mounts or binds over, kept out of the writable layer so
# they never show up in `diff` or `commit` (Docker's init layer).
INIT_DIRS = ["dev", "dev/pts", "dev/shm", "dev/mqueue", "proc", "sys", "etc"]
INIT_FILES = ["etc/hosts", "etc/hostname", "etc/resolv.conf", "dev/console"]
MAX_LAYERS = 128


def prepare_dirs(container_dir: str) -> None:
    """Create the init layer, upper, work and merged dirs of a new container."""
    init = os.path.join(container_dir, "init")
    for name in ("upper", "work", "merged"):
        os.makedirs(os.path.join(container_dir, name), mode=0o755, exist_ok=True)
    os.makedirs(init, mode=0o755, exist_ok=True)
    for directory in INIT_DIRS:
        os.makedirs(os.path.join(init, directory), mode=0o755, exist_ok=True)
    for name in INIT_FILES:
        path = os.path.join(init, name)
        if not os.path.exists(path):
            with open(path, "w"):
                pass
            os.chmod(path, 0o644 if name.startswith("etc/") else 0o600)
    mtab = os.path.join(init, "etc", "mtab")
    if not os.path.lexists(mtab):
        os.symlink("/proc/mounts", mtab)


def is_mounted(path: str) -> bool:
    """Whether `path` is a mount point: one statx call, where reading /proc/self/mountinfo
    would cost the kernel a formatted line per mount on the host (two per running container:
    15 ms at 600 containers, paid on every start and stop)."""
    attributes = _mount_root_attribute(path)
    if attributes is not None:
        return attributes
    try:
        here = os.lstat(path)
        parent = os.lstat(os.path.join(path, ".."))
    except OSError:
        return False
    return here.st_dev != parent.st_dev or here.st_ino == parent.st_ino


AT_FDCWD, AT_SYMLINK_NOFOLLOW, STATX_ATTR_MOUNT_ROOT = -100, 0x100, 0x2000
_statx = getattr(_libc, "statx", None)
if _statx is not None:
    _statx.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint,
                       ctypes.c_void_p]


def _mount_root_attribute(path: str) -> bool | None:
    """statx's STATX_ATTR_MOUNT_ROOT for `path` (Linux 5.8+); None when the kernel or the C
    library cannot tell."""
    if _statx is None:
        return None
    buffer = ctypes.create_string_buffer(256)
    if _statx(AT_FDCWD, os.fsencode(path), AT_SYMLINK_NOFOLLOW, 0, buffer) != 0:
        return None if ctypes.get_errno() == 38 else False   # 38: ENOSYS
    attributes = int.from_bytes(buffer.raw[8:16], "little")
    supported = int.from_bytes(buffer.raw[56:64], "little")
    if not supported & STATX_ATTR_MOUNT_ROOT:
        return None
    return bool(attributes & STATX_ATTR_MOUNT_ROOT)


def _unescape(field: bytes) -> str:
    text = field.decode("utf-8", "surrogateescape")
    if "\\" in text:
        for code in ("\\040", "\\011", "\\012", "\\134"):
            text = text.replace(code, chr(int(code[1:], 8)))
    return text


def mount_overlay(root: str, container_dir: str, layer_links: list[str]) -> str:
    """Mount the container's root file system at <container_dir>/merged; return that path.

    `layer_links` are root-relative links of the image's layers, base first.
    """
    merged = os.path.join(container_dir, "merged")
    if is_mounted(merged):
        return merged
    if len(layer_links) > MAX_LAYERS:
        raise MoorError(f"image has {len(layer_links)} layers; at most {MAX_LAYERS} are supported")
    relative = os.path.relpath(container_dir, root)
    lowers = [os.path.join(relative, "init")] + list(reversed(layer_links))
    options = (f"lowerdir={':'.join(lowers)},upperdir={relative}/upper,"
               f"workdir={relative}/work,index=off,redirect_dir=off,metacopy=off")
    if len(options) >= 4096:
        raise MoorError("overlay mount options do not fit in one page")
    saved = os.open(".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.chdir(root)
        result = _libc.mount(b"overlay", merged.encode(), b"overlay", 0, options.encode())
        err = ctypes.get_errno()
    finally:
        os.fchdir(saved)
        os.close(saved)
    if result != 0:
        raise MoorError(f"mounting the container's root file system failed: {os.strerror(err)}")
    return merged


MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC = 1, 32, 4096, 16384


def bind_mount(source: str, target: str, read_only: bool = False) -> None:
    """Bind `source` (recursively) onto `target`, which may be `/proc/self/fd/N` of a
    directory opened safely; then make it read-only if asked."""
    if _libc.mount(source.encode(), target.encode(), None, MS_BIND | MS_REC, None) != 0:
        err = ctypes.get_errno()
        raise MoorError(f"mounting {source} failed: {os.strerror(err)}")
    if read_only and _libc.mount(None, target.encode(), None,
                                 MS_BIND | MS_REMOUNT | MS_RDONLY, None) != 0:
        err = ctypes.get_errno()
        unmount(os.readlink(target) if target.startswith("/proc/self/fd/") else target)
        raise MoorError(f"making {target} read-only failed: {os.strerror(err)}")


def unmount(path: str) -> None:
    """Unmount `path` if mounted; a busy mount is detached lazily."""
    if not is_mounted(path):
        return
    if _libc.umount2(path.encode(), 0) == 0:
        return
    err = ctypes.get_errno()
    if err == EBUSY:
        if _libc.umount2(path.encode(), MNT_DETACH) == 0:
            return
        err = ctypes.get_errno()
    if err in (EINVAL, ENOENT):
        return
    raise MoorError(f"unmounting {path} failed: {os.strerror(err)}")


@contextlib.contextmanager
def mounted(root: str, container_dir: str, layer_links: list[str]):
    """The container's merged root for the duration of the block (for cp, diff, export of a
    stopped container); left mounted if it already was."""
    merged = os.path.join(container_dir, "merged")
    already = is_mounted(merged)
    mount_overlay(root, container_dir, layer_links)
    try:
        yield merged
    finally:
        if not already:
            unmount(merged)
