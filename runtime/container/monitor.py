"""The per-container monitor: conmon, from the distribution's packages.

conmon double-forks away from whoever started it, so a container outlives the `moor` process,
a restarted worker or console. It runs `<runtime> create`, holds the container's terminal or
stdio, writes the k8s-file log (`<ts> <stream> <P|F> <bytes>`), writes the exit status
atomically to `<container>/exit` (and `oom` when the OOM killer struck), and runs our exit
command, which cleans up and applies the restart policy. It costs about 0.4 MiB PSS per
container (measured: 2 MiB RSS, 0.34-0.42 MiB PSS each), where a Python process per
container would cost about 6 MiB PSS.

How conmon 2.1.6 is driven (observed on Debian 12; conmon's src/conmon.c, ctrl.c,
conn_sock.c):
- the sync pipe (`_OCI_SYNCPIPE`) carries `{"data": <pid>}` after `create`, or `-1` and the
  runtime's error as `message`; EOF with nothing means conmon died before it could say;
- conmon never calls `start`: we do, after the attach socket is connected when a caller wants
  the first output;
- attach socket `<bundle>/attach` is SOCK_SEQPACKET; each message to clients is one byte of
  stream id (2 stdout, 3 stderr) and up to 8192 bytes; bytes from clients go to stdin;
- resizes are `1 <rows> <cols>\\n` written to the `<bundle>/ctl` FIFO, one per write.
"""

import json
import os
import select
import socket
import subprocess
import sys
import time

from runtime.errors import MoorError

SYNC_TIMEOUT = 60.0
STREAM_STDOUT, STREAM_STDERR = 2, 3


def conmon_path() -> str:
    from runtime.container.oci import find_binary
    path = find_binary("conmon")
    if not path:
        raise MoorError("conmon is not installed on this host (apt-get install conmon)")
    return path


REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def interpreter() -> str:
    """The Python that runs the engine's helpers: the project's virtualenv (which has
    pyroute2), whatever interpreter this process was started with."""
    candidate = os.path.join(REPOSITORY, ".venv", "bin", "python")
    return candidate if os.access(candidate, os.X_OK) else sys.executable


def moor_command(root: str, *args: str) -> list[str]:
    """The argv of a `moor` command on `root`, for the engine's own helper processes."""
    launcher = os.path.join(REPOSITORY, "bin", "moor")
    start = [launcher] if os.access(launcher, os.X_OK) else [interpreter(), "-m", "runtime"]
    return start + ["--root", root, *args]


def start_detached_helper(root: str, *args: str, timeout: float) -> None:
    """Start `moor --root root *args --ready-fd FD` as nobody's child (`setsid -f`: no zombie
    for a long-lived caller to reap, and it outlives the command that started it), and wait
    up to `timeout` for it to say it is ready: one byte on FD, or end of file when it gave
    way to another already there or failed (the caller checks which)."""
    ready_read, ready_write = os.pipe()
    try:
        argv = moor_command(root, *args, "--ready-fd", str(ready_write))
        subprocess.run(["setsid", "-f", *argv], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/",
                       env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "TZ": "UTC"},
                       pass_fds=(ready_write,), check=False)
        os.close(ready_write)
        ready_write = None
        select.select([ready_read], [], [], timeout)
    finally:
        os.close(ready_read)
        if ready_write is not None:
            os.close(ready_write)


def exit_command(root: str, container_id: str) -> list[str]:
    return moor_command(root, "system", "container-exited", container_id)


