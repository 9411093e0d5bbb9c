"""The OCI Distribution client: where a reference lives, how to talk to that registry, and
what its answers mean.

- `locate(text)`: a reference as typed -> the registry (`busybox` is Docker Hub's
  `library/busybox`, `127.0.0.1:5000/app:1` is that registry's `app`), the repository there,
  and the familiar name local tags use.
- `Client`: one keep-alive connection per host; plain HTTP for loopback registries (Docker
  counts them insecure by itself), HTTPS otherwise, HTTPS without certificate checks falling
  back to HTTP for registries named insecure (`MOORAGE_INSECURE_REGISTRIES=host:port,...` or
  `--insecure`). A 401 is answered once per request by the Bearer token flow (realm, service,
  scope) or Basic, with the credentials `moor login` stored. Redirects are followed without
  taking the Authorization header to another host.
- `Credentials`: `<root>/registry-auth.json` (mode 0600), `{"auths": {registry: {"auth":
  base64("user:password")}}}` as in Docker's config.json.
- Errors: the registry's JSON error bodies become one-line `MoorError`s.

Everything the registry sends is untrusted: bodies are read with a size bound and every
digest is checked by the caller against what it asked for (see pull.py).
"""

import base64
import hashlib
import http.client
import ipaddress
import json
import os
import re
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin, urlsplit

from runtime import atomic
from runtime.errors import InvalidArgument, MoorError, NotFound
from runtime.image import reference as refs

MANIFEST_OCI = "application/vnd.oci.image.manifest.v1+json"
INDEX_OCI = "application/vnd.oci.image.index.v1+json"
MANIFEST_DOCKER = "application/vnd.docker.distribution.manifest.v2+json"
LIST_DOCKER = "application/vnd.docker.distribution.manifest.list.v2+json"
SCHEMA1_TYPES = ("application/vnd.docker.distribution.manifest.v1+json",
                 "application/vnd.docker.distribution.manifest.v1+prettyjws")
INDEX_TYPES = (INDEX_OCI, LIST_DOCKER)
IMAGE_MANIFEST_TYPES = (MANIFEST_OCI, MANIFEST_DOCKER)
ACCEPT = ", ".join((INDEX_OCI, LIST_DOCKER, MANIFEST_OCI, MANIFEST_DOCKER))

CONFIG_OCI = "application/vnd.oci.image.config.v1+json"
LAYER_OCI = "application/vnd.oci.image.layer.v1.tar"
LAYER_OCI_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"

MAX_MANIFEST = 4 << 20      # the spec asks registries to accept at least 4 MB
MAX_CONFIG = 16 << 20
MAX_SMALL_BODY = 1 << 20    # error bodies, tokens
CHUNK = 1 << 20
TIMEOUT = 60
MAX_REDIRECTS = 5

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"
HUB_ALIASES = (DOCKER_HUB, "index.docker.io", "registry-1.docker.io")
INSECURE_ENV = "MOORAGE_INSECURE_REGISTRIES"

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


# --------------------------------------------------------------------------- errors

class RegistryError(MoorError):
    """The registry refused or failed a request."""


class Unreachable(RegistryError):
    """No connection to the registry."""


class Unauthorized(RegistryError):
    """Credentials missing, wrong, or without the access asked for."""


class RateLimited(RegistryError):
    """HTTP 429: the registry wants fewer requests (Docker Hub's anonymous pull limit)."""


class VerificationFailed(RegistryError):
    """Bytes that do not match the digest they were fetched by."""


class ManifestUnknown(NotFound):
    """No manifest by that tag or digest."""


class BlobUnknown(NotFound):
    """A blob the manifest names is not in the registry."""


def check_digest(value, what: str = "digest") -> str:
    """A descriptor's digest, refused unless it is `sha256:` and 64 lowercase hex digits:
    digests end up in URLs and file names."""
    if not isinstance(value, str) or not DIGEST.match(value):
        raise VerificationFailed(f"invalid {what} in the registry's answer: {str(value)[:80]!r}")
    return value


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- where

