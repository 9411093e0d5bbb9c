"""Commit history pages: the commit dialog's target, the history (per team, or one image's
lineage) read like `git log`, one commit with its files, and tagging from a commit.

A commit is named by its number, its image's ID or a prefix of it, or `repository:tag`; one the
user may not see is a 404 whichever way it is named.
"""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from console import audit
from console.audit.redact import redact_change
from console.containers import actions as container_actions
from console.containers.models import Container
from console.containers.options import InvalidRequest
from console.containers.views import container_for
from console.hosts.models import Host
from console.images import actions
from console.images.forms import CommitForm, TagForm
from console.images.lineage import Lineage, render_svg
from console.images.models import Commit, Image
from console.teams.models import Team

PAGE_SIZE = 50


def may(user, queryset, action, obj) -> bool:
    return queryset.restrict(user, action).filter(pk=obj.pk).exists()


# -- the commit dialog --------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def container_commit(request, ref):
    """GET: the commit form on a page of its own (the container page opens it as a dialog).
    POST: commit the container; the author is the logged-in user."""
    posting = request.method == "POST"
    container = container_for(request, ref, "commit" if posting else "view")
    if not may(request.user, Container.objects, "commit", container):
        if posting:
            container_actions.deny(request.user, container, "commit", request=request)
        raise PermissionDenied(f"You may not commit {container.display_name}.")
    form = CommitForm(request.POST if posting else None, initial={"pause": True})
    if posting and form.is_valid():
        try:
            job = container_actions.act(request.user, container, "commit", request=request,
                                        params=form.action_params())
        except InvalidRequest as error:
            for name, problems in error.errors.items():
                for problem in problems:
                    form.add_error(name if name in form.fields else None, problem)
        except container_actions.Conflict as error:
            messages.error(request, str(error))
            return redirect("container-detail", ref=container.engine_id)
        else:
            messages.success(request, f"Commit of {container.display_name} requested "
                                      f"(job {job.pk}); it appears in the history when done.")
            return redirect("container-detail", ref=container.engine_id)
    return render(request, "commits/commit_form.html", {"container": container, "form": form},
                  status=400 if posting else 200)


# -- history --------------------------------------------------------------------------------

@login_required
@require_safe
def commit_history(request):
    """Newest first, like `git log`: for the teams the user sees, one team (?team=), one host
    (?host=), one author (?author=), or one image's lineage (?image=, its ancestors)."""
    user = request.user
    commits = (Commit.objects.restrict(user, "view")
               .select_related("host", "team", "author", "job"))
    team_name, host_name, author, image_ref = (request.GET.get(name, "").strip() for name in
                                               ("team", "host", "author", "image"))
    if team_name:
        commits = commits.filter(team__name=team_name)
    if host_name:
        commits = commits.filter(host__name=host_name)
    if author:
        commits = commits.filter(author__username=author)
    lineage, subject, problem = None, None, ""
    if image_ref:
        subject, problem = resolve_image(user, image_ref, host_name)
        if subject is not None:
            lineage = Lineage(user).add_seeds([subject], descendants=True)
            chain = [node.image_id for node in lineage.ancestry(*subject)]
            commits = commits.filter(host_id=subject[0], new_image_id__in=chain)
        else:
            commits = commits.none()
    page = Paginator(commits, PAGE_SIZE).get_page(request.GET.get("page"))
    if lineage is None:
        lineage = Lineage(user).add_seeds({(c.host_id, c.new_image_id) for c in page})
    return render(request, "commits/history.html", {
        "page": page,
        "graph": render_svg(lineage, current=subject),
        "filters": {"team": team_name, "host": host_name, "author": author, "image": image_ref},
        "subject": lineage.nodes.get(subject) if subject else None,
        "problem": problem,
        "teams": Team.objects.restrict(user, "view").values_list("name", flat=True),
        "hosts": Host.objects.restrict(user, "view").values_list("name", flat=True),
    })


