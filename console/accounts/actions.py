"""Users, logging in and out, API tokens, second factors and the login policy: each is audited
(a failed or refused login too), a change in the transaction that makes it; a revoked token's,
or a logged out session's, open sockets close. (Teams and their members:
`console.teams.actions`; container grants: `console.grants.actions`; the group → team mapping:
`console.sso.actions`.)"""
from django.contrib.auth import get_user_model, login, logout
from django.db import transaction

from console import audit
from console.accounts import two_factor
from console.accounts.login_limits import LoginLimiter
from console.accounts.models import ApiToken, LoginPolicy, TeamTwoFactorRequirement
from console.accounts.two_factor import CodeRefused
from console.core.errors import Invalid
from console.core.permissions import refuse, require_manager, require_superuser
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


def create_token(user, name="", *, request=None, code="") -> tuple[ApiToken, str]:
    """A new token of `user`'s: the row and the key. A user who has (or must have) a second
    factor makes one only with a fresh one: `code`, or a session that passed it moments ago
    (`require_fresh`; refused with CodeRefused, audited)."""
    try:
        require_fresh(user, request=request, code=code)
    except CodeRefused as refusal:
        audit.record("token.create", actor=user, request=request, target_type="token",
                     target_name=name, result="denied", error=refusal.message)
        raise
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
    """One try at a secret of a user's: a password, to log in (`auth.login`) or to get a token
    with it (`auth.token`), or a second factor's code (`auth.two_factor`...): refused,
    audited, while its username and address have failed too often (`login_limits`); a failure
    is counted and audited. Passwords and codes use up the same budget."""

    def __init__(self, action: str, username: str, request):
        self.action, self.username, self.request = action, username, request
        self.limiter = LoginLimiter(username, request)

    def refused(self) -> int:
        """Seconds to wait before trying again (the refusal audited); 0: it may be tried."""
        wait = self.limiter.retry_after()
        if wait:
            self.record(result="denied", error="too many failed attempts")
        return wait

    def failed(self, error: str = "") -> None:
        """Count the failure and audit it, saying why: `error`, or what a backend said when it
        refused the user (local accounts off, a directory account in the way), or a wrong
        password."""
        self.limiter.failed()
        reason = getattr(self.request, "login_refusal", "") if self.request is not None else ""
        self.record(result="failed", error=error or reason or "wrong username or password")

    def succeeded(self) -> None:
        self.limiter.succeeded()

    def record(self, **outcome) -> None:
        audit.record(self.action, request=self.request, target_type="user",
                     target_name=self.username, **outcome)


def log_in(request, user, *, method: str = "password") -> None:
    """Start `user`'s login session, audited with how they logged in (`password`, `oidc`).
    A user who needs a second factor is then asked for it (`TwoFactorMiddleware`)."""
    with transaction.atomic():
        login(request, user)
        audit.record("auth.login", actor=user, request=request, target=user,
                     params={"method": method})


def check_code(user, code, *, request, action: str = "auth.two_factor"):
    """The device of `user`'s that accepts `code`, or CodeRefused: no code, a wrong one
    (counted and audited as a failed `action`), or too many failures of the username from
    this address."""
    if not two_factor.normalized(code):
        raise CodeRefused("Enter a code from your authenticator app (or a recovery code).")
    attempt = LoginAttempt(action, user.username, request)
    refuse_while_blocked(attempt)
    device = two_factor.match(user, code)
    if device is None:
        attempt.failed("wrong second factor code")
        raise CodeRefused("That code is not right (or was used already).")
    attempt.succeeded()
    return device


def refuse_while_blocked(attempt) -> None:
    wait = attempt.refused()
    if wait:
        raise CodeRefused(f"Too many failed attempts from your address. Try again in "
                          f"{-(-wait // 60)} minute(s).", retry_after=wait)


def require_fresh(user, *, request, code="", what: str = "make a token") -> None:
    """Refuse (CodeRefused) unless `user` needs no second factor, or gives a right `code`, or
    comes from a session that passed it within TWO_FACTOR_FRESH_SECONDS."""
    reason = two_factor.required_for(user)
    if two_factor.authenticator(user) is None:
        if reason:
            raise CodeRefused(f"Two-factor login is required of you ({reason}): set up an "
                              f"authenticator in the browser first.")
        return
    if two_factor.normalized(code):
        check_code(user, code, request=request)
    elif not two_factor.fresh(request, user):
        raise CodeRefused(f"To {what}, give a code from your authenticator app (`otp`), or "
                          f"pass your second factor again in the browser.")


