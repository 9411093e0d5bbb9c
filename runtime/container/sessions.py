"""Terminal sessions in a running container that outlive whoever opened them.

A session is a process (a shell found in the container, or a command) started in the
container's namespaces on a pseudo-terminal, under a conmon of its own in exec mode with
`--exec-attach` (conmon's `-e --exec-process-spec`; see conmon's src/conmon.c). conmon holds
the terminal, so the process lives on when the program that opened the session goes away;
anyone who knows the session's directory can attach to it again, resize it, read its recent
output and learn its exit status.

One directory per session, `<container>/sessions/<id>/`:

    session.json   what was asked (argv, user, size, when), and the process's pid once known
    process.json   the OCI process (execute.process_spec, with the terminal's size)
    sync           conmon's sync "pipe", given as a regular file: `{"data": <pid>}` when the
                   process runs, `{"data": <status>}` when it ends. A file, not a pipe: conmon
                   dies of EPIPE writing the status to a pipe nobody reads, and the opener of a
                   session does not stay to read it.
    attach ctl winsz   conmon's attach socket (SOCK_SEQPACKET; output as a stream byte then
                   data, input raw) and control FIFO (`1 <rows> <cols>` resizes)
    output.log     the output in conmon's k8s-file format, cut back by conmon once it passes
                   LOG_MAX: the recent screen, for whoever attaches after a restart
    exit           the exit status (conmon's persist directory is the session's)
    exited/        conmon's exit directory (it names the file after the container)

The journal gets Docker's exec_create and exec_start when a session starts, and exec_die with
its status from conmon's exit command (`moor system exec-exited`) when it ends; the session's
ID is the events' execID.

The process dies with its container (it is in the container's PID namespace); removing the
container removes the sessions' directories with it.
"""

import json
import os
import re
import signal
import subprocess
import time

from runtime import atomic, events
from runtime.container import execute, monitor
from runtime.container.lifecycle import oci_runtime
from runtime.container.rootpath import Root
from runtime.container.spec import DEFAULT_PATH
from runtime.container.state import (
    RUNNING,
    process_alive,
    process_session,
    process_start_time,
    rfc3339_ns,
)
from runtime.errors import Conflict, InvalidArgument, MoorError, NotFound

SHELLS = ("bash", "ash", "sh")
SESSION_ID = re.compile(r"^[0-9a-f]{16,64}$")
LOG_MAX = 256 * 1024
START_TIMEOUT = 30.0
MAX_SIZE = 1000


def sessions_dir(container) -> str:
    return container.path("sessions")


def socket_dir(engine) -> str:
    """Where conmon puts each session's socket link: apart from the containers' links, which
    `system gc` removes when they name no running container."""
    return os.path.join(engine.paths.run, "sessions")


def find_shell(container) -> str:
    """The first of bash, ash and sh on the container's PATH, as a path inside it."""
    config = container.config["Config"]
    path_value = next((item[5:] for item in config.get("Env") or []
                       if item.startswith("PATH=")), DEFAULT_PATH)
    with Root(container.path("merged")) as root:
        for name in SHELLS:
            for directory in path_value.split(":"):
                candidate = os.path.join(directory or "/", name)
                if candidate.startswith("/") and root.is_executable_file(candidate):
                    return candidate
    raise InvalidArgument("no shell (bash, ash or sh) in the container: give a command to run")


def check_size(rows: int, cols: int) -> tuple[int, int]:
    try:
        rows, cols = int(rows), int(cols)
    except (TypeError, ValueError):
        raise InvalidArgument("a terminal size is two numbers (rows, columns)") from None
    if not (1 <= rows <= MAX_SIZE and 1 <= cols <= MAX_SIZE):
        raise InvalidArgument(f"a terminal has 1 to {MAX_SIZE} rows and columns")
    return rows, cols


