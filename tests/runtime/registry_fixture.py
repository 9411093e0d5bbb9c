"""A real registry for the pull/push tests: Debian's `docker-registry` (distribution 2.8)
serving on a free 127.0.0.1 port, its storage in a temporary directory, killed by its PID at
the end. Optionally behind htpasswd (Basic) auth, or behind token auth with a small token
server run in the test process (RS256 tokens carrying their certificate in `x5c`, which the
registry checks against the certificate bundle its config names).
"""

import base64
import contextlib
import hashlib
import http.client
import http.server
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import warnings

from tests.stack import free_port, wait_until

REGISTRY_BINARY = "docker-registry"
SERVICE = "moorage-test-registry"
ISSUER = "moorage-test-issuer"


def private_mounts(argv: list[str]) -> list[str]:
    """`argv` run in a private mount namespace with fresh tmpfs over /var/lib and /run:
    skopeo and podman create first-use files there (the blob-info cache in
    /var/lib/containers, /run/containers) even when their store is elsewhere."""
    script = ("mount -t tmpfs -o mode=0755 tmpfs /var/lib && "
              "mount -t tmpfs -o mode=0755 tmpfs /run && exec \"$@\"")
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *argv]


def _bcrypt(password: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """The Bearer token endpoint: GET /token?service=&scope=&account=, HTTP Basic checked
    against `users`; anonymous callers get a token without any access, so the registry
    refuses them."""

    def __init__(self, directory: str, users: dict[str, str]):
        import datetime

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.users = users
        self.requests: list[dict] = []
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
        now = datetime.datetime.now(datetime.timezone.utc)
        certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                       .public_key(self._key.public_key())
                       .serial_number(x509.random_serial_number())
                       .not_valid_before(now - datetime.timedelta(days=1))
                       .not_valid_after(now + datetime.timedelta(days=1))
                       .sign(self._key, hashes.SHA256()))
        self.certificate_path = os.path.join(directory, "token.crt")
        with open(self.certificate_path, "wb") as f:
            f.write(certificate.public_bytes(serialization.Encoding.PEM))
        self._x5c = base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()
        self._server = None
        self._thread = None

    def _sign(self, claims: dict) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self._x5c]}
        signing_input = (_b64url(json.dumps(header).encode()) + "." +
                         _b64url(json.dumps(claims).encode()))
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64url(signature)

    def token(self, account: str | None, scopes: list[str]) -> str:
        access = []
        if account:
            for scope in scopes:
                kind, _, rest = scope.partition(":")
                name, _, actions = rest.rpartition(":")
                if kind == "repository":
                    access.append({"type": kind, "name": name,
                                   "actions": actions.split(",")})
        now = int(time.time())
        return self._sign({"iss": ISSUER, "sub": account or "", "aud": SERVICE,
                           "exp": now + 300, "nbf": now - 30, "iat": now - 30,
                           "jti": os.urandom(8).hex(), "access": access})

    def start(self) -> None:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                from urllib.parse import parse_qs, urlsplit
                query = parse_qs(urlsplit(self.path).query)
                header = self.headers.get("Authorization") or ""
                account = None
                if header.startswith("Basic "):
                    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                    if owner.users.get(user) != password:
                        self.send_response(401)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    account = user
                owner.requests.append({"account": account, "scope": query.get("scope", []),
                                       "service": query.get("service", [None])[0]})
                body = json.dumps({"token": owner.token(account, query.get("scope", [])),
                                   "expires_in": 300}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/token"

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)


