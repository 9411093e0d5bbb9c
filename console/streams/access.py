"""Who may stream what: the checks a terminal or log socket (and the log HTTP endpoint) makes
before it accepts, and again whenever the user's permissions change.

The answer is the container, or the close code to refuse with: 4401 not logged in, 4404 a
container the user cannot see (strangers learn nothing), 4403 visible but the action (`logs`,
`terminal`) is not theirs. A refused terminal is audited, as a refused action is.
"""
from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user, get_user_model
from django.http import HttpRequest

from console import audit
from console.containers.lookup import NoSuchContainer, visible_container
from console.containers.models import Container
from console.containers.options import host_access

UNAUTHENTICATED, NOT_FOUND, FORBIDDEN = 4401, 4404, 4403


class Refused(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


def fresh_user(user):
    """The user as the database has them now (a socket's copy may be hours old)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return get_user_model().objects.filter(pk=user.pk, is_active=True).first()


def container_for(user, ref: str, action: str, *, audit_refusal: bool,
                  path: str = "") -> Container:
    """The container `ref` names if `user` may do `action` on it; raises Refused. A refusal
    of one the user cannot see is audited with `path` and `ref` alone."""
    user = fresh_user(user)
    if user is None:
        raise Refused(UNAUTHENTICATED, "Log in first.")
    try:
        container = visible_container(user, ref, verb=action, audit_refusal=audit_refusal,
                                      path=path)
    except NoSuchContainer:
        raise Refused(NOT_FOUND, "No such container.") from None
    if not may(user, container, action):
        if audit_refusal:
            audit.record(f"container.{action}", actor=user, team=container.team,
                         target=container, host=container.host, result="denied",
                         error=f"{user.username} may not {action} this container")
        raise Refused(FORBIDDEN, f"You may not {action} this container.")
    held = host_held(user, container, action)
    if held:
        message = (f"Only a superuser may open a terminal in this container: it holds "
                   f"{', '.join(held)}.")
        if audit_refusal:
            audit.record(f"container.{action}", actor=user, team=container.team,
                         target=container, host=container.host, result="denied",
                         error=message)
        raise Refused(FORBIDDEN, message)
    return container


def host_held(user, container: Container, action: str) -> list[str]:
    """For a terminal: what of the host the container holds, when `user` is not a superuser
    (a shell in it would be a shell on the host); empty otherwise."""
    if action != "terminal" or user.is_superuser:
        return []
    return host_access(container)


def may(user, container: Container, action: str) -> bool:
    user = fresh_user(user)
    return user is not None and Container.objects.restrict(user, action).filter(
        pk=container.pk).exists()


def credentials_lapsed(scope) -> str:
    """For an open socket: "token" when the API token it was opened with is revoked, "session"
    when its login session expired, was deleted (logged out elsewhere, flushed) or no longer
    holds for the user (a changed password), "" while what it was opened with still stands.
    A socket outlives the request that opened it; its credentials must not outlive themselves."""
    from console.accounts.models import ApiToken

    if scope.get("auth_by") == "token":
        token_id = scope.get("token_id")
        return "" if token_id and ApiToken.objects.filter(pk=token_id).exists() else "token"
    session, user = scope.get("session"), scope.get("user")
    if session is None or not session.session_key or user is None:
        return "session"
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session.session_key)
    current = get_user(request)     # Django's own check: expiry, user, password hash
    return "" if current.is_authenticated and current.pk == user.pk else "session"


def pinned_terminal_user(container_id: int) -> str:
    """The user the container's team pins terminals to now ("" for none)."""
    return (Container.objects.filter(pk=container_id, team__isnull=False)
            .values_list("team__terminal_user", flat=True).first() or "")


def still_allowed(user, container_id: int, action: str) -> bool:
    """For an open socket: the user is active and may still do `action` on the container."""
    user = fresh_user(user)
    container = user and Container.objects.restrict(user, action).filter(
        pk=container_id).first()
    return container is not None and not host_held(user, container, action)
