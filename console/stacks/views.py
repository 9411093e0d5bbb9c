"""Stack pages (mounted at /stacks/): the list, the editor for a new stack or a new version
(checked as one types), the review before anything changes (the file's diff and the host's
plan), a stack's page (its services and their containers, health, ports, the merged live log,
its buttons), the history of its versions with rolling back, and giving one to a team.

Views check and call `stacks.actions`; what goes wrong is raised and answered by
`core.errors.page_answer` (refusals on pages of their own, problems on the stack's page). A
deploy past the team's quota, or without the reason its team requires, is said beside the
form it came from.
"""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from console.core.errors import (
    Forbidden,
    Invalid,
    NotFound,
    TooLarge,
    on_form,
    page_answer,
    said_on,
)
from console.core.forms import posted_fields
from console.core.permissions import may_somewhere
from console.hosts.models import Host
from console.jobs.api import wait
from console.jobs.models import Job
from console.quotas.checks import QuotaExceeded
from console.stacks import actions, diffs, status as stack_status
from console.stacks.forms import ChangeStackForm, NewStackForm
from console.stacks.lookup import visible_stack
from console.stacks.models import Stack
from console.teams.models import Team
from console.volumes.models import Volume

NO_TEAM = "You are in no team in which you may create stacks."
ACTION_WORDS = {"create": "created", "recreate": "recreated", "start": "started",
                "keep": "left alone", "remove": "removed"}


def stack_for(request, pk, verb: str = "view") -> Stack:
    return visible_stack(request.user, pk, verb=verb, request=request)


def posted(request):
    """The form's fields, or TooLarge (said on the page it came from) for a body larger than
    Django reads."""
    try:
        return request.POST
    except RequestDataTooBig:
        raise TooLarge(f"The form is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes: "
                       f"a stack's file may be at most {settings.STACK_FILE_MAX_BYTES} bytes."
                       ) from None


@login_required
def stack_list(request):
    stacks = list(Stack.objects.restrict(request.user, "view").select_related("host", "team")
                  .with_versions())
    host = request.GET.get("host", "").strip()
    if host:
        stacks = [stack for stack in stacks if stack.host.name == host]
    rows = stack_status.rows_of(stacks)
    shown = []
    for stack in stacks:
        found = stack_status.services(stack, rows)
        shown.append({"stack": stack, "services": found,
                      "state": stack_status.state_of(stack, found),
                      "version": stack.current.number if stack.current else None})
    return render(request, "stacks/list.html", {
        "rows": shown, "host": host, "hosts": Host.objects.restrict(request.user, "view"),
        "may_create": may_somewhere(request.user, "create"),
        "address": request.get_host().rsplit(":", 1)[0],
    })


# -- the editor and the review -------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def stack_new(request):
    """GET: the editor. POST `review`: the diff and the host's plan, nothing changed; POST
    `deploy`: make the stack and deploy it."""
    user = request.user
    if not may_somewhere(user, "create"):
        refusal = Forbidden(fields={"team": [NO_TEAM]})
        if request.method == "POST":
            actions.refuse_create(user, posted_fields(request), refusal, request=request)
        raise refusal
    if request.method != "POST":
        return render(request, "stacks/edit.html", {
            "form": NewStackForm(request, initial={"host": request.GET.get("host", "")}),
            "stack": None})
    form = NewStackForm(request, posted(request))
    if request.POST.get("step") == "edit":          # back from the review, as it was
        return render(request, "stacks/edit.html", {"form": form, "stack": None})
    if not form.is_valid():
        return render(request, "stacks/edit.html", {"form": form, "stack": None},
                      status=403 if form.refusal else 400)
    req = form.checked
    if request.POST.get("step") == "deploy":
        try:
            stack, job = actions.create(user, req, reason=form.cleaned_data["reason"],
                                        request=request)
        except (QuotaExceeded, Invalid) as error:
            return refused_deploy(request, form, None, error)
        messages.success(request, f"Stack {stack.name} created; deploying version 1 "
                                  f"(job {job.pk}).")
        return redirect("stack-detail", pk=stack.pk)
    job = actions.plan(user, req, request=request)
    return review(request, form, None, job, diffs.unified("", req.compose, "/dev/null",
                                                          "version 1"))


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@said_on("stack-detail", "pk")
def stack_edit(request, pk):
    """The editor for a new version of the stack: GET the current file; POST `review` (the
    diff and the plan) then `deploy`."""
    posting = request.method == "POST"
    stack = stack_for(request, pk, "deploy" if posting else "view")
    if not Stack.objects.allows(request.user, "create", stack):
        if posting:
            actions.allow(request.user, stack, "create", "deploy", request=request)
        raise Forbidden(f"You may not deploy stack {stack.name}.")
    current = stack.current
    if not posting:
        initial = {"compose": current.compose, "env": current.env} if current else {}
        return render(request, "stacks/edit.html", {
            "form": ChangeStackForm(request, stack, initial=initial), "stack": stack})
    form = ChangeStackForm(request, stack, posted(request))
    if request.POST.get("step") == "edit":
        return render(request, "stacks/edit.html", {"form": form, "stack": stack})
    if not form.is_valid():
        return render(request, "stacks/edit.html", {"form": form, "stack": stack},
                      status=403 if form.refusal else 400)
    req = form.checked
    if request.POST.get("step") == "deploy":
        try:
            version, job = actions.deploy(request.user, stack, req,
                                          reason=form.cleaned_data["reason"], request=request)
        except (QuotaExceeded, Invalid) as error:
            return refused_deploy(request, form, stack, error)
        messages.success(request, f"Deploying version {version.number} (job {job.pk}).")
        return redirect("stack-detail", pk=stack.pk)
    job = actions.plan(request.user, req, stack, request=request)
    number = current.number + 1 if current else 1
    return review(request, form, stack, job, diffs.unified(
        current.compose if current else "", req.compose,
        f"version {current.number}" if current else "/dev/null", f"version {number}"))


