"""The audit page: who did what, newest first, filtered and paged by keyset; one entry with
its whole chain; CSV and JSON exports of what the filters select. Read-only: nothing here
changes an entry, and the log has no page that could.

Team members see their teams' entries (and their own that name no team or host: see
`AuditQuerySet.permission_filter`); superusers see all.
"""
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from console.audit.export import export_response
from console.audit.filters import Page, page_size, parts, visible_entries
from console.audit.models import AuditEntry
from console.core.errors import Invalid, NotFound
from console.core.permissions import get_for_user_or_404
from console.hosts.models import Host
from console.teams.models import Team

EXPORT_KINDS = ("csv", "json")


@login_required
@require_safe
def audit_list(request):
    form, entries = visible_entries(request.user, request.GET)
    page = Page(parts(request.user, entries.select_related("job")),
                cursor=request.GET.get("cursor"),
                direction=request.GET.get("direction", "older"), size=page_size(request.GET))
    for entry in page.rows:
        entry.outcome = job_outcome(entry.job) if entry.job_id else ""
        entry.target_url = target_url(entry)
    return render(request, "audit/list.html", {
        "form": form,
        "page": page,
        "query": urlencode(form.active()),
        "teams": Team.objects.restrict(request.user, "view").values_list("name", flat=True),
        "hosts": Host.objects.restrict(request.user, "view").values_list("name", flat=True),
    })


@login_required
@require_safe
def audit_detail(request, pk):
    entry = get_for_user_or_404(AuditEntry.objects.select_related("job", "job__host"),
                                request.user, "view", pk=pk)
    return render(request, "audit/detail.html", {
        "entry": entry, "outcome": job_outcome(entry.job) if entry.job_id else "",
        "target_url": target_url(entry)})


@login_required
@require_safe
def audit_export(request, kind):
    if kind not in EXPORT_KINDS:
        raise NotFound("Export as csv or json.")
    form, entries = visible_entries(request.user, request.GET)
    if not form.is_valid():
        raise Invalid(fields=form.errors)
    return export_response(request, parts(request.user, entries), kind)


def job_outcome(job) -> str:
    """What the engine did, in a few words: the job's error, or what its result says."""
    if job.state == job.State.FAILED:
        return job.error or "failed"
    if job.state != job.State.SUCCEEDED:
        return ""
    result = job.result or {}
    if result.get("reference") or result.get("image_id"):
        image = str(result.get("image_id", "")).removeprefix("sha256:")[:12]
        return f"image {image} {result.get('reference') or ''}".strip()
    if result.get("removed"):
        return "removed"
    if result.get("exit_code") is not None and result.get("state") != "running":
        return f"{result.get('state', 'exited')}, exit code {result['exit_code']}"
    if result.get("state"):
        return result["state"]
    return ""


def target_url(entry) -> str:
    """The page of an entry's target, for the kinds of target that have one."""
    kind, ident = entry.target_type, entry.target_id
    if not ident:
        return ""
    if kind == "container" and len(ident) == 64:
        return reverse("container-detail", args=[ident])
    if kind == "team" and ident.isdigit():
        return reverse("team-detail", args=[ident])
    if kind == "commit" and ident.isdigit():
        return reverse("commit-detail", args=[ident])
    if kind == "image":
        return reverse("commit-history") + "?" + urlencode({"image": ident})
    return ""
