"""A team's usage page (`/teams/<id>/usage/`): per host granted to the team, its quota and what
its group there used at the last reading, drawn as bars against the quota (static/js/usage.js
draws them from the table's numbers). Team admins and superusers see it; superusers set and
remove quotas from it. Members without the right get 403, strangers 404, as on the team page."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from console.core.errors import Forbidden, NotFound
from console.core.permissions import require_superuser, user_may
from console.quotas import actions
from console.quotas.api import reading_data
from console.quotas.checks import containers_in_use, human_bytes
from console.quotas.forms import QuotaForm
from console.quotas.limits import describe
from console.quotas.models import GroupReading, Quota
from console.teams.views import visible_team


def host_rows(team) -> list[dict]:
    """For each host granted to `team`: its quota, reading, and the bars to draw."""
    quotas = {q.host_id: q for q in Quota.objects.filter(team=team)}
    readings = {r.host_id: r for r in GroupReading.objects.filter(team=team)}
    rows = []
    for grant in team.host_grants.select_related("host").order_by("host__name"):
        host = grant.host
        quota, reading = quotas.get(host.pk), readings.get(host.pk)
        usage = reading_data(reading)
        limits = quota.limits() if quota else {}
        rows.append({"host": host, "quota": quota, "reading": reading, "usage": usage,
                     "limits": describe(limits),
                     "in_use": containers_in_use(team, host),
                     "bars": bars(usage, limits)})
    return rows


def bars(usage: dict | None, limits: dict) -> list[dict]:
    """One bar per resource: what is used, against the quota (0: none), and how to say it."""
    if usage is None:
        return []

    def bar(key, label, used, limit, said):
        return {"key": key, "label": label, "used": used, "limit": limit, "said": said}

    cpus = usage["cpus_in_use"]
    return [
        bar("memory", "Memory", usage["memory"], limits.get("memory", 0),
            f"{human_bytes(usage['memory'])} of "
            f"{human_bytes(limits['memory']) if limits.get('memory') else 'no limit'}"),
        bar("cpus", "CPUs", cpus or 0, limits.get("cpus", 0),
            f"{'—' if cpus is None else f'{cpus:g}'} of "
            f"{limits['cpus'] if limits.get('cpus') else 'no limit'}"),
        bar("pids", "PIDs", usage["pids"], limits.get("pids", 0),
            f"{usage['pids']} of {limits.get('pids') or 'no limit'}"),
        bar("containers", "Running containers", usage["containers_running"],
            limits.get("containers", 0),
            f"{usage['containers_running']} of {limits.get('containers') or 'no limit'} "
            f"({usage['containers']} in all)"),
        bar("disk", "Disk", usage["disk"], limits.get("disk", 0),
            f"{human_bytes(usage['disk'])} of "
            f"{human_bytes(limits['disk']) if limits.get('disk') else 'no limit'} "
            f"(layers {human_bytes(usage['disk_layers'])}, "
            f"volumes {human_bytes(usage['disk_volumes'])})"),
    ]


def admin_team(request, pk):
    """The team, if the user sees it (else NotFound) and may manage it (else Forbidden)."""
    team = visible_team(request, pk)
    if not user_may(request.user, "manage", team):
        raise Forbidden("Only the team's admins see its quotas and usage.")
    return team


def render_usage(request, team, *, form=None, status=200):
    return render(request, "quotas/usage.html", {
        "team": team, "rows": host_rows(team),
        "form": form or (QuotaForm(team) if request.user.is_superuser else None),
    }, status=status)


@login_required
@require_safe
def team_usage(request, pk):
    return render_usage(request, admin_team(request, pk))


@login_required
@require_POST
def quota_set(request, pk):
    team = visible_team(request, pk, "quota.set")
    require_superuser(request.user, "quota.set", request=request, team=team, target=team)
    form = QuotaForm(team, request.POST)
    if not form.is_valid():
        return render_usage(request, team, form=form, status=400)
    host = form.cleaned_data["host"]
    actions.set_quota(request.user, team, host, request=request, **form.limits)
    messages.success(request, f"Quota of {team.name} on {host.name}: {describe(form.limits)}.")
    return redirect("team-usage", pk=team.pk)


@login_required
@require_POST
def quota_remove(request, pk, host_pk):
    team = visible_team(request, pk, "quota.remove")
    require_superuser(request.user, "quota.remove", request=request, team=team, target=team)
    quota = Quota.objects.filter(team=team, host_id=host_pk).select_related("team", "host").first()
    if quota is None:
        raise NotFound("This team has no quota on that host.")
    actions.remove_quota(request.user, quota, request=request)
    messages.success(request, f"{team.name} has no quota on {quota.host.name} any more.")
    return redirect("team-usage", pk=team.pk)
