"""Jobs: what was asked of which host, by whom, and how it ended."""
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from console.core.permissions import get_for_user_or_404
from console.jobs.models import Job
from console.jobs.reaper import reap_stale_throttled


@login_required
def job_list(request):
    reap_stale_throttled()
    jobs = Job.objects.restrict(request.user, "view").select_related("host", "requested_by")
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
    return render(request, "jobs/detail.html", {"job": job,
                                                "entries": job.audit_entries.all()})