def refused_deploy(request, form, stack, error):
    """The editor again, the deploy's refusal (the team's quota, a missing reason) beside the
    form."""
    on_form(form, error)
    return render(request, "stacks/edit.html", {"form": form, "stack": stack},
                  status=error.status)


def review(request, form, stack, job, diff: str):
    """The review before a deploy: the file's diff and the host's plan (waited for), with the
    form again (hidden) to deploy it."""
    if settings.STACK_PLAN_WAIT_SECONDS > 0:
        job = wait(job, settings.STACK_PLAN_WAIT_SECONDS)
    plan = (job.result or {}).get("plan") if job.state == Job.State.SUCCEEDED else None
    env_before = stack.current.env if stack is not None and stack.current else ""
    return render(request, "stacks/review.html", {
        "form": form, "stack": stack, "job": job, "plan": plan_rows(plan),
        "plan_extra": plan_extra(plan), "diff": diffs.shown(diff),
        "env_changed": form.cleaned_data.get("env", "") != env_before,
    })


def plan_rows(plan: dict | None) -> list[dict]:
    """The plan's services and orphans as the review shows them: service, what happens to
    it (in words), and why."""
    if not plan:
        return []
    rows = [{"service": item["service"], "action": item["action"],
             "words": ACTION_WORDS.get(item["action"], item["action"]),
             "reasons": item.get("reasons") or []} for item in plan.get("services", [])]
    for orphan in plan.get("orphans", []):
        rows.append({"service": orphan.get("service") or orphan.get("name"),
                     "action": orphan.get("action"),
                     "words": ACTION_WORDS.get(orphan.get("action"), orphan.get("action")),
                     "reasons": ["the file no longer has it"]})
    return rows


def plan_extra(plan: dict | None) -> list[str]:
    if not plan:
        return []
    return ([f"network {name}: created" for name in plan.get("networks", [])]
            + [f"volume {name}: created" for name in plan.get("volumes", [])]
            + [f"image of {name}: pulled" for name in plan.get("pull", [])]
            + [f"image of {name}: built" for name in plan.get("build", [])])


# -- a stack -------------------------------------------------------------------------------------

