"""Images, per host; the pull form (a dialog of the list, and a page of its own) and the build
form. Views check and call `images.actions`; the job's page shows the progress."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from console.containers.options import InvalidRequest
from console.hosts.models import Host
from console.images import actions
from console.images.forms import BuildForm, PullForm
from console.images.models import Image
from console.images.requests import may_somewhere


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
        "pull_form": PullForm(user, initial={"host": host}) if may_pull else None,
    })


def refuse_outsider(request, verb: str) -> None:
    """A POST from someone in no team in which they may `verb`: audited, then 403."""
    if not may_somewhere(request.user, verb):
        data = {key: value for key, value in request.POST.items()
                if key != "csrfmiddlewaretoken"}
        error = InvalidRequest({"team": [f"You are in no team in which you may {verb} "
                                         "images."]}, forbidden=True)
        actions.refuse(request.user, verb, data, error, request=request)
        raise PermissionDenied(error.errors["team"][0])


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def pull_image(request):
    """GET: the pull form on a page of its own (the images page opens it as a dialog).
    POST: pull; the job's page shows the progress."""
    if request.method != "POST":
        if not may_somewhere(request.user, "pull"):
            raise PermissionDenied("You are in no team in which you may pull images.")
        form = PullForm(request.user, initial={"host": request.GET.get("host", "")})
        return render(request, "images/pull.html", {"form": form})
    refuse_outsider(request, "pull")
    form = PullForm(request.user, request.POST)
    valid = form.is_valid()
    if form.refused is not None:
        actions.refuse(request.user, "pull", form.request_data, form.refused, request=request)
    if valid:
        job = actions.pull(request.user, form.image_request, request=request)
        messages.success(request, f"Pull of {form.image_request.reference} requested "
                                  f"(job {job.pk}).")
        return redirect("job-detail", pk=job.pk)
    return render(request, "images/pull.html", {"form": form},
                  status=403 if form.refused is not None else 400)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def build_image(request):
    """GET: the build form. POST: build; the job's page shows the output as it comes."""
    if request.method != "POST":
        if not may_somewhere(request.user, "build"):
            raise PermissionDenied("You are in no team in which you may build images.")
        form = BuildForm(request.user, initial={"host": request.GET.get("host", "")})
        return render(request, "images/build.html", {"form": form})
    refuse_outsider(request, "build")
    form = BuildForm(request.user, request.POST, request.FILES)
    valid = form.is_valid()
    if form.refused is not None:
        actions.refuse(request.user, "build", form.request_data, form.refused, request=request)
    if valid:
        job = actions.build(request.user, form.image_request, request=request)
        messages.success(request, f"Build requested (job {job.pk}).")
        return redirect("job-detail", pk=job.pk)
    return render(request, "images/build.html", {"form": form},
                  status=403 if form.refused is not None else 400)
