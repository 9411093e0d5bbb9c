"""Where an image lives: a reference as typed -> its registry, the repository there, and the
familiar name local tags use, with Docker's normalisation.

`busybox` is Docker Hub's `library/busybox` (served by registry-1.docker.io); `team/app` is
Docker Hub's `team/app`; a first component with a `.` or a `:`, or `localhost`, names a
registry: `127.0.0.1:5000/app:1` is that registry's `app`. `docker.io/library/busybox` is
familiar `busybox` again.
"""

import os
import re
from urllib.parse import urlsplit

from runtime.errors import InvalidArgument
from runtime.image import reference as refs

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
HUB_ALIASES = (DOCKER_HUB, "index.docker.io", DOCKER_HUB_API)
INSECURE_ENV = "MOORAGE_INSECURE_REGISTRIES"

_LOOPBACK_V4 = re.compile(r"^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
_SERVER = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]+)?$|^\[[0-9a-fA-F:]+\](:[0-9]+)?$")


class Location:
    """A reference resolved to a registry: `registry` ("docker.io", "127.0.0.1:5000"),
    `repository` (the name there: "library/busybox"), `familiar` (the name local tags use:
    "busybox", "127.0.0.1:5000/app"), `tag` and/or `digest`, and whether the tag was typed
    or is the default."""

    __slots__ = ("registry", "repository", "familiar", "tag", "digest", "tag_typed")

    def __init__(self, registry: str, repository: str, familiar: str = "",
                 tag: str | None = None, digest: str | None = None, tag_typed: bool = False):
        self.registry, self.repository, self.familiar = registry, repository, familiar
        self.tag, self.digest, self.tag_typed = tag, digest, tag_typed

    def __repr__(self):
        return f"Location({self.canonical_reference!r})"

    @property
    def host(self) -> str:
        """The host[:port] the registry's API is served on."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def reference(self) -> str:
        """What follows /manifests/: the digest when there is one, else the tag."""
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


def locate(text: str) -> Location:
    """Where the image `text` lives; raises InvalidArgument for a bad reference."""
    parsed = refs.parse(text)
    registry = parsed.registry
    repository = parsed.repository
    if registry is None or registry in HUB_ALIASES:
        registry = DOCKER_HUB
        if "/" not in repository:
            repository = "library/" + repository
        familiar = repository[len("library/"):] if (
            repository.startswith("library/") and repository.count("/") == 1) else repository
    else:
        familiar = parsed.name
    return Location(registry, repository, familiar, tag=parsed.tag, digest=parsed.digest,
                    tag_typed=not parsed.digest and ":" in text.rpartition("/")[2])


def registry_root(name: str) -> Location:
    """The registry itself, without a repository: what `moor login` talks to."""
    return Location(name, "")


def registry_of(server: str | None) -> str:
    """The registry a `moor login`/`logout` argument names: `https://host/...` -> `host`,
    nothing or a Docker Hub alias -> `docker.io`."""
    if not server:
        return DOCKER_HUB
    text = server.strip()
    if "://" in text:
        text = urlsplit(text).netloc
    text = text.split("/", 1)[0]
    if not _SERVER.match(text):
        raise InvalidArgument(f"invalid registry address: {server!r}")
    return DOCKER_HUB if text.lower() in HUB_ALIASES else text


def is_loopback(netloc: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1, with or without a port."""
    if netloc.startswith("["):
        host = netloc[1:].partition("]")[0]
    else:
        host = netloc.rpartition(":")[0] if netloc.count(":") == 1 else netloc
    return host in ("localhost", "::1") or bool(_LOOPBACK_V4.match(host))


def insecure_registries() -> set[str]:
    """The registries `MOORAGE_INSECURE_REGISTRIES` (host[:port],...) names insecure."""
    return {item.strip() for item in os.environ.get(INSECURE_ENV, "").split(",")
            if item.strip()}
