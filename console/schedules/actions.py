"""Making, pausing, resuming and deleting schedules (developers of the container's or stack's
team and its admins, superusers), each checked (a refusal is audited) and audited."""
import re
from datetime import datetime, timezone

from django.db import transaction
from django.utils import timezone as django_timezone

from console import audit
from console.containers.models import Container
from console.core.errors import Conflict, Invalid
from console.core.permissions import refuse, user_may
from console.images.requests import reference_errors
from console.schedules import cron
from console.schedules.models import Schedule
from console.teams.reasons import clean_reason

CONTAINER_ACTIONS = ("start", "stop", "restart", "commit")
TAG_FIELDS = re.compile(r"\{(\w*)\}")
TAG_VALUES = ("date", "time", "datetime", "run")
SAMPLE_MOMENT = datetime(2026, 12, 31, 23, 59, 59, tzinfo=timezone.utc)


def tag_for(pattern: str, moment: datetime, run: int) -> str:
    """The tag a scheduled commit gets: `pattern` with {date} (20261231), {time} (235959),
    {datetime} (20261231-235959) and {run} (the run's number) filled in, in UTC."""
    moment = moment.astimezone(timezone.utc)
    values = {"date": moment.strftime("%Y%m%d"), "time": moment.strftime("%H%M%S"),
              "datetime": moment.strftime("%Y%m%d-%H%M%S"), "run": str(run)}
    return TAG_FIELDS.sub(lambda match: values[match.group(1)], pattern)


def checked_params(action: str, params: dict) -> dict:
    """What a schedule's action takes: a commit's `repository`, `tag` (a pattern) and
    `message`; a redeploy's `message` (the new version's); any action's `reason` (given with
    each run, where the team requires one)."""
    if not isinstance(params, dict):
        raise Invalid(fields={"params": ["An object."]})
    allowed = {"reason"} | {"commit": {"repository", "tag", "message"},
                            "redeploy": {"message"}}.get(action, set())
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise Invalid(fields={name: [f"Unknown parameter {name!r} for {action}."]
                              for name in unknown})
    clean = {}
    reason = clean_reason(params.get("reason"))
    if reason:
        clean["reason"] = reason
    if action == "redeploy":
        message = str(params.get("message") or "").strip()[:500]
        return {**clean, **({"message": message} if message else {})}
    if action != "commit":
        return clean
    repository = str(params.get("repository") or "").strip()
    pattern = str(params.get("tag") or "{date}").strip()
    if not repository:
        raise Invalid(fields={"repository": ["A scheduled commit needs a repository to tag."]})
    unknown_fields = [name for name in TAG_FIELDS.findall(pattern) if name not in TAG_VALUES]
    if unknown_fields:
        raise Invalid(fields={"tag": [f"{{{unknown_fields[0]}}} is not one of "
                                      + ", ".join(f"{{{v}}}" for v in TAG_VALUES) + "."]})
    errors = reference_errors(repository, tag_for(pattern, SAMPLE_MOMENT, 999999),
                              required=True)
    if errors:
        raise Invalid(fields=errors)
    message = str(params.get("message") or "")[:5000]
    return {**clean, "repository": repository, "tag": pattern,
            **({"message": message} if message else {})}


def create_schedule(actor, container: Container, action: str, expression: str,
                    params: dict | None = None, *, request=None) -> Schedule:
    """A schedule of `action` on `container` at `expression`, owned by `actor`, who must be a
    developer of its team (or more) and may do the action now."""
    if action not in CONTAINER_ACTIONS:
        raise Invalid(fields={"action": [f"One of {', '.join(CONTAINER_ACTIONS)}."]})
    team = container.team
    if team is None or not user_may(actor, "schedule", team) or not (
            Container.objects.restrict(actor, action).filter(pk=container.pk).exists()):
        refuse("schedule.create", actor, request, team=team, target=container,
               host=container.host,
               message=f"Only a developer of the container's team who may {action} it makes "
                       "schedules for it.")
    expression = cron.checked(expression)
    params = checked_params(action, params or {})
    with transaction.atomic():
        schedule = Schedule.objects.create(
            team=team, container=container, action=action, cron=expression, params=params,
            owner=actor, owner_name=actor.username,
            next_run_at=cron.next_run(expression, django_timezone.now()))
        audit.record("schedule.create", actor=actor, request=request, team=team,
                     target=container, host=container.host, params=schedule.audit_params())
    return schedule


def create_stack_schedule(actor, stack, action: str, expression: str,
                          params: dict | None = None, *, request=None) -> Schedule:
    """A schedule redeploying `stack`'s current version at `expression`, owned by `actor`, who
    must be a developer of its team (or more) who may deploy it now."""
    from console.stacks.models import Stack

    if action != Schedule.Action.REDEPLOY:
        raise Invalid(fields={"action": ["A stack's schedule redeploys it: redeploy."]})
    team = stack.team
    if team is None or not user_may(actor, "schedule", team) or not (
            Stack.objects.allows(actor, "create", stack)):
        refuse("schedule.create", actor, request, team=team, target=stack, host=stack.host,
               message="Only a developer of the stack's team who may deploy it makes "
                       "schedules for it.")
    if stack.current is None:
        raise Conflict(f"Stack {stack.name} has no version in the console to redeploy.")
    expression = cron.checked(expression)
    params = checked_params(action, params or {})
    with transaction.atomic():
        schedule = Schedule.objects.create(
            team=team, stack=stack, action=action, cron=expression, params=params,
            owner=actor, owner_name=actor.username,
            next_run_at=cron.next_run(expression, django_timezone.now()))
        audit.record("schedule.create", actor=actor, request=request, team=team,
                     target=stack, host=stack.host, params=schedule.audit_params())
    return schedule


def set_paused(actor, schedule: Schedule, paused: bool, *, request=None) -> Schedule:
    verb = "schedule.pause" if paused else "schedule.resume"
    check_may_change(actor, schedule, verb, request)
    with transaction.atomic():
        locked = Schedule.objects.select_for_update().get(pk=schedule.pk)
        if locked.paused == paused:
            raise Conflict(f"The schedule is {'paused' if paused else 'running'} already.")
        locked.paused = paused
        # Resumed, it fires next at its next time from now: the runs it missed are not made.
        locked.next_run_at = None if paused else cron.next_run(locked.cron,
                                                                django_timezone.now())
        locked.save(update_fields=["paused", "next_run_at"])
        audit.record(verb, actor=actor, request=request, team=locked.team,
                     target=locked.target, host=locked.target.host,
                     params=locked.audit_params())
    return locked


def delete_schedule(actor, schedule: Schedule, *, request=None) -> None:
    check_may_change(actor, schedule, "schedule.delete", request)
    with transaction.atomic():
        audit.record("schedule.delete", actor=actor, request=request, team=schedule.team,
                     target=schedule.target, host=schedule.target.host,
                     params=schedule.audit_params())
        schedule.delete()


def check_may_change(actor, schedule: Schedule, verb: str, request) -> None:
    if not user_may(actor, "schedule", schedule.team):
        refuse(verb, actor, request, team=schedule.team, target=schedule.target,
               host=schedule.target.host,
               message="Only the team's developers and admins change its schedules.")
