"""Taking a host out of service (superusers), beside `actions.py`: cordon it, drain it.

- **Cordon**: no new container is made on the host, by placement (`host: "any"`) or by a
  request naming it; those there run on untouched, and can be started, stopped, committed.
  Uncordon undoes it.
- **Drain**: cordon, then list what runs there (`running`, `paused`, `restarting`), every
  team's, so a superuser can see and decide. It stops nothing by itself: only a second,
  confirmed request (`stop` with the host's name as `confirm`) stops them all, one stop job
  each, as if each were stopped from its own page. Nothing is moved: a container lives on
  its host's disk.

Each change is audited; cordoning a cordoned host (or uncordoning one that is not) changes
nothing and writes nothing.
"""
from dataclasses import dataclass, field

from django.db import transaction

from console import audit
from console.containers.models import Container
from console.core.errors import ConsoleError, Invalid
from console.core.permissions import refuse
from console.hosts.models import Host

# What a drain lists: containers whose processes run on the host.
RUNNING_STATES = ("running", "paused", "restarting")


def require_superuser(user, action: str, host: Host, request, what: str) -> None:
    if not user.is_superuser:
        refuse(action, user, request, target=host, host=host,
               message=f"Only a superuser may {what} a host.")


def set_cordoned(user, host: Host, cordoned: bool, *, request=None, action: str = "") -> Host:
    """Cordon (`cordoned=True`) or uncordon `host`; audited as `host.cordon`/`host.uncordon`
    (or `action`) when it changes."""
    action = action or ("host.cordon" if cordoned else "host.uncordon")
    require_superuser(user, action, host, request, "cordon" if cordoned else "uncordon")
    with transaction.atomic():
        changed = Host.objects.filter(pk=host.pk, cordoned=not cordoned).update(
            cordoned=cordoned)
        host.cordoned = cordoned
        if changed:
            audit.record(action, actor=user, request=request, target=host, host=host)
    return host


def cordon(user, host: Host, *, request=None) -> Host:
    return set_cordoned(user, host, True, request=request)


def uncordon(user, host: Host, *, request=None) -> Host:
    return set_cordoned(user, host, False, request=request)


def running_on(host: Host):
    """The containers running on `host`, every team's, oldest first."""
    return (Container.objects.filter(host=host, state__in=RUNNING_STATES)
            .select_related("team").defer("inspect_data").order_by("created_at", "pk"))


@dataclass
class Drain:
    host: Host
    running: list                                   # the containers running there
    jobs: list = field(default_factory=list)        # the stop jobs, when asked to stop
    skipped: list = field(default_factory=list)     # "name: why" for those not stopped


def drain(user, host: Host, *, stop: bool = False, confirm: str = "", request=None) -> Drain:
    """Cordon `host` and list what runs there; with `stop` and `confirm` the host's name, also
    stop every one of them (a stop job each). Without the confirmation nothing is stopped and
    the request is refused (Invalid) before anything changes."""
    require_superuser(user, "host.drain", host, request, "drain")
    if stop and confirm != host.name:
        raise Invalid(fields={"confirm": [
            f"Give the host's name ({host.name}) to confirm stopping everything on it."]})
    with transaction.atomic():
        was_cordoned = host.cordoned
        Host.objects.filter(pk=host.pk).update(cordoned=True)
        host.cordoned = True
        running = list(running_on(host))
        audit.record("host.drain", actor=user, request=request, target=host, host=host,
                     params={"running": len(running), "stop": stop,
                             "was_cordoned": was_cordoned})
    result = Drain(host, running)
    if stop:
        stop_all(user, result, request=request)
    return result


def stop_all(user, result: Drain, *, request=None) -> None:
    """A stop job for each container of the drain; one that cannot be stopped (its state
    changed, the host went offline, Redis is away) is said in `skipped`."""
    from console.containers import actions

    for container in result.running:
        try:
            result.jobs.append(actions.act(user, container, "stop", request=request))
        except ConsoleError as error:
            result.skipped.append(f"{container.display_name}: {error.message}")
