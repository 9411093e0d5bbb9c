"""Jobs: what was asked of which host, by whom, and how it ended."""
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode

from console.audit.redact import redact_env
from console.core.permissions import get_for_user_or_404
from console.jobs.models import Job


@login_required
def job_list(request):
    jobs = (Job.objects.restrict(request.user, "view").select_related("host", "requested_by")
            .defer("output"))
    state = request.GET.get("state", "")
    if state:
        jobs = jobs.filter(state=state)
    page = Paginator(jobs, 100).get_page(request.GET.get("page"))
    return render(request, "jobs/list.html", {"page": page, "state": state,
                                              "states": Job.State.values})


@login_required
def job_detail(request, pk):
    job = get_for_user_or_404(Job.objects.select_related("host", "requested_by", "container"),
                              request.user, "view", pk=pk)
    return render(request, "jobs/detail.html", {
        "job": job, "entries": job.audit_entries.all(), "run_url": run_url(request.user, job),
        # Names only: values may be secrets, and viewers see jobs too.
        "build_args": redact_env([f"{name}=" for name in job.params.get("build_args") or {}]),
    })


def run_url(user, job) -> str:
    """The run form for the image a pull or build made, if the user may run it."""
    from console.images.models import Image

    image_id = (job.result or {}).get("image_id")
    if job.kind not in (Job.Kind.PULL, Job.Kind.BUILD) or not image_id:
        return ""
    image = Image.objects.restrict(user, "run").filter(host=job.host, image_id=image_id).first()
    if image is None:
        return ""
    return reverse("container-run") + "?" + urlencode({"host": job.host.name,
                                                      "image": image.reference})
