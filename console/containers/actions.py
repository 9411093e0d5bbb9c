"""What a user can do to containers. Views and the API call these; these alone make jobs.

Each action, in one transaction: checks the permission (a denied attempt is audited and
nothing is queued), changes the rows, writes the audit entry, and registers the job's dispatch
for after the commit. When Redis cannot be reached the dispatch fails the job, takes back what
the action changed for it, and raises `RedisUnreachable` (answered with 503).

What is wrong is raised as the console's errors (`console.core.errors`): Forbidden for what
the user may not do (audited first), Invalid for bad parameters, Conflict for a request that
does not fit the container's or its host's state.
"""
import re
import secrets
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone

from console import audit
from console.containers.models import Container
from console.containers.run_request import RunRequest, validate_run
from console.containers.status import ACTION_STATES, Status
from console.core.errors import Conflict, Forbidden, Invalid
from console.core.permissions import refuse
from console.hosts.models import HostGrant
from console.images.models import Image
from console.images.requests import check_name_is_free_for, reference_errors
from console.jobs import dispatch
from console.jobs.models import Job
from console.quotas.checks import RUNNING_STATES, QuotaExceeded, check_quota
from console.streams import publish
from console.teams.reasons import clean_reason, require_reason

VERBS = ("start", "stop", "kill", "restart", "remove", "commit")
COMMIT_INSTRUCTIONS = ("CMD", "ENV", "WORKDIR", "EXPOSE", "LABEL", "ENTRYPOINT", "USER")
SIGNAL_PATTERN = re.compile(r"^(SIG)?[A-Z0-9]{2,10}$|^\d{1,2}$")
# A commit's change is one instruction on one line; its message may have lines and tabs.
LINE_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
TEXT_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def new_engine_id() -> str:
    return secrets.token_hex(32)


def run(user, req: RunRequest, *, request=None) -> tuple[Container, Job]:
    """Request a new container (`req` comes from `run_request.validate_run`)."""
    kind = Job.Kind.RUN if req.start else Job.Kind.CREATE
    try:
        with transaction.atomic():
            check_quota(req.team, req.host, adding={"containers": 1 if req.start else 0})
            container = Container.objects.create(
                engine_id=new_engine_id(), name=req.name, host=req.host, team=req.team,
                image=req.image, image_ref=req.image_ref, command=req.command, env=req.env,
                options=req.options, state=Status.PENDING, created_by=user)
            # Where `host: "any"` put it, and why, is the first thing the job says.
            job = Job.objects.create(
                kind=kind, host=req.host, team=req.team, container=container,
                target_id=container.engine_id, target_name=req.name, requested_by=user,
                output=f"{req.placement}\n" if req.placement else "")
            audit.record(f"container.{kind}", actor=user, request=request, team=req.team,
                         target=container, host=req.host, params=req.audit_params(),
                         result="requested", job=job)
            # Not queued (Redis unreachable): the row of a container no engine will make goes.
            dispatch.enqueue_on_commit(job, undo=lambda: Container.objects.filter(
                pk=container.pk, state=Status.PENDING).delete())
            transaction.on_commit(lambda: (publish.container_changed(container),
                                           publish.job_changed(job)))
    except IntegrityError:
        raise Invalid(fields={"name": [f"The name {req.name!r} is already in use on host "
                                        f"{req.host.name}."]}) from None
    except QuotaExceeded as error:
        audit.record(f"container.{kind}", actor=user, request=request, team=req.team,
                     target_type="container", target_name=req.name, host=req.host,
                     params=req.audit_params(), result="denied", error=error.message)
        raise
    return container, job


def check_run(user, data: dict, *, request=None) -> RunRequest:
    """The run request `data` (the fields of `POST /api/containers/`) asks for, checked by
    `validate_run` for the run form and the API alike. One the user may not ask for at all
    (options that hand over the host, or no team in which they may run) is audited before
    it is refused."""
    try:
        return validate_run(user, data)
    except Forbidden as error:
        refuse_run(user, data, error, request=request)
        raise


def refuse_run(user, data: dict, error: Forbidden, *, request=None) -> None:
    """Audit a run the user may not ask for; the caller then raises `error`."""
    audit.record("container.run", actor=user, request=request, result="denied",
                 target_type="container", target_name=str(data.get("name") or "")[:200],
                 params=dict(data), error=str(error))


