"""Users, logging in and out, and API tokens: each is audited (a failed or refused login
too), a change in the transaction that makes it; a revoked token's, or a logged out session's,
open sockets close. (Teams and their members: `console.teams.actions`; container grants:
`console.grants.actions`.)"""
from django.contrib.auth import get_user_model, login, logout
from django.db import transaction

from console import audit
from console.accounts.login_limits import LoginLimiter
from console.accounts.models import ApiToken
from console.core.errors import Invalid
from console.core.permissions import refuse
from console.streams import publish


def create_user(actor, *, username, password, email="", is_superuser=False, request=None):
    if not actor.is_superuser:
        refuse("user.create", actor, request, target_type="user", target_name=username)
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise Invalid(fields={"username": [f"The username {username!r} is taken."]})
    with transaction.atomic():
        user = User.objects.create_user(username=username, password=password, email=email,
                                        is_superuser=is_superuser, is_staff=is_superuser)
        audit.record("user.create", actor=actor, request=request, target=user,
                     params={"username": username, "email": email, "is_superuser": is_superuser,
                             "password": password})
    return user


def create_token(user, name="", *, request=None) -> tuple[ApiToken, str]:
    with transaction.atomic():
        token, key = ApiToken.objects.create_for(user, name)
        audit.record("token.create", actor=user, request=request, target_type="token",
                     target_id=str(token.pk), target_name=f"{token.prefix}… {name}".strip())
    return token, key


def revoke_token(user, token, *, request=None) -> None:
    """Delete the token; the sockets opened with it close within moments."""
    token_id = token.pk
    with transaction.atomic():
        audit.record("token.revoke", actor=user, request=request, target_type="token",
                     target_id=str(token.pk), target_name=f"{token.prefix}… {token.name}".strip())
        token.delete()
        transaction.on_commit(lambda: publish.token_revoked(token_id))


class LoginAttempt:
    """One try of a username and its password, to log in (`auth.login`) or to get a token with
    them (`auth.token`): refused, audited, while its username and address have failed too
    often (`login_limits`); a failure is counted and audited."""

    def __init__(self, action: str, username: str, request):
        self.action, self.username, self.request = action, username, request
        self.limiter = LoginLimiter(username, request)

    def refused(self) -> int:
        """Seconds to wait before trying again (the refusal audited); 0: it may be tried."""
        wait = self.limiter.retry_after()
        if wait:
            self.record(result="denied", error="too many failed attempts")
        return wait

    def failed(self) -> None:
        self.limiter.failed()
        self.record(result="failed", error="wrong username or password")

    def succeeded(self) -> None:
        self.limiter.succeeded()

    def record(self, **outcome) -> None:
        audit.record(self.action, request=self.request, target_type="user",
                     target_name=self.username, **outcome)


def log_in(request, user) -> None:
    """Start `user`'s login session, audited."""
    with transaction.atomic():
        login(request, user)
        audit.record("auth.login", actor=user, request=request, target=user)


def log_out(request) -> None:
    """End the request's login session, audited; its open sockets close."""
    if not request.user.is_authenticated:
        return
    session_key = request.session.session_key
    audit.record("auth.logout", request=request, target=request.user)
    logout(request)
    if session_key:
        publish.session_ended(session_key)
