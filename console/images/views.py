"""Images, per host; the pull form (a dialog of the list, and a page of its own) and the build
form. Views check and call `images.actions`; the job's page shows the progress."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from console.core.errors import Forbidden
from console.core.forms import posted_fields
from console.core.permissions import may_somewhere
from console.hosts.models import Host
from console.images import actions
from console.images.forms import BuildForm, PullForm
from console.images.models import Image


@login_required
def image_list(request):
    user = request.user
    images = Image.objects.restrict(user, "view").select_related("host", "team")
    host = request.GET.get("host", "").strip()
    if host:
        images = images.filter(host__name=host)
    grouped = {}
    for image in images:
        grouped.setdefault(image.host.name, []).append(image)
    may_pull = may_somewhere(user, "pull")
    return render(request, "images/list.html", {
        "groups": sorted(grouped.items()), "host": host,
        "hosts": Host.objects.restrict(user, "view"),
        "may_pull": may_pull, "may_build": may_somewhere(user, "build"),
        "pull_form": PullForm(request, initial={"host": host}) if may_pull else None,
    })


def image_job_page(request, verb: str, form_class, template: str):
    """GET: the pull or build form (`verb`). POST: the job; its page shows the progress. A
    user in no team in which they may `verb` is refused (a POST audited first); a request
    they may not make is shown refused beside its fields (403)."""
    user = request.user
    if not may_somewhere(user, verb):
        refusal = Forbidden(fields={"team": [f"You are in no team in which you may {verb} "
                                             "images."]})
        if request.method == "POST":
            actions.refuse_request(user, verb, posted_fields(request), refusal,
                                   request=request)
        raise refusal
    if request.method != "POST":
        form = form_class(request, initial={"host": request.GET.get("host", "")})
        return render(request, template, {"form": form})
    form = form_class(request, request.POST, request.FILES)
    if form.is_valid():
        job = getattr(actions, verb)(user, form.checked, request=request)
        messages.success(request, f"{verb.capitalize()} requested (job {job.pk}).")
        return redirect("job-detail", pk=job.pk)
    return render(request, template, {"form": form}, status=403 if form.refusal else 400)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def pull_image(request):
    """The pull form (the images page opens it as a dialog too), and pulling."""
    return image_job_page(request, "pull", PullForm, "images/pull.html")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def build_image(request):
    """The build form, and building."""
    return image_job_page(request, "build", BuildForm, "images/build.html")
