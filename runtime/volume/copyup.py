"""Copy-up: what the image has at a volume's destination, copied into the empty volume the
first time a container mounts it (Docker's populateVolume and copyExistingContents).

The copy keeps owners, modes, times, device nodes and extended attributes (file capabilities,
ACLs, user attributes, where the volume's file system takes them), and the volume's own root
takes the owner and mode of the image's directory, so that `VOLUME /data` over a directory
owned by the program's user gives that user a volume it can write. Both sides are open
directories; nothing is followed (runtime.fdtree).
"""

import errno
import os

from runtime.errors import InvalidArgument
from runtime.fdtree import TreeCopy

MAX_DEPTH = 200
_SKIPPED_XATTRS = ("trusted.overlay.",)  # overlayfs' own bookkeeping, never content


def _too_deep(what):
    return InvalidArgument(f"cannot copy the image's files into the volume: {what} is nested "
                           f"more than {MAX_DEPTH} levels deep")


class WithAttributes(TreeCopy):
    """TreeCopy that also copies each entry's extended attributes (after its owner is set:
    chown clears `security.capability`)."""

    def entry(self, source_dir: int, name: str, target_dir: int, target_name: str,
              depth: int = 0) -> None:
        super().entry(source_dir, name, target_dir, target_name, depth)
        copy_xattrs(f"/proc/self/fd/{source_dir}/{name}",
                    f"/proc/self/fd/{target_dir}/{target_name}")


def copy_xattrs(source, target) -> None:
    """Every extended attribute of `source` onto `target` (open descriptors, or paths whose
    last component is not followed), as far as the target's file system takes them."""
    follow = {} if isinstance(source, int) else {"follow_symlinks": False}
    try:
        attributes = os.listxattr(source, **follow)
    except OSError:
        return
    for attribute in attributes:
        if attribute.startswith(_SKIPPED_XATTRS):
            continue
        try:
            value = os.getxattr(source, attribute, **follow)
            os.setxattr(target, attribute, value, **follow)
        except OSError as error:
            if error.errno not in (errno.ENOTSUP, errno.EPERM, errno.EINVAL, errno.ENODATA):
                raise


COPIER = WithAttributes(owner="source", devices=True, max_depth=MAX_DEPTH,
                        too_deep=_too_deep)


def copy_up(source_fd: int, volume_fd: int) -> None:
    """Copy the open directory `source_fd` (the image's, seen through the container's root)
    into the open, empty directory `volume_fd` (a volume's `_data`)."""
    COPIER.contents(source_fd, volume_fd)
    st = os.fstat(source_fd)
    os.fchown(volume_fd, st.st_uid, st.st_gid)
    os.fchmod(volume_fd, st.st_mode & 0o7777)
    copy_xattrs(source_fd, volume_fd)
