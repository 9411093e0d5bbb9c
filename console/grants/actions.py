"""Granting one user chosen actions on one container, and taking the grant back (team admins
of the container's team, superusers): checked (a refusal is audited), audited in the
transaction that makes the change, and the grantee's open sockets told to re-check."""
from django.db import transaction

from console import audit
from console.core.errors import Invalid
from console.core.permissions import refuse, user_may
from console.core.roles import GRANTABLE_ACTIONS
from console.grants.models import ContainerGrant
from console.streams import publish


def grant_container(actor, user, container, actions, *, request=None) -> ContainerGrant:
    """Let `user` do `actions` on `container` (team admins of its team, superusers)."""
    bad = [a for a in actions if a not in GRANTABLE_ACTIONS]
    if bad or not actions:
        raise Invalid(fields={"actions": [
            f"Grantable actions: {', '.join(GRANTABLE_ACTIONS)}."]})
    if not user_may(actor, "manage", container.team):
        refuse("container.grant", actor, request, team=container.team, target=container,
               host=container.host)
    with transaction.atomic():
        grant, made = ContainerGrant.objects.update_or_create(
            user=user, container=container,
            defaults={"actions": sorted(set(actions)), "granted_by": actor})
        audit.record("container.grant", actor=actor, request=request, team=container.team,
                     target=container, host=container.host,
                     params={"user": user.username, "actions": grant.actions})
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
