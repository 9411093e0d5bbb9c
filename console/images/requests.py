"""Checking a request to pull or build an image, the same way for the forms and the API.

`validate_pull(user, data)` takes the fields of `POST /api/images/pull/`, `validate_build(user,
data, context)` those of `POST /api/images/build/` (the context archive as bytes, already taken
out of the request); each returns a request, or raises `Invalid` with one clear message per
field. Forbidden (403): a user in no team in which they may pull (or build), and a name that is
another team's (or the host's) on that host (`check_name_is_free_for`, as commit and tag refuse
it). A build whose FROM or COPY --from names an image the team may not run is refused as if
that image did not exist (400). References, tags and the Dockerfile are read with the engine's
own grammar (`core.engine_grammar`); a repository and tag the console names itself (tag,
commit) are checked by `reference_errors`.
"""
import hashlib
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q

from console.core.engine_grammar import (
    dockerfile_problem,
    local_tag,
    named_images,
    pulled_tag,
    registry_of,
)
from console.core.errors import FieldErrors, Forbidden, Invalid
from console.core.permissions import may_somewhere, user_may
from console.core.targets import choose_host, choose_team
from console.hosts.models import Host
from console.images.models import Image
from console.teams.models import Team

PULL_FIELDS = {"reference", "host", "team"}
BUILD_FIELDS = {"host", "team", "tags", "dockerfile", "build_args", "no_cache"}
MAX_REFERENCE = 500
MAX_DOCKERFILE_CHARS = 256 * 1024
MAX_TAGS = 10
MAX_BUILD_ARGS = 100
MAX_BUILD_ARG_VALUE = 4096
BUILD_ARG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")
REPOSITORY_PATTERN = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
TAG_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def reference_errors(repository: str, tag: str, *, required: bool) -> dict:
    """Field errors of a `repository` and `tag` pair (empty when they are fine)."""
    errors = {}
    if not repository:
        if required:
            errors["repository"] = ["A repository is needed, e.g. team/tool."]
        elif tag:
            errors["repository"] = ["A tag needs a repository."]
    elif len(repository) > 255 or not REPOSITORY_PATTERN.match(repository):
        errors["repository"] = ["Invalid repository: lowercase letters, digits and . _ - /"]
    if tag and not TAG_PATTERN.match(tag):
        errors["tag"] = ["Invalid tag: letters, digits, '_', '.', '-' (at most 128)."]
    return errors


def check_name_is_free_for(user, host, reference: str, team, *, field="repository") -> None:
    """Refuse (Forbidden, the error under `field`) to move `reference` off an image
    the team does not own. A host has tens or hundreds of images: reading their tags is
    cheaper than teaching every database to search inside JSON lists."""
    if user.is_superuser:
        return
    for image in Image.objects.filter(host=host).select_related("team"):
        if reference in image.tags and (image.team_id is None
                                        or image.team_id != getattr(team, "pk", None)):
            # Which team holds it is said only to those who may see that team.
            owner = ("the host" if image.team_id is None
                     else f"team {image.team.name}" if user_may(user, "view", image.team)
                     else "another team")
            raise Forbidden(fields={field: [
                f"{reference} names an image of {owner} on {host.name}: choose another name."]})


@dataclass
class PullRequest:
    host: Host
    team: Team | None
    reference: str
    tag: str            # the tag the pull leaves on the host; '' for a pull by digest

    def params(self) -> dict:
        return {"reference": self.reference, "tag": self.tag}


@dataclass
class BuildRequest:
    host: Host
    team: Team | None
    dockerfile: str
    tags: list[str] = field(default_factory=list)
    build_args: dict = field(default_factory=dict)
    no_cache: bool = False
    context: bytes | None = None

    def params(self) -> dict:
        """What the build's host needs (the context itself is stored apart: BuildContext)."""
        return {"tags": self.tags, "dockerfile": self.dockerfile, "build_args": self.build_args,
                "no_cache": self.no_cache, **self.context_facts()}

    def audit_params(self) -> dict:
        return {"tags": self.tags, "build_args": self.build_args, "no_cache": self.no_cache,
                "dockerfile_sha256": hashlib.sha256(self.dockerfile.encode()).hexdigest(),
                "dockerfile_lines": self.dockerfile.count("\n") + 1, **self.context_facts()}

    def context_facts(self) -> dict:
        if self.context is None:
            return {"context_size": 0}
        return {"context_size": len(self.context),
                "context_sha256": hashlib.sha256(self.context).hexdigest()}


