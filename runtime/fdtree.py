"""Copying and removing file trees through open directories, without following a single
symlink.

`cp` (between a container and the host) and `build` (COPY/ADD into an image) both copy trees
whose either side may be hostile: every step here is relative to an open directory, new
entries are made with O_EXCL|O_NOFOLLOW, and what is in the way is removed rather than
followed, so neither a link planted in the source nor one left at the destination can
redirect a read or a write.

Removing a tree (`remove_tree`) walks it in a loop rather than a recursion, so a tree nested
thousands of directories deep (a hostile build context, a layer) goes like any other.
"""

import errno
import os
import stat

from runtime.errors import InvalidArgument

DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
CHUNK = 1 << 20
SETID = stat.S_ISUID | stat.S_ISGID


def lstat_or_none(directory: int, name: str):
    try:
        return os.lstat(name, dir_fd=directory)
    except FileNotFoundError:
        return None


def remove_non_directory(directory: int, name: str, error=InvalidArgument) -> None:
    """Make room for a new entry `name`: unlink what is there, refuse a directory."""
    existing = lstat_or_none(directory, name)
    if existing is None:
        return
    if stat.S_ISDIR(existing.st_mode):
        raise error(f"cannot replace directory {name!r} with a non-directory")
    os.unlink(name, dir_fd=directory)


