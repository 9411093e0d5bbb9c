"""Per-container grants and requests for access on the container page, the requests page, and
per-stack grants on the stack page.

A team admin lets one user do chosen actions on one container ("may start, stop and open a
terminal on web-1, and nothing else"), for good or for a while; a member asks for actions on a
container for a while, saying why, and the team's admins approve or refuse on the requests
page (`/requests/`, with a count of pending ones in the navigation for them). The grants and
decisions are made by `console.grants.actions` (checked, audited, and the users' open sockets
told to re-check), as through `/api/grants/` and `/api/access-requests/`.
"""
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from console.containers.views import container_detail, container_for
from console.core.errors import NotFound, said_on
from console.core.permissions import get_for_user_or_404, require_manager, user_may
from console.grants import actions
from console.grants.forms import (
    ACTION_LABELS,
    AccessRequestForm,
    ContainerGrantForm,
    DecisionForm,
    StackGrantForm,
)
from console.grants.models import AccessRequest, ContainerGrant, StackGrant, current_grants
from console.stacks.lookup import visible_stack
from console.stacks.views import stack_detail


def access_context(request, container, form=None, request_form=None) -> dict:
    """What the container page shows about access: the grants on it for those who manage
    them, the user's own grants, and the form to request more with their past requests."""
    user = request.user
    may_manage = user_may(user, "manage", container.team)
    grants = list(container.grants.select_related("user", "granted_by").order_by(
        "user__username", "expires_at")) if may_manage else []
    own = list(current_grants().filter(container=container, user=user)
               .select_related("granted_by").order_by("expires_at"))
    asked = list(AccessRequest.objects.filter(container=container, user=user)
                 .select_related("decided_by")[:5])
    may_request = container.team_id is not None and not may_manage
    return {"may_grant": may_manage, "grants": grants, "own_grants": own,
            "grant_form": form or ContainerGrantForm(), "action_labels": ACTION_LABELS,
            "may_request": may_request, "own_requests": asked,
            "request_form": request_form or (AccessRequestForm() if may_request else None),
            "pending_here": (AccessRequest.objects.pending().filter(container=container).count()
                             if may_manage else 0)}


@dataclass(frozen=True)
class Granted:
    """A kind of thing grants are on, as the grant buttons of its page need it: its grant
    model and form, the action making a grant, its page (shown again with a bad form) and
    how a message names one."""
    grant_model: type
    form: type
    grant: Callable
    page: Callable          # (request, target, **page_options) -> the target's page
    page_url: str
    key: Callable           # target -> the argument of `page_url`
    name: Callable          # target -> how a message names it

    @property
    def field(self) -> str:
        return self.grant_model.target_field


CONTAINERS = Granted(
    ContainerGrant, ContainerGrantForm, actions.grant_container,
    lambda request, container, **options: container_detail(request, container.engine_id,
                                                           **options),
    "container-detail", key=lambda container: container.engine_id,
    name=lambda container: container.display_name)
STACKS = Granted(
    StackGrant, StackGrantForm, actions.grant_stack,
    lambda request, stack, **options: stack_detail(request, stack.pk, **options),
    "stack-detail", key=lambda stack: stack.pk, name=lambda stack: f"stack {stack.name}")


def add_grant(request, kind: Granted, target):
    require_manager(request.user, target.team, f"{kind.field}.grant", request=request,
                    target=target, host=target.host)
    form = kind.form(request.POST)
    if not form.is_valid():
        return kind.page(request, target, grant_form=form, status=400)
    user, duration = form.cleaned_data["user"], form.cleaned_data["duration"]
    grant = kind.grant(request.user, user, target, form.cleaned_data["actions"],
                       request=request,
                       expires_at=actions.end_time(duration=duration) if duration else None)
    until = f" until {grant.expires_at:%Y-%m-%d %H:%M} UTC" if grant.expires_at else ""
    messages.success(request, f"{user.username} may {', '.join(grant.actions)} on "
                              f"{kind.name(target)}{until}.")
    return redirect(kind.page_url, kind.key(target))