def check_registry_allowed(user, reference: str) -> None:
    """MOORAGE_PULL_REGISTRIES, when set, names the registries pulls may contact (superusers
    pull from anywhere): a refusal is a 403, audited."""
    allowed = settings.PULL_REGISTRIES
    if not allowed or user.is_superuser:
        return
    registry = registry_of(reference)
    if registry not in allowed:
        errors = FieldErrors()
        errors.add("reference", f"Pulls from {registry} are not allowed here; this console "
                                f"pulls from {', '.join(allowed)}.")
        raise Forbidden(fields=errors)


def refuse_outsiders(user, data: dict, action: str, fields: set, what: str) -> None:
    errors = FieldErrors()
    for name in sorted(set(data) - fields):
        errors.add(name, f"Unknown field {name!r}.")
    if not may_somewhere(user, action):
        errors.add("team", f"You are in no team in which you may {what}.")
        raise Forbidden(fields=errors)
    if errors:
        raise Invalid(fields=errors)


def validate_pull(user, data: dict) -> PullRequest:
    refuse_outsiders(user, data, "pull", PULL_FIELDS, "pull images")
    errors = FieldErrors()
    team = choose_team(user, data.get("team"), errors, action="pull", what="pull images")
    host = choose_host(user, team, data.get("host"), errors)
    reference, tag = text(data.get("reference")), ""
    if not reference:
        errors.add("reference", "This field is required, e.g. registry.example:5000/team/app:1.")
    elif len(reference) > MAX_REFERENCE:
        errors.add("reference", f"At most {MAX_REFERENCE} characters.")
    else:
        try:
            tag = pulled_tag(reference)
        except ValueError as error:
            errors.add("reference", f"{error}.")
    if errors:
        raise Invalid(fields=errors)
    check_registry_allowed(user, reference)
    if tag:
        check_name_is_free_for(user, host, tag, team, field="reference")
    return PullRequest(host=host, team=team, reference=reference, tag=tag)


def validate_build(user, data: dict, context: bytes | None = None, *,
                   context_problem: str = "") -> BuildRequest:
    """`context_problem`: why the request's context could not be read (bad base64, say)."""
    refuse_outsiders(user, data, "build", BUILD_FIELDS, "build images")
    errors = FieldErrors()
    team = choose_team(user, data.get("team"), errors, action="build", what="build images")
    host = choose_host(user, team, data.get("host"), errors)
    dockerfile = data.get("dockerfile")
    if not isinstance(dockerfile, str) or not dockerfile.strip():
        errors.add("dockerfile", "This field is required: the Dockerfile's text.")
    elif len(dockerfile) > MAX_DOCKERFILE_CHARS:
        errors.add("dockerfile", f"At most {MAX_DOCKERFILE_CHARS // 1024} KiB.")
    else:
        dockerfile = dockerfile.replace("\r\n", "\n")
        problem = dockerfile_problem(dockerfile)
        if problem:
            errors.add("dockerfile", problem)
    tags = parse_tags(data.get("tags"), errors)
    build_args = parse_build_args(data.get("build_args"), errors)
    no_cache = parse_flag(data.get("no_cache"), "no_cache", errors)
    if context_problem:
        errors.add("context", context_problem)
    elif context is not None:
        check_context(context, errors)
    if errors:
        raise Invalid(fields=errors)
    check_named_images(user, host, team, dockerfile, build_args)
    for tag in tags:
        check_name_is_free_for(user, host, tag, team, field="tags")
    return BuildRequest(host=host, team=team, dockerfile=dockerfile, tags=tags,
                        build_args=build_args, no_cache=no_cache, context=context)


def images_usable_by(user, host, team):
    """The images of `host` a build for `team` may start from, copy from and take from the
    cache: those `containers.run_request.read_image` lets it run (the team's own and the host's,
    which have no team; every image, for a superuser)."""
    images = Image.objects.restrict(user, "run").filter(host=host)
    if not user.is_superuser:
        images = images.filter(Q(team__isnull=True) | Q(team=team))
    return images


