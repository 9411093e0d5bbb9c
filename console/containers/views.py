"""Container pages: the list across hosts, the run form, the detail page and its buttons, the
commit dialog.

Views check, validate and call `containers.actions`; they never make jobs themselves. What goes
wrong is raised (`console.core.errors`) and answered by `core.errors.page_answer`: a refusal
with its own page, a problem as a message on the container's page (`said_on`).
"""
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.html import format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timezone import localtime
from django.views.decorators.http import require_http_methods, require_POST

from console.containers import actions
from console.containers.forms import CommitForm, RunForm
from console.containers.lookup import visible_container
from console.containers.models import Container
from console.containers.redaction import redacted_inspect
from console.containers.status import ACTION_STATES, Status
from console.core.errors import ConsoleError, Forbidden, Invalid, NotFound, on_form, said_on
from console.core.forms import posted_fields
from console.core.permissions import may_somewhere
from console.hosts.models import ANY_HOST, Host, online_filter
from console.jobs.models import Job
from console.teams.models import Team

PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
NO_TEAM_TO_RUN_IN = "You are in no team in which you may run containers."


def container_for(request, ref: str, verb: str = "view") -> Container:
    """The container `ref` names, if the user may see it (else NotFound; an attempt to act on
    one they cannot see is audited). Acting on it is checked again by the action itself."""
    return visible_container(request.user, ref, verb=verb, audit_refusal=verb != "view",
                             request=request,
                             queryset=Container.objects.select_related("host", "team", "image"))


@login_required
def container_list(request):
    containers = (Container.objects.restrict(request.user, "view")
                  .select_related("host", "team").defer("inspect_data", "env", "options"))
    host, state, name = (request.GET.get(key, "").strip() for key in ("host", "state", "name"))
    if host:
        containers = containers.filter(host__name=host)
    if state == UNKNOWN:
        containers = containers.exclude(online_filter("host__"))
    elif state:
        containers = containers.filter(online_filter("host__"), state=state)
    if name:
        containers = containers.filter(name__icontains=name)
    page = Paginator(containers, page_size(request)).get_page(request.GET.get("page"))
    return render(request, "containers/list.html", {
        "page": page,
        "rows": container_rows(page.object_list),
        "hosts": Host.objects.restrict(request.user, "view"),
        "states": Status.values + [UNKNOWN],
        "filters": {"host": host, "state": state, "name": name},
        "may_run": may_somewhere(request.user, "run"),
    })


def container_rows(containers) -> str:
    """The list's rows, built in Python: a page of 1,000 rows through the template engine
    costs several times as much, for the same escaped HTML. A container of an offline host
    shows as unknown, its last known state in the badge's title and `data-state`."""
    return format_html_join("\n", ROW, (
        (c.engine_id, c.host.name, c.engine_id, c.display_name, c.engine_id, c.display_name,
         c.display_state, c.state, state_note(c), c.display_state, c.host.name, c.image_ref,
         c.team.name if c.team_id else "—",
         localtime(c.created_at).strftime("%Y-%m-%d %H:%M:%S") if c.created_at else "",
         "" if c.exit_code is None else c.exit_code, c.short_id)
        for c in containers))


def state_note(container) -> str:
    """What the state badge's title says: the last known state of an unknown one."""
    if container.display_state != UNKNOWN:
        return ""
    return f"last known: {container.state} (host {container.host.name} is offline)"


UNKNOWN = "unknown"     # the state pages show for a container of an offline host
ROW = ('<tr data-container="{}" data-on-host="{}"><td class="check"><input type="checkbox" '
       'name="containers" value="{}" aria-label="select {}"></td><td><a href="/containers/{}/" '
       'class="c-name">{}</a></td><td><span class="badge s-{} c-state" data-state="{}" '
       'title="{}">{}</span></td><td>{}</td><td class="mono">{}</td><td>{}</td>'
       '<td class="muted">{}</td><td class="c-exit">{}</td><td class="mono muted">{}</td></tr>')


