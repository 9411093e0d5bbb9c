"""Granting one user chosen actions on one container or one stack, and taking the grant back
(team admins of its team, superusers); grants that end, taken away when they do; and requests
for a grant, which a member makes and a team admin approves or refuses. Each is checked (a
refusal is audited), audited in the transaction that makes the change, and the grantee's open
sockets are told to re-check (a terminal a grant opened closes when it goes)."""
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from console import audit
from console.core.errors import Conflict, Invalid
from console.core.permissions import refuse, user_may
from console.core.roles import GRANTABLE_ACTIONS
from console.grants.models import SEEING, STACK_GRANTABLE, AccessRequest, ContainerGrant, StackGrant
from console.streams import groups, publish

# The shortest and longest a requested (or ending) grant may last.
MIN_DURATION = 1
MAX_DURATION = 90 * 24 * 3600
REQUESTABLE_ACTIONS = tuple(a for a in GRANTABLE_ACTIONS if a not in SEEING)
# Every kind of grant; each is audited as "<target_field>.grant", ".revoke", ".grant.expire".
GRANT_MODELS = (ContainerGrant, StackGrant)


def checked_actions(actions, allowed=GRANTABLE_ACTIONS) -> list[str]:
    if not isinstance(actions, (list, tuple)) or not actions or any(
            a not in allowed for a in actions):
        raise Invalid(fields={"actions": [f"Choose among: {', '.join(allowed)}."]})
    return sorted(set(actions))


def end_time(*, expires_at=None, duration=None):
    """When a grant ends: at `expires_at`, or `duration` seconds from now; None (never) when
    neither is given. Invalid for a time past, or further than MAX_DURATION."""
    now = timezone.now()
    if expires_at is not None and duration is not None:
        raise Invalid(fields={"expires_at": ["Give expires_at or duration, not both."]})
    if duration is not None:
        if isinstance(duration, bool) or not isinstance(duration, int) or not (
                MIN_DURATION <= duration <= MAX_DURATION):
            raise Invalid(fields={"duration": [
                f"A number of seconds from {MIN_DURATION} to {MAX_DURATION}."]})
        return now + timedelta(seconds=duration)
    if expires_at is not None:
        if expires_at <= now:
            raise Invalid(fields={"expires_at": ["That time has passed."]})
        if expires_at > now + timedelta(seconds=MAX_DURATION):
            raise Invalid(fields={"expires_at": ["At most 90 days from now."]})
    return expires_at


def grant_container(actor, user, container, actions, *, expires_at=None,
                    request=None) -> ContainerGrant:
    """Let `user` do `actions` on `container` (team admins of its team, superusers): for good
    (replacing the user's lasting grant there), or until `expires_at` (a grant of its own)."""
    return _grant(ContainerGrant, actor, user, container, checked_actions(actions),
                  expires_at=expires_at, request=request)


def grant_stack(actor, user, stack, actions, *, expires_at=None, request=None) -> StackGrant:
    """Let `user` do some of a stack's verbs (`STACK_GRANTABLE`) on `stack`, as
    `grant_container` does on a container."""
    return _grant(StackGrant, actor, user, stack, checked_actions(actions, STACK_GRANTABLE),
                  expires_at=expires_at, request=request)


def _grant(model, actor, user, target, actions, *, expires_at, request):
    field = model.target_field
    if not user_may(actor, "manage", target.team):
        refuse(f"{field}.grant", actor, request, team=target.team, target=target,
               host=target.host)
    with transaction.atomic():
        if expires_at is None:
            grant, _ = model.objects.update_or_create(
                user=user, expires_at=None, **{field: target},
                defaults={"actions": actions, "granted_by": actor})
        else:
            grant = model.objects.create(user=user, actions=actions, granted_by=actor,
                                         expires_at=expires_at, **{field: target})
        audit.record(f"{field}.grant", actor=actor, request=request, team=target.team,
                     target=target, host=target.host,
                     params={"user": user.username, "actions": grant.actions,
                             "expires_at": expires_at.isoformat() if expires_at else None})
        publish.permissions_changed_on_commit([user.pk])
    return grant


def revoke_grant(actor, grant, *, request=None) -> None:
    """Take back a container or stack grant (team admins of its team, superusers)."""
    field, target = grant.target_field, grant.target
    if not user_may(actor, "manage", target.team):
        refuse(f"{field}.revoke", actor, request, team=target.team, target=target)
    user_id = grant.user_id
    with transaction.atomic():
        audit.record(f"{field}.revoke", actor=actor, request=request, team=target.team,
                     target=target, host=target.host,
                     params={"user": grant.user.username, "actions": grant.actions})
        grant.delete()
        publish.permissions_changed_on_commit([user_id])