def revoke_grant(request, kind: Granted, target, grant_pk):
    grant = kind.grant_model.objects.filter(pk=grant_pk, **{kind.field: target}).select_related(
        "user", f"{kind.field}__team", f"{kind.field}__host").first()
    if grant is None:
        raise NotFound(f"No such grant on this {kind.field}.")
    actions.revoke_grant(request.user, grant, request=request)
    messages.success(request, f"{grant.user.username} no longer has this grant on "
                              f"{kind.name(target)}.")
    return redirect(kind.page_url, kind.key(target))


@login_required
@require_POST
def grant_add(request, ref):
    return add_grant(request, CONTAINERS, container_for(request, ref, "grant"))


@login_required
@require_POST
def grant_revoke(request, ref, grant_pk):
    return revoke_grant(request, CONTAINERS, container_for(request, ref, "revoke"), grant_pk)


@login_required
@require_POST
def stack_grant_add(request, pk):
    return add_grant(request, STACKS, visible_stack(request.user, pk, verb="grant",
                                                    request=request))


@login_required
@require_POST
def stack_grant_revoke(request, pk, grant_pk):
    return revoke_grant(request, STACKS, visible_stack(request.user, pk, verb="revoke",
                                                       request=request), grant_pk)


@login_required
@require_POST
@said_on("container-detail", "ref")
def request_add(request, ref):
    """Ask for actions on a container the user sees, for a while, saying why."""
    container = container_for(request, ref, "request")
    form = AccessRequestForm(request.POST)
    if not form.is_valid():
        return container_detail(request, container.engine_id, request_form=form, status=400)
    data = form.cleaned_data
    actions.request_access(request.user, container, data["actions"], duration=data["duration"],
                           reason=data["reason"], request=request)
    messages.success(request, f"Your request is with the admins of team {container.team.name}; "
                              "its answer will show here and on your requests page.")
    return redirect("container-detail", ref=container.engine_id)


@login_required
@require_safe
def request_list(request):
    """Requests waiting for the user's decision (team admins), and the user's own."""
    user = request.user
    to_decide = (AccessRequest.objects.restrict(user, "manage").pending().exclude(user=user)
                 .select_related("user", "container__team", "container__host")
                 .order_by("created_at"))
    own = (AccessRequest.objects.filter(user=user)
           .select_related("container__team", "decided_by")[:100])
    return render(request, "grants/requests.html", {
        "to_decide": to_decide, "own": own})


@login_required
@require_POST
@said_on("request-list")
def request_decide(request, pk, decision):
    asked = get_for_user_or_404(AccessRequest.objects.select_related(
        "user", "container__team", "container__host"), request.user, "view", pk=pk)
    if decision not in ("approve", "refuse"):
        raise NotFound("Approve or refuse.")
    form = DecisionForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    decided = actions.decide(request.user, asked, approve=decision == "approve", note=note,
                             request=request)
    if decided.state == AccessRequest.State.APPROVED:
        messages.success(request, f"{decided.user.username} may {', '.join(decided.actions)} on "
                                  f"{decided.container.display_name} until "
                                  f"{decided.expires_at:%Y-%m-%d %H:%M} UTC.")
    else:
        messages.success(request, f"Refused: {decided.user.username} was told.")
    return redirect("request-list")


# -- stacks --------------------------------------------------------------------------------------

def stack_access_context(request, stack, form=None) -> dict:
    """What the stack page shows about grants: those on it for its team's admins, and the
    user's own."""
    user = request.user
    may_manage = stack.team_id is not None and user_may(user, "manage", stack.team)
    grants = list(stack.grants.select_related("user", "granted_by").order_by(
        "user__username", "expires_at")) if may_manage else []
    own = list(current_grants(StackGrant).filter(stack=stack, user=user)
               .select_related("granted_by").order_by("expires_at"))
    return {"may_grant": may_manage, "grants": grants, "own_grants": own,
            "grant_form": form or StackGrantForm()}
