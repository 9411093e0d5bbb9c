"""Docker's wire conventions, written once: error bodies and status codes, query parameters,
JSON bodies, the 8-byte stream header, chunked JSON progress, and the hijacked connection of
attach and exec.

Error bodies are `{"message": ...}` with Docker's status codes: 404 no such object, 409
conflict, 400 bad parameter, 501 not implemented, 500 only for a fault of the server.

A hijacked connection (attach, exec start) answers `101 UPGRADED` to a request with
`Connection: Upgrade` and `Upgrade: tcp` (`200 OK` without them, output only), then carries
raw bytes both ways: the client's input as it comes, the container's output either raw (with a
terminal) or multiplexed, each piece behind an 8-byte header `[stream, 0, 0, 0, size (4 bytes,
big-endian)]` where stream is 0 stdin, 1 stdout, 2 stderr. A client may half-close its side
(end of its input) and keep reading.
"""

import asyncio
import json
import socket
import struct

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from runtime.errors import Conflict, InvalidArgument, MoorError, NotFound

JSON_BODY_MAX = 1 << 20          # a create or exec request is a few KiB
OUTPUT_BUFFER_MAX = 8 << 20      # output waiting for a client that stopped reading
INPUT_BUFFER_MAX = 1 << 20       # input waiting for the container, before reading pauses
CLOSE_LINGER = 2.0               # seconds a closed stream waits for its client to close too
RAW_STREAM = "application/vnd.docker.raw-stream"
MULTIPLEXED_STREAM = "application/vnd.docker.multiplexed-stream"
STDIN, STDOUT, STDERR = 0, 1, 2


class ApiError(Exception):
    """An answer other than success, in Docker's shape."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def not_implemented(name: str) -> ApiError:
    return ApiError(501, f"{name} is not implemented by Moorage's engine")


def status_of(error: MoorError) -> int:
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Conflict):
        return 409
    if isinstance(error, InvalidArgument):
        return 400
    return 500


def error_response(status: int, message: str) -> web.Response:
    # Exactly "application/json": Docker's Go client reads the message only then.
    return ok_json({"message": message}, status=status)


def ok_json(value, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(value).encode() + b"\n", status=status,
                        content_type="application/json")


def json_line(value) -> bytes:
    return json.dumps(value).encode() + b"\n"


def no_content() -> web.Response:
    return web.Response(status=204)


# -- query parameters ----------------------------------------------------------------------------

def boolean(request: web.Request, name: str, default: bool = False) -> bool:
    """Docker's boolean parameters: `1`, `true`, `True` are true; `0`, `false`, `` false."""
    value = request.query.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes"):
        return True
    if lowered in ("", "0", "false", "no"):
        return False
    raise ApiError(400, f"invalid boolean value {value!r} for query parameter {name}")


def integer(request: web.Request, name: str, default: int | None = None) -> int | None:
    value = request.query.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ApiError(400, f"invalid integer value {value!r} for query parameter "
                            f"{name}") from None


def filters(request: web.Request, allowed: set[str]) -> dict[str, list[str]]:
    """The `filters` parameter: JSON, `{"name": ["a"]}` or the older `{"name": {"a": true}}`."""
    text = request.query.get("filters")
    if not text:
        return {}
    try:
        raw = json.loads(text)
    except ValueError:
        raise ApiError(400, "invalid filters: not JSON") from None
    if not isinstance(raw, dict):
        raise ApiError(400, "invalid filters: expected a JSON object")
    result = {}
    for key, value in raw.items():
        if key not in allowed:
            raise ApiError(400, f"invalid filter '{key}'")
        if isinstance(value, dict):
            value = [item for item, on in value.items() if on]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ApiError(400, f"invalid filter '{key}': expected a list of strings")
        result[key] = value
    return result