def copy_data(source: int, target: int) -> int:
    """Copy everything from `source` to `target` (both fds at their current offsets), in the
    kernel where it can; returns the bytes copied."""
    total = 0
    try:
        while True:
            copied = os.copy_file_range(source, target, CHUNK)
            if copied == 0:
                return total
            total += copied
    except OSError as error:
        if error.errno not in (errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise
    while True:
        data = os.read(source, CHUNK)
        if not data:
            return total
        view = memoryview(data)
        while view:
            view = view[os.write(target, view):]
        total += len(data)


class TreeCopy:
    """How entries are copied.

    - `owner`: "source" keeps each entry's owners, "caller" leaves new entries to whoever
      copies (no chown), a (uid, gid) pair sets those;
    - `mode`: when set, every entry gets it (COPY --chmod) instead of its own;
    - `setid`: keep setuid/setgid bits (off when copying out of a container onto the host);
    - `devices`: make device nodes (else they are skipped, as whiteouts are);
    - `max_depth` and `too_deep`: refuse trees nested deeper, with that exception.
    """

    def __init__(self, *, owner="source", mode: int | None = None, setid: bool = True,
                 devices: bool = False, max_depth: int | None = None, too_deep=None,
                 error=InvalidArgument):
        self.owner = owner
        self.mode = mode
        self.setid = setid
        self.devices = devices
        self.max_depth = max_depth
        self.too_deep = too_deep
        self.error = error

    def _ids(self, st):
        if self.owner == "source":
            return st.st_uid, st.st_gid
        if self.owner == "caller":
            return None
        return self.owner

    def _mode(self, st) -> int:
        mode = self.mode if self.mode is not None else stat.S_IMODE(st.st_mode)
        return mode if self.setid else mode & ~SETID

    def contents(self, source: int, target: int, depth: int = 0) -> None:
        """Every entry of the open directory `source` into the open directory `target`."""
        if self.max_depth is not None and depth >= self.max_depth:
            raise self.too_deep("a source directory")
        for name in sorted(os.listdir(source)):
            self.entry(source, name, target, name, depth)

    def entry(self, source_dir: int, name: str, target_dir: int, target_name: str,
              depth: int = 0) -> None:
        """Copy `name` of `source_dir` (recursively) to `target_name` of `target_dir`."""
        st = os.lstat(name, dir_fd=source_dir)
        ids = self._ids(st)
        if stat.S_ISDIR(st.st_mode):
            existing = lstat_or_none(target_dir, target_name)
            if existing is not None and not stat.S_ISDIR(existing.st_mode):
                os.unlink(target_name, dir_fd=target_dir)
                existing = None
            if existing is None:
                os.mkdir(target_name, 0o700, dir_fd=target_dir)
            source = os.open(name, DIRECTORY_FLAGS, dir_fd=source_dir)
            try:
                target = os.open(target_name, DIRECTORY_FLAGS, dir_fd=target_dir)
                try:
                    self.contents(source, target, depth + 1)
                    if ids:
                        os.fchown(target, *ids)
                    os.fchmod(target, self._mode(st))
                    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
                finally:
                    os.close(target)
            finally:
                os.close(source)
        elif stat.S_ISREG(st.st_mode):
            source = os.open(name, FILE_FLAGS, dir_fd=source_dir)
            try:
                self.file(source, st, target_dir, target_name)
            finally:
                os.close(source)
        elif stat.S_ISLNK(st.st_mode):
            remove_non_directory(target_dir, target_name, self.error)
            os.symlink(os.readlink(name, dir_fd=source_dir), target_name, dir_fd=target_dir)
            if ids:
                os.chown(target_name, *ids, dir_fd=target_dir, follow_symlinks=False)
            os.utime(target_name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=target_dir,
                     follow_symlinks=False)
        elif stat.S_ISFIFO(st.st_mode):
            remove_non_directory(target_dir, target_name, self.error)
            os.mkfifo(target_name, 0o600, dir_fd=target_dir)
            if ids:
                os.chown(target_name, *ids, dir_fd=target_dir, follow_symlinks=False)
            os.chmod(target_name, self._mode(st), dir_fd=target_dir)
        elif self.devices and (stat.S_ISBLK(st.st_mode) or (stat.S_ISCHR(st.st_mode)
                                                            and st.st_rdev != 0)):
            remove_non_directory(target_dir, target_name, self.error)
            os.mknod(target_name, st.st_mode, st.st_rdev, dir_fd=target_dir)
            if ids:
                os.chown(target_name, *ids, dir_fd=target_dir, follow_symlinks=False)
        # sockets, skipped devices and the whiteouts of an unpacked layer are not copied

    def file(self, source: int, st, target_dir: int, target_name: str) -> None:
        """A regular file from the open fd `source` (read from its start)."""
        remove_non_directory(target_dir, target_name, self.error)
        target = os.open(target_name, NEW_FILE_FLAGS, 0o600, dir_fd=target_dir)
        try:
            os.lseek(source, 0, os.SEEK_SET)
            copy_data(source, target)
            ids = self._ids(st)
            if ids:
                os.fchown(target, *ids)
            os.fchmod(target, self._mode(st))
            os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
        finally:
            os.close(target)


# -- removing a tree --------------------------------------------------------------------------

def _identity(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


def _open_directory(parent: int, name) -> int:
    """An fd of the directory `name` of `parent` (not following a symlink); one its owner made
    unreadable is made 0700 first, through the fd of the entry itself, never by path."""
    try:
        return os.open(name, DIRECTORY_FLAGS, dir_fd=parent)
    except PermissionError:
        handle = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
        try:
            os.chmod(f"/proc/self/fd/{handle}", 0o700)
        finally:
            os.close(handle)
        return os.open(name, DIRECTORY_FLAGS, dir_fd=parent)


def _in_writable(directory: int, remove, name) -> None:
    """`remove(name, dir_fd=directory)` (unlink or rmdir), once more after making `directory`
    writable when it was refused."""
    try:
        remove(name, dir_fd=directory)
    except PermissionError:
        os.fchmod(directory, 0o700)
        remove(name, dir_fd=directory)


def _empty_of_files(directory: int, report) -> list:
    """Remove every entry of `directory` but its subdirectories; returns their names."""
    subdirectories = []
    with os.scandir(directory) as entries:
        listed = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
    for name, is_dir in listed:
        if is_dir:
            subdirectories.append(name)
            continue
        try:
            _in_writable(directory, os.unlink, name)
        except FileNotFoundError:
            pass
        except OSError as error:
            report(error)
    return subdirectories


def remove_tree(path: str, *, ignore_errors: bool = False) -> None:
    """Remove `path` and everything below it, never following a symlink (one is removed
    itself), however deep the tree: the walk is a loop, not a recursion, and holds at most two
    directory fds (it climbs back through `..`, checking it arrives where it came from, so a
    directory moved meanwhile stops the removal instead of leading it elsewhere). What is gone
    already is fine. With `ignore_errors` what cannot be removed is left and the rest goes;
    otherwise the first failure is raised (after the rest was tried)."""
    failures = []
    report = failures.append
    parent_path, name = os.path.split(os.path.abspath(path))
    if not name:
        raise InvalidArgument("refusing to remove /")
    try:
        top = os.open(parent_path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        try:
            st = os.lstat(name, dir_fd=top)
        except FileNotFoundError:
            return
        if not stat.S_ISDIR(st.st_mode):
            try:
                os.unlink(name, dir_fd=top)
            except FileNotFoundError:
                pass
            except OSError as error:
                report(error)
        else:
            _remove_directory(top, name, report)
    finally:
        os.close(top)
    if failures and not ignore_errors:
        raise failures[0]


def _remove_directory(top: int, name: str, report) -> None:
    # levels: [name in its parent, (dev, ino) of the directory, subdirectories still to go]
    try:
        current = _open_directory(top, name)
    except FileNotFoundError:
        return
    except OSError as error:
        report(error)
        return
    levels = [[name, _identity(current), None]]
    try:
        while levels:
            level = levels[-1]
            if level[2] is None:
                level[2] = _empty_of_files(current, report)
            if level[2]:
                child = level[2].pop()
                try:
                    opened = _open_directory(current, child)
                except FileNotFoundError:
                    continue
                except OSError as error:
                    if error.errno in (errno.ENOTDIR, errno.ELOOP):  # replaced meanwhile
                        try:
                            os.unlink(child, dir_fd=current)
                        except OSError as unlink_error:
                            report(unlink_error)
                    else:
                        report(error)
                    continue
                os.close(current)
                current = opened
                levels.append([child, _identity(current), None])
                continue
            levels.pop()
            if levels:
                parent = os.open("..", DIRECTORY_FLAGS, dir_fd=current)
                if _identity(parent) != levels[-1][1]:
                    os.close(parent)
                    raise OSError(errno.ESTALE, "a directory was moved while its tree was "
                                                "being removed", level[0])
            else:
                parent = os.dup(top)
            os.close(current)
            current = parent
            try:
                _in_writable(current, os.rmdir, level[0])
            except FileNotFoundError:
                pass
            except OSError as error:
                report(error)
    except OSError as error:
        report(error)
    finally:
        os.close(current)
