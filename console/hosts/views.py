"""The dashboard: hosts with their state and counts, and the latest jobs."""
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import render

from console.containers.models import Container
from console.hosts.models import Host
from console.jobs.models import Job


@login_required
def dashboard(request):
    user = request.user
    visible = Container.objects.restrict(user, "view")
    counts = {row["host"]: row for row in visible.values("host").annotate(
        total=Count("pk"), running=Count("pk", filter=Q(state="running")),
        exited=Count("pk", filter=Q(state="exited")))}
    hosts = list(Host.objects.restrict(user, "view"))
    for host in hosts:
        row = counts.get(host.pk, {})
        host.total = row.get("total", 0)
        host.running = row.get("running", 0)
        host.exited = row.get("exited", 0)
    jobs = (Job.objects.restrict(user, "view")
            .select_related("host", "requested_by").defer("output")[:15])
    return render(request, "dashboard.html", {
        "hosts": hosts, "jobs": jobs,
        "totals": {"containers": visible.count(),
                   "running": visible.filter(state="running").count()},
    })
