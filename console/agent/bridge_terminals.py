"""Terminal sessions on a host's stream bridge: the bytes between one container terminal and
the web socket that shows it.

A session is either an exec session (`runtime.container.sessions`: a shell or command under
its own conmon, which outlives this process) or an attachment to the main process of a
container started with a terminal (its own conmon's attach socket). The bridge drains the
terminal continuously, whether or not anyone is watching: conmon blocks a container whose
attach client stops reading. It keeps the last TERMINAL_BUFFER bytes; the web side gets what
its window allows and, when it comes back after a dropped socket, the last TERMINAL_REPLAY
bytes to redraw the screen. A session nobody has resumed for `resume_seconds` ends: an exec
session's processes are hung up; an attachment only lets go (the container runs on).
"""
import asyncio
import logging
import time

from console.streams import bridge_protocol as protocol
from runtime.container import monitor, sessions as exec_sessions
from runtime.container.attach import MAX_INPUT
from runtime.container.state import Container
from runtime.errors import MoorError

log = logging.getLogger(__name__)

RECV_SIZE = 8193
INPUT_ACK_FROM = 512        # input this large is a paste, which waits for acks
EXIT_WAIT_SECONDS = 3.0


class TerminalRelay:
    def __init__(self, bridge, session_id: str, container_id: str, mode: str):
        self.bridge = bridge
        self.id = session_id
        self.container_id = container_id
        self.mode = mode
        self.container_dir = bridge.engine.paths.container(container_id)
        self.exec_session = None
        self.command, self.user = [], ""
        self.sock = None
        self.buffer = bytearray()       # output from stream position `base` to `produced`
        self.base = 0
        self.produced = 0
        self.sent = 0                   # stream position sent to the web side
        self.acked = 0                  # stream position the browser has processed
        self.consumer = None            # the web-side channel, while a socket is attached
        self.last_heard = time.monotonic()
        self.detached_at = time.monotonic()
        self.inputs = asyncio.Queue()
        self.written = 0
        self.flushing = None
        self.writer = None
        self.exit_code = None
        self.ended = asyncio.Event()
        self.closing = False

    # -- starting ----------------------------------------------------------------------------

    async def open(self, message: dict) -> None:
        """Start the exec session or attach to the container; then serve `message.reply_to`."""
        try:
            if self.mode == "exec":
                await asyncio.to_thread(self._start_exec, message)
            else:
                await asyncio.to_thread(self._start_attach, message)
        except (MoorError, OSError) as error:
            text = error.message if isinstance(error, MoorError) else str(error)
            await self.bridge.send(message["reply_to"], {
                "type": "terminal.error", "session": self.id,
                "message": text.strip().splitlines()[0] if text.strip() else "failed"})
            self.bridge.terminals.pop(self.id, None)
            return
        self.begin()
        if self.closing:                # closed while it was opening: nobody is watching
            self.closing = False
            await self.close()
            return
        await self.attach(message["reply_to"], resumed=False)

    def _start_exec(self, message: dict) -> None:
        container = self._container()
        self.exec_session, self.sock = exec_sessions.start(
            self.bridge.engine, container, self.id, cmd=message.get("command") or None,
            user=message.get("user") or None, rows=message.get("rows") or 24,
            cols=message.get("cols") or 80)
        self.command = self.exec_session.info.get("Args") or []
        self.user = message.get("user") or ""

    def _start_attach(self, message: dict) -> None:
        container = self._container()
        if not container.tty:
            raise MoorError("attach needs a container started with a terminal (-t); "
                            "open an exec session instead")
        self.sock = monitor.connect_attach(container.dir)
        self.command = list(container.config["Config"].get("Entrypoint") or []) + list(
            container.config["Config"].get("Cmd") or [])
        self.user = container.config["Config"].get("User") or ""
        rows, cols = exec_sessions.check_size(message.get("rows") or 24,
                                              message.get("cols") or 80)
        monitor.resize(container.dir, rows, cols)

    def _container(self) -> Container:
        container = Container.load(self.container_dir)
        if container is None:
            raise MoorError(f"No such container on host {self.bridge.host}.")
        container.refresh()
        if container.status != "running":
            raise MoorError(f"Container {container.name} is {container.status}: a terminal "
                            "needs it running.")
        return container

    def adopt(self, exec_session) -> None:
        """Serve an exec session a previous bridge started (it kept running without us)."""
        self.exec_session = exec_session
        self.command = exec_session.info.get("Args") or []
        self.user = exec_session.info.get("User") or ""
        recent = exec_session.recent_output(protocol.TERMINAL_REPLAY)
        self.buffer += recent
        self.produced = self.sent = self.acked = len(recent)
        self.sock = exec_session.attach()
        self.begin()

    def begin(self) -> None:
        self.sock.setblocking(False)
        loop = asyncio.get_running_loop()
        loop.add_reader(self.sock.fileno(), self.drain)
        self.writer = loop.create_task(self.write_inputs())

    # -- output --------------------------------------------------------------------------------

    def drain(self) -> None:
        """Read everything the terminal has written (called when the socket is readable)."""
        for _ in range(64):
            try:
                message = self.sock.recv(RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                message = b""
            if not message:
                self.stop_reading()
                asyncio.get_running_loop().create_task(self.finish())
                break
            if len(message) > 1:
                self.buffer += message[1:]
                self.produced += len(message) - 1
        excess = len(self.buffer) - protocol.TERMINAL_BUFFER
        if excess > protocol.TERMINAL_BUFFER // 4:
            del self.buffer[:excess]
            self.base += excess
        self.schedule_flush()

    def stop_reading(self) -> None:
        if self.sock is not None:
            try:
                asyncio.get_running_loop().remove_reader(self.sock.fileno())
            except (ValueError, OSError):
                pass

    def schedule_flush(self) -> None:
        if self.consumer is not None and (self.flushing is None or self.flushing.done()):
            self.flushing = asyncio.get_running_loop().create_task(self.flush())

    async def flush(self) -> None:
        while self.consumer is not None and self.sent < self.produced:
            consumer = self.consumer
            if self.sent < self.base:
                # Bytes dropped for a slow reader count as read: the window moves on.
                skipped = self.base - self.sent
                self.sent, self.acked = self.base, self.acked + skipped
                await self.bridge.send(consumer, {"type": "terminal.skipped", "session": self.id,
                                                  "bytes": skipped})
                continue
            limit = min(self.produced, self.acked + protocol.TERMINAL_WINDOW,
                        self.sent + protocol.MAX_MESSAGE)
            if limit <= self.sent:
                return                  # the window is full: an ack resumes the flush
            data = bytes(self.buffer[self.sent - self.base:limit - self.base])
            self.sent = limit
            await self.bridge.send(consumer, {"type": "terminal.output", "session": self.id,
                                              "data": data, "end": limit})

    def acknowledge(self, position: int) -> None:
        self.last_heard = time.monotonic()
        if position > self.acked:
            self.acked = min(position, self.sent)
            self.schedule_flush()

    # -- the web side ------------------------------------------------------------------------

    async def attach(self, reply_to: str, resumed: bool) -> None:
        # No output may overtake the `opened` message: stop flushing until it is sent.
        previous, self.consumer = self.consumer, None
        if self.flushing is not None:
            await asyncio.gather(self.flushing, return_exceptions=True)
        if previous is not None and previous != reply_to:
            await self.bridge.send(previous, {"type": "terminal.taken", "session": self.id})
        self.last_heard = time.monotonic()
        # A new session's socket gets everything from the first byte; a resumed one the
        # recent screen, then what follows.
        replay = bytes(self.buffer[-protocol.TERMINAL_REPLAY:]) if resumed else b""
        self.sent = self.acked = self.produced if resumed else self.base
        self.written = 0
        await self.bridge.send(reply_to, {
            "type": "terminal.opened", "session": self.id, "mode": self.mode,
            "command": self.command, "user": self.user, "resumed": resumed, "replay": replay,
            "start": self.produced - len(replay) if resumed else self.base,
            "end": self.produced if resumed else self.base})
        self.consumer = reply_to
        if self.ended.is_set():
            await self.bridge.send(reply_to, {"type": "terminal.exit", "session": self.id,
                                              "code": self.exit_code})
        else:
            self.schedule_flush()

    def detach(self, reply_to: str | None = None) -> None:
        if reply_to is None or reply_to == self.consumer:
            self.consumer = None
            self.detached_at = time.monotonic()

    def heard(self) -> None:
        self.last_heard = time.monotonic()

    # -- input -----------------------------------------------------------------------------------

    def give_input(self, data: bytes) -> None:
        self.last_heard = time.monotonic()
        if data and not self.ended.is_set():
            self.inputs.put_nowait(data)

    async def write_inputs(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                data = await self.inputs.get()
                for start in range(0, len(data), MAX_INPUT):    # conmon's message limit
                    await loop.sock_sendall(self.sock, data[start:start + MAX_INPUT])
                self.written += len(data)
                if self.consumer is not None and len(data) >= INPUT_ACK_FROM:
                    await self.bridge.send(self.consumer, {"type": "terminal.input_ack",
                                                           "session": self.id,
                                                           "written": self.written})
        except (OSError, asyncio.CancelledError):
            return

    def resize(self, rows, cols) -> None:
        self.last_heard = time.monotonic()
        try:
            rows, cols = exec_sessions.check_size(rows, cols)
        except MoorError:
            return
        if self.exec_session is not None:
            self.exec_session.resize(rows, cols)
        else:
            monitor.resize(self.container_dir, rows, cols)

    # -- the end ---------------------------------------------------------------------------------

    async def finish(self) -> None:
        """The terminal closed: the process ended (exec), the container's program ended or
        the session was let go (attach). Tell the web side, then forget the session."""
        if self.ended.is_set():
            return
        code = await asyncio.to_thread(self._exit_code)
        self.exit_code = code
        self.ended.set()
        if self.writer is not None:
            self.writer.cancel()
        if self.consumer is not None:
            if self.flushing is not None:
                await asyncio.gather(self.flushing, return_exceptions=True)
            self.acked = self.produced              # the last of it goes out whatever the window
            await self.flush()
            await self.bridge.send(self.consumer, {"type": "terminal.exit", "session": self.id,
                                                   "code": code})
        self.sock.close()
        self.bridge.session_ended(self)
        if self.exec_session is not None:
            await asyncio.to_thread(self._remove_files)

    def _exit_code(self) -> int | None:
        deadline = time.monotonic() + EXIT_WAIT_SECONDS
        while True:
            if self.exec_session is not None:
                code = self.exec_session.exit_code()
            elif self.closing:
                return None                 # we let go of it; the container runs on
            else:
                container = Container.load(self.container_dir)
                ended = container.exit_file() if container is not None else None
                code = ended[0] if ended else None
            if code is not None or time.monotonic() > deadline:
                return code
            time.sleep(0.02)

    def _remove_files(self) -> None:
        try:
            if not self.exec_session.running():
                self.exec_session.remove(self.bridge.engine)
        except (MoorError, OSError):
            log.warning("could not remove the files of session %s", self.id)

    async def close(self) -> None:
        """End the session now: hang up an exec session's processes; let go of an
        attachment."""
        if self.ended.is_set() or self.closing:
            return
        self.closing = True
        if self.sock is None:
            return                      # still opening: `open` ends it once it is up
        if self.exec_session is not None:
            await asyncio.to_thread(self.exec_session.terminate)
            try:
                await asyncio.wait_for(self.ended.wait(), EXIT_WAIT_SECONDS + 2)
                return
            except asyncio.TimeoutError:
                pass
        self.stop_reading()
        await self.finish()
