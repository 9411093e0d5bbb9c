"""The dashboard (hosts with their state and counts, and the latest jobs) and one host's page,
with what superusers do there: cordon, drain, remove (`maintenance`, `removal`); and, for
superusers alone, the join tokens that let a new machine in (`keys`)."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from console.containers.models import Container
from console.core.errors import Conflict, Forbidden, Invalid, NotFound, on_form, said_on
from console.hosts import keys, maintenance, removal
from console.hosts.forms import JoinTokenForm
from console.hosts.models import Host
from console.hosts.placement import room_of
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


# -- one host's page, and what superusers do to a host from it ----------------------------------

def visible_host(request, name: str) -> Host:
    """The host named `name`, if the user may see it (a host their teams are granted)."""
    host = Host.objects.restrict(request.user, "view").filter(name=name).first()
    if host is None:
        raise NotFound("No such host.")
    return host


@login_required
def host_detail(request, host):
    """A host: its state and facts, the memory placement counts as free, the containers of it
    the user may see; for superusers, cordon, drain and remove."""
    host = visible_host(request, host)
    visible = Container.objects.restrict(request.user, "view").filter(host=host)
    counts = dict(visible.order_by().values_list("state").annotate(n=Count("pk")))
    return render(request, "hosts/detail.html", {
        "host": host, "room": room_of(host), "counts": sorted(counts.items()),
        "total": sum(counts.values()),
        "jobs": (Job.objects.restrict(request.user, "view").filter(host=host)
                 .select_related("host", "requested_by").defer("output")[:10]),
    })


@login_required
@require_POST
@said_on("host-detail", "host", refusals=True)
def host_cordon(request, host):
    host = maintenance.cordon(request.user, visible_host(request, host), request=request)
    messages.success(request, f"Host {host.name} is cordoned: no new containers go there.")
    return redirect("host-detail", host=host.name)


@login_required
@require_POST
@said_on("host-detail", "host", refusals=True)
def host_uncordon(request, host):
    host = maintenance.uncordon(request.user, visible_host(request, host), request=request)
    messages.success(request, f"Host {host.name} takes new containers again.")
    return redirect("host-detail", host=host.name)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@said_on("host-drain", "host")
def host_drain(request, host):
    """GET: what runs on the host, every team's (superusers). POST: cordon it (and stay here);
    with `stop` and the host's name in `confirm`, also stop everything listed."""
    host = visible_host(request, host)
    if not request.user.is_superuser:
        if request.method == "POST":
            maintenance.require_superuser(request.user, "host.drain", host, request, "drain")
        raise Forbidden("Only a superuser may drain a host.")
    if request.method == "POST":
        stop = request.POST.get("stop") == "1"
        result = maintenance.drain(request.user, host, stop=stop,
                                   confirm=request.POST.get("confirm", "").strip(),
                                   request=request)
        if stop:
            messages.success(request, f"Stop requested for {len(result.jobs)} container(s) "
                                      f"on {host.name}.")
            for reason in result.skipped:
                messages.warning(request, f"Not stopped: {reason}")
        else:
            messages.success(request, f"Host {host.name} is cordoned; below is what runs "
                                      "there. Nothing was stopped.")
        return redirect("host-drain", host=host.name)
    return render(request, "hosts/drain.html", {
        "host": host, "running": maintenance.running_on(host),
    })


@login_required
@require_POST
@said_on("host-detail", "host", refusals=True)
def host_remove(request, host):
    host = visible_host(request, host)
    removed = removal.remove(request.user, host, confirm=request.POST.get("confirm", "").strip(),
                             request=request)
    messages.success(request, f"Host {removed.host} is removed: {removed.containers} "
                              f"container(s), {removed.images} image(s) and {removed.commits} "
                              "commit(s) archived in the audit log.")
    return redirect("dashboard")


# -- join tokens: a new machine joins with one (`./moorage join URL TOKEN`) -------------------

# Their own URLs, not under hosts/: any single word there may be a host's name.
NOT_HERE = "No such page."


def join_command(request, secret: str) -> tuple[str, str]:
    """The console's URL as this browser reached it, and the command to run on the new machine
    (`./moorage join URL TOKEN`)."""
    console = request.build_absolute_uri("/").rstrip("/")
    return console, f"./moorage join {console} {secret}"


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def join_tokens(request):
    """GET: the join tokens not used and not expired, and the form for a new one (superusers;
    others are told there is no such page). POST: make one, through the action the API calls;
    the answer shows it once, with the command that uses it, and is not stored anywhere."""
    user = request.user
    if not user.is_superuser:
        if request.method == "POST":
            try:     # refused and audited by the action, answered as for any other page
                keys.make_join_token(user, request.POST.get("name", ""), [], request=request)
            except Forbidden:
                pass
        raise NotFound(NOT_HERE)
    form, status = JoinTokenForm(), 200
    if request.method == "POST":
        form, status = JoinTokenForm(request.POST), 400
        if form.is_valid():
            try:
                token, secret = keys.make_join_token(user, **form.api_fields(),
                                                     request=request)
            except Conflict as error:     # the name is a joined host's
                form.add_error("name", error.message)
                status = error.status
            except Invalid as error:
                on_form(form, error, form.api_names)
            else:
                console, command = join_command(request, secret)
                response = render(request, "hosts/join_token_made.html", {
                    "token": token, "secret": secret, "command": command,
                    "https": console.startswith("https:")}, status=201)
                response["Cache-Control"] = "no-store"
                return response
    return render(request, "hosts/join_tokens.html", {
        "form": form, "tokens": keys.outstanding_join_tokens(),
    }, status=status)


@login_required
@require_POST
@said_on("join-tokens")
def join_token_revoke(request, pk):
    """Revoke a join token not used yet (superusers; others: no such page)."""
    try:
        token = keys.revoke_join_token(request.user, pk, request=request)
    except Forbidden:
        raise NotFound(NOT_HERE) from None
    messages.success(request, f"The join token {token.prefix}… for host {token.name} is "
                              "revoked: nothing can join with it.")
    return redirect("join-tokens")
