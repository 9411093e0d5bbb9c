"""What a user can do to stacks. Views and the API call these; these alone make jobs and audit
entries (as `containers.actions` does for containers).

Each action, in one transaction: checks the permission (a denied attempt is audited and
nothing is queued), writes the rows, the job and the audit entry, and sends the job to the
stack's host after the commit. A request Redis cannot take fails its job and takes back what
it wrote (the new stack, the new version, the `removing` mark), then answers 503.

Who may do what: viewers see; operators start, stop and restart; developers create, change,
deploy, take down and remove (`console.core.roles`). A stack made outside the console has no
file and no team until a superuser gives it one; only superusers act on it until then.

A deploy (a new stack's first version, a new version, a version again) is held to the team's
quota on the host as a run is (`check_stack_quota`), and, where the team requires one
(`console.teams.reasons`: `stack-deploy`, `stack-remove`), a deploy or a removal needs a
reason, kept in its audit entry (and a version's, in the history).
"""
from django.db import IntegrityError, transaction
from django.db.models import Max

from console import audit
from console.core.errors import Conflict, Forbidden, Invalid
from console.core.permissions import refuse
from console.hosts.models import HostGrant
from console.jobs import dispatch
from console.jobs.models import Job
from console.quotas.checks import RUNNING_STATES, QuotaExceeded, check_quota
from console.stacks.models import Stack, StackVersion
from console.stacks.requests import StackRequest, validate_stack
from console.streams import publish
from console.teams.reasons import require_reason

# A stack's verbs, the role action each needs, and the job kind each makes.
VERBS = {"start": "start", "stop": "stop", "restart": "restart", "down": "remove"}
JOB_KINDS = {"start": Job.Kind.STACK_START, "stop": Job.Kind.STACK_STOP,
             "restart": Job.Kind.STACK_RESTART, "down": Job.Kind.STACK_DOWN}
BUSY = (Job.State.QUEUED, Job.State.RUNNING)


# -- checking requests ------------------------------------------------------------------------

def check_create(user, data: dict, *, request=None) -> StackRequest:
    """A new stack's request (`validate_stack`); one the user may not make at all is audited
    before it is refused."""
    try:
        return validate_stack(user, data)
    except Forbidden as error:
        refuse_create(user, data, error, request=request)
        raise


def refuse_create(user, data: dict, error: Forbidden, *, request=None) -> None:
    """Audit a new stack the user may not ask for; the caller then raises `error`."""
    audit.record("stack.create", actor=user, request=request, result="denied",
                 target_type="stack", target_name=str(data.get("name") or "")[:200],
                 params=request_params(data), error=str(error))


def check_change(user, stack: Stack, data: dict, *, request=None) -> StackRequest:
    """A new version of `stack` (`compose`, `env`, `message`), if the user may deploy it."""
    allow(user, stack, "create", "deploy", request=request)
    ready(stack, needs_team=True)
    try:
        return validate_stack(user, data, stack=stack)
    except Forbidden as error:
        audit.record("stack.deploy", actor=user, request=request, result="denied",
                     team=stack.team, host=stack.host, target=stack,
                     params=request_params(data), error=str(error))
        raise


def request_params(data: dict) -> dict:
    """What of a refused request the audit keeps: not the file (it may be large), the names
    of its variables only."""
    return {"name": str(data.get("name") or "")[:63], "host": str(data.get("host") or "")[:63],
            "team": str(data.get("team") or "")[:64],
            "message": str(data.get("message") or "")[:500],
            "env": [line.split("=", 1)[0] for line in str(data.get("env") or "").splitlines()
                    if "=" in line][:100]}


def allow(user, stack: Stack, action: str, verb: str, *, request=None) -> None:
    """Refuse, audited as `stack.<verb>`, unless `user` may do `action` on `stack`."""
    if not Stack.objects.allows(user, action, stack):
        refuse(f"stack.{verb}", user, request, team=stack.team, target=stack, host=stack.host,
               error=f"{getattr(user, 'username', 'anonymous')} may not {verb} this stack",
               message=f"You may not {verb} stack {stack.name}.")