def act(user, container: Container, verb: str, *, request=None, params=None) -> Job:
    """start, stop, kill, restart, remove or commit one container. A `reason` among the
    parameters is kept in the audit entry; the container's team may require one
    (`console.teams.reasons`: removing, killing, committing over an existing tag)."""
    if verb not in VERBS:
        raise ValueError(f"unknown container action {verb!r}")
    params = clean_params(verb, params or {}, user)
    reason = params.pop("reason", "")
    if not Container.objects.restrict(user, verb).filter(pk=container.pk).exists():
        deny(user, container, verb, request=request)
    host = container.host
    if verb == "commit" and params["repository"]:
        check_name_is_free_for(user, host, f"{params['repository']}:{params['tag'] or 'latest'}",
                               container.team)
    sensitive = reason_action(verb, params, host)
    if sensitive:
        reason = require_reason(container.team, sensitive, reason)
    if not host.is_online:
        raise Conflict(f"Host {host.name} is offline: the container cannot be reached.")
    if container.state not in ACTION_STATES[verb]:
        raise Conflict(f"Cannot {verb} container {container.display_name}: it is "
                       f"{container.state}.")
    try:
        return requested(user, container, verb, params, reason=reason, request=request)
    except QuotaExceeded as error:
        audit.record(f"container.{verb}", actor=user, request=request, team=container.team,
                     target=container, host=host, params=with_reason(params, reason),
                     result="denied", error=error.message)
        raise


def reason_action(verb: str, params: dict, host) -> str:
    """Which of the teams' reason settings (`console.teams.reasons`) an action falls under:
    removing, killing, committing over a tag the host has; '' for the others."""
    if verb in ("remove", "kill"):
        return verb
    if verb == "commit" and params.get("repository"):
        reference = f"{params['repository']}:{params['tag'] or 'latest'}"
        if any(reference in image.tags for image in Image.objects.filter(host=host).only("tags")):
            return "commit-overwrite"
    return ""


def with_reason(params: dict, reason: str) -> dict:
    """An action's parameters as its audit entry keeps them: with the reason, when one was
    given (the job does not carry it)."""
    return {**params, "reason": reason} if reason else params


def requested(user, container: Container, verb: str, params: dict, *, reason: str = "",
              request=None) -> Job:
    """The job of an action `act` checked, made in one transaction with its audit entry; a
    start past the team's quota on the host raises QuotaExceeded."""
    host = container.host
    with transaction.atomic():
        locked = Container.objects.select_for_update().get(pk=container.pk)
        if locked.state not in ACTION_STATES[verb]:
            raise Conflict(f"Cannot {verb} container {container.display_name}: it is "
                           f"{locked.state}.")
        if verb in ("start", "restart") and locked.state not in RUNNING_STATES:
            check_quota(container.team, host, adding={"containers": 1})
        undo = None
        if verb == "remove":
            undo = partial(undo_removal, container.pk, locked.state)
            locked.transition(Status.REMOVING)
            locked.save(update_fields=["state", "updated_at"])
            container.state = locked.state
        job = Job.objects.create(
            kind=verb, host=host, team=container.team, container=container,
            target_id=container.engine_id, target_name=container.name, requested_by=user,
            params=params)
        audit.record(f"container.{verb}", actor=user, request=request, team=container.team,
                     target=container, host=host, params=with_reason(params, reason),
                     result="requested", job=job)
        dispatch.enqueue_on_commit(job, undo=undo)
        transaction.on_commit(lambda: (publish.container_changed(container),
                                       publish.job_changed(job)))
    return job


def undo_removal(container_id: int, engine_state: str) -> None:
    """A removal that could not be queued: the row is again what the engine last reported."""
    locked = Container.objects.select_for_update().filter(
        pk=container_id, state=Status.REMOVING).first()
    if locked is not None:
        locked.observe(engine_state)
        locked.save(update_fields=["state", "updated_at"])


def deny(user, container: Container, verb: str, *, request=None):
    """Audit a refused attempt, then refuse (Forbidden)."""
    refuse(f"container.{verb}", user, request, team=container.team, target=container,
           host=container.host,
           error=f"{getattr(user, 'username', 'anonymous')} may not {verb} this container",
           message=f"You may not {verb} container {container.display_name}.")


