"""Talking to one repository of a registry (the OCI Distribution API), and what its answers
mean.

- Transport: plain HTTP for loopback registries (Docker counts them insecure by itself),
  HTTPS otherwise; for registries named insecure (`--insecure`, or
  `MOORAGE_INSECURE_REGISTRIES=host:port,...`) HTTPS without certificate checks, then plain
  HTTP when the registry does not speak TLS, as Docker does.
- Auth: a 401 is answered once per request, by the Bearer token flow (realm, service,
  scope; with the stored credentials as Basic when logged in) or by Basic. Credentials only
  go to https, or to a loopback or insecure host.
- Redirects are followed for GET/HEAD; the Authorization header never goes to another host
  (a CDN, an upload location elsewhere).
- Errors: the registry's JSON error bodies become one-line `MoorError`s.
- A pull made for someone else carries an `AddressPolicy` (policy.py): every connection goes
  only where it permits, the registry must first answer `GET /v2/` as a registry, and what
  could map the host's network (refused, unreachable, not a registry, a redirect's target
  failing) is one message.

Everything a registry sends is untrusted: bodies are read with a size bound, digests are
checked against their grammar before they reach a URL, and every manifest and blob is
checked against the digest it was asked for (see pull.py).
"""

import base64
import hashlib
import json
import re
from urllib.parse import urlencode, urljoin, urlsplit

from runtime.errors import MoorError, NotFound
from runtime.image.distribution import transport
from runtime.image.distribution.names import (
    INSECURE_ENV,
    Location,
    insecure_registries,
    is_loopback,
)

MANIFEST_OCI = "application/vnd.oci.image.manifest.v1+json"
INDEX_OCI = "application/vnd.oci.image.index.v1+json"
MANIFEST_DOCKER = "application/vnd.docker.distribution.manifest.v2+json"
LIST_DOCKER = "application/vnd.docker.distribution.manifest.list.v2+json"
SCHEMA1_TYPES = ("application/vnd.docker.distribution.manifest.v1+json",
                 "application/vnd.docker.distribution.manifest.v1+prettyjws")
INDEX_TYPES = (INDEX_OCI, LIST_DOCKER)
ACCEPT = ", ".join((INDEX_OCI, LIST_DOCKER, MANIFEST_OCI, MANIFEST_DOCKER))
CONFIG_OCI = "application/vnd.oci.image.config.v1+json"
CONFIG_DOCKER = "application/vnd.docker.container.image.v1+json"
LAYER_OCI = "application/vnd.oci.image.layer.v1.tar"
LAYER_OCI_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
LAYER_OCI_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"

MAX_MANIFEST = 4 << 20      # the spec asks registries to accept at least 4 MB
MAX_CONFIG = 16 << 20
MAX_SMALL_BODY = 1 << 20    # error bodies, tokens, bodies of redirects and challenges
CHUNK = transport.CHUNK
TIMEOUT = 60
MAX_REDIRECTS = 5
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


# --------------------------------------------------------------------------- errors

class RegistryError(MoorError):
    """The registry refused or failed a request, or answered nonsense."""


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
    """A digest from a registry, refused unless it is `sha256:` and 64 lowercase hex
    digits: digests end up in URLs and file names."""
    if not isinstance(value, str) or not DIGEST.match(value):
        raise RegistryError(f"invalid {what} in the registry's answer: {str(value)[:80]!r}")
    return value


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _read_limited(response, limit: int, what: str) -> bytes:
    data = response.read(limit + 1)
    if len(data) > limit:
        response.close()
        raise RegistryError(f"the registry's {what} is larger than {limit} bytes")
    return data


def _error_text(body: bytes) -> str:
    """`code: message` of a registry's error body, Docker's way, or ''."""
    try:
        errors = json.loads(body).get("errors") or []
    except (ValueError, AttributeError):
        return ""
    parts = []
    for error in errors[:3]:
        if isinstance(error, dict):
            code = str(error.get("code") or "").lower()
            message = " ".join(str(error.get("message") or "").split())
            parts.append(f"{code}: {message}" if code and message else code or message)
    return "; ".join(p for p in parts if p)


