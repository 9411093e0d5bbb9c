"""Image references: `name[:tag]`, `name@sha256:<hex>`, `name:tag@sha256:<hex>`, with Docker's
grammar.

Names are kept in their familiar form (`busybox`, `team/app`, `127.0.0.1:5000/app`), to which
Docker Hub's other spellings come back as Docker normalises them: `library/busybox`,
`docker.io/library/busybox` and `index.docker.io/library/busybox` are `busybox`,
`docker.io/team/app` is `team/app`. A reference without a tag or digest means `latest`. Every
reference is validated before it reaches a path or an argv.
"""

import re

from runtime.errors import InvalidArgument

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?"
_NAME = re.compile(rf"^(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")

DEFAULT_TAG = "latest"
MAX_NAME = 255
# Docker Hub's names for itself that Docker's normalisation folds into the familiar form.
HUB_DOMAINS = ("docker.io", "index.docker.io")
OFFICIAL_PREFIX = "library/"


class Reference:
    """A parsed reference: `name`, and a `tag` or a `digest`."""

    __slots__ = ("name", "tag", "digest")

    def __init__(self, name: str, tag: str | None = None, digest: str | None = None):
        self.name, self.tag, self.digest = name, tag, digest

    def __eq__(self, other):
        return isinstance(other, Reference) and \
            (self.name, self.tag, self.digest) == (other.name, other.tag, other.digest)

    def __hash__(self):
        return hash((self.name, self.tag, self.digest))

    def __repr__(self):
        return f"Reference({self.name!r}, tag={self.tag!r}, digest={self.digest!r})"

    def __str__(self) -> str:
        if self.digest:
            return f"{self.name}@{self.digest}"
        return f"{self.name}:{self.tag or DEFAULT_TAG}"

    @property
    def registry(self) -> str | None:
        """The registry host when the first component names one (`host:port/...`, `a.b/...`,
        `localhost/...`)."""
        first, _, rest = self.name.partition("/")
        if rest and ("." in first or ":" in first or first == "localhost"):
            return first
        return None

    @property
    def repository(self) -> str:
        """The name without its registry host."""
        return self.name.split("/", 1)[1] if self.registry else self.name


def parse(text: str) -> Reference:
    """Parse and validate `name[:tag]` or `name@digest`; raise InvalidArgument otherwise."""
    if not text or len(text) > MAX_NAME + 200 or any(c in text for c in "\0\n\r\t "):
        raise InvalidArgument(f"invalid reference format: {text!r}")
    name, digest = text, None
    if "@" in text:
        name, digest = text.split("@", 1)
        if not _DIGEST.match(digest):
            raise InvalidArgument(f"invalid reference format: bad digest in {text!r}")
    tag = None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
        if not _TAG.match(tag):
            raise InvalidArgument(f"invalid reference format: bad tag {tag!r}")
    if len(name) > MAX_NAME:
        raise InvalidArgument("invalid reference format: repository name must not be more "
                              f"than {MAX_NAME} characters")
    first, slash_found, _ = name.partition("/")
    names_a_registry = slash_found and ("." in first or ":" in first or first == "localhost")
    if slash_found and not names_a_registry and not re.match(rf"^{_COMPONENT}$", first):
        raise InvalidArgument(
            f"invalid reference format: repository name ({name}) must be lowercase"
            if first.lower() != first else f"invalid reference format: {text!r}")
    if not _NAME.match(name):
        if name.lower() != name and _NAME.match(name.lower()):
            raise InvalidArgument(
                f"invalid reference format: repository name ({name}) must be lowercase")
        raise InvalidArgument(f"invalid reference format: {text!r}")
    if digest is None and tag is None:
        tag = DEFAULT_TAG
    return Reference(name=familiar_name(name), tag=tag, digest=digest)


def familiar_name(name: str) -> str:
    """A valid repository name in its familiar form: without Docker Hub's domain, and
    without `library/` for its official images."""
    first, slash, rest = name.partition("/")
    if slash and first in HUB_DOMAINS:
        name = rest
    if name.startswith(OFFICIAL_PREFIX) and name.count("/") == 1:
        name = name[len(OFFICIAL_PREFIX):]
    return name


def looks_like_id(text: str) -> bool:
    """True for `sha256:<hex>` or a bare hex string that could be an ID or ID prefix."""
    if text.startswith("sha256:"):
        text = text[7:]
    return bool(text) and len(text) <= 64 and all(c in "0123456789abcdef" for c in text)
