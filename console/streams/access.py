"""Who may stream what: the checks a terminal or log socket (and the log HTTP endpoint) makes
before it accepts, and again whenever the user's permissions change.

The answer is the container, or the refusal (`console.core.errors`, a socket closes with its
`close_code`): NotAuthenticated (4401), NotFound for a container the user cannot see (4404:
strangers learn nothing), Forbidden when it is visible but the action (`logs`, `terminal`) is
not theirs (4403). A refused terminal is audited, as a refused action is.
"""
from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user, get_user_model
from django.http import HttpRequest

from console.containers.host_access import host_access
from console.containers.lookup import visible_container
from console.containers.models import Container
from console.core.errors import Forbidden, NotAuthenticated
from console.core.permissions import refuse

# How an open socket closes when what it was opened with lapses, or the permission goes.
UNAUTHENTICATED, FORBIDDEN = NotAuthenticated().close_code, Forbidden().close_code


def fresh_user(user):
    """The user as the database has them now (a socket's copy may be hours old)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return get_user_model().objects.filter(pk=user.pk, is_active=True).first()


def container_for(user, ref: str, action: str, *, audit_refusal: bool,
                  path: str = "") -> Container:
    """The container `ref` names if `user` may do `action` on it; raises NotAuthenticated,
    NotFound or Forbidden. With `audit_refusal` a refusal is audited, that of a container the
    user cannot see with `path` and `ref` alone."""
    user = fresh_user(user)
    if user is None:
        raise NotAuthenticated("Log in first.")
    container = visible_container(user, ref, verb=action, audit_refusal=audit_refusal,
                                  path=path)
    if not may(user, container, action):
        message = f"You may not {action} this container."
        error = f"{user.username} may not {action} this container"
    elif held := host_held(user, container, action):
        message = error = (f"Only a superuser may open a terminal in this container: it "
                           f"holds {', '.join(held)}.")
    else:
        return container
    if audit_refusal:
        refuse(f"container.{action}", user, team=container.team, target=container,
               host=container.host, error=error, message=message)
    raise Forbidden(message)


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
    holds for the user (a changed password, a second factor now required that it has not
    passed), "" while what it was opened with still stands.
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
    if not current.is_authenticated or current.pk != user.pk:
        return "session"
    # A second factor that became required (or was reset) since the socket opened.
    from console.accounts.two_factor import session_passes

    return "" if session_passes(request.session, current) else "session"


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
