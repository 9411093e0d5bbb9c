"""The one permission mechanism: `restrict(user, action)` on querysets.

Every user-facing query goes through it. A model's queryset says, in `permission_filter`, which
rows a (non-superuser) user may do `action` on; `restrict` applies it, gives superusers
everything and anonymous or inactive users nothing.

`get_for_user_or_404` turns that into the HTTP answers: an object the user may not even see is a
404 (its existence does not leak), one they see but may not act on is a 403. `refuse` is the
one audited refusal; `require_manager` and `require_superuser` refuse what only a team's
admins or superusers may do.
"""
from django.db import models
from django.db.models import Q

from console import audit
from console.core.errors import Forbidden, NotFound
from console.core.roles import roles_allowing


class RestrictedQuerySet(models.QuerySet):
    def restrict(self, user, action: str = "view"):
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(self.permission_filter(user, action))

    def permission_filter(self, user, action: str) -> Q:
        raise NotImplementedError(f"{self.model.__name__} does not say who may {action} it")

    def allows(self, user, action: str, obj) -> bool:
        """Whether `user` may do `action` on `obj`, one of these rows."""
        return self.restrict(user, action).filter(pk=obj.pk).exists()


def team_ids_allowing(user, action: str):
    """A subquery of the ids of the teams in which `user`'s role allows `action`."""
    from console.teams.models import Membership

    return Membership.objects.filter(user=user, role__in=roles_allowing(action)).values("team_id")


def host_ids_granted_to(team_ids):
    """A subquery of the ids of the hosts granted to the teams in `team_ids`."""
    from console.hosts.models import HostGrant

    return HostGrant.objects.filter(team_id__in=team_ids).values("host_id")


def user_may(user, action: str, team) -> bool:
    """Whether `user` may do `action` in `team` by their role (superusers always may)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if team is None:
        return False
    from console.teams.models import Membership

    return Membership.objects.filter(
        user=user, team=team, role__in=roles_allowing(action)).exists()


def may_somewhere(user, action: str) -> bool:
    """Whether `user` may do `action` in some team (superusers always may)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    from console.teams.models import Membership

    return user.is_superuser or Membership.objects.filter(
        user=user, role__in=roles_allowing(action)).exists()


def get_for_user_or_404(queryset, user, action: str = "view", **lookup):
    """The object matching `lookup` if `user` may do `action` on it.

    Not visible to the user: NotFound. Visible but the action is not allowed: Forbidden.
    """
    obj = queryset.restrict(user, "view").filter(**lookup).first()
    if obj is None:
        raise NotFound("No such object.")
    if action != "view" and not queryset.allows(user, action, obj):
        raise Forbidden(f"You may not {action} this.")
    return obj


def refuse(action: str, actor, request=None, *, message: str = "", **fields):
    """Record `actor`'s attempt at `action` as denied (with `fields`: its team, target, host,
    error...), then refuse it: Forbidden, saying `message`."""
    audit.record(action, actor=actor, request=request, result="denied", **fields)
    raise Forbidden(message or f"You may not do {action}.")


def require_manager(actor, team, action: str, *, request=None, **fields) -> None:
    """Refuse, audited, unless `actor` may manage `team` (its team admins, superusers)."""
    if not user_may(actor, "manage", team):
        refuse(action, actor, request, team=team, **fields)


def require_superuser(actor, action: str, *, request=None, **fields) -> None:
    """Refuse, audited, unless `actor` is a superuser."""
    if not actor.is_superuser:
        refuse(action, actor, request, **fields)
