"""Attaching a terminal (or pipes) to a container's main process through conmon.

The relay copies conmon's attach socket to our stdout/stderr and our stdin to it; with a tty it
puts the local terminal in raw mode (so Ctrl-C and line editing go to the container), follows
the window size, and leaves on the detach keys (Ctrl-P Ctrl-Q, or `--detach-keys`) with the
container still running. It always drains the socket: a client that stops reading would freeze
the container (conmon writes to clients with blocking writes).
"""

import errno
import os
import select
import signal
import socket
import sys

from runtime import events
from runtime.container import monitor

DETACH_KEYS = b"\x10\x11"  # Ctrl-P Ctrl-Q
MAX_INPUT = 32767
ENDED, DETACHED = "ended", "detached"
OUTPUT_STREAMS = frozenset({"stdout", "stderr"})
_CONTROL = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


def parse_detach_keys(text: str | None) -> bytes:
    """Docker's `--detach-keys`: a comma-separated sequence of `ctrl-<letter>`,
    `ctrl-[`, `ctrl-\\`, `ctrl-]`, `ctrl-^`, `ctrl-_`, `ctrl-@` and single characters
    (`ctrl-p,ctrl-q`, the default; `ctrl-a`; `a,b`)."""
    from runtime.errors import InvalidArgument
    if not text:
        return DETACH_KEYS
    keys = bytearray()
    for part in text.split(","):
        part = part.strip()
        if part.lower().startswith("ctrl-") and len(part) == 6:
            key = part[5].lower()
            if "a" <= key <= "z":
                keys.append(ord(key) - ord("a") + 1)
                continue
            if key in _CONTROL:
                keys.append(_CONTROL[key])
                continue
        elif len(part) == 1:
            keys.append(ord(part))
            continue
        raise InvalidArgument(f"invalid detach keys {text!r}: use keys like ctrl-p,ctrl-q "
                              "(ctrl-a..ctrl-z, ctrl-@, ctrl-[, ctrl-\\, ctrl-], ctrl-^, "
                              "ctrl-_ or single characters, separated by commas)")
    return bytes(keys)


def connect(engine, container) -> socket.socket:
    """A socket on the main process's terminal or stdio (conmon's attach socket), with
    Docker's `attach` event in the journal."""
    sock = monitor.connect_attach(container.dir)
    events.container(engine, container, "attach")
    return sock


def terminal_size(fd: int) -> tuple[int, int] | None:
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return None
    return size.lines, size.columns


class RawTerminal:
    """Puts a tty in raw mode for the block, restoring it afterwards."""

    def __init__(self, fd: int):
        self.fd = fd
        self.saved = None

    def __enter__(self):
        import termios
        import tty
        try:
            self.saved = termios.tcgetattr(self.fd)
            tty.setraw(self.fd, termios.TCSANOW)
        except termios.error:
            self.saved = None
        return self

    def __exit__(self, *exc):
        if self.saved is not None:
            import termios
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)


def relay(sock: socket.socket, container_dir: str, *, tty: bool, stdin: bool,
          stdin_fd: int = 0, stdout_fd: int = 1, stderr_fd: int = 2,
          detach_keys: bytes = DETACH_KEYS, streams=OUTPUT_STREAMS) -> str:
    """Copy between the attach socket and our stdio until the container's output ends
    (ENDED) or the user detaches (DETACHED). Only the output `streams` named are written
    (`run -a`): with a terminal, everything is stdout."""
    use_stdin = stdin
    raw = tty and use_stdin and os.isatty(stdin_fd)
    previous_winch = None
    if tty and os.isatty(stdout_fd):
        size = terminal_size(stdout_fd)
        if size:
            monitor.resize(container_dir, *size)

        def on_winch(signum, frame):
            new_size = terminal_size(stdout_fd)
            if new_size:
                monitor.resize(container_dir, *new_size)
        previous_winch = signal.signal(signal.SIGWINCH, on_winch)

    pending_detach = b""
    stdin_open = use_stdin
    terminal = RawTerminal(stdin_fd) if raw else None
    if terminal:
        terminal.__enter__()
    try:
        while True:
            readers = [sock] + ([stdin_fd] if stdin_open else [])
            try:
                ready, _, _ = select.select(readers, [], [])
            except InterruptedError:
                continue
            if sock in ready:
                try:
                    message = sock.recv(8193)
                except ConnectionResetError:
                    message = b""
                if not message:
                    return ENDED
                stream, data = message[0], message[1:]
                to_stderr = stream == monitor.STREAM_STDERR and not tty
                if ("stderr" if to_stderr else "stdout") in streams:
                    write_all(stderr_fd if to_stderr else stdout_fd, data)
            if stdin_open and stdin_fd in ready:
                try:
                    data = os.read(stdin_fd, MAX_INPUT)
                except OSError as error:
                    if error.errno in (errno.EAGAIN, errno.EINTR):
                        continue
                    data = b""
                if not data:
                    stdin_open = False
                    if not tty:
                        try:
                            sock.shutdown(socket.SHUT_WR)
                        except OSError:
                            pass
                    continue
                if raw and detach_keys:
                    data = pending_detach + data
                    pending_detach = b""
                    index = data.find(detach_keys)
                    if index >= 0:
                        if index:
                            _send(sock, data[:index])
                        return DETACHED
                    # Keep a trailing prefix of the detach keys until the next read.
                    for keep in range(len(detach_keys) - 1, 0, -1):
                        if data.endswith(detach_keys[:keep]):
                            pending_detach = data[-keep:]
                            data = data[:-keep]
                            break
                if data:
                    _send(sock, data)
    finally:
        if terminal:
            terminal.__exit__()
        if previous_winch is not None:
            signal.signal(signal.SIGWINCH, previous_winch)


def _send(sock: socket.socket, data: bytes) -> None:
    for start in range(0, len(data), MAX_INPUT):
        try:
            sock.sendall(data[start:start + MAX_INPUT])
        except (BrokenPipeError, ConnectionResetError):
            return


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except InterruptedError:
            continue
        except BrokenPipeError:
            return
        view = view[written:]


def detach_message() -> None:
    sys.stderr.write("\r\nread escape sequence\r\n")
