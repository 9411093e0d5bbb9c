"""The service's command server: runs `moor` command lines for clients on the same host
(`runtime/service/client.py` has the protocol), so that a command pays neither for starting
an interpreter nor for importing the engine.

It is one process, forked by `moor system service` before the service starts any thread,
that imports what the common verbs need once, then waits on the root-only socket
`<run dir>/command.sock`. For each request it forks again: the child takes the client's
standard input, output and error (descriptors passed over the socket), working directory,
environment, umask and resource limits, starts a session of its own, and runs
`runtime.cli.main(argv)` exactly as a `moor` process would, on an engine whose container
listing comes from the server's in-memory view (`runtime/service/view.py`), brought up to
date just before the fork. The child reports its exit status itself (to the client, and to
the server through a pipe), then does what the command left for later (a removal's
clean-up: `runtime.background`) with its standard streams on /dev/null; the server reports a
child killed by a signal before it could, passes on the signals the client received, and
kills the child of a client that went away before its answer.

Only root may connect (the socket is 0600, and the peer's credentials are checked), and
only from the server's own mount, PID and network namespaces (a client elsewhere sees
other files and processes: it runs the command itself). A command in flight goes on if the
service stops; the server itself ends with the service (SIGTERM, or the service's death).
"""

import logging
import os
import select
import signal
import socket
import struct
import sys

from runtime.service import client as protocol

log = logging.getLogger("moorage.service.commands")

REQUEST_MAX = 4 << 20           # arguments and environment of one command line
REQUEST_TIMEOUT = 5.0           # a client sends its request at once
NAMESPACES = ("mnt", "pid", "net")
# What the common verbs import, loaded once here and shared by every command's process.
PRELOAD = (
    "runtime.cli", "runtime.cli.containers", "runtime.cli.interactive", "runtime.cli.output",
    "runtime.cli.ps", "runtime.cli.filters", "runtime.container.filters",
    "runtime.cli.rows", "runtime.cli.tabwriter", "runtime.cli.images", "runtime.cli.system",
    "runtime.gotemplate", "runtime.api", "runtime.container.lifecycle",
    "runtime.container.control", "runtime.container.removal", "runtime.container.exits",
    "runtime.container.inspect", "runtime.container.attach", "runtime.container.execute",
    "runtime.container.monitor", "runtime.container.oci", "runtime.container.spec",
    "runtime.container.seccomp", "runtime.container.seccomp_bpf",
    "runtime.container.cgroups", "runtime.container.rootfs", "runtime.container.logs",
    "runtime.container.sessions", "runtime.container.options", "runtime.network",
    "runtime.volume.mountpoints", "runtime.volume.specs", "runtime.image.store",
    "runtime.service.view", "json", "subprocess", "fcntl", "termios", "tty",
    "runtime.background", "runtime.events.journal", "runtime.image.listing",
    # a listing's table and --format
    "runtime.gotemplate.execute", "runtime.gotemplate.functions", "runtime.gotemplate.lexer",
    "runtime.gotemplate.literals", "runtime.gotemplate.nodes", "runtime.gotemplate.parser",
    # a run on a bridge (pyroute2: about 40 ms of each such run otherwise)
    "runtime.network.bridge", "runtime.network.firewall", "runtime.network.netlink",
    "runtime.network.netns",
)
RLIMITS = ("RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE",
           "RLIMIT_LOCKS", "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE",
           "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_RSS", "RLIMIT_RTPRIO", "RLIMIT_SIGPENDING",
           "RLIMIT_STACK")


class Refused(Exception):
    """A request the server does not run: the client runs the command itself."""


class Request:
    """One command line to run, as the client sent it."""

    def __init__(self, payload: bytes, fds: list[int]):
        fields = payload.split(b"\0")
        if len(fields) < 11 or fields[-1] != b"" or fields[0].decode() != protocol.PROTOCOL:
            raise Refused("not a request of this protocol")
        fields = fields[:-1]
        self.root = os.fsdecode(fields[1])
        self.umask = int(fields[2], 8)
        self.stdio = [(fields[3 + 2 * n].decode(), fields[4 + 2 * n].decode())
                      for n in range(3)]
        count = int(fields[9])
        self.argv = [os.fsdecode(field) for field in fields[10:10 + count]]
        self.env = {}
        for field in fields[10 + count:]:
            name, sep, value = field.partition(b"=")
            if sep:
                self.env[os.fsdecode(name)] = os.fsdecode(value)
        if len(fds) != 4:
            raise Refused("four descriptors expected")
        self.fds = fds