def parse_challenge(header: str) -> tuple[str, dict]:
    """`Bearer realm="...",service="...",scope="a,b"` -> ("bearer", {...})."""
    scheme, _, rest = header.strip().partition(" ")
    params = {key.lower(): value for key, value in
              re.findall(r'([A-Za-z_]+)\s*=\s*"([^"]*)"', rest)}
    return scheme.lower(), params


class Manifest:
    """A manifest exactly as received (`data`), its media type and its sha256 `digest`."""

    __slots__ = ("data", "media_type", "digest")

    def __init__(self, data: bytes, media_type: str, digest: str):
        self.data, self.media_type, self.digest = data, media_type, digest


# --------------------------------------------------------------------------- the client

class Client:
    """Requests to `location`'s repository, with the access `actions` need."""

    def __init__(self, location: Location, credentials: tuple[str, str] | None = None,
                 insecure: bool = False, actions=("pull",), policy=None):
        self.location = location
        self.policy = policy    # an AddressPolicy: a pull made for someone else (policy.py)
        self.host = location.host
        self.credentials = credentials
        named = insecure_registries()
        self.insecure = insecure or location.registry in named or self.host in named
        self.plain = is_loopback(self.host)
        self.scope = f"repository:{location.repository}:{','.join(actions)}"
        self._scheme = "http" if self.plain else None     # None: https, not yet proven
        self._authorization: str | None = None
        self._connections = transport.Connections(
            TIMEOUT, verify_tls=not self.insecure,
            connect=policy.connect if policy is not None else None)

    def sibling(self) -> "Client":
        """A client for the same repository and access on connections of its own (for
        downloads side by side), starting with this one's scheme and token."""
        twin = Client(self.location, self.credentials, self.insecure, policy=self.policy)
        twin.scope, twin._scheme = self.scope, self._scheme
        twin._authorization = self._authorization
        return twin

    def close(self) -> None:
        self._connections.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- sending -----------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return path if "://" in path else f"{self._scheme or 'https'}://{self.host}{path}"

    def _send(self, method: str, url: str, headers: dict, body=None, length=None):
        """One request; connection failures become one clear line. An insecure registry
        that does not speak TLS is asked again over plain HTTP."""
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            response = self._connections.send(method, parts.scheme, parts.netloc, target,
                                              headers, body, length)
        except (transport.TLSError, ConnectionRefusedError, ConnectionResetError) as error:
            fallback = self.insecure and self._scheme is None and parts.scheme == "https" \
                and not getattr(error, "certificate", False)
            if not fallback:
                raise self._unreachable(parts.netloc, error) from None
            self._scheme = "http"
            if hasattr(body, "seek"):
                body.seek(0)    # uploads are sent from the start of their file
            return self._send(method, "http" + url[len("https"):], headers, body, length)
        except OSError as error:
            raise self._unreachable(parts.netloc, error) from None
        if self._scheme is None and parts.netloc == self.host:
            self._scheme = parts.scheme
        return response

    def _unreachable(self, netloc: str, error: OSError) -> Unreachable:
        if self.policy is not None:
            return self.nothing_answers()
        reason = error.strerror or str(error) or type(error).__name__
        if isinstance(error, transport.TLSError):
            reason = str(error) + ("; for a registry without a trusted certificate"
                                   if error.certificate else
                                   "; for a registry that speaks plain HTTP") + \
                f" use --insecure or {INSECURE_ENV}"
        return Unreachable(f"cannot reach registry {netloc}: {reason}")

    def request(self, method: str, path: str, *, headers=None, body=None, length=None,
                ok=(200,)):
        """Send a request to the registry, answering a 401 once with credentials and
        following redirects. Returns the response (status in `ok`) for the caller to read to
        its end, or raises the error the answer means."""
        url = self._url(path)
        start = body.tell() if hasattr(body, "tell") else None
        authenticated = False
        redirects = 0
        same_host = urlsplit(url).netloc == self.host
        while True:
            sent = dict(headers or {})
            if self._authorization and same_host:
                sent["Authorization"] = self._authorization
            response = self._send(method, url, sent, body, length)
            if response.status == 401 and same_host and not authenticated:
                challenge = response.getheader("WWW-Authenticate") or ""
                response.read(MAX_SMALL_BODY)
                self._authorization = self._authenticate(challenge)
                authenticated = True
                if start is not None:
                    body.seek(start)
                continue
            if response.status in (301, 302, 303, 307, 308) and method in ("GET", "HEAD"):
                location = response.getheader("Location")
                response.read(MAX_SMALL_BODY)
                redirects += 1
                if not location or redirects > MAX_REDIRECTS:
                    raise RegistryError(f"too many redirects from {self.host} for {path}")
                url = urljoin(url, location)
                same_host = urlsplit(url).netloc == self.host
                continue
            if response.status in ok:
                response.offsite = not same_host
                return response
            if self.policy is not None and not same_host:
                response.close()
                raise self.nothing_answers()
            raise self._failure(response, method, path)

    def _failure(self, response, method: str, path: str) -> MoorError:
        body = response.read(MAX_SMALL_BODY)
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
        return RegistryError(f"registry {self.host} answered {status} {response.reason} to "
                             f"{method} {path}" + (f": {text}" if text else ""))

    # -- authentication ----------------------------------------------------------------------

    def _may_send_credentials(self, url: str) -> bool:
        netloc = urlsplit(url).netloc
        return url.startswith("https://") or is_loopback(netloc) or \
            netloc in insecure_registries() or (netloc == self.host and self.insecure)

    def _basic(self) -> str:
        user, password = self.credentials
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def _authenticate(self, challenge: str) -> str:
        scheme, params = parse_challenge(challenge)
        if scheme == "bearer" and params.get("realm"):
            return "Bearer " + self._token(params, self.scope)
        if scheme == "basic":
            if not self.credentials:
                raise Unauthorized("unauthorized: authentication required (moor login "
                                   f"{self.location.registry})")
            return self._basic()
        raise Unauthorized(f"unauthorized: {self.host} asks for an authentication scheme "
                           f"this client does not know: {challenge[:60]!r}")

    def _token(self, params: dict, scope: str | None) -> str:
        """The Bearer token flow: GET realm?service=...&scope=..., with the credentials as
        Basic when logged in."""
        realm = params["realm"]
        if urlsplit(realm).scheme not in ("http", "https"):
            raise Unauthorized(f"unauthorized: bad token realm {realm[:80]!r}")
        query = {key: value for key, value in (("service", params.get("service")),
                                               ("scope", scope)) if value}
        headers = {}
        if self.credentials:
            query["account"] = self.credentials[0]
            if not self._may_send_credentials(realm):
                raise Unauthorized(f"refusing to send credentials to {realm} over plain HTTP")
            headers["Authorization"] = self._basic()
        url = realm + ("&" if "?" in realm else "?") + urlencode(query)
        response = self._send("GET", url, headers)
        body = _read_limited(response, MAX_SMALL_BODY, "token answer")
        server = urlsplit(realm).netloc
        if self.policy is not None and response.status != 200 and server != self.host:
            raise self.nothing_answers()
        if response.status in (401, 403):
            if self.credentials:
                raise Unauthorized("unauthorized: incorrect username or password")
            raise Unauthorized(_error_text(body) or "unauthorized: authentication required")
        if response.status == 429:
            raise RateLimited(_error_text(body) or "toomanyrequests: too many token requests")
        if response.status != 200:
            raise RegistryError(f"token server {server} answered {response.status} "
                                f"{response.reason}")
        try:
            answer = json.loads(body)
            token = answer.get("token") or answer.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token or any(c in token for c in "\r\n"):
            raise RegistryError(f"token server {server} sent no usable token")
        return token

    # -- pulls made for someone else (an AddressPolicy) ----------------------------------------

    def nothing_answers(self) -> Unreachable:
        """The one error of a pull under a policy that found no registry it may use: the same
        whether the address was refused, nothing answered there or something that is not a
        registry did."""
        return Unreachable(self.policy.unreachable(self.location.registry))

    def check_registry(self) -> None:
        """Under a policy, before anything else: `GET /v2/` must be answered by a registry
        (200, or 401 with a challenge, and Docker's API version header or a challenge), or the
        pull ends with `nothing_answers`, saying nothing of what did answer."""
        try:
            response = self._send("GET", self._url("/v2/"), {})
            response.read(MAX_SMALL_BODY)
        except (RegistryError, OSError):
            raise self.nothing_answers() from None
        version = response.getheader("Docker-Distribution-API-Version") or ""
        challenge = response.getheader("WWW-Authenticate") or ""
        if not ((response.status == 200 and version.startswith("registry/2")) or
                (response.status == 401 and (version.startswith("registry/2") or
                                             parse_challenge(challenge)[0] in ("bearer",
                                                                               "basic")))):
            raise self.nothing_answers()

    def vouched(self, response, error: MoorError) -> MoorError:
        """`error` about what `response` carried, as the pull reports it: under a policy,
        what a host other than the registry sent (a redirect's target) reads as nothing
        answering, so that a redirect cannot be used to probe another address."""
        if self.policy is not None and getattr(response, "offsite", False):
            return self.nothing_answers()
        return error

    def check_login(self) -> None:
        """Prove the credentials (`moor login`): GET /v2/, then the challenge it answers
        with, asked for no repository."""
        response = self._send("GET", self._url("/v2/"), {})
        response.read(MAX_SMALL_BODY)
        if response.status == 200:
            return
        if response.status != 401:
            raise RegistryError(f"registry {self.host} answered {response.status} "
                                f"{response.reason} to GET /v2/")
        scheme, params = parse_challenge(response.getheader("WWW-Authenticate") or "")
        if scheme == "bearer" and params.get("realm"):
            self._token(params, scope=None)
            return
        if scheme != "basic":
            raise Unauthorized(f"unauthorized: unknown authentication scheme from {self.host}")
        response = self._send("GET", self._url("/v2/"), {"Authorization": self._basic()})
        response.read(MAX_SMALL_BODY)
        if response.status != 200:
            raise Unauthorized("unauthorized: incorrect username or password")

    # -- the API -----------------------------------------------------------------------------

    def _path(self, kind: str, name: str) -> str:
        return f"/v2/{self.location.repository}/{kind}/{name}"

    def get_manifest(self, reference: str) -> Manifest:
        """The manifest by tag or digest, checked against the digest asked for, else
        against the registry's Docker-Content-Digest."""
        try:
            response = self.request("GET", self._path("manifests", reference),
                                    headers={"Accept": ACCEPT})
        except NotFound:
            separator = "@" if reference.startswith("sha256:") else ":"
            raise ManifestUnknown(f"manifest for {self.location.familiar}{separator}"
                                  f"{reference} not found: manifest unknown") from None
        data = _read_limited(response, MAX_MANIFEST, "manifest")
        digest = sha256_digest(data)
        expected = reference if reference.startswith("sha256:") else \
            response.getheader("Docker-Content-Digest")
        if expected and expected.startswith("sha256:") and expected != digest:
            raise VerificationFailed(f"manifest verification failed for digest {expected}")
        media_type = (response.getheader("Content-Type") or "").split(";")[0].strip()
        return Manifest(data, media_type, digest)

    def open_blob(self, digest: str):
        """A response streaming the blob; the caller hashes what it reads."""
        try:
            return self.request("GET", self._path("blobs", digest))
        except NotFound:
            raise BlobUnknown(f"blob {digest} is missing from "
                              f"{self.location.canonical_name}: blob unknown to registry"
                              ) from None

    def fetch_blob(self, digest: str, size: int, limit: int = MAX_CONFIG) -> bytes:
        """A small blob (an image config) in memory, checked against its digest and size."""
        if size > limit:
            raise RegistryError(f"blob {digest} is larger than {limit} bytes")
        response = self.open_blob(digest)
        try:
            data = _read_limited(response, limit, "blob")
        except (RegistryError, OSError) as error:
            raise self.vouched(response, error if isinstance(error, RegistryError) else
                               RegistryError(f"download of blob {digest} failed: {error}")
                               ) from None
        if len(data) != size or sha256_digest(data) != digest:
            raise self.vouched(response, VerificationFailed(
                f"blob verification failed for digest {digest}"))
        return data

    def has_blob(self, digest: str) -> bool:
        try:
            self.request("HEAD", self._path("blobs", digest))
        except NotFound:
            return False
        return True

    def upload_blob(self, digest: str, size: int, body) -> None:
        """A monolithic upload: POST for a session, then PUT the bytes with ?digest=."""
        response = self.request("POST", f"/v2/{self.location.repository}/blobs/uploads/",
                                ok=(202,))
        response.read(MAX_SMALL_BODY)
        location = response.getheader("Location")
        if not location:
            raise RegistryError(f"registry {self.host} gave no upload location")
        url = urljoin(self._url("/"), location)
        url += ("&" if "?" in url else "?") + urlencode({"digest": digest})
        response = self.request("PUT", url, body=body, length=size, ok=(201, 204),
                                headers={"Content-Type": "application/octet-stream"})
        response.read(MAX_SMALL_BODY)

    def put_manifest(self, reference: str, data: bytes, media_type: str) -> str:
        """PUT the manifest's exact bytes; returns their digest, checked against the one
        the registry answers with."""
        digest = sha256_digest(data)
        response = self.request("PUT", self._path("manifests", reference), body=data,
                                ok=(201, 202, 204), headers={"Content-Type": media_type})
        response.read(MAX_SMALL_BODY)
        answered = response.getheader("Docker-Content-Digest")
        if answered and answered != digest:
            raise VerificationFailed(f"the registry stored the manifest as {answered}, "
                                     f"not as {digest}")
        return digest

    def catalog(self, wanted: int) -> list[str]:
        """Up to `wanted` repository names the registry lists (GET /v2/_catalog, page by
        page, following its Link headers). The registry's own error when it lists none
        (NotFound where it has no catalog, Unauthorized where it is not for us)."""
        self.scope = "registry:catalog:*"
        names: list[str] = []
        path = "/v2/_catalog?" + urlencode({"n": min(max(wanted, 1), 1000)})
        while path and len(names) < wanted:
            response = self.request("GET", path)
            link = response.getheader("Link") or ""
            try:
                document = json.loads(_read_limited(response, MAX_MANIFEST, "catalog"))
                page = document["repositories"]
            except (ValueError, TypeError, KeyError):
                raise RegistryError(f"registry {self.host} answered GET /v2/_catalog with "
                                    "no repository list") from None
            if not isinstance(page, list) or not all(isinstance(n, str) for n in page):
                raise RegistryError(f"registry {self.host} sent a malformed catalog")
            names.extend(page)
            match = re.match(r'\s*<([^>]+)>\s*;\s*rel="?next"?', link)
            path = match.group(1) if match and page else None
            if path and "://" in path and urlsplit(path).netloc != self.host:
                path = None     # the next page is on the registry itself, or nowhere
        return names[:wanted]
