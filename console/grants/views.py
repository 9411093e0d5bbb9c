"""Per-container grants on the container page: a team admin lets one user do chosen actions on
one container ("may start, stop and open a terminal on web-1, and nothing else").

The grant is made and revoked by `console.grants.actions` (checked, audited, and the
grantee's open sockets told to re-check), as through `POST /api/grants/`.
"""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from console.containers.views import container_detail, container_for
from console.core.errors import NotFound
from console.core.permissions import require_manager, user_may
from console.grants import actions
from console.grants.forms import ACTION_LABELS, ContainerGrantForm
from console.grants.models import ContainerGrant


def access_context(request, container, form=None) -> dict:
    """What the container page shows about access: the grants on it for those who manage
    them, the user's own grant for a grantee."""
    may_manage = user_may(request.user, "manage", container.team)
    grants = list(container.grants.select_related("user", "granted_by").order_by(
        "user__username")) if may_manage else []
    own = (ContainerGrant.objects.filter(container=container, user=request.user).first()
           if request.user.is_authenticated else None)
    return {"may_grant": may_manage, "grants": grants, "own_grant": own,
            "grant_form": form or ContainerGrantForm(), "action_labels": ACTION_LABELS}


@login_required
@require_POST
def grant_add(request, ref):
    container = container_for(request, ref, "grant")
    require_manager(request.user, container.team, "container.grant", request=request,
                    target=container, host=container.host)
    form = ContainerGrantForm(request.POST)
    if not form.is_valid():
        return container_detail(request, container.engine_id, grant_form=form, status=400)
    user = form.cleaned_data["user"]
    grant = actions.grant_container(request.user, user, container, form.cleaned_data["actions"],
                                    request=request)
    messages.success(request, f"{user.username} may {', '.join(grant.actions)} on "
                              f"{container.display_name}.")
    return redirect("container-detail", ref=container.engine_id)


@login_required
@require_POST
def grant_revoke(request, ref, grant_pk):
    container = container_for(request, ref, "revoke")
    grant = ContainerGrant.objects.filter(pk=grant_pk, container=container).select_related(
        "user", "container__team").first()
    if grant is None:
        raise NotFound("No such grant on this container.")
    actions.revoke_container_grant(request.user, grant, request=request)
    messages.success(request, f"{grant.user.username} no longer has a grant on "
                              f"{container.display_name}.")
    return redirect("container-detail", ref=container.engine_id)