class Registry:
    """`docker-registry serve` on 127.0.0.1:<free port> (or another loopback address,
    `host`); `auth` is None, "htpasswd" or "token" (with `users` {name: password})."""

    def __init__(self, auth: str | None = None, users: dict[str, str] | None = None,
                 host: str = "127.0.0.1"):
        self.host = host
        self.directory = tempfile.mkdtemp(prefix="moorage-registry-")
        self.storage = os.path.join(self.directory, "data")
        self.auth = auth
        self.users = users or {}
        self.process = None
        self.port = None
        self.token_server = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def _config(self) -> str:
        lines = ["version: 0.1", "log:", "  level: error", "  accesslog:", "    disabled: true",
                 "storage:", "  filesystem:", f"    rootdirectory: {self.storage}",
                 "  delete:", "    enabled: true", "  maintenance:", "    uploadpurging:",
                 "      enabled: false", "http:", f"  addr: {self.address}",
                 "  secret: moorage-tests-only"]
        if self.auth == "htpasswd":
            path = os.path.join(self.directory, "htpasswd")
            with open(path, "w") as f:
                f.writelines(f"{user}:{_bcrypt(password)}\n"
                             for user, password in self.users.items())
            lines += ["auth:", "  htpasswd:", "    realm: moorage-tests", f"    path: {path}"]
        elif self.auth == "token":
            lines += ["auth:", "  token:", f"    realm: {self.token_server.realm}",
                      f"    service: {SERVICE}", f"    issuer: {ISSUER}",
                      f"    rootcertbundle: {self.token_server.certificate_path}"]
        return "\n".join(lines) + "\n"

    def start(self) -> "Registry":
        if shutil.which(REGISTRY_BINARY) is None:
            raise RuntimeError("docker-registry is not installed (apt-get install "
                               "docker-registry)")
        if self.auth == "token":
            self.token_server = TokenServer(self.directory, self.users)
            self.token_server.start()
        for _ in range(5):
            self.port = free_port()
            config = os.path.join(self.directory, "config.yml")
            with open(config, "w") as f:
                f.write(self._config())
            log = open(os.path.join(self.directory, "registry.log"), "ab")
            self.process = subprocess.Popen(self.command(config),
                                            stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=log, start_new_session=True)
            log.close()
            if self._wait_ready():
                return self
            self._kill()
        raise RuntimeError(f"docker-registry did not start: {self.log()[-2000:]}")

    def command(self, config: str) -> list[str]:
        """What starts the registry with the file `config`."""
        return [REGISTRY_BINARY, "serve", config]

    def answers(self) -> bool:
        """Whether the registry answers `GET /v2/` (as itself, or asking for credentials)."""
        with contextlib.suppress(OSError, http.client.HTTPException):
            connection = http.client.HTTPConnection(self.address, timeout=2)
            connection.request("GET", "/v2/")
            status = connection.getresponse().status
            connection.close()
            return status in (200, 401)
        return False

    def _wait_ready(self) -> bool:
        def answered_or_exited():
            if self.process.poll() is not None:
                return "exited"
            return "ready" if self.answers() else None
        try:
            return wait_until(answered_or_exited, timeout=15, interval=0.05,
                              what="docker-registry to answer") == "ready"
        except TimeoutError:
            return False

    def log(self) -> str:
        with contextlib.suppress(OSError):
            with open(os.path.join(self.directory, "registry.log"), errors="replace") as f:
                return f.read()
        return ""

    def _kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def stop(self) -> None:
        self._kill()
        if self.token_server:
            self.token_server.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    # -- reaching into the registry's storage, for the tampering tests -----------------------

    def blob_file(self, digest: str) -> str:
        hexpart = digest.split(":", 1)[1]
        return os.path.join(self.storage, "docker", "registry", "v2", "blobs", "sha256",
                            hexpart[:2], hexpart, "data")

    # -- raw HTTP, for what the client under test must not be used to make -------------------

    def http(self, method: str, path: str, body: bytes | None = None,
             headers: dict | None = None) -> tuple[int, dict, bytes]:
        connection = http.client.HTTPConnection(self.address, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def put_blob(self, repository: str, data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        status, headers, body = self.http("POST", f"/v2/{repository}/blobs/uploads/")
        assert status == 202, body
        location = headers["Location"]
        target = location.split(self.address, 1)[-1]
        target += ("&" if "?" in target else "?") + f"digest={digest}"
        status, _, body = self.http("PUT", target, data,
                                    {"Content-Type": "application/octet-stream"})
        assert status == 201, body
        return digest

    def put_manifest(self, repository: str, reference: str, document: dict,
                     media_type: str) -> str:
        data = json.dumps(document).encode()
        status, headers, body = self.http("PUT", f"/v2/{repository}/manifests/{reference}",
                                          data, {"Content-Type": media_type})
        assert status == 201, body
        return headers.get("Docker-Content-Digest")
