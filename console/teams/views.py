"""Team pages: the teams you are in, one team's members and roles, hosts and settings.

Everyone in a team sees it; its team admins (and superusers) add, invite and remove members and
change roles and settings; superusers create teams and grant hosts. Each change goes through
`console.teams.actions`, which checks it, audits it (a refusal too) and tells the affected
users' open sockets to re-check. A stranger gets 404 for a team, a member without the right 403.
"""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from console.accounts.actions import create_user
from console.core.errors import NotFound, said_on
from console.core.permissions import require_manager, require_superuser, user_may
from console.core.roles import Role
from console.hosts.models import Host
from console.teams import actions
from console.teams.forms import (
    HostGrantForm,
    MemberForm,
    NewUserForm,
    RoleForm,
    TeamForm,
    TeamSettingsForm,
)
from console.teams.models import Membership, Team
from console.teams.reasons import REASON_ACTIONS


def visible_team(request, pk, change: str = "") -> Team:
    """The team, if the user may see it (else NotFound); an attempt to `change` (an audit
    action) a team they cannot see is audited as denied."""
    team = Team.objects.restrict(request.user, "view").filter(pk=pk).first()
    if team is None:
        if change:
            actions.audit_hidden_team(change, request.user, pk, request=request)
        raise NotFound("No such team.")
    return team


def render_team(request, team, status=200, **bound):
    """The team page, with any form that failed bound and showing its errors."""
    user = request.user
    may_manage = user_may(user, "manage", team)
    forms = {
        "member_form": MemberForm(),
        "new_user_form": NewUserForm(),
        "host_form": HostGrantForm(team),
        "settings_form": TeamSettingsForm(instance=team),
    }
    forms.update(bound)
    members = team.memberships.select_related("user").order_by("user__username")
    return render(request, "teams/detail.html", {
        "team": team,
        "members": members,
        "roles": Role.choices,
        "host_grants": team.host_grants.select_related("host", "granted_by").order_by("host__name"),
        "may_manage": may_manage,
        "my_role": next((m.role for m in members if m.user_id == user.pk), None),
        "container_count": team.containers.count(),
        "reasons_required": [REASON_ACTIONS[name] for name in team.reasons_required_for or []
                             if name in REASON_ACTIONS],
        **forms,
    }, status=status)


@login_required
@require_safe
def team_list(request):
    teams = Team.objects.restrict(request.user, "view")
    mine = dict(Membership.objects.filter(user=request.user).values_list("team_id", "role"))
    rows = [(team, mine.get(team.pk)) for team in teams.prefetch_related("memberships")]
    return render(request, "teams/list.html", {"rows": rows, "form": TeamForm()})


@login_required
@require_POST
def team_create(request):
    require_superuser(request.user, "team.create", request=request, target_type="team",
                              target_name=request.POST.get("name", "")[:64])
    form = TeamForm(request.POST)
    if not form.is_valid():
        teams = Team.objects.restrict(request.user, "view").prefetch_related("memberships")
        return render(request, "teams/list.html", {"rows": [(t, None) for t in teams],
                                                   "form": form}, status=400)
    team = actions.create_team(request.user, request=request, **form.cleaned_data)
    messages.success(request, f"Team {team.name} created.")
    return redirect("team-detail", pk=team.pk)


@login_required
@require_safe
def team_detail(request, pk):
    return render_team(request, visible_team(request, pk))


@login_required
@require_POST
def member_add(request, pk):
    """Add a member with a role, or change the role of one already in."""
    team = visible_team(request, pk, "team.member.set")
    require_manager(request.user, team, "team.member.set", request=request,
                            target_type="user", target_name=request.POST.get("user", "")[:150])
    form = MemberForm(request.POST)
    if not form.is_valid():
        return render_team(request, team, status=400, member_form=form)
    user, role = form.cleaned_data["user"], form.cleaned_data["role"]
    actions.set_member(request.user, team, user, role, request=request)
    messages.success(request, f"{user.username} is {role_label(role)} in {team.name}.")
    return redirect("team-detail", pk=team.pk)


