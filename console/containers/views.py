"""Container pages: the list across hosts, the run form, the detail page and its buttons.

Views check, validate and call `containers.actions`; they never make jobs themselves.
"""
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.html import format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timezone import localtime
from django.views.decorators.http import require_POST

from console.containers import actions
from console.containers.forms import RunForm
from console.containers.lookup import NoSuchContainer, visible_container
from console.containers.models import Container
from console.containers.options import InvalidRequest
from console.containers.redaction import redacted_inspect
from console.containers.status import ACTION_STATES, Status
from console.core.errors import REDIS_UNREACHABLE
from console.hosts.models import Host
from console.jobs.dispatch import QueueUnavailable
from console.jobs.models import Job
from console.teams.models import Team

PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def container_for(request, ref: str, verb: str = "view") -> Container:
    """The container `ref` names, if the user may see it (else 404; an attempt to act on one
    they cannot see is audited). Acting on it is checked again by the action itself."""
    try:
        return visible_container(request.user, ref, verb=verb, audit_refusal=verb != "view",
                                 request=request,
                                 queryset=Container.objects.select_related("host", "team",
                                                                           "image"))
    except NoSuchContainer as error:
        raise Http404(str(error)) from None


@login_required
def container_list(request):
    containers = (Container.objects.restrict(request.user, "view")
                  .select_related("host", "team").defer("inspect_data", "env", "options"))
    host, state, name = (request.GET.get(key, "").strip() for key in ("host", "state", "name"))
    if host:
        containers = containers.filter(host__name=host)
    if state:
        containers = containers.filter(state=state)
    if name:
        containers = containers.filter(name__icontains=name)
    page = Paginator(containers, page_size(request)).get_page(request.GET.get("page"))
    return render(request, "containers/list.html", {
        "page": page,
        "rows": container_rows(page.object_list),
        "hosts": Host.objects.restrict(request.user, "view"),
        "states": Status.values,
        "filters": {"host": host, "state": state, "name": name},
        "may_run": request.user.is_superuser or user_may_run_somewhere(request.user),
    })


def container_rows(containers) -> str:
    """The list's rows, built in Python: a page of 1,000 rows through the template engine
    costs several times as much, for the same escaped HTML."""
    return format_html_join("\n", ROW, (
        (c.engine_id, c.engine_id, c.display_name, c.engine_id, c.display_name, c.state,
         c.state, c.host.name, c.image_ref, c.team.name if c.team_id else "—",
         localtime(c.created_at).strftime("%Y-%m-%d %H:%M:%S") if c.created_at else "",
         "" if c.exit_code is None else c.exit_code, c.short_id)
        for c in containers))


ROW = ('<tr data-container="{}"><td class="check"><input type="checkbox" name="containers" '
       'value="{}" aria-label="select {}"></td><td><a href="/containers/{}/" class="c-name">{}'
       '</a></td><td><span class="badge s-{} c-state">{}</span></td><td>{}</td>'
       '<td class="mono">{}</td><td>{}</td><td class="muted">{}</td><td class="c-exit">{}</td>'
       '<td class="mono muted">{}</td></tr>')


def page_size(request) -> int:
    try:
        return max(1, min(int(request.GET.get("page_size", PAGE_SIZE)), MAX_PAGE_SIZE))
    except ValueError:
        return PAGE_SIZE


def user_may_run_somewhere(user) -> bool:
    from console.teams.models import Team

    return Team.objects.restrict(user, "run").exists()


@login_required
@require_POST
def bulk_action(request):
    verb = request.POST.get("action")
    if verb not in ("stop", "remove"):
        messages.error(request, "Choose stop or remove.")
        return redirect("container-list")
    refs = request.POST.getlist("containers")
    done, skipped = 0, []
    for ref in refs:
        try:
            container = container_for(request, ref, verb)
            if container.state not in ACTION_STATES[verb]:
                skipped.append(f"{container.display_name} is {container.state}")
                continue
            actions.act(request.user, container, verb, request=request,
                        params={"force": True} if verb == "remove" else {})
            done += 1
        except (Http404, PermissionDenied, actions.Conflict, InvalidRequest) as error:
            skipped.append(f"{ref[:12]}: {error or 'not found'}")
        except QueueUnavailable:
            skipped.append(f"{ref[:12]}: {REDIS_UNREACHABLE}")
    if done:
        messages.success(request, f"{verb.capitalize()} requested for {done} container(s).")
    for reason in skipped:
        messages.warning(request, f"Skipped {reason}.")
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = ""
    return redirect(next_url or "container-list")


