"""What is done to teams: making one, their members and roles, the hosts granted to them and
their settings. Each change is checked (a refusal is audited), audited in the transaction that
makes it, and tells the affected users' open sockets to re-check. The team pages, the API and
the admin site call these."""
from django.db import transaction

from console import audit
from console.core.errors import Invalid
from console.core.permissions import refuse, user_may
from console.core.roles import Role
from console.hosts.models import HostGrant
from console.streams import publish
from console.teams.models import Membership, Team
from console.teams.reasons import REASON_ACTIONS


def audit_hidden_team(action: str, actor, pk, *, request=None) -> None:
    """An attempt to `action` a team `actor` cannot see, or that does not exist: answered 404
    either way, and audited alike, as denied, with only the path and the number as typed."""
    audit.record_unseen(action, actor=actor, request=request, target_type="team",
                        reference=pk)


def create_team(actor, *, name, description="", request=None):
    if not actor.is_superuser:
        refuse("team.create", actor, request, target_type="team", target_name=name)
    if Team.objects.filter(name=name).exists():
        raise Invalid(fields={"name": [f"A team named {name!r} exists."]})
    with transaction.atomic():
        team = Team.objects.create(name=name, description=description)
        audit.record("team.create", actor=actor, request=request, team=team, target=team)
    return team


def set_member(actor, team, user, role, *, request=None) -> Membership:
    """Add `user` to `team` with `role`, or change their role (team admins, superusers)."""
    if role not in Role.values:
        raise Invalid(fields={"role": [f"Role is one of {', '.join(Role.values)}."]})
    if not user_may(actor, "manage", team):
        refuse("team.member.set", actor, request, team=team, target=user)
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
        refuse("team.member.remove", actor, request, team=team, target=user)
    with transaction.atomic():
        deleted, _ = Membership.objects.filter(team=team, user=user).delete()
        if not deleted:
            raise Invalid(fields={"user": [f"{user.username} is not in team {team.name}."]})
        audit.record("team.member.remove", actor=actor, request=request, team=team, target=user)
        publish.permissions_changed_on_commit([user.pk])


def grant_host(actor, team, host, *, request=None) -> HostGrant:
    if not actor.is_superuser:
        refuse("team.host.grant", actor, request, team=team, target=host, host=host)
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
        refuse("team.host.revoke", actor, request, team=team, target=host, host=host)
    with transaction.atomic():
        deleted, _ = HostGrant.objects.filter(team=team, host=host).delete()
        if not deleted:
            raise Invalid(fields={"host": [f"Host {host.name} is not granted to team "
                                           f"{team.name}."]})
        audit.record("team.host.revoke", actor=actor, request=request, team=team, target=host,
                     host=host)
        members = list(team.memberships.values_list("user_id", flat=True))
        publish.permissions_changed_on_commit(members)


def change_team_settings(actor, team, *, request=None, **settings) -> Team:
    """Change a team's description, pinned terminal user or the actions that need a reason
    (team admins, superusers)."""
    if not user_may(actor, "manage", team):
        refuse("team.settings", actor, request, team=team, target=team)
    if "reasons_required_for" in settings:
        wanted = settings["reasons_required_for"] or []
        settings["reasons_required_for"] = [name for name in REASON_ACTIONS if name in wanted]
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