def ready(stack: Stack, *, needs_team: bool = False) -> None:
    """Conflict unless the stack can take a request now: its host online, no other job of it
    under way (its removal included), and, for a new file, a team to hold it to."""
    if needs_team and stack.team_id is None:
        raise Conflict(f"Stack {stack.name} belongs to no team: a superuser gives it to one "
                       "first.")
    if not stack.host.is_online:
        raise Conflict(f"Host {stack.host.name} is offline: the stack cannot be reached.")
    if stack_jobs(stack).filter(state__in=BUSY).exclude(kind=Job.Kind.STACK_PLAN).exists():
        raise Conflict(f"A job of stack {stack.name} is under way: wait for it to end.")


def stack_jobs(stack: Stack):
    """The jobs made for `stack` (their params name it)."""
    return Job.objects.filter(kind__startswith="stack.", host=stack.host_id,
                              params__stack=stack.pk)


# -- making and changing -----------------------------------------------------------------------

def check_stack_quota(req: StackRequest, stack: Stack | None = None) -> None:
    """QuotaExceeded when deploying `req` would take its team past its quota on its host: each
    of the file's services runs one container, less those of `stack` running now (a new
    version replaces them); nothing is deployed while the team's disk is at its quota. As for
    a run, the containers' own memory, CPUs and PIDs overcommit (the team's group holds them).
    Call it inside the deploy's transaction (`check_quota` locks the quota row)."""
    from console.containers.models import Container

    running = 0
    if stack is not None and stack.container_ids:
        running = Container.objects.filter(team=req.team, host=req.host,
                                           engine_id__in=stack.container_ids,
                                           state__in=RUNNING_STATES).count()
    check_quota(req.team, req.host, adding={"containers": max(0, len(req.services) - running)})


def with_reason(params: dict, reason: str) -> dict:
    """An action's audit parameters, with its reason when one was given."""
    return {**params, "reason": reason} if reason else params


def create(user, req: StackRequest, *, reason: str = "", request=None) -> tuple[Stack, Job]:
    """Make the stack `req` asks for and deploy its first version (within the team's quota;
    with a reason where the team requires one for a deploy)."""
    reason = require_reason(req.team, "stack-deploy", reason)
    params = with_reason({**req.audit_params(), "version": 1}, reason)
    try:
        with transaction.atomic():
            check_stack_quota(req)
            stack = Stack.objects.create(name=req.name, host=req.host, team=req.team,
                                         created_by=user)
            version, job = new_version(user, stack, req, number=1, reason=reason)
            audit.record("stack.create", actor=user, request=request, team=req.team,
                         target=stack, host=req.host, params=params,
                         result="requested", job=job)
            dispatch.enqueue_on_commit(job, undo=lambda: Stack.objects.filter(
                pk=stack.pk).delete())
            transaction.on_commit(lambda: publish.job_changed(job))
    except IntegrityError:
        raise Invalid(fields={"name": [f"The name {req.name!r} is already in use on host "
                                        f"{req.host.name}."]}) from None
    except QuotaExceeded as error:
        audit.record("stack.create", actor=user, request=request, team=req.team,
                     target_type="stack", target_name=req.name, host=req.host,
                     params=params, result="denied", error=error.message)
        raise
    return stack, job


