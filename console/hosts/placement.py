"""Placement: the host a new container goes to when its request says `host: "any"`.

The candidates are the hosts the request's team is granted (every host, for a superuser's
container without a team). A candidate is left out, with the reason, when it cannot take the
container: it is offline (no heartbeat within MOORAGE_OFFLINE_AFTER_SECONDS), cordoned, has
less free memory than the container's limit, or fails one of the request's own needs (the
run request's: the image is on that host, the name is free there, it has the CPUs asked
for). Of those left, the one with the most free memory is chosen (then the one running the
fewest containers, then by name), and the reason is kept on the job: "placed on h2: 3.1 GiB
free of 8.0 GiB, the most among h1 (1.2 GiB), h2 (3.1 GiB)".

**Free memory** is what the host's kernel could give at its last heartbeat without swapping
(MemAvailable: free memory and the caches it can drop), less the memory limits of the host's
containers that run or are about to (pending, running, paused, restarting), counted whole.
Those containers may grow up to their limits, and a container placed a moment ago is not in
the last heartbeat yet: counting the limits keeps two requests in a row from both seeing the
same room. What they already use is thereby counted twice (once by the kernel, once in their
limit), so the figure errs on the safe side. Containers without a limit count for nothing
beyond what they use now: nothing says what they will take. A host whose worker reports no
MemAvailable is taken at its total memory.

`HOST_CHECKS` is where a rule about hosts alone goes in (a team's quota on a host, say): a
function of (host, team, memory asked) that returns why the host cannot take it, or None.

`choose_host(user, team, memory=..., needs=...)` is the one entry: the run request uses it,
and so can any other maker of containers (stacks: all of a stack's memory, and a need that
each of its images is there).
"""
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import BigIntegerField, Count, Sum, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce

from console.core.errors import Invalid
from console.hosts.models import Host

# The states of containers that hold (or are about to hold) memory on their host.
HOLDING_MEMORY = ("pending", "running", "paused", "restarting")


def size_in_words(value: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20)):
        if value >= 1 << shift:
            return f"{value / (1 << shift):.1f} {unit}"
    return f"{value} bytes"


@dataclass
class HostRoom:
    """A host's memory as placement sees it."""

    host: Host
    available: int          # MemAvailable at the last heartbeat (else the host's total)
    reserved: int           # the limits of its containers that hold memory
    containers: int         # how many of its containers hold memory

    @property
    def free(self) -> int:
        return max(0, self.available - self.reserved)

    def describe(self) -> str:
        total = f" of {size_in_words(self.host.memory)}" if self.host.memory else ""
        return f"{size_in_words(self.free)} free{total}"


def rooms(hosts: Iterable[Host]) -> dict[int, HostRoom]:
    """Each host's room (by host id), in one query over the containers."""
    from console.containers.models import Container

    hosts = list(hosts)
    limit = Coalesce(Cast(KT("inspect_data__HostConfig__Memory"), BigIntegerField()),
                     Cast(KT("options__memory"), BigIntegerField()), Value(0))
    held = {row["host_id"]: row for row in (
        Container.objects.filter(host__in=hosts, state__in=HOLDING_MEMORY)
        .order_by().values("host_id").annotate(reserved=Sum(limit), count=Count("pk")))}
    return {host.pk: HostRoom(host, host.memory_available or host.memory,
                              int(held.get(host.pk, {}).get("reserved") or 0),
                              held.get(host.pk, {}).get("count", 0))
            for host in hosts}


def room_of(host: Host) -> HostRoom:
    return rooms([host])[host.pk]


# -- why a host cannot take a container ---------------------------------------------------------

def offline(host: Host, team, memory: int) -> str | None:
    return None if host.is_online else "offline"


def cordoned(host: Host, team, memory: int) -> str | None:
    return "cordoned" if host.cordoned else None


HOST_CHECKS: list[Callable] = [offline, cordoned]


def no_new_containers(host: Host) -> str | None:
    """Why `host` takes no new container whoever asks, or None (for requests that name it)."""
    if host.cordoned:
        return (f"Host {host.name} is cordoned: it takes no new containers (a superuser "
                "uncordons it).")
    return None


# -- choosing ------------------------------------------------------------------------------------

@dataclass
class Placement:
    host: Host
    reason: str


def candidates(user, team):
    """The hosts a container of `team` may go to: those granted to it (and that `user` may run
    on); a superuser's container without a team may go anywhere."""
    hosts = Host.objects.restrict(user, "run")
    if team is not None:
        hosts = hosts.filter(grants__team=team)
    elif not user.is_superuser:
        return Host.objects.none()
    return hosts.order_by("name")


def choose_host(user, team, *, memory: int = 0,
                needs: Iterable[Callable[[Host], str | None]] = (),
                hosts: Iterable[Host] | None = None) -> Placement:
    """The host with the most free memory among those that can take a container of `team`
    asking `memory` bytes (0: no limit) and meeting `needs` (each a function of a host that
    says why it cannot, or None). `hosts` narrows the candidates. Raises Invalid (beside
    `host`) naming each candidate and why it was left out."""
    pool = list(hosts if hosts is not None else candidates(user, team))
    if not pool:
        whose = f"Team {team.name} is" if team is not None else "You are"
        raise Invalid(fields={"host": [f"{whose} granted no host to place the container on."]})
    room = rooms(pool)
    fit, left_out = [], []
    for host in pool:
        why = next((reason for reason in (check(host, team, memory) for check in HOST_CHECKS)
                    if reason), None)
        if why is None and memory and room[host.pk].free < memory:
            why = f"{room[host.pk].describe()}, {size_in_words(memory)} asked"
        if why is None:
            why = next((reason for reason in (need(host) for need in needs) if reason), None)
        if why is None:
            fit.append(room[host.pk])
        else:
            left_out.append(f"{host.name} ({why})")
    if not fit:
        raise Invalid(fields={"host": ["No host can take the container: "
                                       + ", ".join(left_out) + "."]})
    chosen = min(fit, key=lambda r: (-r.free, r.containers, r.host.name))
    asked = f" ({size_in_words(memory)} asked)" if memory else ""
    if len(fit) == 1:
        reason = f"placed on {chosen.host.name}: {chosen.describe()}{asked}, the only host " \
                 "that can take it"
    else:
        among = ", ".join(f"{r.host.name} ({size_in_words(r.free)})" for r in fit)
        reason = (f"placed on {chosen.host.name}: {chosen.describe()}{asked}, the most among "
                  f"{among}")
    if left_out:
        reason += "; left out: " + ", ".join(left_out)
    return Placement(chosen.host, reason)

