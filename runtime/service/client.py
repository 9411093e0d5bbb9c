"""The `moor` command line's way into the engine service: when a service serves the engine
root a command would use, the command runs there, in a process forked from the service's
warm command server (`runtime/service/commands.py`), instead of in a new interpreter that
first imports the engine. The output and the exit status are the same either way: the
forked process runs the same `runtime.cli.main` on the caller's own standard input, output
and error (passed over the socket), in its working directory, with its environment, umask
and resource limits. Without a service, or when it refuses, the command runs in-process as
before; `MOORAGE_NO_SERVICE=1` asks for that.

This module is what `moor` loads before anything else, so it imports only modules built
into the interpreter (no `socket`, `signal` or `hashlib`, whose Python parts cost more than
the work itself).

The protocol, on the root-only stream socket `<run dir>/command.sock` of the engine root
(`/run/moorage/<12 hex of sha256(root)>/`, see `runtime.paths`):

1. The client sends one request: 4 bytes of length (big-endian), then the fields, each
   ending in a NUL byte: `moor-command/1`, the engine root (absolute), the umask (octal),
   then for standard input, output and error their encoding and error handler (two fields
   each), the number of arguments, the arguments, then `NAME=VALUE` for each environment
   variable. The first piece carries four descriptors (SCM_RIGHTS): standard input, output,
   error, and the working directory.
2. While the command runs, each byte the client sends is a signal it received, for the
   command's process (Ctrl-C, a terminal resize, a SIGTERM...). A client that goes away
   without a word (killed) takes the command with it (SIGKILL), as a killed `moor` would.
3. The server answers one line: `E<status>` (the command exited), `S<signal>` (it was killed
   by that signal: the client then dies of the same signal), or `R<reason>` before anything
   ran (refused: another root, another namespace, not root; the client runs the command
   in-process). Anything after the first line is ignored.
"""

import _signal
import _socket
import os
import sys

PROTOCOL = "moor-command/1"
SOCKET_NAME = "command.sock"
RUN_BASE = "/run/moorage"           # runtime.paths.RUN_BASE
DEFAULT_ROOT = "/var/lib/moorage"   # runtime.paths.DEFAULT_ROOT

# The verbs the service runs (the first word, and for a group its verb); all others run
# in-process. Those that talk to a terminal other than through the standard descriptors
# (`login` asks for a password on /dev/tty) must stay here.
FORWARDED = {
    "run", "create", "start", "stop", "restart", "kill", "rm", "ps", "logs", "exec",
    "attach", "wait", "inspect", "pause", "unpause", "rename", "top", "port", "images",
    ("container", "ls"), ("container", "list"), ("container", "ps"), ("container", "run"),
    ("container", "create"), ("container", "start"), ("container", "stop"),
    ("container", "restart"), ("container", "kill"), ("container", "rm"),
    ("container", "logs"), ("container", "exec"), ("container", "attach"),
    ("container", "wait"), ("container", "inspect"), ("container", "pause"),
    ("container", "unpause"), ("container", "rename"), ("container", "top"),
    ("container", "port"), ("image", "ls"), ("image", "list"),
    # conmon's exit command: cleaning up after each container that ends.
    ("system", "container-exited"),
}
# The signals a client passes on to the command (a terminal's Ctrl-C and Ctrl-\, a resize,
# a hang-up, kill's default, the user signals).
FORWARDED_SIGNALS = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT,
                     _signal.SIGWINCH, _signal.SIGUSR1, _signal.SIGUSR2)


def root_and_verb(argv: list[str]) -> tuple[str | None, tuple]:
    """The `--root` of a command line (None when not given) and its verb: the first word
    that is not an option of `moor` itself, with the next word for a group."""
    root, words, skip = None, [], False
    for index, word in enumerate(argv):
        if skip:
            root, skip = word, False
            continue
        if word == "--root":
            skip = True
            continue
        if word.startswith("--root="):
            root = word[len("--root="):]
            continue
        if word.startswith("-"):
            return root, ()        # -h, or an option moor does not have: argparse says so
        words = argv[index:index + 2]
        break
    return root, tuple(words)