async def json_body(request: web.Request, required: bool = True):
    """The request's JSON body (a missing or empty one is `{}` unless required)."""
    if request.content_length is not None and request.content_length > JSON_BODY_MAX:
        raise ApiError(413, f"request body too large: at most {JSON_BODY_MAX} bytes of JSON")
    data = await request.content.read(JSON_BODY_MAX + 1)
    if len(data) > JSON_BODY_MAX:
        raise ApiError(413, f"request body too large: at most {JSON_BODY_MAX} bytes of JSON")
    if not data.strip():
        if required:
            raise ApiError(400, "a JSON body is required")
        return {}
    try:
        return json.loads(data)
    except ValueError as error:
        raise ApiError(400, f"invalid JSON: {error}") from None


def json_object(value, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ApiError(400, f"invalid {what}: expected a JSON object")
    return value


# -- streams ---------------------------------------------------------------------------------

def frame(stream: int, data: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(data)) + data


async def json_stream(request: web.Request, status: int = 200) -> web.StreamResponse:
    """A chunked response of JSON messages, one per line (pull, push, build, load)."""
    response = web.StreamResponse(status=status)
    response.content_type = "application/json"
    response.enable_chunked_encoding()
    await response.prepare(request)
    return response


async def send_json(response: web.StreamResponse, message: dict) -> None:
    await response.write(json.dumps(message).encode() + b"\r\n")


class ThreadWriter:
    """A file-like sink for a blocking function run in a thread: what it writes goes to the
    asyncio side in order, and the thread waits while the client is slow (never unbounded
    memory). `close()` on the asyncio side makes later writes fail with BrokenPipeError."""

    def __init__(self, loop: asyncio.AbstractEventLoop, depth: int = 16):
        self.loop = loop
        self.queue: asyncio.Queue = asyncio.Queue(depth)
        self.closed = False

    def write(self, data) -> int:
        if self.closed:
            raise BrokenPipeError("the client went away")
        if data:
            asyncio.run_coroutine_threadsafe(self.queue.put(bytes(data)), self.loop).result()
        return len(data)

    def flush(self) -> None:
        pass

    def finish(self) -> None:
        """From the thread: no more data."""
        asyncio.run_coroutine_threadsafe(self.queue.put(None), self.loop).result()

    def close(self) -> None:
        """From the asyncio side: the consumer is gone; unblock a waiting writer."""
        self.closed = True
        while not self.queue.empty():
            self.queue.get_nowait()


class ThreadReader:
    """A file-like source for a blocking function run in a thread, reading the request's
    body as it arrives (a tar archive can be larger than memory)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, content):
        self.loop = loop
        self.content = content

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = 1 << 20
        return asyncio.run_coroutine_threadsafe(self.content.read(size), self.loop).result()

    def readable(self) -> bool:
        return True


# -- hijacked connections --------------------------------------------------------------------

class _RawResponse(web.StreamResponse):
    """Headers, then raw bytes: no chunked encoding, no length."""

    _length_check = False


class _ClientInput:
    """The parser aiohttp feeds with what the client sends after an upgrade."""

    def __init__(self, transport):
        self.transport = transport
        self.queue: asyncio.Queue = asyncio.Queue()
        self.buffered = 0
        self.paused = False
        self.ended = False
        self.draining = False     # our side closed: input is read and dropped
        self.on_end = None

    def feed_data(self, data: bytes):
        if data and not self.ended and not self.draining:
            self.queue.put_nowait(bytes(data))
            self.buffered += len(data)
            if self.buffered > INPUT_BUFFER_MAX and not self.paused and self.transport:
                self.transport.pause_reading()
                self.paused = True
        return False, b""

    def feed_eof(self) -> None:
        if not self.ended:
            self.ended = True
            self.queue.put_nowait(b"")
        if self.on_end is not None:
            self.on_end()

    def drain(self, on_end) -> None:
        """Drop input from now on and call `on_end` once the client has closed its side."""
        self.draining, self.on_end = True, on_end
        if self.paused:
            self.paused = False
            self.transport.resume_reading()
        if self.ended:
            on_end()

    async def read(self) -> bytes:
        data = await self.queue.get()
        self.buffered -= len(data)
        if self.paused and self.buffered < INPUT_BUFFER_MAX // 2:
            self.paused = False
            try:
                self.transport.resume_reading()
            except (AttributeError, RuntimeError):
                pass
        return data


class Hijacked:
    """A connection taken over for a raw stream (see the module's docstring)."""

    def __init__(self, request: web.Request, response: web.StreamResponse, upgraded: bool):
        self.request = request
        self.response = response
        self.transport = request.transport
        self.input = _ClientInput(self.transport) if upgraded else None
        if self.input is not None:
            request.protocol.set_parser(self.input)

    @property
    def closed(self) -> bool:
        return self.transport is None or self.transport.is_closing()

    async def read(self) -> bytes:
        """The client's next input; b"" once it ended (or there is none)."""
        if self.input is None:
            return await asyncio.Future()  # never: no input on a plain response
        return await self.input.read()

    def write(self, data: bytes) -> bool:
        """Queue output without waiting. False when the client is gone or has left more than
        OUTPUT_BUFFER_MAX unread: the caller then drops the client, never the container."""
        if self.closed:
            return False
        self.transport.write(data)
        return self.transport.get_write_buffer_size() <= OUTPUT_BUFFER_MAX

    def close(self) -> None:
        """Drop the connection at once (the client is gone, or something failed)."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    async def end(self) -> None:
        """End the stream cleanly. With an upgraded connection our side ends first (the client
        reads the end of the output) and the socket closes once the client has closed its own,
        or after CLOSE_LINGER: a socket closed with the client's input unread makes the
        client's next read fail with "connection reset by peer" (docker exec -it did, when a
        key pressed as the program ended was still on its way) instead of ending cleanly."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if self.input is None or not transport.can_write_eof():
            transport.close()
            return
        closed = asyncio.get_running_loop().create_future()
        try:
            transport.write_eof()
            self.input.drain(lambda: closed.done() or closed.set_result(None))
            await asyncio.wait_for(closed, CLOSE_LINGER)
        except (OSError, RuntimeError, asyncio.TimeoutError):
            pass
        finally:
            transport.close()


def wants_upgrade(request: web.Request) -> bool:
    return (request.headers.get("Upgrade", "").strip().lower() == "tcp" and
            "upgrade" in request.headers.get("Connection", "").lower())


async def hijack(request: web.Request, multiplexed: bool) -> Hijacked:
    """Answer the request and take its connection over (read any body first)."""
    upgraded = wants_upgrade(request)
    response = _RawResponse(status=101 if upgraded else 200)
    response.headers["Content-Type"] = MULTIPLEXED_STREAM if multiplexed and upgraded \
        else RAW_STREAM
    if upgraded:
        response.headers["Connection"] = "Upgrade"
        response.headers["Upgrade"] = "tcp"
    response.force_close()
    await response.prepare(request)
    return Hijacked(request, response, upgraded)


HEADERS_READ_WAIT = 0.25    # seconds, at most, for a client to read the answer's headers


async def headers_read(request: web.Request) -> None:
    """Wait (briefly) until the client has read the answer's headers, before output that
    is ready at once goes after them. A client that reads them through a buffered reader and
    then takes the socket underneath (docker-py's exec) loses whatever output came in the
    same read; dockerd's slower start of the program hides that race, a warm service does
    not. On a Unix socket, SIOCOUTQ counts what the peer has not read yet. (Not for attach:
    there the client starts the container only once it has read them, and the attach must
    be waiting by then.)"""
    import fcntl
    import termios
    transport = request.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is None or sock.family != socket.AF_UNIX:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HEADERS_READ_WAIT
    while loop.time() < deadline:
        try:
            unread = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ,
                                                    b"\0\0\0\0"))[0]
        except OSError:
            return
        if transport.get_write_buffer_size() == 0 and unread == 0:
            return
        await asyncio.sleep(0.001)


class HijackableHandler(RequestHandler):
    """aiohttp's connection handler, keeping a hijacked connection open when the client
    half-closes it (the end of its input): the output still has to reach it."""

    __slots__ = ()

    def eof_received(self):
        parser = self._payload_parser
        if isinstance(parser, _ClientInput):
            parser.feed_eof()
            return True
        return None
