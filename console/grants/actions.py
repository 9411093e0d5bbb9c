"""Granting one user chosen actions on one container, and taking the grant back (team admins
of the container's team, superusers); grants that end, taken away when they do; and requests
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
from console.grants.models import SEEING, AccessRequest, ContainerGrant
from console.streams import groups, publish

# The shortest and longest a requested (or ending) grant may last.
MIN_DURATION = 1
MAX_DURATION = 90 * 24 * 3600
REQUESTABLE_ACTIONS = tuple(a for a in GRANTABLE_ACTIONS if a not in SEEING)


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
    actions = checked_actions(actions)
    if not user_may(actor, "manage", container.team):
        refuse("container.grant", actor, request, team=container.team, target=container,
               host=container.host)
    with transaction.atomic():
        if expires_at is None:
            grant, _ = ContainerGrant.objects.update_or_create(
                user=user, container=container, expires_at=None,
                defaults={"actions": actions, "granted_by": actor})
        else:
            grant = ContainerGrant.objects.create(user=user, container=container,
                                                  actions=actions, granted_by=actor,
                                                  expires_at=expires_at)
        audit.record("container.grant", actor=actor, request=request, team=container.team,
                     target=container, host=container.host,
                     params={"user": user.username, "actions": grant.actions,
                             "expires_at": expires_at.isoformat() if expires_at else None})
        publish.permissions_changed_on_commit([user.pk])
    return grant


def revoke_container_grant(actor, grant, *, request=None) -> None:
    container = grant.container
    if not user_may(actor, "manage", container.team):
        refuse("container.revoke", actor, request, team=container.team, target=container)
    user_id = grant.user_id
    with transaction.atomic():
        audit.record("container.revoke", actor=actor, request=request, team=container.team,
                     target=container, host=container.host,
                     params={"user": grant.user.username, "actions": grant.actions})
        grant.delete()
        publish.permissions_changed_on_commit([user_id])


def expire_grants(now=None) -> int:
    """Take away the grants that have ended (housekeeping, in every web process: each one is
    deleted by whoever comes first, and audited by them), and tell their holders' sockets."""
    now = now or timezone.now()
    ended = 0
    for grant in (ContainerGrant.objects.filter(expires_at__lte=now)
                  .select_related("user", "container__team", "container__host")):
        with transaction.atomic():
            deleted, _ = ContainerGrant.objects.filter(pk=grant.pk).delete()
            if not deleted:
                continue            # another process took it
            container = grant.container
            audit.record("container.grant.expire", team=container.team, target=container,
                         host=container.host,
                         params={"user": grant.user.username, "actions": grant.actions,
                                 "expires_at": grant.expires_at.isoformat()})
            publish.permissions_changed_on_commit([grant.user_id])
        ended += 1
    return ended


def seconds_to_next_expiry() -> float | None:
    """How long until the next grant ends (None: none will)."""
    upcoming = (ContainerGrant.objects.filter(expires_at__isnull=False)
                .order_by("expires_at").values_list("expires_at", flat=True).first())
    if upcoming is None:
        return None
    return max((upcoming - timezone.now()).total_seconds(), 0.0)


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
