"""Script-side clients of the terminal and log sockets, as the end-to-end tests and the
benchmark drive them: a token in the `Authorization` header, no Origin (a script, not a page),
and the protocol of console/streams/consumers/terminal.py and logs.py."""
import asyncio
import json
import re
import time
from urllib.parse import urlencode

import websockets
from websockets.asyncio.client import connect

CURSOR_QUERY = b"\x1b[6n"


def socket_url(base: str, container: str, kind: str, **query) -> str:
    url = base.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + \
        f"/ws/containers/{container}/{kind}/"
    query = {key: value for key, value in query.items() if value is not None}
    return url + ("?" + urlencode(query) if query else "")


class TerminalClient:
    """One terminal socket. `expect` reads until some bytes show, answering the shell's
    cursor-position queries as a terminal does and acknowledging output as a page does."""

    def __init__(self, socket, session: dict):
        self.socket = socket
        self.session = session
        self.output = b""
        self.received = 0
        self.exit_code = None
        self.controls = []
        self.closed = False

    @classmethod
    async def open(cls, base: str, token: str, container: str, *, ssl_context=None,
                   **query) -> "TerminalClient":
        socket = await connect(socket_url(base, container, "terminal", **query),
                               additional_headers={"Authorization": f"Token {token}"},
                               max_size=None, ping_interval=None, ssl=ssl_context)
        while True:
            frame = await asyncio.wait_for(socket.recv(), 20)
            if isinstance(frame, str):
                message = json.loads(frame)
                if message["type"] == "session":
                    return cls(socket, message)
                if message["type"] == "error":
                    await socket.close()
                    raise RuntimeError(message["message"])

    async def send(self, data: bytes) -> None:
        await self.socket.send(data)

    async def control(self, **message) -> None:
        await self.socket.send(json.dumps(message))

    async def resize(self, cols: int, rows: int) -> None:
        await self.control(type="resize", cols=cols, rows=rows)

    async def read(self, timeout: float) -> bool:
        """One frame; False when the socket closed."""
        try:
            frame = await asyncio.wait_for(self.socket.recv(), timeout)
        except asyncio.TimeoutError:
            return True
        except Exception:
            self.closed = True
            return False
        try:
            await self.answer(frame)
        except websockets.ConnectionClosed:   # a ping or output just before the server went
            self.closed = True
            return False
        return True

    async def answer(self, frame) -> None:
        if isinstance(frame, bytes):
            self.output += frame
            before = self.received
            self.received += len(frame)
            if CURSOR_QUERY in frame:
                await self.send(b"\x1b[1;1R")
            if self.received // 65536 != before // 65536:
                await self.control(type="ack", bytes=self.received)
            return
        message = json.loads(frame)
        self.controls.append(message)
        if message["type"] == "exit":
            self.exit_code = message["code"]
        elif message["type"] == "ping":
            await self.control(type="pong")

    def mark(self) -> int:
        """Where the output is now: `expect(..., after=mark)` looks only at what follows."""
        return len(self.output)

    async def expect(self, needle: bytes, timeout: float = 15.0, after: int = 0) -> bytes:
        deadline = time.monotonic() + timeout
        while needle not in self.output[after:]:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"did not see {needle!r} in {self.output[-400:]!r}")
            if not await self.read(min(remaining, 0.5)) and needle not in self.output[after:]:
                raise AssertionError(f"closed before {needle!r}: {self.output[-400:]!r}")
        return self.output

    async def wait_exit(self, timeout: float = 15.0) -> int:
        deadline = time.monotonic() + timeout
        while self.exit_code is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"no exit frame: {self.controls[-5:]}")
            if not await self.read(0.5) and self.exit_code is None:
                raise AssertionError(f"closed without an exit frame: {self.controls[-5:]}")
        return self.exit_code

    async def shell_pid(self) -> bytes:
        """The PID of the shell at the other end, asked with `echo $$` and read from its
        output (the quotes keep the echoed command line from matching)."""
        mark = self.mark()
        await self.send(b'echo "pid="$$"-e""nd"\r')
        await self.expect(b"-end", after=mark)
        return re.search(rb"pid=(\d+)-end", self.output[mark:]).group(1)

    async def close(self) -> None:
        await self.socket.close()


async def resume_and_exit(base: str, token: str, container: str, session: str,
                          pid: bytes) -> None:
    """Open terminal session `session` again: it resumes the same shell (`pid`), which is
    then told to exit."""
    again = await TerminalClient.open(base, token, container, session=session)
    assert again.session["resumed"] is True
    assert await again.shell_pid() == pid
    await again.send(b"exit\r")
    await again.wait_exit()


class LogsClient:
    """One log socket: batches, acknowledged as a page acknowledges them (or not)."""

    def __init__(self, socket):
        self.socket = socket
        self.lines = []
        self.cursor = None
        self.ended = False

    @classmethod
    async def open(cls, base: str, token: str, container: str, *, ssl_context=None,
                   **query) -> "LogsClient":
        socket = await connect(socket_url(base, container, "logs", **query),
                               additional_headers={"Authorization": f"Token {token}"},
                               max_size=None, ping_interval=None, ssl=ssl_context)
        return cls(socket)

    async def start(self, **message) -> None:
        await self.socket.send(json.dumps(message))

    async def batch(self, timeout: float = 15.0, ack: bool = True) -> dict | None:
        """The next batch (or end/error message); None when nothing came in time."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                frame = await asyncio.wait_for(self.socket.recv(),
                                               max(0.01, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                return None
            message = json.loads(frame)
            if message["type"] == "ping":
                await self.socket.send('{"type": "pong"}')
                continue
            if message["type"] == "logs":
                self.lines += message["lines"]
                self.cursor = message["cursor"]
                if ack:
                    await self.socket.send(json.dumps({"type": "ack",
                                                       "batch": message["batch"]}))
            elif message["type"] == "end":
                self.ended = True
                self.cursor = message["cursor"]
            return message

    async def until(self, check, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not check(self.lines):
            if time.monotonic() > deadline:
                raise AssertionError(f"gave up with {len(self.lines)} lines: "
                                     f"{self.lines[-3:]}")
            message = await self.batch(timeout=max(0.1, deadline - time.monotonic()))
            if message is not None and message["type"] == "error":
                raise AssertionError(message["message"])

    async def close(self) -> None:
        await self.socket.close()


def run(coroutine):
    """Run `coroutine` to its end from a synchronous test, on an event loop of its own thread
    (Playwright's sync API keeps a loop running in the main thread once a browser test ran)."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
