"""Firing schedules: each due schedule runs once, whoever comes first (a conditional update
moves its next time on before anything is done), as its owner with the rights they have now:
`containers.actions.act` (or, for a stack's `redeploy`, `stacks.actions.redeploy` of its
current version), which checks them, makes the job and its audit entry. A run that cannot be
made (the owner left the team or lost the right, the container is in no state for it, a job
of the stack is under way, its host is offline, the team's quota, a reason the team requires
is missing) fails and says so on the schedule; every run, made or not, has a `schedule.run`
audit entry."""
import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from console import audit
from console.containers import actions as container_actions
from console.core.errors import Conflict, ConsoleError, Forbidden
from console.quotas.checks import QuotaExceeded
from console.schedules import cron
from console.schedules.actions import tag_for
from console.schedules.models import Schedule
from console.stacks import actions as stack_actions

log = logging.getLogger(__name__)


def fire_due(now=None) -> int:
    """Fire every schedule due at `now`; how many this call fired."""
    now = now or timezone.now()
    fired = 0
    due = Schedule.objects.filter(paused=False, next_run_at__lte=now).values_list(
        "pk", "next_run_at")
    for pk, due_at in list(due):
        if claim(pk, due_at, now):
            fire(pk, now)
            fired += 1
    return fired


def claim(pk: int, due_at, now) -> bool:
    """Take the run due at `due_at`: its next time moves on (past `now`: runs missed while no
    scheduler ran are not made up). False when another tick took it first."""
    schedule = Schedule.objects.filter(pk=pk).only("cron").first()
    if schedule is None:
        return False
    following = cron.next_run(schedule.cron, now)
    return bool(Schedule.objects.filter(pk=pk, paused=False, next_run_at=due_at).update(
        next_run_at=following, runs=F("runs") + 1))


def fire(pk: int, now) -> Schedule:
    schedule = Schedule.objects.select_related("team", "container__host", "container__team",
                                               "stack__host", "stack__team", "owner").get(pk=pk)
    target, owner = schedule.target, schedule.owner
    job, error, result = None, "", Schedule.Result.REQUESTED
    try:
        if owner is None or not owner.is_active:
            raise Forbidden(f"the schedule's owner {schedule.owner_name} no longer exists or "
                            "may no longer log in")
        params = dict(schedule.params)
        if schedule.action == Schedule.Action.REDEPLOY:
            job = redeploy(owner, schedule.stack, params)
        else:
            if schedule.action == "commit":
                params["tag"] = tag_for(params["tag"], now, schedule.runs)
            job = container_actions.act(owner, target, schedule.action, params=params)
    except ConsoleError as refusal:
        result, error = Schedule.Result.FAILED, failure_message(schedule, refusal)
    except Exception as bug:       # ours: said on the schedule, and the next run tries again
        log.exception("schedule %s failed", pk)
        result, error = Schedule.Result.FAILED, f"internal error: {type(bug).__name__}"
    with transaction.atomic():
        # The run's time with its outcome, in one write: a reader never sees one without the
        # other.
        Schedule.objects.filter(pk=pk).update(last_run_at=now, last_result=result,
                                              last_error=error, last_job=job)
        audit.record("schedule.run", actor=owner, team=schedule.team, target=target,
                     host=target.host, params=schedule.audit_params(),
                     result="requested" if job else "failed", error=error, job=job)
    schedule.refresh_from_db()
    return schedule


def redeploy(owner, stack, params: dict):
    """The stack's current version deployed again by `owner` (a new version, as *Redeploy
    this version* makes); its job."""
    current = stack.current
    if current is None:
        raise Conflict(f"stack {stack.name} has no version in the console to redeploy")
    _, job = stack_actions.redeploy(owner, stack, current.number,
                                    params.get("message") or "", reason=params.get("reason"))
    return job


def failure_message(schedule: Schedule, refusal: ConsoleError) -> str:
    """Why a run was not made, in words for the schedule's page."""
    detail = refusal.message
    # A refusal of the owner's rights says whose; the team's quota says its own words.
    if isinstance(refusal, Forbidden) and not refusal.fields and not isinstance(
            refusal, QuotaExceeded):
        if schedule.owner is not None and schedule.owner.is_active:
            detail = (f"{schedule.owner_name} may no longer {schedule.action} "
                      f"{schedule.target_name}")
    return f"not run: {detail}".rstrip(".") + "."