@login_required
@require_POST
def member_invite(request, pk):
    """Make a new account and add it to the team (superusers: only they create users)."""
    team = visible_team(request, pk, "team.member.set")
    require_superuser(request.user, "user.create", request=request, team=team,
                              target_type="user",
                              target_name=request.POST.get("username", "")[:150])
    form = NewUserForm(request.POST)
    if not form.is_valid():
        return render_team(request, team, status=400, new_user_form=form)
    data = form.cleaned_data
    user = create_user(request.user, username=data["username"],
                               password=data["password"], email=data["email"], request=request)
    actions.set_member(request.user, team, user, data["role"], request=request)
    messages.success(request, f"{user.username} can now log in, as {role_label(data['role'])} "
                              f"in {team.name}.")
    return redirect("team-detail", pk=team.pk)


@login_required
@require_POST
def member_role(request, pk, username):
    team = visible_team(request, pk, "team.member.set")
    member = get_member(team, username)
    require_manager(request.user, team, "team.member.set", request=request,
                            target=member.user)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Choose a role for {username}.")
        return redirect("team-detail", pk=team.pk)
    actions.set_member(request.user, team, member.user, form.cleaned_data["role"],
                       request=request)
    messages.success(request, f"{username} is now {role_label(form.cleaned_data['role'])}.")
    return redirect("team-detail", pk=team.pk)


@login_required
@require_POST
def member_remove(request, pk, username):
    team = visible_team(request, pk, "team.member.remove")
    member = get_member(team, username)
    actions.remove_member(request.user, team, member.user, request=request)
    messages.success(request, f"{username} is no longer in {team.name}.")
    return redirect("team-detail", pk=team.pk)


@login_required
@require_POST
def host_grant(request, pk):
    team = visible_team(request, pk, "team.host.grant")
    require_superuser(request.user, "team.host.grant", request=request, team=team,
                              target_type="host", target_name=request.POST.get("host", "")[:63])
    form = HostGrantForm(team, request.POST)
    if not form.is_valid():
        return render_team(request, team, status=400, host_form=form)
    host = form.cleaned_data["host"]
    actions.grant_host(request.user, team, host, request=request)
    messages.success(request, f"Team {team.name} may now run containers on {host.name}.")
    return redirect("team-detail", pk=team.pk)


@login_required
@require_POST
@said_on("team-detail", "pk")
def host_revoke(request, pk, host_pk):
    team = visible_team(request, pk, "team.host.revoke")
    host = get_object_or_404(Host.objects.restrict(request.user, "view"), pk=host_pk,
                             grants__team=team)
    actions.revoke_host(request.user, team, host, request=request)
    messages.success(request, f"Team {team.name} may no longer run containers on {host.name}.")
    return redirect("team-detail", pk=team.pk)


@login_required
@require_POST
def team_settings(request, pk):
    team = visible_team(request, pk, "team.settings")
    require_manager(request.user, team, "team.settings", request=request, target=team)
    form = TeamSettingsForm(request.POST, instance=Team.objects.get(pk=team.pk))
    if not form.is_valid():
        return render_team(request, team, status=400, settings_form=form)
    actions.change_team_settings(request.user, team, request=request, **{
        name: form.cleaned_data[name] for name in TeamSettingsForm.Meta.fields})
    messages.success(request, "Settings saved.")
    return redirect("team-detail", pk=team.pk)


def get_member(team, username) -> Membership:
    """A member of `team` by username: 404 when not one (after the team's own 404)."""
    member = (Membership.objects.filter(team=team, user__username=username, user__is_active=True)
              .select_related("user").first())
    if member is None:
        raise NotFound(f"{username} is not in team {team.name}.")
    return member


def role_label(role: str) -> str:
    return Role(role).label
