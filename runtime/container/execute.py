"""`exec`: run another process in a running container's namespaces and cgroup, through the
OCI runtime's own `exec` (about 12 ms here), with the same capabilities, seccomp profile and
masked paths as the container's main process.

`exec -it` from a terminal runs the process as a terminal session under a conmon of its own
(runtime/container/sessions.py), as the engine service's exec does: the detach keys
(`--detach-keys`, Ctrl-P Ctrl-Q by default) leave it running, as Docker's do.
"""

import contextlib
import json
import os
import secrets
import subprocess

from runtime import events
from runtime.container import options as opts, spec as oci_spec, users
from runtime.container.lifecycle import find_program, oci_runtime, process_environment
from runtime.container.rootpath import Root
from runtime.container.state import PAUSED, RUNNING
from runtime.errors import Conflict, InvalidArgument, MoorError


def process_spec(container, cmd: list[str], *, tty: bool = False, user: str | None = None,
                 workdir: str | None = None, env=(), privileged: bool = False) -> dict:
    """The OCI `process` object for an exec, resolved inside the container's root."""
    container.refresh()
    if container.status == PAUSED:
        raise Conflict(f"Container {container.id} is paused, unpause the container before exec")
    if container.status != RUNNING:
        raise Conflict(f"Container {container.id} is not running")
    if not cmd:
        raise InvalidArgument("exec needs a command to run")
    with open(container.path("config.json"), "rb") as f:
        bundle = json.load(f)
    config = container.config["Config"]
    process = dict(bundle["process"])
    with Root(container.path("merged")) as root:
        resolved = users.resolve(root, user if user is not None else config.get("User"))
        environment = process_environment(container, resolved, tty, opts.parse_env(list(env)))
        path_value = next((i[5:] for i in environment if i.startswith("PATH=")), "")
        argv = list(cmd)
        argv[0] = find_program(root, argv[0], path_value)
        cwd = workdir or config.get("WorkingDir") or "/"
        if not cwd.startswith("/"):
            raise InvalidArgument(f"the working directory {cwd!r} must be absolute")
        try:
            os.close(root.open(cwd, os.O_PATH | os.O_DIRECTORY))
        except OSError:
            raise InvalidArgument(f"working directory {cwd} does not exist in the "
                                  "container") from None
    process.update({
        "args": argv, "env": environment, "cwd": cwd, "terminal": bool(tty),
        "user": {"uid": resolved.uid, "gid": resolved.gid},
    })
    if resolved.additional_gids:
        process["user"]["additionalGids"] = resolved.additional_gids
    if privileged:
        caps = list(oci_spec.ALL_CAPABILITIES)
        process["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps,
                                   "inheritable": [], "ambient": []}
    process.pop("consoleSize", None)
    return process


def write_spec(container, process: dict) -> str:
    path = container.path(f"exec-{secrets.token_hex(8)}.json")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(process, f)
    return path


def run(engine, container, cmd: list[str], *, tty: bool = False, interactive: bool = False,
        detach: bool = False, user: str | None = None, workdir: str | None = None, env=(),
        privileged: bool = False) -> int:
    """Run the command with the caller's stdio; return its exit status. The journal gets
    Docker's exec_create and exec_start, and exec_die with the status (not for `detach`,
    whose end nobody waits for)."""
    process = process_spec(container, cmd, tty=tty, user=user, workdir=workdir, env=env,
                           privileged=privileged)
    runtime = oci_runtime(engine, container)
    spec_path = write_spec(container, process)
    exec_id = {"execID": secrets.token_hex(32)}
    command = " ".join(cmd)
    events.container(engine, container, f"exec_create: {command}", exec_id)
    events.container(engine, container, f"exec_start: {command}", exec_id)
    status = None
    try:
        argv = runtime.argv("exec", "--process", spec_path)
        if tty:
            argv.append("--tty")
        if detach:
            argv.append("--detach")
        if tty and not detach and runtime.name == "crun":
            # runc follows the window itself (and takes a console socket only detached).
            status = _run_on_console(argv, container.id, interactive)
            return status
        argv.append(container.id)
        if tty and not detach and not any(os.isatty(fd) for fd in (0, 1, 2)):
            # `exec -t` in a script: runc needs a terminal of the caller's to relay from.
            return _run_on_a_terminal_of_our_own(argv)
        quiet = subprocess.DEVNULL if detach else None
        result = subprocess.run(argv, stdin=None if interactive and not detach
                                else subprocess.DEVNULL, stdout=quiet, stderr=quiet)
        status = None if detach else result.returncode
        return result.returncode
    finally:
        try:
            os.unlink(spec_path)
        except FileNotFoundError:
            pass
        if status is not None:
            events.container(engine, container, "exec_die", {**exec_id, "exitCode": status})