def forwarded(verb: tuple) -> bool:
    return bool(verb) and (verb[0] in FORWARDED or verb[:2] in FORWARDED)


def run_directory(root: str) -> str:
    """`runtime.paths.Paths(root).run`, without importing hashlib."""
    try:
        from _sha256 import sha256
    except ImportError:             # Python 3.12 and later
        from _sha2 import sha256
    return RUN_BASE + "/" + sha256(root.encode()).hexdigest()[:12]


def socket_path(root: str | None) -> str:
    root = os.path.abspath(root or os.environ.get("MOORAGE_ROOT") or DEFAULT_ROOT)
    return run_directory(root) + "/" + SOCKET_NAME


def _request(root: str, argv: list[str], cwd: int) -> tuple[bytes, list[int]]:
    umask = os.umask(0o022)
    os.umask(umask)
    fields = [PROTOCOL, root, "%o" % umask]
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        fields += [getattr(stream, "encoding", None) or "utf-8",
                   getattr(stream, "errors", None) or "strict"]
    fields.append(str(len(argv)))
    encoded = [field.encode() for field in fields]
    encoded += [os.fsencode(argument) for argument in argv]
    encoded += [os.fsencode(name) + b"=" + os.fsencode(value)
                for name, value in os.environ.items()]
    payload = b"\0".join(encoded) + b"\0"
    return len(payload).to_bytes(4, "big") + payload, [0, 1, 2, cwd]


def forward(argv: list[str]) -> int | None:
    """Run the command line `argv` in the engine service and return its exit status; None
    when it should run in-process (no service for this root, a verb the service does not
    run, or the service refused before anything ran)."""
    root, verb = root_and_verb(argv)
    if not forwarded(verb) or os.environ.get("MOORAGE_NO_SERVICE"):
        return None
    absolute_root = os.path.abspath(root or os.environ.get("MOORAGE_ROOT") or DEFAULT_ROOT)
    try:
        for fd in (0, 1, 2):
            os.fstat(fd)        # a closed descriptor cannot be passed: in-process, as ever
        connection = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    except OSError:
        return None
    try:
        connection.connect(run_directory(absolute_root) + "/" + SOCKET_NAME)
        cwd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        connection.close()
        return None
    try:
        request, fds = _request(absolute_root, argv, cwd)
        rights = b"".join(fd.to_bytes(4, sys.byteorder) for fd in fds)
        sent = connection.sendmsg([request], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS,
                                               rights)])
        if sent < len(request):
            connection.sendall(request[sent:])
    except OSError:
        connection.close()
        return None
    finally:
        os.close(cwd)
    return _follow(connection)


def _follow(connection) -> int | None:
    """Pass signals on until the answer comes; act on it."""
    def pass_on(signum, frame):
        try:
            connection.send(bytes((signum,)))
        except OSError:
            pass
    previous = {signum: _signal.signal(signum, pass_on) for signum in FORWARDED_SIGNALS}
    answer = b""
    try:
        while b"\n" not in answer:
            try:
                chunk = connection.recv(64)
            except OSError:
                chunk = b""
            if not chunk:
                break
            answer += chunk
    finally:
        for signum, handler in previous.items():
            _signal.signal(signum, handler)
        connection.close()
    line = answer.split(b"\n", 1)[0].decode("ascii", "replace")
    kind, value = line[:1], line[1:]
    if kind == "E" and value.isdigit():
        return int(value)
    if kind == "S" and value.isdigit():
        # Die as the command died (a shell then sees the same status).
        signum = int(value)
        try:
            _signal.signal(signum, _signal.SIG_DFL)
        except (OSError, ValueError):   # SIGKILL and SIGSTOP have no handler to reset
            pass
        os.kill(os.getpid(), signum)
        return 128 + signum
    if kind == "R":
        return None
    sys.stderr.write("Error: the engine service ended while it ran the command\n")
    return 1


def leave(status: int) -> None:
    """End this process with `status` now: the client holds nothing to tidy up, and the
    interpreter's orderly shutdown would cost it milliseconds."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    os._exit(status & 0xff)
