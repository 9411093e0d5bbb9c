"""The network a container joins, made ready by the host before the engine makes (or starts)
the container, as the console decided (`console/hostapi/jobs.network_plan`: the host is told
what to check, never whose the networks are):

    None                            nothing to do
    {"ensure": NAME}                the team network NAME, made with its label if missing
    {"labelled": NAME, "own": OWN}  NAME must exist with the label moorage.team=OWN
    {"refuse": NAME}                refused

Refusals are in the engine's own words for a missing network, so no other team's network
shows.
"""
from runtime.errors import NotFound

TEAM_LABEL = "moorage.team"


def missing(name: str) -> NotFound:
    """The engine's own error for a network it does not have."""
    return NotFound(f"network {name} not found")


def prepare(plan: dict | None, engine) -> None:
    """Carry out `plan`; raises the engine's errors."""
    if not plan:
        return
    if "refuse" in plan:
        raise missing(plan["refuse"])
    if "ensure" in plan:
        engine.ensure_network(plan["ensure"], {TEAM_LABEL: plan["ensure"]})
        return
    name = plan["labelled"]
    try:
        labels = engine.network_inspect(name).get("Labels") or {}
    except NotFound:
        raise missing(name) from None
    if labels.get(TEAM_LABEL) != plan["own"]:
        raise missing(name)
