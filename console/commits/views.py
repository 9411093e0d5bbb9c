"""Commit history pages: the history (per team, or one image's lineage) read like `git log`,
one commit with its files, and tagging from a commit.

A commit is named by its number, its image's ID or a prefix of it, or `repository:tag`; one the
user may not see is a 404 whichever way it is named.
"""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST, require_safe

from console.audit.redact import redact_change
from console.commits.lineage import Lineage, render_svg
from console.commits.lookup import visible_commit
from console.containers.models import Container
from console.core.errors import Forbidden, Invalid, on_form, said_on
from console.hosts.models import Host
from console.images import actions
from console.images.forms import TagForm
from console.images.models import Commit, Image
from console.teams.models import Team

PAGE_SIZE = 50


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

def render_commit(request, commit, *, tag_form=None, status=200):
    user = request.user
    lineage = Lineage(user).add_seeds([(commit.host_id, commit.new_image_id)], descendants=True)
    chain = lineage.ancestry(commit.host_id, commit.new_image_id)
    parent = chain[1] if len(chain) > 1 else None
    image = (Image.objects.restrict(user, "view")
             .filter(host=commit.host, image_id=commit.new_image_id).first())
    runnable = image is not None and Image.objects.allows(user, "run", image)
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
        "may_tag": Commit.objects.allows(user, "tag", commit),
        "tag_form": tag_form or TagForm(initial={"repository": commit.repository}),
        "graph": render_svg(lineage, current=(commit.host_id, commit.new_image_id)),
        "container": Container.objects.restrict(user, "view")
        .filter(engine_id=commit.container_engine_id).first(),
    }, status=status)


@login_required
@require_safe
def commit_detail(request, ref):
    return render_commit(request, visible_commit(request.user, ref))


@login_required
@require_POST
@said_on("commit-detail", "ref")
def commit_tag(request, ref):
    commit = visible_commit(request.user, ref, verb="tag", request=request)
    form = TagForm(request.POST)
    if not Commit.objects.allows(request.user, "tag", commit):
        # The action refuses first thing, and audits the refusal.
        actions.tag_commit(request.user, commit, "", request=request)
    if not form.is_valid():
        return render_commit(request, commit, tag_form=form, status=400)
    try:
        job = actions.tag_commit(request.user, commit, form.cleaned_data["repository"],
                                 form.cleaned_data["tag"], request=request)
    except (Invalid, Forbidden) as error:         # a bad name, a name of another team
        on_form(form, error)
        return render_commit(request, commit, tag_form=form, status=error.status)
    messages.success(request, f"Tag {job.target_name} requested (job {job.pk}).")
    return redirect("commit-detail", ref=commit.pk)