class ExecSession:
    """One session's files. `start()` makes one; `ExecSession.load()` finds one again."""

    def __init__(self, container_dir: str, session_id: str, info: dict):
        self.container_dir = container_dir
        self.id = session_id
        self.dir = os.path.join(container_dir, "sessions", session_id)
        self.info = info

    @classmethod
    def load(cls, container, session_id: str) -> "ExecSession | None":
        if not SESSION_ID.match(session_id or ""):
            return None
        info = atomic.read_json(os.path.join(sessions_dir(container), session_id,
                                             "session.json"))
        return cls(container.dir, session_id, info) if info is not None else None

    @classmethod
    def all(cls, container) -> list["ExecSession"]:
        try:
            names = sorted(os.listdir(sessions_dir(container)))
        except FileNotFoundError:
            return []
        found = (cls.load(container, name) for name in names)
        return [session for session in found if session is not None]

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    # -- the running process ---------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self.info.get("Pid")

    def exit_code(self) -> int | None:
        """The status the process ended with; None while it runs (or if it never ran)."""
        try:
            with open(self.path("exit")) as f:
                text = f.read().strip()
        except FileNotFoundError:
            return None
        try:
            code = int(text)
        except ValueError:
            return 255
        return 137 if code < 0 else code

    def monitor_alive(self) -> bool:
        return process_alive(self.info.get("MonitorPid"), self.info.get("MonitorStartTime"))

    def running(self) -> bool:
        return self.exit_code() is None and self.monitor_alive()

    def attach(self, timeout: float = 5.0):
        """A socket on the session's terminal (see `monitor.connect_attach`)."""
        return monitor.connect_attach(self.dir, timeout=timeout)

    def resize(self, rows: int, cols: int) -> None:
        rows, cols = check_size(rows, cols)
        monitor.resize(self.dir, rows, cols)

    def recent_output(self, limit: int = 64 * 1024) -> bytes:
        """The last `limit` bytes of the output conmon logged (whole records only)."""
        try:
            with open(self.path("output.log"), "rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(0, size - 4 * limit))
                data = f.read()
        except FileNotFoundError:
            return b""
        lines = data.split(b"\n")
        if size > 4 * limit:
            lines = lines[1:]   # the first may be cut
        pieces = []
        for line in lines:
            parts = line.split(b" ", 3)
            if len(parts) < 3:
                continue
            content = parts[3] if len(parts) > 3 else b""
            pieces.append(content if parts[2] == b"P" else content + b"\n")
        return b"".join(pieces)[-limit:]

    def members(self) -> dict[int, int]:
        """The processes in the terminal's session (the process and what it ran), by PID,
        with their start times; none once the session's process is gone."""
        pid = self.pid
        if not pid or process_start_time(pid) != self.info.get("PidStartTime"):
            return {}
        found = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit() and process_session(entry) == pid:
                found[int(entry)] = process_start_time(int(entry))
        return found

    def terminate(self, grace: float = 2.0) -> None:
        """End the session as a terminal hang-up does: SIGHUP to every process of the
        terminal's session, SIGKILL to what is left after `grace` seconds."""
        members = self.members()
        for number, wait in ((signal.SIGHUP, grace), (signal.SIGKILL, 1.0)):
            for pid, started in members.items():
                if process_alive(pid, started):
                    try:
                        os.kill(pid, number)
                        if number == signal.SIGHUP:
                            os.kill(pid, signal.SIGCONT)
                    except ProcessLookupError:
                        pass
            deadline = time.monotonic() + wait
            while any(process_alive(pid, started) for pid, started in members.items()):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.02)
            else:
                return

    def remove(self, engine) -> None:
        """Delete an ended session's files."""
        if self.running():
            raise Conflict(f"session {self.id} is still running")
        try:
            os.unlink(os.path.join(socket_dir(engine), self.id))
        except FileNotFoundError:
            pass
        from runtime.image.store import remove_tree
        if os.path.lexists(self.dir):
            remove_tree(self.dir)


