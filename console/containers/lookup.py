"""Naming a container: the one row a reference (full ID, unique ID prefix, exact name) names
among those a user may see. Strangers learn nothing: a container they cannot see is "no such
container" like one that does not exist, and an attempt to act on either is audited alike, as
denied, with only the reference as typed (`audit.record_unseen`)."""
from console import audit
from console.containers.models import Container
from console.core.errors import NotFound


def visible_container(user, ref: str, *, verb: str = "view", audit_refusal: bool = False,
                      request=None, path: str = "", visible=None,
                      queryset=None) -> Container:
    """The container `ref` names among `visible` (default: those `user` may see); raises
    NotFound with the message to show. With `audit_refusal`, naming none records a
    denied `container.<verb>` holding the request's path (or `path`) and `ref`, and nothing
    of what `ref` may name out of the user's sight."""
    queryset = queryset if queryset is not None else Container.objects.select_related(
        "host", "team")
    visible = visible if visible is not None else queryset.restrict(user, "view")
    matches = list(visible.resolve(ref)[:2])
    if not matches:
        if audit_refusal:
            audit.record_unseen(f"container.{verb}", actor=user, request=request, path=path,
                                target_type="container", reference=ref)
        raise NotFound(f"No such container: {ref}")
    if len(matches) > 1:
        raise NotFound(f"{ref} matches several containers: give more of the ID.")
    return matches[0]