def check_named_images(user, host, team, dockerfile: str, build_args: dict) -> None:
    """Refuse a Dockerfile whose FROM or COPY --from names an image the team may not use,
    in the words of an image that is not there (it may well not be). The host checks again
    whatever the Dockerfile computes (`console.agent.image_tasks.build`)."""
    if user.is_superuser:
        return
    usable = list(images_usable_by(user, host, team))
    errors = FieldErrors()
    for line, what, name in named_images(dockerfile, build_args):
        if not any(image.matches(name) for image in usable):
            errors.add("dockerfile", f"Dockerfile line {line}: {what} {name[:200]}: no such "
                                     f"image on {host.name}; pull or build it first.")
    if errors:
        raise Invalid(fields=errors)


def text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def parse_tags(value, errors) -> list[str]:
    """Tags as a list, or one string of tags separated by spaces or commas."""
    if value in (None, "", []):
        return []
    if isinstance(value, str):
        value = [item for item in re.split(r"[\s,]+", value) if item]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        errors.add("tags", "Tags are a list of name[:tag], e.g. [\"team/app:1\"].")
        return []
    if len(value) > MAX_TAGS:
        errors.add("tags", f"At most {MAX_TAGS} tags.")
        return []
    tags = []
    for item in value:
        try:
            tag = local_tag(item.strip())
        except ValueError as error:
            errors.add("tags", f"{error}.")
            continue
        if tag not in tags:
            tags.append(tag)
    return tags


def parse_build_args(value, errors) -> dict:
    """Build arguments as {NAME: value}, a list of NAME=value, or one NAME=value per line."""
    if value in (None, "", [], {}):
        return {}
    if isinstance(value, str):
        value = [line.strip() for line in value.splitlines() if line.strip()]
    if isinstance(value, list):
        pairs = []
        for item in value:
            if not isinstance(item, str) or "=" not in item:
                errors.add("build_args", f"{str(item)[:40]!r} is not NAME=value.")
                return {}
            pairs.append(item.split("=", 1))
        value = dict(pairs)
    if not isinstance(value, dict):
        errors.add("build_args", "Build arguments are {\"NAME\": \"value\"} or NAME=value lines.")
        return {}
    if len(value) > MAX_BUILD_ARGS:
        errors.add("build_args", f"At most {MAX_BUILD_ARGS} build arguments.")
        return {}
    for name, item in value.items():
        if not BUILD_ARG_NAME.match(str(name)):
            errors.add("build_args", f"{str(name)[:40]!r} is not a build argument name.")
        elif not isinstance(item, str) or len(item) > MAX_BUILD_ARG_VALUE:
            errors.add("build_args", f"The value of {name} is text of at most "
                                     f"{MAX_BUILD_ARG_VALUE} characters.")
    return dict(value)


def parse_flag(value, name, errors) -> bool:
    if isinstance(value, bool):
        return value
    if value is None or (isinstance(value, str) and value.strip().lower() in FALSE_WORDS):
        return False
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS:
        return True
    errors.add(name, "Must be true or false.")
    return False


def too_large(size: int) -> str:
    limit = settings.BUILD_CONTEXT_MAX_BYTES
    return (f"The build context is {size} bytes; at most {limit} ({limit >> 20} MiB) may be "
            "sent. Build larger ones on the host with moor build.")


ARCHIVE_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")


def check_context(data: bytes, errors) -> None:
    """The context's size, and that it looks like an archive the host's unpacker reads (tar,
    or tar compressed with gzip, bzip2 or xz); the host reads it for real."""
    if len(data) > settings.BUILD_CONTEXT_MAX_BYTES:
        errors.add("context", too_large(len(data)))
    elif not (data.startswith(ARCHIVE_MAGIC) or data[257:262] == b"ustar"
              or (len(data) >= 1024 and not data.strip(b"\0"))):
        errors.add("context", "The build context is a tar archive (.tar, .tar.gz, .tar.bz2 or "
                              ".tar.xz).")
