"""What single sign-on changes: accounts a directory makes, the roles its groups give at each
login (`console.sso.mapping` says which), the group → team mapping table (superusers), and the
audit entries of directory logins that fail."""
from django.contrib.auth import get_user_model
from django.db import transaction

from console import audit
from console.core.errors import Invalid
from console.core.permissions import require_superuser
from console.core.roles import Role
from console.sso.mapping import roles_from_groups
from console.sso.models import DirectoryIdentity, GroupMapping, Source
from console.streams import publish
from console.teams.models import Membership, Team


def make_account(source: str, subject: str, username: str, *, email="", request=None):
    """A new account for a directory's user, with no password the console knows, linked to
    its subject (`DirectoryIdentity`), audited."""
    with transaction.atomic():
        user = get_user_model().objects.create_user(username, email=email)
        user.set_unusable_password()
        user.save(update_fields=["password"])
        DirectoryIdentity.objects.create(user=user, source=source, subject=subject)
        audit.record("user.create", actor=user, request=request, target=user,
                     params={"by": source, "subject": subject})
    return user


def link_account(user, source: str, subject: str, *, request=None) -> None:
    """Record that a directory made `user` (a directory library made the row itself)."""
    with transaction.atomic():
        _, made = DirectoryIdentity.objects.get_or_create(source=source, subject=subject,
                                                          defaults={"user": user})
        if made:
            audit.record("user.create", actor=user, request=request, target=user,
                         params={"by": source, "subject": subject})


def apply_group_mapping(user, source: str, groups, *, request=None) -> list[tuple[str, str, str]]:
    """Bring `user`'s roles in the mapped teams in line with their directory `groups`; the
    changes made, as (audit action, team name, role)."""
    groups = sorted({str(group) for group in groups})
    managed, wanted = roles_from_groups(source, groups)
    if not managed:
        return []
    changes = []
    with transaction.atomic():
        current = {m.team_id: m for m in Membership.objects.select_related("team")
                   .filter(user=user, team_id__in=managed)}
        for team in Team.objects.filter(pk__in=managed):
            role, member = wanted.get(team.pk), current.get(team.pk)
            if role and member is None:
                Membership.objects.create(user=user, team=team, role=role)
                changes.append(("team.member.add", team, role, None))
            elif role and member.role != role:
                changes.append(("team.member.role", team, role, member.role))
                member.role = role
                member.save(update_fields=["role"])
            elif not role and member is not None:
                changes.append(("team.member.remove", team, "", member.role))
                member.delete()
        for action, team, role, before in changes:
            audit.record(action, actor=user, request=request, team=team, target=user,
                         params={"role": role or None, "previous_role": before,
                                 "by": f"{source} groups", "groups": groups[:50]})
        if changes:
            publish.permissions_changed_on_commit([user.pk])
    return [(action, team.name, role) for action, team, role, _ in changes]


def login_failed(request, source: str, reason: str) -> None:
    audit.record("auth.login", request=request, target_type="user", result="failed",
                 params={"method": source}, error=reason)


def create_mapping(actor, *, source, group, team, role, request=None) -> GroupMapping:
    """Members of the directory's `group` get `role` in `team` from their next login on."""
    require_superuser(actor, "sso.mapping.create", request=request,
                      target_type="groupmapping", target_name=str(group)[:200])
    problems = {}
    if source not in Source.values:
        problems["source"] = [f"Source is one of {', '.join(Source.values)}."]
    if role not in Role.values:
        problems["role"] = [f"Role is one of {', '.join(Role.values)}."]
    group = str(group).strip()
    if not group:
        problems["group"] = ["Name the directory's group."]
    if problems:
        raise Invalid(fields=problems)
    if GroupMapping.objects.filter(source=source, group__iexact=group, team=team).exists():
        raise Invalid(fields={"group": [f"{group} already gives a role in {team.name}: remove "
                                        f"that mapping first."]})
    with transaction.atomic():
        mapping = GroupMapping.objects.create(source=source, group=group, team=team, role=role,
                                              created_by=actor)
        audit.record("sso.mapping.create", actor=actor, request=request, team=team,
                     target=mapping, params={"source": source, "group": group, "role": role})
    return mapping


def delete_mapping(actor, mapping, *, request=None) -> None:
    """The group no longer gives a role in the team: its members lose it at their next login
    (unless another of their groups gives one)."""
    require_superuser(actor, "sso.mapping.delete", request=request, target=mapping)
    with transaction.atomic():
        audit.record("sso.mapping.delete", actor=actor, request=request, team=mapping.team,
                     target=mapping, params={"source": mapping.source, "group": mapping.group,
                                             "role": mapping.role})
        mapping.delete()