@login_required
def stack_detail(request, pk, *, schedule_form=None, grant_form=None, status=200):
    from console.grants.views import stack_access_context
    from console.schedules.views import stack_schedules_context

    user = request.user
    stack = stack_for(request, pk)
    found = stack_status.services(stack)
    reasons = (stack.team.reasons_required_for or []) if stack.team_id else []
    allowed = {verb: Stack.objects.allows(user, action, stack)
               for verb, action in (("start", "start"), ("stop", "stop"),
                                    ("restart", "restart"), ("down", "remove"),
                                    ("remove", "remove"), ("deploy", "create"))}
    jobs = list(actions.stack_jobs(stack).restrict(user, "view")
                .select_related("host", "requested_by")[:10])
    running = next((job for job in jobs if job.kind == Job.Kind.STACK_DEPLOY
                    and job.state in actions.BUSY), None) or next(
        (job for job in jobs if job.kind == Job.Kind.STACK_DEPLOY), None)
    from console.containers.models import Container

    loggable = set(Container.objects.restrict(user, "logs").filter(
        engine_id__in=stack.container_ids).values_list("engine_id", flat=True))
    log_sources = [{"id": c.engine_id, "name": c.name, "service": service.name}
                   for service in found for c in service.containers if c.engine_id in loggable]
    return render(request, "stacks/detail.html", {
        "stack": stack, "services": found, "state": stack_status.state_of(stack, found),
        "current": stack.current, "allowed": allowed, "jobs": jobs, "deploy_job": running,
        "reason_for_remove": "stack-remove" in reasons,
        "volumes": Volume.objects.filter(host=stack.host, project=stack.name),
        "log_sources": log_sources,
        "address": request.get_host().rsplit(":", 1)[0],
        "assignable_teams": (Team.objects.filter(host_grants__host=stack.host)
                             .exclude(pk=stack.team_id).order_by("name")
                             if user.is_superuser else []),
        **stack_schedules_context(request, stack, schedule_form),
        **stack_access_context(request, stack, grant_form),
    }, status=status)


@login_required
@require_POST
@said_on("stack-detail", "pk")
def stack_action(request, pk, verb):
    if verb not in actions.VERBS:
        raise NotFound("No such action.")
    stack = stack_for(request, pk, verb)
    job = actions.act(request.user, stack, verb, request=request)
    messages.success(request, f"{verb.capitalize()} requested (job {job.pk}).")
    return redirect("stack-detail", pk=stack.pk)


@login_required
@require_POST
@said_on("stack-detail", "pk")
def stack_remove(request, pk):
    """Take the stack down and forget it; `volumes=1`: its volumes too."""
    stack = stack_for(request, pk, "remove")
    volumes = request.POST.get("volumes") == "1"
    job = actions.remove(request.user, stack, volumes=volumes,
                         reason=request.POST.get("reason", ""), request=request)
    messages.success(request, f"Removal of stack {stack.name}"
                              f"{' and its volumes' if volumes else ''} requested "
                              f"(job {job.pk}).")
    return redirect("stack-list")


@login_required
@require_POST
@said_on("stack-detail", "pk", refusals=True)
def stack_assign(request, pk):
    """Give the stack to a team (superusers; others are told so on its page)."""
    stack = stack_for(request, pk, "assign")
    team = Team.objects.filter(name=request.POST.get("team", "")).first()
    if team is None:
        raise Invalid(fields={"team": ["Choose a team."]})
    actions.assign_team(request.user, stack, team, request=request)
    messages.success(request, f"Stack {stack.name} now belongs to team {team.name}.")
    return redirect("stack-detail", pk=stack.pk)


# -- history -------------------------------------------------------------------------------------

@login_required
def stack_history(request, pk):
    """Every deployed version, newest first, with its diff against the one before."""
    stack = stack_for(request, pk)
    versions = list(stack.versions.select_related("job").order_by("number"))
    shown = []
    for index, version in enumerate(versions):
        previous = versions[index - 1] if index else None
        shown.append({"version": version,
                      "diff": diffs.shown(diffs.between(previous, version)),
                      "env_changed": previous is not None and previous.env != version.env})
    return render(request, "stacks/history.html", {
        "stack": stack, "versions": list(reversed(shown)),
        "may_deploy": Stack.objects.allows(request.user, "create", stack),
        "reason_required": stack.team_id is not None and "stack-deploy" in (
            stack.team.reasons_required_for or []),
        "current": versions[-1].number if versions else None,
    })


@login_required
@require_POST
@said_on("stack-history", "pk")
def version_deploy(request, pk, number):
    """Redeploy this version (a rollback), as a new one; past the team's quota, the history
    says so."""
    stack = stack_for(request, pk, "deploy")
    try:
        version, job = actions.redeploy(request.user, stack, int(number),
                                        str(request.POST.get("message", ""))[:500],
                                        reason=request.POST.get("reason", ""), request=request)
    except QuotaExceeded as error:
        return page_answer(request, error, reverse("stack-history", kwargs={"pk": stack.pk}))
    messages.success(request, f"Deploying version {number} again as version "
                              f"{version.number} (job {job.pk}).")
    return redirect("stack-detail", pk=stack.pk)