def bind(path: str) -> socket.socket | None:
    """The listening socket, mode 0600 (root's alone); None when a live server answers on
    it already (another service of the same root: the first one runs the commands). A
    socket file left by a server that died is replaced."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    if os.path.lexists(path):
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except OSError:
            os.unlink(path)
        else:
            return None
        finally:
            probe.close()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        listener.bind(path)
    finally:
        os.umask(old_umask)
    os.chmod(path, 0o600)
    listener.listen(128)
    return listener


def start(engine, listener: socket.socket) -> int:
    """Fork the command server (call before any thread starts); returns its PID."""
    parent = os.getpid()
    pid = os.fork()
    if pid:
        listener.close()
        return pid
    status = 1
    try:
        _die_with(parent)
        CommandServer(engine, listener).serve()
        status = 0
    except BaseException:
        log.exception("the command server failed")
    finally:
        logging.shutdown()
        os._exit(status)


def _die_with(parent: int) -> None:
    """End this process when the service's ends, even by SIGKILL."""
    import ctypes
    PR_SET_PDEATHSIG = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:      # it died before the line above
        os._exit(0)


def _namespaces(pid) -> tuple:
    found = []
    for name in NAMESPACES:
        try:
            found.append(os.readlink(f"/proc/{pid}/ns/{name}"))
        except OSError:
            found.append(None)
    return tuple(found)


