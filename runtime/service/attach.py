"""`POST /containers/{id}/attach` and `/resize`, and starting a container that clients wait
to attach to (`docker run`, `docker start -a` attach first, then start).

The container's side is conmon's attach socket (`runtime/container/monitor.py`): SOCK_SEQPACKET,
each message one byte of stream (2 stdout, 3 stderr) and up to 8 KiB of output; input goes in
raw. conmon writes to its clients with blocking writes, so a client that stops reading would
freeze the container: the relay here always reads the socket, and a client that leaves more
than `wire.OUTPUT_BUFFER_MAX` unread is disconnected (the output stays in the log).

An attach to a container that is not running yet waits for its start; a start through this
service connects every waiting attach before the program runs (the `before_start` of the
engine's start), so no first line is missed.
"""

import asyncio
import socket

from aiohttp import web

from runtime.container import monitor
from runtime.errors import MoorError
from runtime.service import wire
from runtime.service.wire import ApiError, boolean

DETACH_DEFAULT = b"\x10\x11"       # ctrl-p ctrl-q
MAX_INPUT = 32767                  # conmon's largest input message
START_POLL_SECONDS = 0.1
_CONTROL = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


def parse_detach_keys(text: str | None) -> bytes:
    """Docker's `detachKeys`: `ctrl-p,ctrl-q`, `ctrl-a`, `a,b`..."""
    if not text:
        return DETACH_DEFAULT
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
        raise ApiError(400, f"invalid detach keys {text!r}: use keys like ctrl-p,ctrl-q")
    return bytes(keys)