def page_size(request) -> int:
    try:
        return max(1, min(int(request.GET.get("page_size", PAGE_SIZE)), MAX_PAGE_SIZE))
    except ValueError:
        return PAGE_SIZE


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
        except ConsoleError as error:           # one container's problem, said with the rest
            skipped.append(f"{ref[:12]}: {error.message}")
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
    if request.method == "POST" and not may_somewhere(request.user, "run"):
        refusal = Forbidden(fields={"team": [NO_TEAM_TO_RUN_IN]})
        actions.refuse_run(request.user, posted_fields(request), refusal, request=request)
        raise refusal
    form = RunForm(request, request.POST or None,
                   initial={"host": request.GET.get("host") or ANY_HOST,
                            "image": request.GET.get("image")})
    if request.method == "POST" and form.is_valid():
        try:
            container, job = actions.run(request.user, form.checked, request=request)
        except ConsoleError as error:   # the name taken meanwhile, Redis away: said on the form
            on_form(form, error, form.api_names)
        else:
            messages.success(request, f"Run requested (job {job.pk})"
                                      + (f"; {job.output.strip()}." if job.output else "."))
            return redirect("container-detail", ref=container.engine_id)
    return render(request, "containers/run.html", {"form": form,
                                                   "images_by_host": form.images_by_host(),
                                                   "any_host_references":
                                                       form.any_host_references()},
                  status=403 if form.refusal else 200)


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
def container_detail(request, ref, *, grant_form=None, request_form=None, schedule_form=None,
                     status=200):
    from console.grants.views import access_context
    from console.schedules.views import schedules_context
    from console.streams.pages import container_streams

    container = container_for(request, ref)
    user = request.user
    allowed = {verb: (user.is_superuser or Container.objects.restrict(user, verb)
                      .filter(pk=container.pk).exists())
               for verb in actions.VERBS}
    reasons = container.team.reasons_required_for if container.team_id else []
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
        "state_note": state_note(container),
        "host_visible": Host.objects.restrict(user, "view").filter(pk=container.host_id).exists(),
        "commit_form": CommitForm(initial={"pause": True}) if allowed["commit"] else None,
        "reason_for": {verb: verb in (reasons or []) for verb in ("kill", "remove")},
        "assignable_teams": (Team.objects.filter(host_grants__host=container.host)
                             .exclude(pk=container.team_id).order_by("name")
                             if user.is_superuser else []),
        **access_context(request, container, grant_form, request_form),
        **schedules_context(request, container, schedule_form),
        **container_streams(request, container),
    }, status=status)


@login_required
@require_POST
@said_on("container-detail", "ref", refusals=True)
def container_assign(request, ref):
    """Give the container to a team (superusers; others are told so on its page)."""
    container = container_for(request, ref, "assign")
    team = Team.objects.filter(name=request.POST.get("team", "")).first()
    if team is None:
        raise Invalid(fields={"team": ["Choose a team."]})
    actions.assign_team(request.user, container, team, request=request)
    messages.success(request, f"{container.display_name} now belongs to team {team.name}.")
    return redirect("container-detail", ref=container.engine_id)


@login_required
@require_POST
@said_on("container-detail", "ref")
def container_action(request, ref, verb):
    if verb not in actions.VERBS or verb == "commit":
        raise NotFound("No such action.")
    container = container_for(request, ref, verb)
    params = {"reason": request.POST.get("reason", "")}
    if verb == "remove":
        params["force"] = request.POST.get("force") == "1"
        if request.POST.get("volumes") == "1":
            params["volumes"] = True
    job = actions.act(request.user, container, verb, request=request, params=params)
    messages.success(request, f"{verb.capitalize()} requested (job {job.pk}).")
    if verb == "remove":
        return redirect("container-list")
    return redirect("container-detail", ref=container.engine_id)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@said_on("container-detail", "ref")
def container_commit(request, ref):
    """GET: the commit form on a page of its own (the container page opens it as a dialog).
    POST: commit the container; the author is the logged-in user."""
    posting = request.method == "POST"
    container = container_for(request, ref, "commit" if posting else "view")
    if not Container.objects.allows(request.user, "commit", container):
        if posting:
            actions.deny(request.user, container, "commit", request=request)
        raise Forbidden(f"You may not commit {container.display_name}.")
    form = CommitForm(request.POST if posting else None, initial={"pause": True})
    if posting and form.is_valid():
        try:
            job = actions.act(request.user, container, "commit", request=request,
                              params=form.action_params())
        except (Invalid, Forbidden) as error:       # a bad change, a name of another team
            on_form(form, error)
        else:
            messages.success(request, f"Commit of {container.display_name} requested "
                                      f"(job {job.pk}); it appears in the history when done.")
            return redirect("container-detail", ref=container.engine_id)
    return render(request, "commits/commit_form.html", {"container": container, "form": form},
                  status=400 if posting else 200)
