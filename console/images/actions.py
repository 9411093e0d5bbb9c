"""What a user can do to images: tag them, pull them, build them. Like `containers.actions`,
each action checks the permission (a denied attempt is audited, nothing is queued), writes the
job row and the audit entry in one transaction, and sends the job to the host after the commit.
A pull or build request is checked first (`check_pull`, `check_build`: `images.requests`,
the forms' and the API's one check); one the user may not make is audited (`refuse_request`).

Tags are the host's, not a team's: `name:tag` moves to the image tagged, off any image it named
before. So a user may only take a name that is free on the host or already names an image of
the team they tag for; otherwise one team could re-point another's (or the host's base) image.
"""
from django.db import transaction

from console import audit
from console.core.errors import Conflict, ConsoleError, Forbidden, Invalid
from console.core.permissions import refuse
from console.images.models import BuildContext, Commit, Image
from console.images.requests import (
    check_name_is_free_for,
    reference_errors,
    validate_build,
    validate_pull,
)
from console.jobs import dispatch
from console.jobs.models import Job
from console.streams import publish


def tag_image(user, image: Image, repository: str, tag: str = "", *, request=None) -> Job:
    allowed = Image.objects.restrict(user, "tag").filter(pk=image.pk).exists()
    return _tag(user, image.host, image.image_id, image.team, repository, tag, allowed=allowed,
                target=image, request=request)


def tag_commit(user, commit: Commit, repository: str, tag: str = "", *, request=None) -> Job:
    """Tag the image a commit made (the image may be untagged, even gone from the list)."""
    allowed = Commit.objects.restrict(user, "tag").filter(pk=commit.pk).exists()
    return _tag(user, commit.host, commit.new_image_id, commit.team, repository, tag,
                allowed=allowed, target=commit, request=request)


def _tag(user, host, image_id, team, repository, tag, *, allowed, target, request) -> Job:
    repository, tag = (repository or "").strip(), (tag or "").strip()
    target_fields = {"target_type": "image", "target_id": image_id,
                     "target_name": f"{repository}:{tag or 'latest'}"}
    if not allowed:
        refuse("image.tag", user, request, team=team, host=host,
               params={"repository": repository, "tag": tag},
               error=f"{user.username} may not tag this image",
               message="You may not tag this image.", **target_fields)
    errors = reference_errors(repository, tag, required=True)
    if errors:
        raise Invalid(fields=errors)
    reference = f"{repository}:{tag or 'latest'}"
    check_name_is_free_for(user, host, reference, team)
    if not host.is_online:
        raise Conflict(f"Host {host.name} is offline: the image cannot be tagged now.")
    with transaction.atomic():
        job = Job.objects.create(kind=Job.Kind.TAG, host=host, team=team, requested_by=user,
                                 target_id=image_id, target_name=reference,
                                 params={"image": image_id, "reference": reference})
        audit.record("image.tag", actor=user, request=request, team=team, host=host,
                     params={"repository": repository, "tag": tag or "latest",
                             "commit": target.pk if isinstance(target, Commit) else None},
                     result="requested", job=job, **target_fields)
        dispatch.enqueue_on_commit(job)
        transaction.on_commit(lambda: publish.job_changed(job))
    return job


def pull(user, req, *, request=None) -> Job:
    """Pull `req.reference` onto `req.host` for `req.team` (`req` from `validate_pull`)."""
    with transaction.atomic():
        job = Job.objects.create(kind=Job.Kind.PULL, host=req.host, team=req.team,
                                 requested_by=user, target_name=req.tag or req.reference[:200],
                                 params=req.params())
        audit.record("image.pull", actor=user, request=request, team=req.team, host=req.host,
                     target_type="image", target_name=req.tag or req.reference,
                     params=req.params(), result="requested", job=job)
        dispatch.enqueue_on_commit(job)
        transaction.on_commit(lambda: publish.job_changed(job))
    return job


def build(user, req, *, request=None) -> Job:
    """Build `req.dockerfile` (with `req.context`) on `req.host` for `req.team` (`req` from
    `validate_build`). The context waits in the database for the host to read it."""
    with transaction.atomic():
        job = Job.objects.create(kind=Job.Kind.BUILD, host=req.host, team=req.team,
                                 requested_by=user,
                                 target_name=", ".join(req.tags)[:200] or "(untagged)",
                                 params=req.params())
        if req.context is not None:
            BuildContext.objects.create(job=job, archive=req.context, size=len(req.context),
                                        sha256=req.context_facts()["context_sha256"])
        audit.record("image.build", actor=user, request=request, team=req.team, host=req.host,
                     target_type="image", target_name=", ".join(req.tags),
                     params=req.audit_params(), result="requested", job=job)
        dispatch.enqueue_on_commit(job)
        transaction.on_commit(lambda: publish.job_changed(job))
    return job


def check_pull(user, data: dict, *, request=None):
    """The pull `data` (the fields of `POST /api/images/pull/`) asks for, checked by
    `requests.validate_pull`; one the user may not ask for is audited before it is refused."""
    return audited(user, "pull", data, request, lambda: validate_pull(user, data))


def check_build(user, data: dict, context: bytes | None = None, *, context_problem: str = "",
                request=None):
    """The build `data` (the fields of `POST /api/images/build/`, `context` the archive)
    asks for, checked by `requests.validate_build`; one the user may not ask for is audited
    before it is refused."""
    return audited(user, "build", data, request, lambda: validate_build(
        user, data, context, context_problem=context_problem))


def audited(user, verb: str, data: dict, request, check):
    try:
        return check()
    except Forbidden as error:
        refuse_request(user, verb, data, error, request=request)
        raise


def refuse_request(user, verb: str, data: dict, error: ConsoleError, *, request=None) -> None:
    """Audit a pull or build (`verb`) the user may not ask for (no team in which they may, or
    a name that is another team's); the caller then answers 403. Nothing else is written."""
    params = {key: value for key, value in data.items()
              if key in ("reference", "host", "team", "tags", "build_args", "no_cache")}
    audit.record(f"image.{verb}", actor=user, request=request, result="denied",
                 target_type="image",
                 target_name=str(data.get("reference") or data.get("tags") or "")[:200],
                 params=params, error=str(error))