class PendingAttach:
    """An attach waiting for its container's start."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.future = loop.create_future()

    def connect(self, container) -> None:
        """In the starting thread, before the program runs."""
        try:
            sock = monitor.connect_attach(container.dir)
        except MoorError as error:
            self.loop.call_soon_threadsafe(self._fail, error)
            return
        self.loop.call_soon_threadsafe(self._deliver, sock)

    def _deliver(self, sock) -> None:
        if self.future.done():
            sock.close()
        else:
            self.future.set_result(sock)

    def _fail(self, error) -> None:
        if not self.future.done():
            self.future.set_exception(error)


async def start_with_waiting_attaches(service, container) -> None:
    waiting = list(service.waiting_attaches.get(container.id, ()))

    def before_start(started):
        for pending in waiting:
            pending.connect(started)
    await service.call(service.engine.start, container.id, before_start=before_start)


async def _attach_socket(service, container, connection: wire.Hijacked) -> socket.socket | None:
    """A socket on the container's stdio: at once when it runs, else once it starts. None
    when the client went away first."""
    loop = asyncio.get_running_loop()
    pending = PendingAttach(loop)
    waiting = service.waiting_attaches.setdefault(container.id, [])
    waiting.append(pending)
    try:
        while not pending.future.done():
            container.refresh()
            if container.status in ("running", "paused"):
                # Started by someone else (moor start, a restart policy): join it as it is.
                sock = await service.call(monitor.connect_attach, container.dir)
                if pending.future.done():
                    sock.close()
                else:
                    pending.future.set_result(sock)
                break
            if connection.closed:
                return None
            try:
                await asyncio.wait_for(asyncio.shield(pending.future), START_POLL_SECONDS)
            except asyncio.TimeoutError:
                continue
        return pending.future.result()
    finally:
        waiting.remove(pending)
        if not waiting:
            service.waiting_attaches.pop(container.id, None)


async def relay(connection: wire.Hijacked, sock: socket.socket, *, tty: bool, stdin: bool,
                stdout: bool = True, stderr: bool = True, detach_keys: bytes = b"") -> str:
    """Copy between a conmon attach socket and a hijacked connection until the output ends
    ("ended"), the client detaches ("detached") or goes away ("gone")."""
    loop = asyncio.get_running_loop()
    sock.setblocking(False)

    async def output() -> str:
        while True:
            try:
                message = await loop.sock_recv(sock, 8193)
            except OSError:
                message = b""
            if not message:
                return "ended"
            stream, data = message[0], message[1:]
            if stream == monitor.STREAM_STDERR and not tty:
                if not stderr:
                    continue
                payload = wire.frame(wire.STDERR, data)
            else:
                if not stdout:
                    continue
                payload = data if tty else wire.frame(wire.STDOUT, data)
            if not connection.write(payload):
                return "gone"

    async def input_() -> str:
        held = b""
        while True:
            data = await connection.read()
            if not data:
                if connection.closed:
                    return "gone"
                if not tty:     # the end of the client's input: conmon closes stdin if asked
                    try:
                        sock.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                return "input ended"
            if not stdin:
                continue
            if tty and detach_keys:
                data = held + data
                held = b""
                index = data.find(detach_keys)
                if index >= 0:
                    await _send(loop, sock, data[:index])
                    return "detached"
                for keep in range(len(detach_keys) - 1, 0, -1):
                    if data.endswith(detach_keys[:keep]):
                        held, data = data[-keep:], data[:-keep]
                        break
            await _send(loop, sock, data)

    output_task = asyncio.ensure_future(output())
    input_task = asyncio.ensure_future(input_())
    try:
        done, _ = await asyncio.wait({output_task, input_task},
                                     return_when=asyncio.FIRST_COMPLETED)
        if input_task in done and input_task.result() == "input ended":
            await output_task
        if output_task.done():
            return output_task.result()
        return input_task.result()
    finally:
        for task in (output_task, input_task):
            task.cancel()
        sock.close()


async def _send(loop, sock, data: bytes) -> None:
    for start in range(0, len(data), MAX_INPUT):
        try:
            await loop.sock_sendall(sock, data[start:start + MAX_INPUT])
        except OSError:
            return


async def attach(request: web.Request) -> web.StreamResponse:
    from runtime.service.containers import container_of, service_of
    service = service_of(request)
    container = await container_of(request)
    stream, logs = boolean(request, "stream"), boolean(request, "logs")
    stdin, stdout, stderr = (boolean(request, name) for name in ("stdin", "stdout", "stderr"))
    detach_keys = parse_detach_keys(request.query.get("detachKeys"))
    if not stream and not logs:
        raise ApiError(400, "either logs or stream must be set")
    tty = container.tty
    open_stdin = bool(container.config["Config"].get("OpenStdin"))
    from runtime import events
    await service.call(events.container, service.engine, container, "attach")  # as dockerd
    connection = await wire.hijack(request, multiplexed=not tty)
    try:
        if logs:
            await _replay_log(service, container, connection, tty, stdout, stderr)
        if stream:
            sock = await _attach_socket(service, container, connection)
            if sock is not None:
                await relay(connection, sock, tty=tty, stdin=stdin and open_stdin,
                            stdout=stdout, stderr=stderr, detach_keys=detach_keys)
    except BaseException:
        connection.close()
        raise
    await connection.end()
    return connection.response


async def _replay_log(service, container, connection, tty, stdout, stderr) -> None:
    records = await service.call(lambda: list(service.engine.logs(container.id)))
    for record in records:
        if (record.stream == "stderr" and not stderr) or (record.stream == "stdout"
                                                          and not stdout):
            continue
        connection.write(record.data if tty else wire.frame(
            wire.STDERR if record.stream == "stderr" else wire.STDOUT, record.data))


def terminal_size(request: web.Request) -> tuple[int, int]:
    from runtime.container.sessions import check_size
    height, width = request.query.get("h"), request.query.get("w")
    try:
        return check_size(height, width)
    except MoorError as error:
        raise ApiError(400, error.message) from None


async def resize(request: web.Request) -> web.Response:
    from runtime.service.containers import container_of
    rows, cols = terminal_size(request)
    container = await container_of(request)
    container.refresh()
    if container.status not in ("running", "paused"):
        raise ApiError(409, f"Container {container.id} is not running")
    if container.tty:
        monitor.resize(container.dir, rows, cols)
    return web.Response(status=200)
