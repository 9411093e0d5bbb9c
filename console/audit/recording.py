"""`record(...)`: the one call that writes an audit entry.

Call it explicitly, inside the transaction of the action it describes, so the entry exists
exactly when the action does. Denied attempts are recorded too (`result="denied"`).
"""
from console.audit.models import AuditEntry
from console.audit.redact import redact


def client_address(request):
    """The peer address. X-Forwarded-For is not trusted: a deployment behind a proxy makes the
    proxy set REMOTE_ADDR (daphne --proxy-headers)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(action: str, *, actor=None, request=None, team=None, target=None, target_type="",
           target_id="", target_name="", host=None, params=None, result="succeeded", error="",
           job=None) -> AuditEntry:
    """Write one audit entry.

    `target` may be a model instance with `audit_target()` (type, id, name) or omitted in
    favour of the explicit `target_*` fields. `params` are redacted before they are stored.
    """
    if target is not None:
        target_type, target_id, target_name = audit_target(target)
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    user_agent = request.META.get("HTTP_USER_AGENT", "")[:300] if request is not None else ""
    return AuditEntry.objects.create(
        action=action,
        actor=actor if actor is not None and actor.pk else None,
        actor_name=getattr(actor, "username", "") or "",
        team=team,
        team_name=team.name if team is not None else "",
        target_type=target_type,
        target_id=str(target_id)[:71],
        target_name=str(target_name)[:200],
        host=host,
        host_name=host.name if host is not None else "",
        params=redact(params or {}),
        result=result,
        error=str(error)[:2000],
        job=job,
        source_ip=client_address(request),
        user_agent=user_agent,
    )


def record_unseen(action: str, *, actor, reference, target_type: str, request=None,
                  path: str = "") -> AuditEntry:
    """Write the denied entry of an attempt to `action` something `actor` may not see.

    Such a request is answered like one naming nothing (404), and it is recorded alike, whether
    or not something hidden matched: only what was asked is kept, the path (`path`, or the
    request's) and the reference as typed, never the team, host, ID or name it resolved to.
    The actor may read their own refusals; this is why they carry nothing the actor did not
    type (see `AuditQuerySet.permission_filter`). Superusers see who probed what.
    """
    reference = str(reference)[:200]
    return record(action, actor=actor, request=request, target_type=target_type,
                  target_name=reference, result="denied",
                  params={"path": str(path or (request.path if request is not None else ""))
                          [:300], "reference": reference},
                  error=f"no {target_type} {reference!r} that the requester may see")


def audit_target(obj) -> tuple[str, str, str]:
    from django.contrib.auth import get_user_model

    from console.containers.models import Container
    from console.hosts.models import Host
    from console.images.models import Image
    from console.teams.models import Team

    if isinstance(obj, Container):
        return "container", obj.engine_id, obj.name
    if isinstance(obj, Image):
        return "image", obj.image_id, obj.reference
    if isinstance(obj, Team):
        return "team", str(obj.pk), obj.name
    if isinstance(obj, Host):
        return "host", str(obj.pk), obj.name
    if isinstance(obj, get_user_model()):
        return "user", str(obj.pk), obj.username
    return type(obj).__name__.lower(), str(getattr(obj, "pk", "")), str(obj)