def resolve_image(user, reference, host_name=""):
    """(host id, image id) of the one image `reference` names among those the user may see
    (an image row or a commit), or (None, why not)."""
    images = Image.objects.restrict(user, "view").select_related("host")
    if host_name:
        images = images.filter(host__name=host_name)
    found = {(i.host_id, i.image_id) for i in images if i.matches(reference)}
    commits = Commit.objects.restrict(user, "view").resolve(reference)
    if host_name:
        commits = commits.filter(host__name=host_name)
    found |= set(commits.values_list("host_id", "new_image_id")[:10])
    if not found:
        return None, f"No image {reference} that you may see."
    if len({image_id for _, image_id in found}) > 1:
        return None, f"{reference} names several images: give more of the ID."
    if len(found) > 1:
        return None, f"{reference} is on several hosts: choose one."
    return found.pop(), ""


# -- one commit -----------------------------------------------------------------------------

def commit_for(request, ref, verb="view") -> Commit:
    """The one commit `ref` names among those the user may see, else 404 (an attempt to act
    on one they cannot see is audited)."""
    matches = list(Commit.objects.restrict(request.user, "view")
                   .select_related("host", "team", "author", "job").resolve(ref)[:2])
    if len(matches) != 1:
        if verb != "view" and not matches:
            audit.record_unseen(f"image.{verb}", actor=request.user, request=request,
                                target_type="commit", reference=ref)
        raise Http404("No such commit.")
    return matches[0]


def render_commit(request, commit, *, tag_form=None, status=200):
    user = request.user
    lineage = Lineage(user).add_seeds([(commit.host_id, commit.new_image_id)], descendants=True)
    chain = lineage.ancestry(commit.host_id, commit.new_image_id)
    parent = chain[1] if len(chain) > 1 else None
    image = (Image.objects.restrict(user, "view")
             .filter(host=commit.host, image_id=commit.new_image_id).first())
    runnable = image is not None and may(user, Image.objects, "run", image)
    counts = {kind: sum(1 for f in commit.file_changes if f.get("kind") == kind)
              for kind in ("A", "C", "D")}
    return render(request, "commits/detail.html", {
        "commit": commit,
        "parent": parent,
        "children": [node for node in lineage.nodes.values()
                     if node.parent_id == commit.new_image_id and node.host_id == commit.host_id],
        "image": image,
        "files": sorted(commit.file_changes, key=lambda f: f.get("path", "")),
        "counts": counts,
        "changes": [redact_change(change) for change in commit.changes],
        "run_url": (reverse("container-run") + "?" + urlencode(
            {"host": commit.host.name, "image": image.reference})) if runnable else "",
        "may_tag": may(user, Commit.objects, "tag", commit),
        "tag_form": tag_form or TagForm(initial={"repository": commit.repository}),
        "graph": render_svg(lineage, current=(commit.host_id, commit.new_image_id)),
        "container": Container.objects.restrict(user, "view")
        .filter(engine_id=commit.container_engine_id).first(),
    }, status=status)


@login_required
@require_safe
def commit_detail(request, ref):
    return render_commit(request, commit_for(request, ref))


@login_required
@require_POST
def commit_tag(request, ref):
    commit = commit_for(request, ref, "tag")
    form = TagForm(request.POST)
    if not may(request.user, Commit.objects, "tag", commit):
        # The action refuses first thing, and audits the refusal.
        actions.tag_commit(request.user, commit, "", request=request)
    if not form.is_valid():
        return render_commit(request, commit, tag_form=form, status=400)
    try:
        job = actions.tag_commit(request.user, commit, form.cleaned_data["repository"],
                                 form.cleaned_data["tag"], request=request)
    except InvalidRequest as error:
        for name, problems in error.errors.items():
            for problem in problems:
                form.add_error(name if name in form.fields else None, problem)
        return render_commit(request, commit, tag_form=form,
                             status=403 if error.forbidden else 400)
    except actions.Conflict as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Tag {job.target_name} requested (job {job.pk}).")
    return redirect("commit-detail", ref=commit.pk)