def launch(*, root: str, runtime, container, sockets_dir: str, stdin_open: bool,
           stdin_once: bool, monitors_cgroup: str | None = None,
           log_size_max: int | None = None) -> tuple[int, int]:
    """Start conmon for `container` (whose bundle, config.json, is written). Returns
    (conmon pid, container init pid). The container is `created`, not started. With
    `log_size_max`, conmon starts a new log file before one would pass that size (see
    logfiles: the old one is kept as rotated)."""
    directory = container.dir
    os.makedirs(sockets_dir, mode=0o700, exist_ok=True)
    os.makedirs(runtime.state_root, mode=0o700, exist_ok=True)
    for stale in ("exit", "oom", "pidfile", "conmon.pid", "attach", "ctl", "winsz"):
        try:
            os.unlink(os.path.join(directory, stale))
        except FileNotFoundError:
            pass
    argv = [
        conmon_path(), "--api-version", "1",
        "-c", container.id, "-u", container.id, "-n", container.name,
        "-r", runtime.monitor_path(), "-b", directory,
        "-p", os.path.join(directory, "pidfile"), "-P", os.path.join(directory, "conmon.pid"),
        "-l", "k8s-file:" + os.path.join(directory, "ctr.log"),
        "--exit-dir", directory, "--persist-dir", directory,
        "--socket-dir-path", sockets_dir,
        "--runtime-arg", f"--root={runtime.state_root}",
        "--log-level", "error",
    ]
    if log_size_max:
        argv += ["--log-size-max", str(log_size_max)]
    if container.tty:
        argv.append("-t")
    if stdin_open:
        argv.append("-i")
        # conmon closes the program's stdin when the first client leaves, unless told not
        # to. A terminal must survive detach/attach; a pipe (`run -i` fed by a pipe) must see
        # EOF when its writer is done, as Docker's StdinOnce.
        if container.tty or not stdin_once:
            argv.append("--leave-stdin-open")
    command = exit_command(root, container.id)
    argv += ["--exit-command", command[0]]
    for part in command[1:]:
        argv += ["--exit-command-arg", part]

    read_end, write_end = os.pipe()
    # conmon waits on the start pipe before it forks anything: the moment to move it out of
    # our cgroups into the engine's own, so that a service manager stopping the worker (or a
    # Compose service being stopped) by killing its cgroup leaves the monitors alone.
    start_read, start_write = os.pipe()
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "TZ": "UTC",
        "MOORAGE_ROOT": root,
        "PYTHONPATH": REPOSITORY,
        "_OCI_SYNCPIPE": str(write_end),
        "_OCI_STARTPIPE": str(start_read),
    }
    try:
        launcher = subprocess.Popen(argv, cwd=directory, env=env,
                                    pass_fds=(write_end, start_read),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, start_new_session=True)
    except OSError as error:
        for fd in (read_end, write_end, start_read, start_write):
            os.close(fd)
        raise MoorError(f"starting the container monitor failed: {error}") from None
    os.close(write_end)
    os.close(start_read)
    try:
        if monitors_cgroup:
            from runtime.container import cgroups
            cgroups.move_to(monitors_cgroup, launcher.pid)
        os.write(start_write, b"0")
    except OSError:
        pass  # conmon died before its start: the sync read below says so
    finally:
        os.close(start_write)
    try:
        message = read_sync(read_end, SYNC_TIMEOUT)
        # The launcher exits right after conmon daemonizes; its stderr holds any complaint
        # made before the fork.
        try:
            _, launcher_err = launcher.communicate(timeout=SYNC_TIMEOUT)
        except subprocess.TimeoutExpired:
            launcher.kill()
            _, launcher_err = launcher.communicate()
    finally:
        os.close(read_end)

    conmon_pid = read_int(os.path.join(directory, "conmon.pid"))
    if message is None:
        detail = launcher_err.decode("utf-8", "replace").strip() if launcher_err else ""
        kill_quietly(conmon_pid)
        raise MoorError("the container monitor exited before creating the container"
                        + (f": {detail.splitlines()[-1]}" if detail else ""))
    pid = message.get("data", -1)
    if not isinstance(pid, int) or pid <= 0:
        kill_quietly(conmon_pid)
        from runtime.container.oci import error_text
        raise MoorError(error_text(message.get("message") or "the OCI runtime failed"))
    return conmon_pid or 0, pid


def read_sync(fd: int, timeout: float) -> dict | None:
    deadline = time.monotonic() + timeout
    buffer = b""
    while b"\n" not in buffer:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            return None
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buffer += chunk
    line = buffer.split(b"\n", 1)[0].strip()
    if not line:
        return None
    try:
        return json.loads(line)
    except ValueError:
        return {"data": -1, "message": line.decode("utf-8", "replace")}


def read_int(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def kill_quietly(pid: int | None) -> None:
    if pid:
        try:
            os.kill(pid, 9)
        except OSError:
            pass


# -- attach --------------------------------------------------------------------------------

def connect_attach(container_dir: str, timeout: float = 5.0) -> socket.socket:
    """Connect to conmon's attach socket of the container in `container_dir` (through an
    O_PATH descriptor, so the socket path length never matters)."""
    dir_fd = os.open(container_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        deadline = time.monotonic() + timeout
        while True:
            try:
                sock.connect(f"/proc/self/fd/{dir_fd}/attach")
                return sock
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    sock.close()
                    raise MoorError("cannot attach: the container's monitor is not "
                                    "listening (is the container running?)") from None
                time.sleep(0.01)
    finally:
        os.close(dir_fd)


def resize(container_dir: str, rows: int, cols: int) -> None:
    """Set the container terminal's size (conmon's control FIFO)."""
    try:
        fd = os.open(os.path.join(container_dir, "ctl"), os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return
    try:
        os.write(fd, f"1 {int(rows)} {int(cols)}\n".encode())
    except OSError:
        pass
    finally:
        os.close(fd)
