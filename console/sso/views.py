"""The mapping page (`/sso/mappings/`): the directory groups and the team role each gives at
every single sign-on login. Superusers add and remove them; a team's admins see those of
their team; everyone else sees none."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from console.core.errors import NotFound
from console.core.permissions import require_superuser
from console.sso import actions
from console.sso.forms import GroupMappingForm
from console.sso.models import GroupMapping


def render_mappings(request, form=None, status=200):
    return render(request, "sso/mappings.html", {
        "mappings": GroupMapping.objects.restrict(request.user, "view")
                                        .select_related("team", "created_by"),
        "form": form or GroupMappingForm(),
    }, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def mapping_list(request):
    if request.method != "POST":
        return render_mappings(request)
    require_superuser(request.user, "sso.mapping.create", request=request,
                      target_type="groupmapping", target_name=request.POST.get("group", "")[:200])
    form = GroupMappingForm(request.POST)
    if not form.is_valid():
        return render_mappings(request, form, status=400)
    mapping = actions.create_mapping(request.user, request=request, **form.cleaned_data)
    messages.success(request, f"Members of {mapping.group} get {mapping.get_role_display()} in "
                              f"{mapping.team.name} from their next login on.")
    return redirect("sso-mappings")


@login_required
@require_POST
def mapping_delete(request, pk):
    mapping = GroupMapping.objects.restrict(request.user, "view").filter(pk=pk).first()
    if mapping is None:
        raise NotFound("No such mapping.")
    actions.delete_mapping(request.user, mapping, request=request)
    messages.success(request, f"{mapping.group} no longer gives a role in {mapping.team.name}: "
                              f"its members lose it at their next login.")
    return redirect("sso-mappings")
