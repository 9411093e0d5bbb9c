"""The Volumes page (mounted at /volumes/): each host's volumes with their size, team, stack
and the containers that use them; making one, removing one, giving one to a team."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from console.core.errors import Forbidden, Invalid, said_on
from console.core.forms import posted_fields
from console.core.permissions import may_somewhere
from console.hosts.models import Host
from console.teams.models import Team
from console.volumes import actions
from console.volumes.forms import VolumeForm
from console.volumes.lookup import visible_volume
from console.volumes.models import Volume
from console.volumes.presentation import users_of


def listing(request, form=None, status=200):
    user = request.user
    volumes = list(Volume.objects.restrict(user, "view").select_related("host", "team"))
    host = request.GET.get("host", "").strip()
    if host:
        volumes = [volume for volume in volumes if volume.host.name == host]
    users = users_of(user, volumes)
    removable = set(Volume.objects.restrict(user, "remove").filter(
        pk__in=[v.pk for v in volumes]).values_list("pk", flat=True))
    grouped = {}
    for volume in volumes:
        seen, others = users[volume.pk]
        grouped.setdefault(volume.host.name, []).append(
            {"volume": volume, "users": seen, "others": others,
             "removable": volume.pk in removable})
    may_create = may_somewhere(user, "create")
    return render(request, "volumes/list.html", {
        "groups": sorted(grouped.items()), "host": host,
        "hosts": Host.objects.restrict(user, "view"),
        "form": form or (VolumeForm(request, initial={"host": host}) if may_create else None),
        "teams": Team.objects.order_by("name") if user.is_superuser else [],
    }, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def volume_list(request):
    """GET: the volumes. POST: make one (the form at the end of the page)."""
    if request.method != "POST":
        return listing(request)
    if not may_somewhere(request.user, "create"):
        refusal = Forbidden(fields={"team": ["You are in no team in which you may create "
                                             "volumes."]})
        actions.refuse_create(request.user, posted_fields(request), refusal, request=request)
        raise refusal
    form = VolumeForm(request, request.POST)
    if not form.is_valid():
        return listing(request, form, status=403 if form.refusal else 400)
    job = actions.create(request.user, form.checked, request=request)
    messages.success(request, f"Volume {form.checked.name} requested (job {job.pk}).")
    return redirect(f"{request.path}?host={form.checked.host.name}")


@login_required
@require_POST
@said_on("volume-list")
def volume_remove(request, pk):
    volume = visible_volume(request.user, pk, verb="remove", request=request)
    job = actions.remove(request.user, volume, request=request)
    messages.success(request, f"Removal of volume {volume.name} requested (job {job.pk}).")
    return redirect("volume-list")


@login_required
@require_POST
@said_on("volume-list", refusals=True)
def volume_assign(request, pk):
    volume = visible_volume(request.user, pk, verb="assign", request=request)
    team = Team.objects.filter(name=request.POST.get("team", "")).first()
    if team is None:
        raise Invalid(fields={"team": ["Choose a team."]})
    actions.assign_team(request.user, volume, team, request=request)
    messages.success(request, f"Volume {volume.name} now belongs to team {team.name}.")
    return redirect("volume-list")
