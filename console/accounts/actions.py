"""Users, teams, members, host grants, container grants and tokens: each change is audited in
the transaction that makes it, and tells the affected users' open sockets to re-check."""
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction

from console import audit
from console.accounts.models import ApiToken
from console.containers.models import ContainerGrant
from console.core.permissions import user_may
from console.core.roles import GRANTABLE_ACTIONS, Role
from console.hosts.models import HostGrant
from console.streams import publish
from console.teams.models import Membership, Team


class Invalid(Exception):
    def __init__(self, errors: dict):
        super().__init__(str(errors))
        self.errors = errors


def _denied(action, actor, request, **fields):
    audit.record(action, actor=actor, request=request, result="denied", **fields)
    raise PermissionDenied(f"You may not do {action}.")


def audit_hidden_team(action: str, actor, pk, *, request=None) -> None:
    """An attempt to `action` a team `actor` cannot see, or that does not exist: answered 404
    either way, and audited alike, as denied, with only the path and the number as typed."""
    audit.record_unseen(action, actor=actor, request=request, target_type="team",
                        reference=pk)


def require_manager(actor, team, action: str, *, request=None, **fields) -> None:
    """Refuse, audited, unless `actor` may manage `team` (its team admins, superusers)."""
    if not user_may(actor, "manage", team):
        _denied(action, actor, request, team=team, **fields)


def require_superuser(actor, action: str, *, request=None, **fields) -> None:
    """Refuse, audited, unless `actor` is a superuser."""
    if not actor.is_superuser:
        _denied(action, actor, request, **fields)


def create_user(actor, *, username, password, email="", is_superuser=False, request=None):
    if not actor.is_superuser:
        _denied("user.create", actor, request, target_type="user", target_name=username)
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise Invalid({"username": [f"The username {username!r} is taken."]})
    with transaction.atomic():
        user = User.objects.create_user(username=username, password=password, email=email,
                                        is_superuser=is_superuser, is_staff=is_superuser)
        audit.record("user.create", actor=actor, request=request, target=user,
                     params={"username": username, "email": email, "is_superuser": is_superuser,
                             "password": password})
    return user


def create_team(actor, *, name, description="", request=None):
    if not actor.is_superuser:
        _denied("team.create", actor, request, target_type="team", target_name=name)
    if Team.objects.filter(name=name).exists():
        raise Invalid({"name": [f"A team named {name!r} exists."]})
    with transaction.atomic():
        team = Team.objects.create(name=name, description=description)
        audit.record("team.create", actor=actor, request=request, team=team, target=team)
    return team


def set_member(actor, team, user, role, *, request=None) -> Membership:
    """Add `user` to `team` with `role`, or change their role (team admins, superusers)."""
    if role not in Role.values:
        raise Invalid({"role": [f"Role is one of {', '.join(Role.values)}."]})
    if not user_may(actor, "manage", team):
        _denied("team.member.set", actor, request, team=team, target=user)
    with transaction.atomic():
        membership, made = Membership.objects.get_or_create(user=user, team=team,
                                                            defaults={"role": role})
        before = None if made else membership.role
        if not made and membership.role != role:
            membership.role = role
            membership.save(update_fields=["role"])
        audit.record("team.member.add" if made else "team.member.role", actor=actor,
                     request=request, team=team, target=user,
                     params={"role": role, "previous_role": before})
        publish.permissions_changed_on_commit([user.pk])
    return membership


def remove_member(actor, team, user, *, request=None) -> None:
    if not user_may(actor, "manage", team):
        _denied("team.member.remove", actor, request, team=team, target=user)
    with transaction.atomic():
        deleted, _ = Membership.objects.filter(team=team, user=user).delete()
        if not deleted:
            raise Invalid({"user": [f"{user.username} is not in team {team.name}."]})
        audit.record("team.member.remove", actor=actor, request=request, team=team, target=user)
        publish.permissions_changed_on_commit([user.pk])


def grant_host(actor, team, host, *, request=None) -> HostGrant:
    if not actor.is_superuser:
        _denied("team.host.grant", actor, request, team=team, target=host, host=host)
    with transaction.atomic():
        grant, _ = HostGrant.objects.get_or_create(team=team, host=host,
                                                   defaults={"granted_by": actor})
        audit.record("team.host.grant", actor=actor, request=request, team=team, target=host,
                     host=host)
        members = list(team.memberships.values_list("user_id", flat=True))
        publish.permissions_changed_on_commit(members)
    return grant


def revoke_host(actor, team, host, *, request=None) -> None:
    if not actor.is_superuser:
        _denied("team.host.revoke", actor, request, team=team, target=host, host=host)
    with transaction.atomic():
        deleted, _ = HostGrant.objects.filter(team=team, host=host).delete()
        if not deleted:
            raise Invalid({"host": [f"Host {host.name} is not granted to team {team.name}."]})
        audit.record("team.host.revoke", actor=actor, request=request, team=team, target=host,
                     host=host)
        members = list(team.memberships.values_list("user_id", flat=True))
        publish.permissions_changed_on_commit(members)


def change_team_settings(actor, team, *, request=None, **settings) -> Team:
    """Change a team's description or pinned terminal user (team admins, superusers)."""
    if not user_may(actor, "manage", team):
        _denied("team.settings", actor, request, team=team, target=team)
    changed = {name: value for name, value in settings.items() if getattr(team, name) != value}
    if not changed:
        return team
    with transaction.atomic():
        before = {name: getattr(team, name) for name in changed}
        for name, value in changed.items():
            setattr(team, name, value)
        team.save(update_fields=list(changed))
        audit.record("team.settings", actor=actor, request=request, team=team, target=team,
                     params={"changed": changed, "previous": before})
        # Open terminals re-check what they may do (and as whom) when a setting changes.
        members = list(team.memberships.values_list("user_id", flat=True))
        publish.permissions_changed_on_commit(members)
    return team


def grant_container(actor, user, container, actions, *, request=None) -> ContainerGrant:
    """Let `user` do `actions` on `container` (team admins of its team, superusers)."""
    bad = [a for a in actions if a not in GRANTABLE_ACTIONS]
    if bad or not actions:
        raise Invalid({"actions": [f"Grantable actions: {', '.join(GRANTABLE_ACTIONS)}."]})
    if not user_may(actor, "manage", container.team):
        _denied("container.grant", actor, request, team=container.team, target=container,
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
        _denied("container.revoke", actor, request, team=container.team, target=container)
    user_id = grant.user_id
    with transaction.atomic():
        audit.record("container.revoke", actor=actor, request=request, team=container.team,
                     target=container, host=container.host,
                     params={"user": grant.user.username, "actions": grant.actions})
        grant.delete()
        publish.permissions_changed_on_commit([user_id])


def create_token(user, name="", *, request=None) -> tuple[ApiToken, str]:
    with transaction.atomic():
        token, key = ApiToken.objects.create_for(user, name)
        audit.record("token.create", actor=user, request=request, target_type="token",
                     target_id=str(token.pk), target_name=f"{token.prefix}… {name}".strip())
    return token, key


def revoke_token(user, token, *, request=None) -> None:
    """Delete the token; the sockets opened with it close within moments."""
    token_id = token.pk
    with transaction.atomic():
        audit.record("token.revoke", actor=user, request=request, target_type="token",
                     target_id=str(token.pk), target_name=f"{token.prefix}… {token.name}".strip())
        token.delete()
        transaction.on_commit(lambda: publish.token_revoked(token_id))