@login_required
def run_container(request):
    if request.method == "POST" and not (request.user.is_superuser
                                         or user_may_run_somewhere(request.user)):
        error = InvalidRequest({"team": ["You are in no team in which you may run "
                                         "containers."]}, forbidden=True)
        data = {k: v for k, v in request.POST.items() if k != "csrfmiddlewaretoken"}
        actions.refuse_run(request.user, data, error, request=request)
        raise PermissionDenied(error.errors["team"][0])
    form = RunForm(request.user, request.POST or None,
                   initial={"host": request.GET.get("host"), "image": request.GET.get("image")})
    valid = request.method == "POST" and form.is_valid()
    if form.refused is not None:
        actions.refuse_run(request.user, form.request_data, form.refused, request=request)
        raise PermissionDenied(" ".join(" ".join(problems)
                                        for problems in form.refused.errors.values()))
    if valid:
        try:
            container, job = actions.run(request.user, form.run_request, request=request)
        except InvalidRequest as error:
            for name, problems in error.errors.items():
                for problem in problems:
                    form.add_error(name if name in form.fields else None, problem)
        except QueueUnavailable:
            form.add_error(None, REDIS_UNREACHABLE)
        else:
            messages.success(request, f"Run requested (job {job.pk}).")
            return redirect("container-detail", ref=container.engine_id)
    return render(request, "containers/run.html", {"form": form,
                                                   "images_by_host": form.images_by_host()})


def network_summary(container) -> dict:
    """Mode, addresses and published ports, from the engine's inspect data."""
    settings = (container.inspect_data or {}).get("NetworkSettings") or {}
    mode = ((container.inspect_data or {}).get("HostConfig") or {}).get("NetworkMode") \
        or container.options.get("network") or "bridge"
    addresses = [(name, endpoint.get("IPAddress"), endpoint.get("Gateway"))
                 for name, endpoint in sorted((settings.get("Networks") or {}).items())
                 if endpoint.get("IPAddress")]
    ports = []
    for key, bindings in sorted((settings.get("Ports") or {}).items()):
        for binding in bindings or [None]:
            ports.append(f"{binding['HostIp']}:{binding['HostPort']} → {key}" if binding
                         else f"{key} (not published)")
    return {"mode": mode, "addresses": addresses, "ports": ports}


@login_required
def container_detail(request, ref, *, grant_form=None, status=200):
    from console.images.forms import CommitForm
    from console.streams.pages import container_streams
    from console.teams.grant_views import access_context

    container = container_for(request, ref)
    user = request.user
    allowed = {verb: (user.is_superuser or Container.objects.restrict(user, verb)
                      .filter(pk=container.pk).exists())
               for verb in actions.VERBS}
    jobs = (Job.objects.restrict(user, "view").filter(container=container)
            .select_related("requested_by")[:10])
    return render(request, "containers/detail.html", {
        "container": container,
        "allowed": allowed,
        "action_states": {verb: sorted(states) for verb, states in ACTION_STATES.items()},
        "jobs": jobs,
        "inspect_json": json.dumps(redacted_inspect(container.inspect_data), indent=2,
                                   sort_keys=True),
        "env_names": [item.split("=", 1)[0] for item in container.env],
        "network": network_summary(container),
        "commit_form": CommitForm(initial={"pause": True}) if allowed["commit"] else None,
        "assignable_teams": (Team.objects.filter(host_grants__host=container.host)
                             .exclude(pk=container.team_id).order_by("name")
                             if user.is_superuser else []),
        **access_context(request, container, grant_form),
        **container_streams(request, container),
    }, status=status)


@login_required
@require_POST
def container_assign(request, ref):
    """Give the container to a team (superusers)."""
    container = container_for(request, ref, "assign")
    team = Team.objects.filter(name=request.POST.get("team", "")).first()
    try:
        if team is None:
            raise InvalidRequest({"team": ["Choose a team."]})
        actions.assign_team(request.user, container, team, request=request)
    except InvalidRequest as error:
        messages.error(request, " ".join(" ".join(v) for v in error.errors.values()))
    except PermissionDenied as error:
        messages.error(request, str(error))
        return redirect("container-detail", ref=container.engine_id)
    else:
        messages.success(request, f"{container.display_name} now belongs to team {team.name}.")
    return redirect("container-detail", ref=container.engine_id)


@login_required
@require_POST
def container_action(request, ref, verb):
    if verb not in actions.VERBS or verb == "commit":
        raise Http404("No such action.")
    container = container_for(request, ref, verb)
    params = {}
    if verb == "remove":
        params["force"] = request.POST.get("force") == "1"
    try:
        job = actions.act(request.user, container, verb, request=request, params=params)
    except (actions.Conflict, InvalidRequest) as error:
        messages.error(request, str(error))
    except QueueUnavailable:
        messages.error(request, REDIS_UNREACHABLE)
    else:
        messages.success(request, f"{verb.capitalize()} requested (job {job.pk}).")
        if verb == "remove":
            return redirect("container-list")
    return redirect("container-detail", ref=container.engine_id)