class CommandServer:
    def __init__(self, engine, listener: socket.socket):
        import importlib

        from runtime.service.view import ContainerView
        self.engine = engine
        self.listener = listener
        self.children: dict[int, socket.socket] = {}       # pid -> its client's connection
        self.connections: dict[int, int] = {}              # connection fd -> child pid
        self.reports: dict[int, int] = {}                  # report pipe fd -> child pid
        self.answered: set[int] = set()                    # children that reported
        self.stopping = False
        for name in PRELOAD:
            try:
                importlib.import_module(name)
            except ImportError as error:    # pyroute2 missing: bridged runs say so
                log.warning("command server: cannot preload %s: %s", name, error)
        self.namespaces = _namespaces("self")
        self.view = ContainerView(engine)
        self.view.refresh()
        _warm_up()
        # What is loaded now is shared with every command's process; kept out of the
        # collector's reach, it is not copied page by page when a child collects.
        import gc
        gc.collect()
        gc.freeze()

    # -- the loop ------------------------------------------------------------------------

    def serve(self) -> None:
        wake_read, wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wake_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        poller = select.poll()
        poller.register(self.listener.fileno(), select.POLLIN)
        poller.register(wake_read, select.POLLIN)
        self.poller = poller
        while not self.stopping:
            try:
                events = poller.poll()
            except InterruptedError:
                continue
            for fd, _ in events:
                try:
                    if fd == wake_read:
                        while True:
                            try:
                                if not os.read(wake_read, 512):
                                    break
                            except BlockingIOError:
                                break
                        self._reap()
                    elif fd == self.listener.fileno():
                        self._accept()
                    elif fd in self.reports:
                        self._reported(fd)
                    else:
                        self._from_client(fd)
                except Exception:   # one client's trouble never ends the server
                    log.exception("command server: handling descriptor %d failed", fd)
        self.listener.close()
        # Commands in flight finish on their own; their clients hear from them directly.

    def _stop(self, *_):
        self.stopping = True

    def _accept(self) -> None:
        try:
            connection, _ = self.listener.accept()
        except OSError:
            return
        try:
            request = self._read_request(connection)
        except Refused as refusal:
            self._answer(connection, "R" + str(refusal))
            connection.close()
            return
        except (OSError, ValueError, UnicodeDecodeError, struct.error) as error:
            log.warning("command server: a bad request: %s", error)
            connection.close()
            return
        report_read, report_write = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        connection.setblocking(False)
        try:
            pid = self._fork(connection, request, report_write)
        finally:
            os.close(report_write)
            for fd in request.fds:
                os.close(fd)
        if pid is None:
            os.close(report_read)
            connection.close()
            return
        self.children[pid] = connection
        self.connections[connection.fileno()] = pid
        self.reports[report_read] = pid
        self.poller.register(connection.fileno(), select.POLLIN)
        self.poller.register(report_read, select.POLLIN)

    def _read_request(self, connection: socket.socket) -> Request:
        pid, uid, _ = struct.unpack("3i", connection.getsockopt(
            socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
        connection.settimeout(REQUEST_TIMEOUT)
        data, fds = b"", []
        while len(data) < 4 or len(data) < 4 + int.from_bytes(data[:4], "big"):
            if len(data) >= 4 and int.from_bytes(data[:4], "big") > REQUEST_MAX:
                raise Refused("request too large")
            chunk, ancillary, _, _ = connection.recvmsg(
                65536, socket.CMSG_SPACE(16 * 4), socket.MSG_CMSG_CLOEXEC)
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds += [int.from_bytes(payload[i:i + 4], sys.byteorder)
                            for i in range(0, len(payload) - len(payload) % 4, 4)]
            if not chunk:
                for fd in fds:
                    os.close(fd)
                raise OSError("the client left before its request was complete")
            data += chunk
        connection.settimeout(None)
        try:
            if uid != 0:
                raise Refused("only root runs moor commands in the engine service")
            if _namespaces(pid) != self.namespaces:
                raise Refused("the client is in other namespaces than the engine service")
            request = Request(data[4:], fds)
            if os.path.abspath(request.root) != self.engine.paths.root:
                raise Refused(f"the engine service serves {self.engine.paths.root}")
        except BaseException:
            for fd in fds:
                os.close(fd)
            raise
        request.peer = pid
        return request

    def _answer(self, connection: socket.socket, line: str) -> None:
        try:
            connection.sendall(line.encode() + b"\n")
        except OSError:
            pass

    def _reported(self, fd: int) -> None:
        """A child has answered its client (or ended: the pipe closes). Descriptors are
        non-blocking: an event of a descriptor closed and reused within one poll finds
        nothing to read."""
        try:
            if os.read(fd, 16):
                self.answered.add(self.reports[fd])
        except BlockingIOError:
            return
        except OSError:
            pass
        self.reports.pop(fd)
        self.poller.unregister(fd)
        os.close(fd)

    def _from_client(self, fd: int) -> None:
        """Signals to pass on, or the end of a client."""
        pid = self.connections.get(fd)
        connection = self.children.get(pid)
        if connection is None:
            return
        try:
            data = connection.recv(64)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            report = next((fd for fd, child in self.reports.items() if child == pid), None)
            if report is not None:
                self._reported(report)     # its answer may be waiting beside this end
            self._forget(pid)
            if pid not in self.answered:
                # The client is gone without waiting for the end: a killed `moor` ends there.
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            return
        for signum in data:
            try:
                os.kill(pid, signum)
            except (ProcessLookupError, ValueError, OSError):
                pass

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            report = next((fd for fd, child in self.reports.items() if child == pid), None)
            if report is not None:
                self._reported(report)
            self.answered.discard(pid)
            connection = self.children.get(pid)
            if connection is None:
                continue
            if os.WIFSIGNALED(status):
                self._answer(connection, f"S{os.WTERMSIG(status)}")
            else:
                # The child said so itself, unless it could not: said again, the client
                # reads only the first.
                self._answer(connection, f"E{os.waitstatus_to_exitcode(status)}")
            self._forget(pid)

    def _forget(self, pid: int) -> None:
        connection = self.children.pop(pid, None)
        if connection is not None:
            self.connections.pop(connection.fileno(), None)
            try:
                self.poller.unregister(connection.fileno())
            except KeyError:
                pass
            connection.close()

    # -- one command ---------------------------------------------------------------------

    def _fork(self, connection: socket.socket, request: Request,
              report: int) -> int | None:
        if _lists_containers(request.argv):
            self.view.refresh()
        try:
            pid = os.fork()
        except OSError as error:
            self._answer(connection, f"Rcannot fork: {error}")
            return None
        if pid:
            return pid
        status = 1
        try:
            status = self._child(connection, request, report)
        except BaseException:
            try:
                import traceback
                traceback.print_exc()
            except BaseException:
                pass
        finally:
            os._exit(status)

    def _child(self, connection: socket.socket, request: Request, report: int) -> int:
        """In the forked process: become the client's `moor` and run its command line."""
        os.setsid()
        for signum in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP, signal.SIGQUIT,
                       signal.SIGWINCH, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        signal.set_wakeup_fd(-1)
        # Warnings go to the client's stderr, as in a `moor` process (not to the service's log).
        logging.root.handlers.clear()
        logging.root.setLevel(logging.WARNING)
        self.listener.close()
        for other in self.children.values():
            other.close()
        for other in self.reports:
            os.close(other)
        stdin, stdout, stderr, cwd = request.fds
        for source, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
            os.dup2(source, target)     # inheritable, as a process's stdio is
        os.fchdir(cwd)
        for fd in request.fds:
            os.close(fd)
        os.umask(request.umask)
        os.environ.clear()
        os.environ.update(request.env)
        _copy_limits(request.peer)
        _standard_streams(request.stdio)
        sys.argv = ["moor", *request.argv]
        from runtime import background
        from runtime.cli import main, output
        output.serve_engines(_ServedEngines(self.view))
        background.after_answering()
        try:
            status = main(request.argv)
        except SystemExit as exit:
            status = exit.code if isinstance(exit.code, int) else (0 if exit.code is None
                                                                   else 1)
        except KeyboardInterrupt:
            status = 130
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        _wait_for_threads()
        answer = f"E{status & 0xff}\n".encode()
        try:
            os.write(report, answer)        # first: the server must not take the client's
        except OSError:                     # leaving for a kill
            pass
        try:
            connection.sendall(answer)
        except OSError:
            pass
        # What the command left for later, out of the client's sight and streams.
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.close(null)
        connection.close()
        background.run_deferred()
        return status & 0xff


def _warm_up() -> None:
    """Fill what the engine computes once per process (caches, the first parser of each
    verb, which costs several times the next one), so no command's process pays for it."""
    from runtime import cli
    from runtime.container import cgroups, oci, state
    for name in ("crun", "runc", "conmon", "unshare"):
        oci.find_binary(name)
    oci.hybrid_cgroup2_owns_controllers()
    cgroups.hierarchies()
    state.boot_id()
    samples = {"run": ["run", "--rm", "busybox", "true"], "ps": ["ps", "-a"],
               "exec": ["exec", "x", "true"], "logs": ["logs", "x"], "rm": ["rm", "-f", "x"],
               "stop": ["stop", "x"], "start": ["start", "x"]}
    for argv in samples.values():
        try:
            cli.build_parser(argv).parse_known_args(argv)
        except (SystemExit, Exception):     # a warm-up only
            pass


def _lists_containers(argv: list[str]) -> bool:
    _, verb = protocol.root_and_verb(argv)
    return verb[:1] == ("ps",) or verb[:2] in (("container", "ls"), ("container", "list"),
                                                ("container", "ps"))


class _ServedEngines:
    """`runtime.cli.output.engine_for` in a command's process: the engine of the served
    root answers `containers()` from the view."""

    def __init__(self, view):
        self.view = view

    def engine(self, root: str | None):
        from runtime.api import Engine
        from runtime.paths import Paths
        if Paths(root).root != self.view.engine.paths.root:
            return Engine(root)
        engine = Engine(root)
        # Brought up to date by the server just before the fork.
        engine.containers = lambda all=False: self.view.containers(all, refresh=False)
        return engine


def _copy_limits(pid: int) -> None:
    """The client's resource limits, as far as this process may take them (raising a hard
    limit needs CAP_SYS_RESOURCE)."""
    import resource
    for name in RLIMITS:
        kind = getattr(resource, name, None)
        if kind is None:
            continue
        try:
            resource.setrlimit(kind, resource.prlimit(pid, kind))
        except (OSError, ValueError):
            continue


def _standard_streams(stdio: list[tuple[str, str]]) -> None:
    """sys.stdin, stdout and stderr over descriptors 0, 1 and 2 as the interpreter makes
    them (the client's encodings and error handlers; stdout line-buffered on a terminal,
    stderr always)."""
    import io
    streams = []
    for fd, (encoding, errors) in zip((0, 1, 2), stdio, strict=True):
        raw = io.FileIO(fd, "r" if fd == 0 else "w", closefd=False)
        buffered = io.BufferedReader(raw) if fd == 0 else io.BufferedWriter(raw)
        streams.append(io.TextIOWrapper(
            buffered, encoding=encoding, errors=errors, newline="\n",
            line_buffering=(fd == 2 or (fd == 1 and raw.isatty()))))
    sys.stdin, sys.stdout, sys.stderr = streams
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = streams


def _wait_for_threads() -> None:
    """As the interpreter does at exit: the command's non-daemon threads end first."""
    import threading
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