def start(engine, container, session_id: str, cmd: list[str] | None = None,
          user: str | None = None, rows: int = 24, cols: int = 80, env=(),
          workdir: str | None = None, privileged: bool = False, term: str = "xterm-256color"):
    """Start a session in the running `container`: `cmd` (or the container's shell) on a
    terminal of `rows` x `cols`, as `user` (or the container's user), in `workdir` (or the
    container's), with every capability if `privileged`. Returns the session and a socket
    attached to its terminal before the process ran, so no output is missed."""
    if not SESSION_ID.match(session_id or ""):
        raise InvalidArgument("a session ID is 16 to 64 lowercase hex digits")
    rows, cols = check_size(rows, cols)
    container.refresh()
    if container.status != RUNNING:
        raise Conflict(f"container {container.name} is not running")
    argv = list(cmd) if cmd else [find_shell(container)]
    process = execute.process_spec(container, argv, tty=True, user=user, workdir=workdir,
                                   env=[f"TERM={term}", *env], privileged=privileged)
    process["consoleSize"] = {"height": rows, "width": cols}
    directory = os.path.join(sessions_dir(container), session_id)
    os.makedirs(sessions_dir(container), mode=0o700, exist_ok=True)
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        raise Conflict(f"session {session_id} exists") from None
    command = " ".join(process["args"])
    events.container(engine, container, f"exec_create: {command}", {"execID": session_id})
    try:
        started = _launch(engine, container, session_id, directory, process, user, rows, cols)
    except BaseException:
        from runtime.image.store import remove_tree
        remove_tree(directory)
        raise
    events.container(engine, container, f"exec_start: {command}", {"execID": session_id})
    return started


def exec_exited(engine, container_id: str, session_id: str) -> None:
    """conmon's exit command for a session: the journal's exec_die with its status."""
    from runtime.container.state import Container
    container = Container.load(engine.paths.container(container_id))
    session = ExecSession.load(container, session_id) if container else None
    if session is None:
        return                                  # removed with its container meanwhile
    code = session.exit_code()
    events.container(engine, container, "exec_die",
                     {"execID": session_id, "exitCode": -1 if code is None else code})


def _exit_command(engine, container, session_id: str) -> list[str]:
    """`moor ... system exec-exited CONTAINER SESSION`, beside the container's own exit
    command (`system container-exited CONTAINER`)."""
    command = monitor.exit_command(engine.paths.root, container.id)
    command = command[:command.index("container-exited")] + [
        "exec-exited", container.id, session_id]
    argv = ["--exit-command", command[0]]
    for part in command[1:]:
        argv += ["--exit-command-arg", part]
    return argv


