"""Naming a container: the one row a reference (full ID, unique ID prefix, exact name) names
among those a user may see. Strangers learn nothing: a container they cannot see is "no such
container" like one that does not exist, and an attempt to act on it is audited as denied."""
from console import audit
from console.containers.models import Container


class NoSuchContainer(LookupError):
    pass


def visible_container(user, ref: str, *, verb: str = "view", audit_refusal: bool = False,
                      request=None, visible=None, queryset=None) -> Container:
    """The container `ref` names among `visible` (default: those `user` may see); raises
    NoSuchContainer with the message to show. With `audit_refusal`, a container that exists
    but is hidden from the user records a denied `container.<verb>`."""
    queryset = queryset if queryset is not None else Container.objects.select_related(
        "host", "team")
    visible = visible if visible is not None else queryset.restrict(user, "view")
    matches = list(visible.resolve(ref)[:2])
    if not matches:
        if audit_refusal:
            hidden = queryset.resolve(ref).first()
            if hidden is not None:
                audit.record(f"container.{verb}", actor=user, request=request,
                             team=hidden.team, target=hidden, host=hidden.host,
                             result="denied", error="not visible to the requester")
        raise NoSuchContainer(f"No such container: {ref}")
    if len(matches) > 1:
        raise NoSuchContainer(f"{ref} matches several containers: give more of the ID.")
    return matches[0]