def set_up_second_factor(request, code) -> list[str]:
    """Set up the session's pending authenticator (`two_factor.pending_key`) once `code`
    shows the app has it; the new recovery codes, shown once. The session has then passed its
    second factor."""
    user = request.user
    if two_factor.authenticator(user) is not None:
        raise CodeRefused("You have an authenticator already: remove it first to set up "
                          "another.")
    key = request.session.get(two_factor.PENDING_KEY)
    if not key:
        raise CodeRefused("Start again: the setup expired.")
    attempt = LoginAttempt("auth.two_factor.enrol", user.username, request)
    refuse_while_blocked(attempt)
    device = two_factor.confirm_setup(key, code)
    if device is None:
        attempt.failed("wrong second factor code")
        raise CodeRefused("That code is not right: check the time on your phone, and type the "
                          "code your app shows now.")
    attempt.succeeded()
    with transaction.atomic():
        device.user = user
        device.save()
        codes = two_factor.replace_recovery_codes(user)
        audit.record("auth.two_factor.enrol", request=request, target=user)
    del request.session[two_factor.PENDING_KEY]
    two_factor.mark_verified(request, device)
    return codes


def pass_second_factor(request, code) -> None:
    """The session's user gives their second factor (CodeRefused when wrong, counted and
    audited); the session then may be used."""
    device = check_code(request.user, code, request=request)
    two_factor.mark_verified(request, device)
    audit.record("auth.two_factor", request=request, target=request.user,
                 params={"with": "recovery code" if device.name == "recovery codes"
                         else "authenticator"})


def new_recovery_codes(request, code="") -> list[str]:
    """Ten new recovery codes for the session's user, the old ones void (a fresh second factor
    needed)."""
    user = request.user
    require_fresh(user, request=request, code=code, what="make new recovery codes")
    with transaction.atomic():
        codes = two_factor.replace_recovery_codes(user)
        audit.record("auth.two_factor.recovery_codes", request=request, target=user)
    return codes


def remove_second_factor(request, code="") -> None:
    """The session's user removes their authenticator and recovery codes (with a fresh second
    factor), unless a second factor is required of them."""
    user = request.user
    reason = two_factor.required_for(user)
    if reason:
        refuse("auth.two_factor.remove", user, request, target=user,
               message=f"Two-factor login is required of you ({reason}).")
    require_fresh(user, request=request, code=code, what="remove your authenticator")
    with transaction.atomic():
        two_factor.remove(user)
        audit.record("auth.two_factor.remove", request=request, target=user)


def reset_second_factor(actor, user, *, request=None) -> None:
    """A superuser removes `user`'s second factor (a lost phone, say): they log in with their
    password alone again, and set up a new one if it is required of them. Their open sockets
    re-check."""
    require_superuser(actor, "user.two_factor.reset", request=request, target=user)
    with transaction.atomic():
        two_factor.remove(user)
        audit.record("user.two_factor.reset", actor=actor, request=request, target=user)
        publish.permissions_changed_on_commit([user.pk])


def change_login_policy(actor, *, request=None, **changes) -> LoginPolicy:
    """Change the login policy (superusers): local accounts on or off, two-factor login for
    everyone or for superusers."""
    require_superuser(actor, "settings.login", request=request, target_type="settings",
                      target_name="login")
    policy = LoginPolicy.current()
    changed = {name: value for name, value in changes.items() if getattr(policy, name) != value}
    if not changed:
        return policy
    with transaction.atomic():
        before = {name: getattr(policy, name) for name in changed}
        for name, value in changed.items():
            setattr(policy, name, value)
        policy.save()
        audit.record("settings.login", actor=actor, request=request, target_type="settings",
                     target_name="login", params={"changed": changed, "previous": before})
        if any(changed.get(name) for name in ("two_factor_for_everyone",
                                              "two_factor_for_superusers")):
            # Open sockets of sessions that now owe a second factor close.
            users = get_user_model().objects.filter(is_active=True)
            if not changed.get("two_factor_for_everyone"):
                users = users.filter(is_superuser=True)
            publish.permissions_changed_on_commit(users.values_list("pk", flat=True))
    return policy


def require_team_two_factor(actor, team, required: bool, *, request=None) -> None:
    """Make a second factor required of `team`'s members, or no longer (its team admins,
    superusers). Members without one are asked to set it up at their next request."""
    require_manager(actor, team, "team.two_factor", request=request, target=team)
    with transaction.atomic():
        if required:
            _, made = TeamTwoFactorRequirement.objects.get_or_create(
                team=team, defaults={"required_by": actor})
        else:
            made = TeamTwoFactorRequirement.objects.filter(team=team).delete()[0] > 0
        if made:
            audit.record("team.two_factor", actor=actor, request=request, team=team,
                         target=team, params={"required": required})
            # Open sockets of sessions that now owe a second factor close.
            publish.permissions_changed_on_commit(
                team.memberships.values_list("user_id", flat=True))


def log_out(request) -> None:
    """End the request's login session, audited; its open sockets close."""
    if not request.user.is_authenticated:
        return
    session_key = request.session.session_key
    audit.record("auth.logout", request=request, target=request.user)
    logout(request)
    if session_key:
        publish.session_ended(session_key)