def _launch(engine, container, session_id, directory, process, user, rows, cols):
    info = {"Id": session_id, "Container": container.id, "Args": process["args"],
            "User": user or "", "Created": rfc3339_ns(), "Rows": rows, "Cols": cols}
    atomic.write_json(os.path.join(directory, "session.json"), info)
    atomic.write_json(os.path.join(directory, "process.json"), process)
    os.mkdir(os.path.join(directory, "exited"), 0o700)
    sockets = socket_dir(engine)
    os.makedirs(sockets, mode=0o700, exist_ok=True)
    runtime = oci_runtime(engine, container)
    argv = [
        monitor.conmon_path(), "--api-version", "1",
        "-c", container.id, "-u", session_id, "-n", container.name,
        "-r", runtime.path, "-b", directory,
        "-p", os.path.join(directory, "exec.pid"), "-P", os.path.join(directory, "conmon.pid"),
        "-l", "k8s-file:" + os.path.join(directory, "output.log"),
        "--log-size-max", str(LOG_MAX),
        "--exit-dir", os.path.join(directory, "exited"), "--persist-dir", directory,
        "--socket-dir-path", sockets, "--runtime-arg", f"--root={runtime.state_root}",
        "-e", "--exec-process-spec", os.path.join(directory, "process.json"),
        "-t", "-i", "--leave-stdin-open", "--exec-attach", "--log-level", "error",
        *_exit_command(engine, container, session_id),
    ]
    sync_path = os.path.join(directory, "sync")
    sync_fd = os.open(sync_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    start_read, start_write = os.pipe()
    attach_read, attach_write = os.pipe()
    env = {"PATH": DEFAULT_PATH, "TZ": "UTC", "_OCI_SYNCPIPE": str(sync_fd),
           "_OCI_STARTPIPE": str(start_read), "_OCI_ATTACHPIPE": str(attach_write)}
    sock = launcher = None
    try:
        try:
            launcher = subprocess.Popen(
                argv, cwd=directory, env=env, pass_fds=(sync_fd, start_read, attach_write),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                start_new_session=True)
        except OSError as error:
            raise MoorError(f"starting the session's monitor failed: {error}") from None
        for fd in (sync_fd, start_read, attach_write):
            os.close(fd)
        sync_fd = start_read = attach_write = -1
        # conmon's exec-attach handshake: the first byte releases conmon, which says
        # on the attach pipe when its socket listens; we connect, and the second byte makes it
        # run the process.
        os.write(start_write, b"0")
        ready = monitor.read_sync(attach_read, START_TIMEOUT)
        if ready is None or ready.get("data", -1) < 0:
            raise MoorError(_failure(launcher, ready, "the session's monitor did not start"))
        sock = monitor.connect_attach(directory)
        os.write(start_write, b"0")
        started = _read_sync_file(sync_path, directory, START_TIMEOUT)
        pid = started.get("data", -1) if started else -1
        if not isinstance(pid, int) or pid <= 0:
            from runtime.container.oci import error_text
            message = (started or {}).get("message")
            raise MoorError(error_text(message) if message else
                            _failure(launcher, None, "the process did not start"))
        try:
            launcher.wait(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
    except BaseException:
        if sock is not None:
            sock.close()
        monitor.kill_quietly(monitor.read_int(os.path.join(directory, "conmon.pid")))
        raise
    finally:
        for fd in (sync_fd, start_read, attach_write, start_write, attach_read):
            if fd >= 0:
                os.close(fd)
        if launcher is not None:
            launcher.stderr.close()
    monitor_pid = monitor.read_int(os.path.join(directory, "conmon.pid"))
    info.update({"Pid": pid, "PidStartTime": process_start_time(pid),
                 "MonitorPid": monitor_pid, "MonitorStartTime": process_start_time(monitor_pid)
                 if monitor_pid else None})
    atomic.write_json(os.path.join(directory, "session.json"), info)
    session = ExecSession(container.dir, session_id, info)
    session.resize(rows, cols)
    return session, sock


def _read_sync_file(path: str, directory: str, timeout: float) -> dict | None:
    """The first line conmon writes to the sync file, or None when conmon dies first."""
    deadline = time.monotonic() + timeout
    pause = 0.0005
    while time.monotonic() < deadline:
        with open(path, "rb") as f:
            line = f.readline()
        if line.endswith(b"\n"):
            try:
                return json.loads(line)
            except ValueError:
                return {"data": -1, "message": line.decode("utf-8", "replace")}
        conmon = monitor.read_int(os.path.join(directory, "conmon.pid"))
        if conmon and not os.path.exists(f"/proc/{conmon}"):
            return None
        time.sleep(pause)
        pause = min(pause * 2, 0.01)
    return None


def _failure(launcher, message: dict | None, fallback: str) -> str:
    if message and message.get("message"):
        return str(message["message"]).strip().splitlines()[-1]
    try:
        _, err = launcher.communicate(timeout=1)
    except subprocess.TimeoutExpired:
        err = b""
    text = (err or b"").decode("utf-8", "replace").strip()
    return f"{fallback}: {text.splitlines()[-1]}" if text else fallback


def find(engine, container_ref: str, session_id: str) -> ExecSession:
    container = engine.container(container_ref)
    session = ExecSession.load(container, session_id)
    if session is None:
        raise NotFound(f"No such session: {session_id}")
    return session


def sweep_links(engine) -> list[str]:
    """Remove the socket links of sessions whose directory is gone (with their container)."""
    removed = []
    directory = socket_dir(engine)
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return removed
    for name in names:
        link = os.path.join(directory, name)
        if os.path.islink(link) and not os.path.exists(link):
            try:
                os.unlink(link)
                removed.append(name)
            except FileNotFoundError:
                pass
    return removed
