"""HTTP/1.1 for the registry client: one keep-alive connection per (scheme, host), TLS when
the scheme is https.

The standard library's http.client costs about 15 ms to import (it brings the email package
to parse headers), more than the rest of `moor pull`'s start-up. A registry needs only this:
requests with no body, a bytes body or a file body of known length; answers framed by
Content-Length, chunked, or read to the close; keep-alive between them. `ssl` is imported
only for https.
"""

import socket

CHUNK = 1 << 20
MAX_LINE = 64 << 10
MAX_HEADERS = 256


class ProtocolError(OSError):
    """An answer that is not HTTP/1.x."""


class Disconnected(ConnectionResetError):
    """The server closed the connection before answering (a kept-alive connection it had
    already given up on)."""


class TLSError(OSError):
    """The TLS handshake failed; `certificate` tells a certificate that could not be
    verified from a server that does not speak TLS at all."""

    def __init__(self, message: str, certificate: bool):
        super().__init__(message)
        self.certificate = certificate


def _split_netloc(netloc: str, default_port: int) -> tuple[str, int]:
    if netloc.startswith("["):
        host, _, rest = netloc[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default_port
    host, _, port = netloc.partition(":")
    return host, int(port) if port else default_port


class Response:
    """The status and headers of an answer; its body is read with `read`."""

    def __init__(self, connection: "Connection", method: str):
        self._connection = connection
        self._file = connection.file
        line = self._line()
        if not line:
            raise Disconnected("the server closed the connection without answering")
        version, _, rest = line.decode("latin-1").rstrip("\r\n").partition(" ")
        status, _, self.reason = rest.partition(" ")
        if not version.startswith("HTTP/1.") or not status.isdigit():
            raise ProtocolError(f"not an HTTP answer: {line[:60]!r}")
        self.status = int(status)
        self.headers: dict[str, str] = {}
        name = None
        while True:
            line = self._line().decode("latin-1")
            if line in ("\r\n", "\n", ""):
                break
            if line[0] in " \t" and name:        # an obsolete folded continuation
                self.headers[name] += " " + line.strip()
                continue
            name, colon, value = line.partition(":")
            if not colon:
                raise ProtocolError(f"bad header line {line[:60]!r}")
            name = name.strip().lower()
            value = value.strip()
            self.headers[name] = f"{self.headers[name]}, {value}" if name in self.headers \
                else value
            if len(self.headers) > MAX_HEADERS:
                raise ProtocolError("too many headers")
        self._chunked = False
        self._left = None           # bytes of the body (or the current chunk) still to read
        self._done = False
        until_close = False
        if method == "HEAD" or self.status in (204, 304) or 100 <= self.status < 200:
            self._done = True
        elif "chunked" in self.headers.get("transfer-encoding", "").lower():
            self._chunked = True
            self._left = 0
        elif self.headers.get("content-length", "").strip().isdigit():
            self._left = int(self.headers["content-length"])
            self._done = self._left == 0
        else:
            until_close = True
        self.keep_alive = version == "HTTP/1.1" and not until_close and \
            "close" not in self.headers.get("connection", "").lower()
        if self._done:
            self._finish()

    def _line(self) -> bytes:
        line = self._file.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise ProtocolError("header line too long")
        return line

    def getheader(self, name: str, default=None):
        return self.headers.get(name.lower(), default)

    def isclosed(self) -> bool:
        """Whether the body has been read to its end."""
        return self._done

    def read(self, amount: int = -1) -> bytes:
        """Up to `amount` bytes of the body (all of it when negative); b"" at its end."""
        if self._done:
            return b""
        if self._chunked:
            return self._read_chunked(amount)
        if self._left is None:          # the body runs until the server closes
            data = self._file.read() if amount < 0 else self._file.read(amount)
            if not data or amount < 0:
                self._finish()
            return data
        want = self._left if amount < 0 else min(amount, self._left)
        data = self._file.read(want)
        if len(data) < want:
            self._connection.close()
            raise ProtocolError("the connection closed in the middle of the answer")
        self._left -= len(data)
        if self._left == 0:
            self._finish()
        return data

    def _read_chunked(self, amount: int) -> bytes:
        parts, got = [], 0
        while amount < 0 or got < amount:
            if self._left == 0:
                size = self._line().split(b";", 1)[0].strip()
                try:
                    self._left = int(size, 16)
                except ValueError:
                    raise ProtocolError(f"bad chunk size {size[:20]!r}") from None
                if self._left == 0:
                    while self._line() not in (b"\r\n", b"\n", b""):
                        pass                # trailers
                    self._finish()
                    break
            want = self._left if amount < 0 else min(self._left, amount - got)
            data = self._file.read(want)
            if len(data) < want:
                self._connection.close()
                raise ProtocolError("the connection closed in the middle of the answer")
            parts.append(data)
            got += len(data)
            self._left -= len(data)
            if self._left == 0:
                self._line()                # the CRLF after the chunk
        return b"".join(parts)

    def _finish(self) -> None:
        self._done = True
        if not self.keep_alive:
            self._connection.close()

    def close(self) -> None:
        """Done with the answer: a body not read to its end costs the connection."""
        if not self._done:
            self._done = True
            self._connection.close()


class Connection:
    def __init__(self, scheme: str, netloc: str, timeout: float, tls_context=None,
                 connect=None):
        self.scheme = scheme
        self.netloc = netloc
        self._timeout = timeout
        self._tls_context = tls_context
        self._connect = connect or socket.create_connection
        self._sock = None
        self.file = None
        self.last: Response | None = None

    @property
    def is_open(self) -> bool:
        return self._sock is not None

    def _open(self) -> None:
        host, port = _split_netloc(self.netloc, 443 if self.scheme == "https" else 80)
        sock = self._connect((host, port), self._timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.scheme == "https":
            import ssl
            try:
                sock = self._tls_context().wrap_socket(sock, server_hostname=host)
            except ssl.SSLCertVerificationError as error:
                sock.close()
                raise TLSError(error.verify_message or str(error), certificate=True) from None
            except ssl.SSLError as error:
                sock.close()
                raise TLSError(error.reason or str(error), certificate=False) from None
        self._sock = sock
        self.file = sock.makefile("rb", buffering=CHUNK)

    def request(self, method: str, target: str, headers: dict, body=None,
                length: int | None = None) -> Response:
        """Send the request; `body` is bytes or a binary file of `length` bytes."""
        if self._sock is None:
            self._open()
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.netloc}",
                 "User-Agent: moor", "Accept-Encoding: identity"]
        if body is not None and length is None:
            length = len(body)
        if length is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {length or 0}")
        lines.extend(f"{name}: {value}" for name, value in headers.items()
                     if name.lower() != "content-length")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            if isinstance(body, (bytes, bytearray, memoryview)):
                self._sock.sendall(head + bytes(body))
            else:
                self._sock.sendall(head)
                if body is not None:
                    remaining = length
                    while remaining:
                        block = body.read(min(CHUNK, remaining))
                        if not block:
                            raise OSError(f"the upload ended {remaining} bytes early")
                        self._sock.sendall(block)
                        remaining -= len(block)
            self.last = Response(self, method)
        except BaseException:
            self.close()
            raise
        return self.last

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class Connections:
    """One connection per (scheme, host), reused while each answer was read to its end.
    `connect` opens a TCP connection (socket.create_connection's signature): a pull under an
    address policy passes the policy's."""

    def __init__(self, timeout: float, verify_tls: bool = True, connect=None):
        self._timeout = timeout
        self._verify_tls = verify_tls
        self._connect = connect
        self._open: dict[tuple, Connection] = {}
        self._context = None

    def _tls_context(self):
        if self._context is None:
            import ssl
            self._context = ssl.create_default_context()
            if not self._verify_tls:
                self._context.check_hostname = False
                self._context.verify_mode = ssl.CERT_NONE
        return self._context

    def send(self, method: str, scheme: str, netloc: str, target: str, headers: dict,
             body=None, length: int | None = None) -> Response:
        key = (scheme, netloc)
        connection = self._open.get(key)
        if connection is not None and connection.last is not None and \
                not connection.last.isclosed():
            connection.close()
        if connection is None:
            connection = self._open[key] = Connection(scheme, netloc, self._timeout,
                                                      self._tls_context, self._connect)
        reused = connection.is_open
        start = body.tell() if hasattr(body, "tell") else None
        try:
            return connection.request(method, target, headers, body, length)
        except (Disconnected, BrokenPipeError, ConnectionResetError):
            if not reused:
                raise
            # A kept-alive connection the server had closed: once more on a new one.
            if start is not None:
                body.seek(start)
            return connection.request(method, target, headers, body, length)

    def close(self) -> None:
        for connection in self._open.values():
            connection.close()
        self._open.clear()