def deploy(user, stack: Stack, req: StackRequest, *, reason: str = "", request=None,
           redeploy_of: int | None = None) -> tuple[StackVersion, Job]:
    """Deploy `req` (a new file, or an old version's again) as the stack's next version, within
    the team's quota, with a reason where the team requires one."""
    reason = require_reason(stack.team, "stack-deploy", reason)
    try:
        with transaction.atomic():
            locked = Stack.objects.select_for_update().get(pk=stack.pk)
            ready(locked, needs_team=True)
            check_stack_quota(req, locked)
            number = (locked.versions.aggregate(last=Max("number"))["last"] or 0) + 1
            version, job = new_version(user, locked, req, number=number,
                                       redeploy_of=redeploy_of, reason=reason)
            audit.record("stack.deploy", actor=user, request=request, team=stack.team,
                         target=stack, host=stack.host,
                         params=with_reason({**req.audit_params(), "version": number,
                                             "redeploy_of": redeploy_of}, reason),
                         result="requested", job=job)
            dispatch.enqueue_on_commit(job, undo=lambda: StackVersion.objects.filter(
                pk=version.pk).delete())
            transaction.on_commit(lambda: publish.job_changed(job))
    except QuotaExceeded as error:
        audit.record("stack.deploy", actor=user, request=request, team=stack.team,
                     target=stack, host=stack.host,
                     params=with_reason({**req.audit_params(), "redeploy_of": redeploy_of},
                                        reason),
                     result="denied", error=error.message)
        raise
    return version, job


def new_version(user, stack: Stack, req: StackRequest, *, number: int,
                redeploy_of: int | None = None, reason: str = "") -> tuple[StackVersion, Job]:
    job = Job.objects.create(kind=Job.Kind.STACK_DEPLOY, host=stack.host, team=stack.team,
                             requested_by=user, target_name=stack.name,
                             params={"stack": stack.pk, "version": number})
    version = StackVersion.objects.create(
        stack=stack, number=number, compose=req.compose, env=req.env, services=req.services,
        message=req.message or (f"Version {redeploy_of} again" if redeploy_of else ""),
        author=user, author_name=author_name(user), job=job, redeploy_of=redeploy_of,
        reason=reason)
    return version, job


def author_name(user) -> str:
    name = user.get_full_name() or user.username
    return f"{name} <{user.email}>" if user.email else name


def redeploy(user, stack: Stack, number: int, message: str = "", *, reason: str = "",
             request=None) -> tuple[StackVersion, Job]:
    """Deploy version `number` again (a rollback), as the next version: its file and `.env`
    checked again for the user deploying them now."""
    old = stack.versions.filter(number=number).first()
    if old is None:
        raise Invalid(fields={"version": [f"Stack {stack.name} has no version {number}."]})
    req = check_change(user, stack, {"compose": old.compose, "env": old.env,
                                     "message": message}, request=request)
    return deploy(user, stack, req, reason=reason, request=request, redeploy_of=number)


def plan(user, req: StackRequest, stack: Stack | None = None, *, request=None) -> Job:
    """Ask the host what deploying `req` would change, and why, changing nothing (the plan
    is the job's result). The file and .env travel in the job's params (the .env's values
    are never shown: `env` is redacted wherever params are)."""
    if stack is not None:
        ready(stack, needs_team=True)
    elif not req.host.is_online:
        raise Conflict(f"Host {req.host.name} is offline.")
    with transaction.atomic():
        job = Job.objects.create(
            kind=Job.Kind.STACK_PLAN, host=req.host, team=req.team, requested_by=user,
            target_name=req.name, params={"stack": stack.pk if stack else None,
                                          "name": req.name, "compose": req.compose,
                                          "env": req.env})
        audit.record("stack.plan", actor=user, request=request, team=req.team,
                     target_type="stack", target_id=str(stack.pk) if stack else "",
                     target_name=req.name, host=req.host, params=req.audit_params(),
                     result="requested", job=job)
        dispatch.enqueue_on_commit(job)
        transaction.on_commit(lambda: publish.job_changed(job))
    return job


# -- running and removing ----------------------------------------------------------------------

