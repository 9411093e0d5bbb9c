"""Images, per host."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from console.hosts.models import Host
from console.images.models import Image


@login_required
def image_list(request):
    images = Image.objects.restrict(request.user, "view").select_related("host", "team")
    host = request.GET.get("host", "").strip()
    if host:
        images = images.filter(host__name=host)
    grouped = {}
    for image in images:
        grouped.setdefault(image.host.name, []).append(image)
    return render(request, "images/list.html", {
        "groups": sorted(grouped.items()), "host": host,
        "hosts": Host.objects.restrict(request.user, "view"),
    })