@dataclass(frozen=True)
class Location:
    registry: str           # "docker.io", "127.0.0.1:5000"
    repository: str         # the name in the registry: "library/busybox", "app"
    familiar: str           # the name local tags use: "busybox", "127.0.0.1:5000/app"
    tag: str | None
    digest: str | None
    tag_typed: bool         # False when the tag is the default `latest`

    @property
    def host(self) -> str:
        """The host:port the API is served on."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def reference(self) -> str:
        """What follows /manifests/: the tag or the digest."""
        return self.digest or self.tag

    @property
    def familiar_reference(self) -> str:
        return f"{self.familiar}@{self.digest}" if self.digest else f"{self.familiar}:{self.tag}"

    @property
    def canonical_name(self) -> str:
        return f"{self.registry}/{self.repository}"

    @property
    def canonical_reference(self) -> str:
        separator = "@" if self.digest else ":"
        return f"{self.canonical_name}{separator}{self.reference}"



def registry_root(name: str) -> Location:
    """The registry itself, without a repository: what `moor login` talks to."""
    return Location(registry=name, repository="", familiar="", tag=None, digest=None,
                    tag_typed=False)


def locate(text: str) -> Location:
    """Where the image `text` lives. A name without a registry host is Docker Hub's, with
    `library/` for one-component names; `docker.io/library/x` is familiar `x` again."""
    parsed = refs.parse(text)
    typed_tag = not parsed.digest and ":" in text.rpartition("/")[2]
    registry = parsed.registry
    if registry is None or registry in HUB_ALIASES:
        repository = parsed.repository
        if "/" not in repository:
            repository = "library/" + repository
        familiar = repository[len("library/"):] if (
            repository.startswith("library/") and repository.count("/") == 1) else repository
        registry = DOCKER_HUB
    else:
        repository = parsed.repository
        familiar = parsed.name
    return Location(registry=registry, repository=repository, familiar=familiar,
                    tag=parsed.tag, digest=parsed.digest, tag_typed=typed_tag)


def registry_of(server: str | None) -> str:
    """The registry a `moor login`/`logout` argument names: `https://host/...` -> `host`,
    nothing or a Docker Hub alias -> `docker.io`."""
    if not server:
        return DOCKER_HUB
    text = server.strip()
    if "://" in text:
        text = urlsplit(text).netloc
    text = text.split("/", 1)[0]
    if not text or not re.match(r"^[A-Za-z0-9.-]+(:[0-9]+)?$|^\[[0-9a-fA-F:]+\](:[0-9]+)?$",
                                text):
        raise InvalidArgument(f"invalid registry address: {server!r}")
    return DOCKER_HUB if text.lower() in HUB_ALIASES else text


def _hostname(netloc: str) -> str:
    if netloc.startswith("["):
        return netloc[1:netloc.index("]")]
    return netloc.rsplit(":", 1)[0] if netloc.count(":") == 1 else netloc


def is_loopback(netloc: str) -> bool:
    host = _hostname(netloc)
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def insecure_registries() -> set[str]:
    return {item.strip() for item in os.environ.get(INSECURE_ENV, "").split(",")
            if item.strip()}


# --------------------------------------------------------------------------- credentials

class Credentials:
    """What `moor login` stored: `<root>/registry-auth.json`, readable by root only."""

    FILE = "registry-auth.json"

    def __init__(self, paths):
        self.paths = paths
        self.path = os.path.join(paths.root, self.FILE)

    @staticmethod
    def key(registry: str) -> str:
        return DOCKER_HUB_AUTH_KEY if registry == DOCKER_HUB else registry

    def _read(self) -> dict:
        document = atomic.read_json(self.path, {})
        return document if isinstance(document, dict) else {}

    def get(self, registry: str) -> tuple[str, str] | None:
        entry = (self._read().get("auths") or {}).get(self.key(registry)) or {}
        encoded = entry.get("auth")
        if not isinstance(encoded, str):
            return None
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise MoorError(f"{self.path}: the credentials for {registry} are damaged "
                            f"(moor logout {registry}, then log in again)") from None
        return user, password

    def save(self, registry: str, user: str, password: str) -> None:
        from runtime.locking import locked
        self.paths.ensure()
        with locked(self.paths.lock("registry-auth")):
            document = self._read()
            encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
            document.setdefault("auths", {})[self.key(registry)] = {"auth": encoded}
            atomic.write_json(self.path, document, 0o600)

    def remove(self, registry: str) -> bool:
        if not os.path.exists(self.path):
            return False
        from runtime.locking import locked
        with locked(self.paths.lock("registry-auth")):
            document = self._read()
            if (document.get("auths") or {}).pop(self.key(registry), None) is None:
                return False
            atomic.write_json(self.path, document, 0o600)
        return True


# --------------------------------------------------------------------------- answers

def _read_limited(response, limit: int, what: str) -> bytes:
    data = response.read(limit + 1)
    if len(data) > limit:
        response.close()
        raise RegistryError(f"the registry's {what} is larger than {limit} bytes")
    return data


def _error_text(body: bytes) -> str:
    """`code: message` of the registry's error body, Docker's way, or ''."""
    try:
        errors = json.loads(body).get("errors") or []
    except (ValueError, AttributeError):
        return ""
    parts = []
    for error in errors[:3]:
        if isinstance(error, dict):
            code = str(error.get("code") or "").lower()
            message = str(error.get("message") or "").strip()
            parts.append(f"{code}: {message}" if code and message else code or message)
    return "; ".join(" ".join(p.split()) for p in parts if p)


def _parse_challenge(header: str) -> tuple[str, dict]:
    """`Bearer realm="...",service="...",scope="a,b"` -> ("bearer", {...})."""
    scheme, _, rest = header.strip().partition(" ")
    params = {key.lower(): value for key, value in
              re.findall(r'([A-Za-z_]+)\s*=\s*"([^"]*)"', rest)}
    return scheme.lower(), params


# --------------------------------------------------------------------------- transport

class _Connections:
    """One keep-alive connection per (scheme, host). A response must be read to its end
    before the next request on its connection; one that was not closes the connection."""

    def __init__(self, verify_tls: bool):
        self._open: dict[tuple, tuple] = {}
        self._verify_tls = verify_tls
        self._tls = None

    def _context(self):
        if self._tls is None:
            self._tls = ssl.create_default_context()
            if not self._verify_tls:
                self._tls.check_hostname = False
                self._tls.verify_mode = ssl.CERT_NONE
        return self._tls

    def _connection(self, scheme: str, netloc: str):
        key = (scheme, netloc)
        held = self._open.get(key)
        if held is not None:
            connection, last = held
            if last is None or last.isclosed():
                return connection, True
            connection.close()
        if scheme == "https":
            connection = http.client.HTTPSConnection(netloc, timeout=TIMEOUT,
                                                     context=self._context(), blocksize=CHUNK)
        else:
            connection = http.client.HTTPConnection(netloc, timeout=TIMEOUT, blocksize=CHUNK)
        self._open[key] = (connection, None)
        return connection, False

    def send(self, method: str, url: str, headers: dict, body=None):
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        start = body.tell() if hasattr(body, "tell") else None
        for attempt in (1, 2):
            connection, reused = self._connection(parts.scheme, parts.netloc)
            try:
                connection.request(method, target, body=body, headers=headers)
                response = connection.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A kept-alive connection the server had closed: once more on a new one.
                self.drop(parts.scheme, parts.netloc)
                if not reused or attempt == 2:
                    raise
                if start is not None:
                    body.seek(start)
                continue
            except BaseException:
                self.drop(parts.scheme, parts.netloc)
                raise
            self._open[(parts.scheme, parts.netloc)] = (connection, response)
            return response
        raise AssertionError("unreachable")

    def drop(self, scheme: str, netloc: str) -> None:
        held = self._open.pop((scheme, netloc), None)
        if held:
            held[0].close()

    def close(self) -> None:
        for connection, _ in self._open.values():
            connection.close()
        self._open.clear()


@dataclass
class Manifest:
    data: bytes         # exactly as received; its sha256 is `digest`
    media_type: str
    digest: str


class Client:
    """Requests to one repository of one registry, with the access `actions` need."""

    def __init__(self, location: Location, credentials: tuple[str, str] | None = None,
                 insecure: bool = False, actions=("pull",)):
        self.location = location
        self.host = location.host
        self.credentials = credentials
        self.insecure = insecure or location.registry in insecure_registries() \
            or self.host in insecure_registries()
        self.plain = is_loopback(self.host)
        self.scope = f"repository:{location.repository}:{','.join(actions)}"
        self._scheme = "http" if self.plain else None
        self._authorization: str | None = None
        self._connections = _Connections(verify_tls=not self.insecure)

    def close(self) -> None:
        self._connections.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- the request loop ------------------------------------------------------------------

    def _base(self) -> str:
        return f"{self._scheme or 'https'}://{self.host}"

    def _url(self, path: str) -> str:
        return path if "://" in path else self._base() + path

    def _send(self, method: str, url: str, headers: dict, body=None):
        """One request, turning connection failures into one clear line. An insecure
        registry that does not speak TLS is asked again over HTTP (Docker's fallback)."""
        try:
            return self._connections.send(method, url, headers, body)
        except (ssl.SSLError, ConnectionResetError, ConnectionRefusedError) as error:
            if self.insecure and self._scheme is None and url.startswith("https://"):
                self._scheme = "http"
                if hasattr(body, "seek"):
                    body.seek(0)
                return self._send(method, "http://" + url[len("https://"):], headers, body)
            raise self._unreachable(url, error) from None
        except (OSError, http.client.HTTPException) as error:
            raise self._unreachable(url, error) from None

    def _unreachable(self, url: str, error) -> Unreachable:
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        if isinstance(error, socket.gaierror):
            reason = error.strerror
        if isinstance(error, ssl.SSLCertVerificationError):
            reason = (f"{error.verify_message}; for a registry without a trusted certificate "
                      f"use --insecure or {INSECURE_ENV}")
        elif isinstance(error, ssl.SSLError):
            reason = (f"{error.reason or error}; for a registry that speaks plain HTTP use "
                      f"--insecure or {INSECURE_ENV}")
        netloc = urlsplit(url).netloc
        return Unreachable(f"cannot reach registry {netloc}: {reason}")

    def request(self, method: str, path: str, *, headers=None, body=None, ok=(200,)):
        """Send a request to the registry, answering one 401 with credentials and following
        redirects; returns the response (status in `ok`) for the caller to read to its end,
        or raises the error the answer means."""
        url = self._url(path)
        extra = dict(headers or {})
        start = body.tell() if hasattr(body, "tell") else None
        authenticated = False
        redirects = 0
        same_host = True
        while True:
            sent = dict(extra)
            if self._authorization and same_host:
                sent["Authorization"] = self._authorization
            response = self._send(method, url, sent, body)
            if self._scheme is None and url.startswith("https://"):
                self._scheme = "https"
            if response.status == 401 and not authenticated and same_host:
                challenge = response.getheader("WWW-Authenticate") or ""
                response.read()
                self._authorization = self._authenticate(challenge)
                authenticated = True
                if start is not None:
                    body.seek(start)
                continue
            if response.status in (301, 302, 303, 307, 308) and method in ("GET", "HEAD"):
                location = response.getheader("Location")
                response.read()
                redirects += 1
                if not location or redirects > MAX_REDIRECTS:
                    raise RegistryError(f"too many redirects from {self.host} for {path}")
                url = urljoin(url, location)
                # Authorization goes to the registry only, never to a CDN it redirects to.
                same_host = urlsplit(url).netloc == self.host
                continue
            if response.status in ok:
                return response
            raise self._failure(response, method, path)

    def _failure(self, response, method: str, path: str) -> MoorError:
        body = b"" if method == "HEAD" else response.read(MAX_SMALL_BODY)
        response.close()
        text = _error_text(body)
        status = response.status
        if status == 401:
            return Unauthorized(text or "unauthorized: authentication required")
        if status == 403:
            return Unauthorized(text or "denied: requested access to the resource is denied")
        if status == 429:
            return RateLimited(text or "toomanyrequests: too many requests to the registry, "
                                       "try again later")
        if status == 404:
            return NotFound(text or f"not found: {path}")
        reason = f"{status} {response.reason}".strip()
        return RegistryError(f"registry {self.host} answered {reason} to {method} {path}"
                             + (f": {text}" if text else ""))

    # -- authentication ----------------------------------------------------------------------

    def _may_send_credentials(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme == "https" or is_loopback(parts.netloc) or \
            parts.netloc in insecure_registries() or (
                parts.netloc == self.host and self.insecure)

    def _basic(self) -> str:
        user, password = self.credentials
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def _authenticate(self, challenge: str) -> str:
        scheme, params = _parse_challenge(challenge)
        if scheme == "bearer" and params.get("realm"):
            return "Bearer " + self._token(params)
        if scheme == "basic":
            if not self.credentials:
                raise Unauthorized(f"unauthorized: authentication required (moor login "
                                   f"{self.location.registry})")
            return self._basic()
        raise Unauthorized(f"unauthorized: the registry {self.host} asks for an "
                           f"authentication scheme this client does not know: "
                           f"{challenge[:60]!r}")

    def _token(self, params: dict, scope: str | None = "") -> str:
        """The Bearer token flow: GET realm?service=...&scope=..., with Basic credentials
        when logged in."""
        query = {}
        if params.get("service"):
            query["service"] = params["service"]
        if scope == "":
            scope = self.scope
        if scope:
            query["scope"] = scope
        if self.credentials:
            query["account"] = self.credentials[0]
        realm = params["realm"]
        if urlsplit(realm).scheme not in ("http", "https"):
            raise Unauthorized(f"unauthorized: the registry names a bad token realm "
                               f"{realm[:80]!r}")
        url = realm + ("&" if "?" in realm else "?") + urlencode(query)
        headers = {}
        if self.credentials:
            if not self._may_send_credentials(realm):
                raise Unauthorized(f"refusing to send credentials to {realm} over plain HTTP")
            headers["Authorization"] = self._basic()
        response = self._send("GET", url, headers)
        body = _read_limited(response, MAX_SMALL_BODY, "token answer")
        if response.status in (401, 403):
            if self.credentials:
                raise Unauthorized("unauthorized: incorrect username or password")
            raise Unauthorized(_error_text(body) or "unauthorized: authentication required")
        if response.status == 429:
            raise RateLimited(_error_text(body) or "toomanyrequests: too many token requests")
        if response.status != 200:
            raise RegistryError(f"token server {urlsplit(realm).netloc} answered "
                                f"{response.status} {response.reason}")
        try:
            answer = json.loads(body)
            token = answer.get("token") or answer.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token or any(c in token for c in "\r\n"):
            raise RegistryError(f"token server {urlsplit(realm).netloc} sent no usable token")
        return token

    def check_login(self) -> None:
        """Prove the credentials against the registry (`moor login`): /v2/, then the
        challenge it answers with, with no repository scope."""
        response = self._send("GET", self._url("/v2/"), {})
        if self._scheme is None:
            self._scheme = "https"
        response.read()
        if response.status == 200:
            return
        if response.status != 401:
            raise RegistryError(f"registry {self.host} answered {response.status} "
                                f"{response.reason} to GET /v2/")
        scheme, params = _parse_challenge(response.getheader("WWW-Authenticate") or "")
        if scheme == "bearer" and params.get("realm"):
            self._token(params, scope=None)
            return
        if scheme != "basic":
            raise Unauthorized(f"unauthorized: unknown authentication scheme from {self.host}")
        response = self._send("GET", self._url("/v2/"), {"Authorization": self._basic()})
        response.read()
        if response.status != 200:
            raise Unauthorized("unauthorized: incorrect username or password")

    # -- the API -----------------------------------------------------------------------------

    def _repository_path(self, kind: str, name: str) -> str:
        return f"/v2/{self.location.repository}/{kind}/{name}"

    def get_manifest(self, reference: str) -> Manifest:
        """The manifest by tag or digest, checked against the digest asked for, or the
        registry's Docker-Content-Digest."""
        try:
            response = self.request("GET", self._repository_path("manifests", reference),
                                    headers={"Accept": ACCEPT})
        except NotFound:
            raise ManifestUnknown(
                f"manifest for {self.location.familiar}"
                f"{'@' if reference.startswith('sha256:') else ':'}{reference} not found: "
                "manifest unknown") from None
        data = _read_limited(response, MAX_MANIFEST, "manifest")
        digest = sha256_digest(data)
        claimed = response.getheader("Docker-Content-Digest")
        expected = reference if reference.startswith("sha256:") else claimed
        if expected and expected.startswith("sha256:") and expected != digest:
            raise VerificationFailed(f"manifest verification failed for digest {expected}")
        media_type = (response.getheader("Content-Type") or "").split(";")[0].strip()
        return Manifest(data=data, media_type=media_type, digest=digest)

    def open_blob(self, digest: str):
        """A response streaming the blob; the caller hashes it as it reads."""
        try:
            return self.request("GET", self._repository_path("blobs", digest))
        except NotFound:
            raise BlobUnknown(f"blob {digest} is missing from {self.location.canonical_name}:"
                              " blob unknown to registry") from None

    def fetch_blob(self, digest: str, size: int, limit: int = MAX_CONFIG) -> bytes:
        """A small blob (an image config) in memory, checked against its digest and size."""
        if size > limit:
            raise RegistryError(f"blob {digest} is larger than {limit} bytes")
        response = self.open_blob(digest)
        data = _read_limited(response, limit, "blob")
        if len(data) != size or sha256_digest(data) != digest:
            raise VerificationFailed(f"blob verification failed for digest {digest}")
        return data

    def has_blob(self, digest: str) -> bool:
        try:
            response = self.request("HEAD", self._repository_path("blobs", digest))
        except NotFound:
            return False
        response.read()
        return True

    def upload_blob(self, digest: str, size: int, body) -> None:
        """A monolithic upload: POST for a session, PUT the bytes with ?digest=."""
        response = self.request("POST", f"/v2/{self.location.repository}/blobs/uploads/",
                                headers={"Content-Length": "0"}, ok=(202,))
        response.read()
        location = response.getheader("Location")
        if not location:
            raise RegistryError(f"registry {self.host} gave no upload location")
        url = urljoin(self._base() + "/", location)
        url += ("&" if "?" in url else "?") + urlencode({"digest": digest})
        if not self._may_send_credentials(url) and urlsplit(url).netloc != self.host:
            raise RegistryError(f"registry {self.host} sent an upload location on another "
                                f"host over plain HTTP: {urlsplit(url).netloc}")
        response = self.request("PUT", url, body=body, ok=(201, 204), headers={
            "Content-Type": "application/octet-stream", "Content-Length": str(size)})
        response.read()

    def put_manifest(self, reference: str, data: bytes, media_type: str) -> str:
        digest = sha256_digest(data)
        response = self.request("PUT", self._repository_path("manifests", reference),
                                body=data, ok=(201, 202, 204),
                                headers={"Content-Type": media_type})
        response.read()
        answered = response.getheader("Docker-Content-Digest")
        if answered and answered != digest:
            raise VerificationFailed(f"the registry stored the manifest as {answered}, "
                                     f"not as {digest}")
        return digest