def act(user, stack: Stack, verb: str, *, request=None) -> Job:
    """start, stop, restart or down (its containers and networks removed, its volumes and
    the stack kept) one stack."""
    if verb not in VERBS:
        raise ValueError(f"unknown stack action {verb!r}")
    allow(user, stack, VERBS[verb], verb, request=request)
    return queued(user, stack, JOB_KINDS[verb], f"stack.{verb}", {}, request=request)


def remove(user, stack: Stack, *, volumes: bool = False, reason: str = "",
           request=None) -> Job:
    """Take the stack down and forget it (with `volumes`, its named volumes too); the host's
    worker removes the row once its containers are gone. A reason where the team requires
    one (`stack-remove`)."""
    allow(user, stack, "remove", "remove", request=request)
    reason = require_reason(stack.team, "stack-remove", reason)
    from console.volumes.models import Volume

    names = list(Volume.objects.filter(host=stack.host, project=stack.name)
                 .values_list("name", flat=True)) if volumes else []
    return queued(user, stack, Job.Kind.STACK_REMOVE, "stack.remove",
                  {"volumes": volumes, "volume_names": names}, request=request,
                  mark_removing=True, reason=reason)


def queued(user, stack: Stack, kind: str, action: str, params: dict, *, request=None,
           mark_removing: bool = False, reason: str = "") -> Job:
    with transaction.atomic():
        locked = Stack.objects.select_for_update().get(pk=stack.pk)
        ready(locked)
        undo = None
        # No job of the stack is under way (`ready`): a `removing` mark left by a removal
        # that never ended (its worker died) is stale.
        wanted = Stack.State.REMOVING if mark_removing else Stack.State.ACTIVE
        if locked.state != wanted:
            Stack.objects.filter(pk=stack.pk).update(state=wanted)
            stack.state = wanted
        if mark_removing:
            undo = lambda: Stack.objects.filter(pk=stack.pk).update(  # noqa: E731
                state=Stack.State.ACTIVE)
        job = Job.objects.create(kind=kind, host=stack.host, team=stack.team,
                                 requested_by=user, target_name=stack.name,
                                 params={"stack": stack.pk, **params})
        audit.record(action, actor=user, request=request, team=stack.team, target=stack,
                     host=stack.host, params=with_reason(params, reason), result="requested",
                     job=job)
        dispatch.enqueue_on_commit(job, undo=undo)
        transaction.on_commit(lambda: publish.job_changed(job))
    return job


def assign_team(user, stack: Stack, team, *, request=None) -> Stack:
    """Give `stack` to `team` (superusers), with its containers and volumes that belong to no
    team: a stack made with `moor compose` or docker-compose on the host comes with none."""
    if not user.is_superuser:
        refuse("stack.assign", user, request, team=stack.team, target=stack, host=stack.host,
               message="Only a superuser may give a stack to a team.")
    if not HostGrant.objects.filter(team=team, host=stack.host).exists():
        raise Invalid(fields={"team": [f"Team {team.name} is not granted host "
                                        f"{stack.host.name}."]})
    from console.containers.models import Container
    from console.volumes.models import Volume

    previous = stack.team
    with transaction.atomic():
        Stack.objects.filter(pk=stack.pk).update(team=team)
        stack.team = team
        moved = list(Container.objects.filter(host=stack.host, engine_id__in=stack.container_ids,
                                              team__isnull=True))
        Container.objects.filter(pk__in=[c.pk for c in moved]).update(team=team)
        Volume.objects.filter(host=stack.host, project=stack.name, team__isnull=True).update(
            team=team)
        audit.record("stack.assign", actor=user, request=request, team=team, target=stack,
                     host=stack.host, params={"team": team.name,
                                              "previous": previous.name if previous else None,
                                              "containers": len(moved)})
        members = list(team.memberships.values_list("user_id", flat=True))
        if previous is not None:
            members += previous.memberships.values_list("user_id", flat=True)
        for container in moved:
            container.team = team
            transaction.on_commit(lambda c=container: publish.container_changed(c))
        publish.permissions_changed_on_commit(members)
    return stack
