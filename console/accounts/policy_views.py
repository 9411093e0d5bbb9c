"""Who must log in how: the login settings (superusers: local accounts on or off, two-factor
login for everyone or for superusers, and resetting a user's second factor) and a team's
requirement of two-factor login (its team admins). Changes go through
`console.accounts.actions` (checked, audited)."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from console.accounts import actions
from console.accounts.forms import LoginPolicyForm, ResetSecondFactorForm, TeamTwoFactorForm
from console.accounts.models import LoginPolicy, TeamTwoFactorRequirement, break_glass_account_id
from console.core.errors import Forbidden
from console.core.permissions import require_manager, require_superuser


def render_settings(request, status=200, **bound):
    forms = {"form": LoginPolicyForm(instance=LoginPolicy.current()),
             "reset_form": ResetSecondFactorForm()}
    forms.update(bound)
    return render(request, "accounts/login_settings.html", {
        **forms,
        "break_glass": get_user_model().objects.filter(pk=break_glass_account_id()).first(),
        "oidc": settings.OIDC_PROVIDER_NAME if settings.OIDC_ENABLED else "",
        "ldap": settings.AUTH_LDAP_SERVER_URI if settings.LDAP_ENABLED else "",
        "teams_requiring": TeamTwoFactorRequirement.objects.select_related("team")
                                                           .order_by("team__name"),
    }, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def login_settings(request):
    if request.method == "POST":
        require_superuser(request.user, "settings.login", request=request,
                          target_type="settings", target_name="login")
    elif not request.user.is_superuser:
        raise Forbidden("Only superusers see the login settings.")
    if request.method != "POST":
        return render_settings(request)
    form = LoginPolicyForm(request.POST, instance=LoginPolicy.current())
    if not form.is_valid():
        return render_settings(request, status=400, form=form)
    actions.change_login_policy(request.user, request=request, **{
        name: form.cleaned_data[name] for name in LoginPolicyForm.Meta.fields})
    messages.success(request, "Login settings saved.")
    return redirect("login-settings")


@login_required
@require_POST
def reset_second_factor(request):
    require_superuser(request.user, "user.two_factor.reset", request=request,
                      target_type="user", target_name=request.POST.get("user", "")[:150])
    form = ResetSecondFactorForm(request.POST)
    if not form.is_valid():
        return render_settings(request, status=400, reset_form=form)
    user = form.cleaned_data["user"]
    actions.reset_second_factor(request.user, user, request=request)
    messages.success(request, f"{user.username} has no second factor now: they log in with "
                              f"their password alone, and set one up again if it is "
                              f"required of them.")
    return redirect("login-settings")


@login_required
@require_POST
def team_two_factor(request, pk):
    from console.teams.views import visible_team

    team = visible_team(request, pk, "team.two_factor")
    require_manager(request.user, team, "team.two_factor", request=request, target=team)
    form = TeamTwoFactorForm(request.POST)
    form.is_valid()           # one optional box: always valid
    required = form.cleaned_data.get("required", False)
    actions.require_team_two_factor(request.user, team, required, request=request)
    now = "requires" if required else "no longer requires"
    messages.success(request, f"Team {team.name} {now} two-factor login.")
    return redirect("team-detail", pk=team.pk)
