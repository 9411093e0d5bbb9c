"""The networks a team's containers join on a host, checked by the host's worker before the
engine makes a container (the web process never sees the host's networks).

A team's own networks on a host are `team-<id>`, which the worker makes there the first time
one of the team's containers needs it, and any network made on the host with the label
`moorage.team=team-<id>` (`moor network create --label moorage.team=team-3 NAME`). Networks of
different teams are isolated from each other like any two networks of the engine. A container
is made on a network its team does not own only when a superuser asked for it; for anyone else
such a network is reported exactly as a missing one, so no other team's network shows.
"""
import re

from console.teams.models import Team
from runtime.errors import NotFound

TEAM_LABEL = "moorage.team"
TEAM_NETWORK = re.compile(r"^team-([0-9]+)$")
SHARED = ("", "none", "host", "bridge")


def missing(name: str) -> NotFound:
    """The engine's own error for a network it does not have."""
    return NotFound(f"network {name} not found")


def prepare(job, container, engine) -> None:
    """Before `container` is made: its network must be one its team owns on this host (unless
    a superuser asked), and a team network is made if the host does not have it yet. Raises
    the engine's errors."""
    name = (container.options or {}).get("network") or ""
    if name in SHARED or name.startswith("container:"):
        return      # checked by the web process (the host's network, other containers)
    superuser = job.requested_by is not None and job.requested_by.is_superuser
    own = container.team.network if container.team_id else None
    team_name = TEAM_NETWORK.match(name)
    if team_name:
        if (not superuser and name != own) or not Team.objects.filter(
                pk=int(team_name.group(1))).exists():
            raise missing(name)
        engine.ensure_network(name, {TEAM_LABEL: name})
        return
    if superuser:
        return      # any network; the engine reports a missing one
    try:
        labels = engine.network_inspect(name).get("Labels") or {}
    except NotFound:
        raise missing(name) from None
    if own is None or labels.get(TEAM_LABEL) != own:
        raise missing(name)


def ensure_own(container, engine) -> None:
    """Before `container` starts: if it is on its team's own network, the network is there
    (made again if someone removed it from the host meanwhile)."""
    if container.team_id is None:
        return
    own = container.team.network
    if container.network_mode == own:
        engine.ensure_network(own, {TEAM_LABEL: own})