def clean_params(verb: str, params: dict, user) -> dict:
    """The parameters each action accepts; anything else is refused."""
    allowed = {"stop": {"timeout"}, "restart": {"timeout"}, "kill": {"signal"},
               "remove": {"force", "volumes"}, "start": set(),
               "commit": {"repository", "tag", "message", "changes", "pause"}}[verb] | {"reason"}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise Invalid(fields={name: [f"Unknown parameter {name!r} for {verb}."]
                              for name in unknown})
    clean = {}
    if params.get("timeout") not in (None, ""):
        try:
            clean["timeout"] = int(params["timeout"])
            if not 0 <= clean["timeout"] <= 3600:
                raise ValueError
        except (TypeError, ValueError):
            raise Invalid(fields={"timeout": ["The timeout is a number of seconds (0-3600)."]}) \
                from None
    if params.get("signal") not in (None, ""):
        signal = str(params["signal"]).upper()
        if not SIGNAL_PATTERN.fullmatch(signal):
            raise Invalid(fields={"signal": [f"Invalid signal {params['signal']!r}."]})
        clean["signal"] = signal
    for name in ("force", "volumes"):
        if name in params:
            clean[name] = params[name] in (True, "1", "true", "on", 1)
    if verb == "commit":
        clean.update(clean_commit(params, user))
    clean["reason"] = clean_reason(params.get("reason"))
    return clean


def clean_commit(params: dict, user) -> dict:
    repository = str(params.get("repository") or "").strip()
    tag = str(params.get("tag") or "").strip()
    errors = reference_errors(repository, tag, required=False)
    changes = params.get("changes") or []
    if isinstance(changes, str):
        changes = [line.strip() for line in changes.splitlines() if line.strip()]
    if not isinstance(changes, list):
        errors["changes"] = ["Changes are a list of instructions."]
        changes = []
    for change in changes:
        word = str(change).split(None, 1)[0].upper() if str(change).strip() else ""
        if word not in COMMIT_INSTRUCTIONS:
            errors.setdefault("changes", []).append(
                f"{str(change)[:40]!r}: only {', '.join(COMMIT_INSTRUCTIONS)} may be changed.")
        elif LINE_CONTROL_CHARACTERS.search(str(change)):
            errors.setdefault("changes", []).append(
                f"{str(change)[:40]!r}: one instruction per change, without control "
                "characters.")
    message = str(params.get("message") or "")
    if TEXT_CONTROL_CHARACTERS.search(message):
        errors["message"] = ["The message may hold lines and tabs, but no other control "
                             "characters."]
    if errors:
        raise Invalid(fields=errors)
    author = user.get_full_name() or user.username
    if user.email:
        author = f"{author} <{user.email}>"
    return {"repository": repository, "tag": tag, "message": message[:5000],
            "changes": [str(c) for c in changes], "author": author,
            "pause": params.get("pause", True) not in (False, "0", "false")}


def assign_team(user, container: Container, team, *, request=None) -> Container:
    """Give `container` to `team` (superusers): a container made outside the console without
    a team label comes with none, and only superusers see it until then. The team must be
    granted the container's host."""
    if not user.is_superuser:
        refuse("container.assign", user, request, team=container.team, target=container,
               host=container.host, message="Only a superuser may give a container to a team.")
    if not HostGrant.objects.filter(team=team, host=container.host).exists():
        raise Invalid(fields={"team": [f"Team {team.name} is not granted host "
                                        f"{container.host.name}."]})
    previous = container.team
    with transaction.atomic():
        container.updated_at = timezone.now()
        Container.objects.filter(pk=container.pk).update(team=team,
                                                         updated_at=container.updated_at)
        container.team = team
        audit.record("container.assign", actor=user, request=request, team=team,
                     target=container, host=container.host,
                     params={"team": team.name, "previous": previous.name if previous else None})
        members = list(team.memberships.values_list("user_id", flat=True))
        if previous is not None:
            members += previous.memberships.values_list("user_id", flat=True)
        transaction.on_commit(lambda: publish.container_changed(container))
        publish.permissions_changed_on_commit(members)
    return container