def expire_grants(now=None) -> int:
    """Take away the container and stack grants that have ended (housekeeping, in every web
    process: each one is deleted by whoever comes first, and audited by them), and tell their
    holders' sockets."""
    now = now or timezone.now()
    ended = 0
    for model in GRANT_MODELS:
        field = model.target_field
        for grant in (model.objects.filter(expires_at__lte=now)
                      .select_related("user", f"{field}__team", f"{field}__host")):
            with transaction.atomic():
                deleted, _ = model.objects.filter(pk=grant.pk).delete()
                if not deleted:
                    continue            # another process took it
                target = grant.target
                audit.record(f"{field}.grant.expire", team=target.team, target=target,
                             host=target.host,
                             params={"user": grant.user.username, "actions": grant.actions,
                                     "expires_at": grant.expires_at.isoformat()})
                publish.permissions_changed_on_commit([grant.user_id])
            ended += 1
    return ended


def seconds_to_next_expiry() -> float | None:
    """How long until the next grant (of a container or a stack) ends (None: none will)."""
    ends = [end for end in (model.objects.filter(expires_at__isnull=False)
                            .order_by("expires_at").values_list("expires_at", flat=True).first()
                            for model in GRANT_MODELS) if end is not None]
    if not ends:
        return None
    return max((min(ends) - timezone.now()).total_seconds(), 0.0)


# -- requests ------------------------------------------------------------------------------------

def request_access(user, container, actions, *, duration, reason, request=None) -> AccessRequest:
    """`user`, who sees `container`, asks for `actions` on it for `duration` seconds."""
    actions = checked_actions(actions, REQUESTABLE_ACTIONS)
    end_time(duration=duration)
    reason = str(reason or "").strip()
    if not reason:
        raise Invalid(fields={"reason": ["Say why you need it."]})
    if container.team is None:
        raise Invalid(fields={"container": ["This container belongs to no team: only "
                                            "superusers act on it."]})
    with transaction.atomic():
        asked = AccessRequest.objects.create(user=user, container=container, actions=actions,
                                             duration=duration, reason=reason[:2000])
        audit.record("access.request", actor=user, request=request, team=container.team,
                     target=container, host=container.host,
                     params={"request": asked.pk, "actions": actions, "duration": duration,
                             "reason": asked.reason})
        publish.permissions_changed_on_commit(admins_of(container.team))
    return asked


def decide(actor, asked: AccessRequest, *, approve: bool, note: str = "",
           request=None) -> AccessRequest:
    """Approve (a grant of the actions asked, ending `duration` seconds from now) or refuse
    (nothing granted) a pending request (team admins of the container's team)."""
    container = asked.container
    verb = "access.approve" if approve else "access.refuse"
    if not user_may(actor, "manage", container.team):
        refuse(verb, actor, request, team=container.team, target=container,
               host=container.host)
    with transaction.atomic():
        locked = AccessRequest.objects.select_for_update().get(pk=asked.pk)
        if locked.state != AccessRequest.State.PENDING:
            raise Conflict(f"This request was {locked.state} already.")
        now = timezone.now()
        locked.decided_by, locked.decided_at = actor, now
        locked.note = str(note or "").strip()[:2000]
        if approve:
            locked.expires_at = now + timedelta(seconds=locked.duration)
            locked.grant = grant_container(actor, locked.user, container, locked.actions,
                                           expires_at=locked.expires_at, request=request)
            locked.state = AccessRequest.State.APPROVED
        else:
            locked.state = AccessRequest.State.REFUSED
        locked.save()
        audit.record(verb, actor=actor, request=request, team=container.team,
                     target=container, host=container.host,
                     params={"request": locked.pk, "user": locked.user.username,
                             "actions": locked.actions, "duration": locked.duration,
                             "reason": locked.reason, "note": locked.note,
                             "expires_at": locked.expires_at.isoformat()
                             if locked.expires_at else None})
        publish.permissions_changed_on_commit([locked.user_id, *admins_of(container.team)])
        tell_requester_on_commit(locked)
    return locked


def tell_requester_on_commit(asked: AccessRequest) -> None:
    """The requester's open pages show the answer as it comes (`/ws/events/`: a message
    `access-request` to their own user group, which only their sockets join)."""
    payload = asked.answer_payload()
    transaction.on_commit(lambda: publish.send([groups.user_group(asked.user_id)],
                                               {"type": "access.decided", "request": payload}))


def admins_of(team) -> list[int]:
    from console.core.roles import Role

    if team is None:
        return []
    return list(team.memberships.filter(role=Role.ADMIN).values_list("user_id", flat=True))