def run_on_terminal(engine, container, cmd: list[str], *, user: str | None = None,
                    workdir: str | None = None, env=(), privileged: bool = False,
                    detach_keys: bytes | None = None) -> int:
    """`exec -it` with our terminal: a terminal session relayed to it until the process
    ends (its status) or the detach keys are typed (0, the process going on)."""
    from runtime.container import attach, sessions
    rows, cols = attach.terminal_size(1) or attach.terminal_size(0) or (24, 80)
    session, sock = sessions.start(engine, container, secrets.token_hex(32), list(cmd),
                                   user=user, rows=rows, cols=cols, env=list(env),
                                   workdir=workdir, privileged=privileged, term="xterm")
    try:
        outcome = attach.relay(sock, session.dir, tty=True, stdin=True,
                               detach_keys=detach_keys or attach.DETACH_KEYS)
    finally:
        sock.close()
    if outcome == attach.DETACHED:
        attach.detach_message()
        return 0
    code = _session_status(session)
    with contextlib.suppress(MoorError):
        session.remove(engine)
    return code


def _session_status(session, patience: float = 10.0) -> int:
    """The ended session's status: conmon records it as the terminal's output ends, perhaps
    a moment after; 137 for a monitor that died without recording one."""
    import time
    deadline = time.monotonic() + patience
    while True:
        code = session.exit_code()
        if code is not None:
            return code
        if not session.monitor_alive() or time.monotonic() > deadline:
            code = session.exit_code()
            return 137 if code is None else code
        time.sleep(0.005)


# -- a terminal of our own (crun) ---------------------------------------------------------------
# Left to itself, `crun exec --tty` copies between our terminal and the pty it makes but never
# passes a window resize on. So crun hands the pty's master to us (the OCI console socket, as
# conmon takes it) and we relay, following our terminal's size. runc resizes by itself.

def _run_on_console(argv: list[str], container_id: str, interactive: bool) -> int:
    import socket
    import tempfile

    directory = tempfile.mkdtemp(prefix="moor-exec-")
    path = os.path.join(directory, "console.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(path)
        listener.listen(1)
        process = subprocess.Popen(argv + ["--console-socket", path, container_id],
                                   stdin=subprocess.DEVNULL)
        master = _receive_master(listener, process)
        if master is None:
            return process.wait()
        try:
            return _relay_console(master, process, interactive)
        finally:
            os.close(master)
    finally:
        listener.close()
        with contextlib.suppress(OSError):
            os.unlink(path)
        with contextlib.suppress(OSError):
            os.rmdir(directory)


def _run_on_a_terminal_of_our_own(argv: list[str]) -> int:
    """Run the runtime with a pseudo-terminal of ours as its standard streams (raw, so the
    container's own terminal does all line-ending conversion), and relay what it writes."""
    import tty as terminal_modes

    master, slave = os.openpty()
    try:
        terminal_modes.setraw(slave)
        process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave)
    finally:
        os.close(slave)
    try:
        return _relay_console(master, process, interactive=False)
    finally:
        os.close(master)


def _receive_master(listener, process) -> int | None:
    """The pty master the runtime sends over the console socket; None when it ended first
    (its error is already on our stderr)."""
    import select
    import socket

    while True:
        ready, _, _ = select.select([listener], [], [], 0.05)
        if ready:
            connection, _ = listener.accept()
            with connection:
                _, fds, _, _ = socket.recv_fds(connection, 4096, 1)
            return fds[0] if fds else None
        if process.poll() is not None:
            return None


def _relay_console(master: int, process, interactive: bool) -> int:
    import errno
    import fcntl
    import select
    import signal
    import struct
    import termios

    from runtime.container.attach import RawTerminal, terminal_size, write_all

    def follow_size(*_):
        size = terminal_size(1) or terminal_size(0)
        if size:
            fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))

    follow_size()
    previous = signal.signal(signal.SIGWINCH, follow_size)
    stdin_open = interactive
    raw = RawTerminal(0) if interactive and os.isatty(0) else None
    try:
        if raw:
            raw.__enter__()
        while True:
            readers = [master] + ([0] if stdin_open else [])
            try:
                ready, _, _ = select.select(readers, [], [], 0.2)
            except InterruptedError:
                continue
            if master in ready:
                try:
                    data = os.read(master, 65536)
                except OSError as error:        # EIO: every slave end is closed
                    if error.errno != errno.EIO:
                        raise
                    data = b""
                if not data:
                    break
                write_all(1, data)
            if stdin_open and 0 in ready:
                data = os.read(0, 65536)
                if data:
                    write_all(master, data)
                else:
                    stdin_open = False
            if not ready and process.poll() is not None:
                break
    finally:
        if raw:
            raw.__exit__()
        signal.signal(signal.SIGWINCH, previous)
    return process.wait()

