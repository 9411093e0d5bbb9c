"""Letting a machine in and shutting it out: join tokens, host keys, revocation, leaving.

A superuser makes a join token (`make_join_token`, through the API or the Hosts page): single
use, valid JOIN_TOKEN_SECONDS (an hour) unless said otherwise, naming the host and the teams it
is granted to; until it is used, a superuser may revoke it (`revoke_join_token`). The new machine
exchanges it for its key (`join`, through `./moorage join URL TOKEN`), which is all the host
ever holds: the host API, its websocket and its Redis user (`redis_users`) take it. A
superuser revokes a key (`revoke`): the agent is refused everywhere at once, its Redis
connections are dropped and its websocket closed, and it stops. A host that leaves
(`./moorage leave`) revokes its own key (`leave`). `issue_key` gives a host a key directly
(`manage.py host_key`, what `./moorage up` does for the machine it runs on).

Only the SHA-256 of tokens and keys is stored; each is shown once.
"""
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from console import audit
from console.core.errors import Conflict, FieldErrors, Forbidden, Invalid, NotFound
from console.core.permissions import require_superuser
from console.hosts import redis_users
from console.hosts.models import (
    JOIN_TOKEN_PREFIX,
    KEY_PREFIX,
    Host,
    HostGrant,
    HostKey,
    JoinToken,
    digest,
    validate_host_name,
)
from console.teams.models import Team

MIN_TOKEN_SECONDS = 60
MAX_TOKEN_SECONDS = 7 * 24 * 3600
TOKEN_LIFETIME = (f"From 1 minute to {MAX_TOKEN_SECONDS // 86400} days "
                  f"({MIN_TOKEN_SECONDS} to {MAX_TOKEN_SECONDS} seconds).")


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def issue_key(host: Host) -> str:
    """A new key for `host` (replacing the one it had) and its Redis user with it; call in a
    transaction, which the Redis user's failure rolls back."""
    key = new_secret(KEY_PREFIX)
    HostKey.objects.filter(host=host).delete()
    HostKey.objects.create(host=host, prefix=key[:12], digest=digest(key))
    redis_users.grant(host.name, key)
    return key


def check_free(name: str) -> None:
    """A new host may take `name` unless a host of that name holds a key (it is joined)."""
    if HostKey.objects.filter(host__name=name).exists():
        raise Conflict(f"Host {name} is joined: revoke its key first (or let it leave) to "
                       f"join another machine under its name.")


def make_join_token(user, name: str, team_names, *, seconds: int | None = None,
                    request=None) -> tuple[JoinToken, str]:
    """A single-use join token for a host named `name`, granted to the teams named
    `team_names` (superusers): the token's row and the secret, which is shown once."""
    require_superuser(user, "host.join_token", request=request, target_type="host",
                      target_name=str(name)[:63],
                      message="Only a superuser may let a host join.")
    problems = FieldErrors()
    try:
        validate_host_name(name)
    except ValidationError as error:
        for message in error.messages:
            problems.add("name", message)
    teams = list(Team.objects.filter(name__in=set(team_names)).order_by("name"))
    for unknown in sorted(set(team_names) - {team.name for team in teams}):
        problems.add("teams", f"No team {unknown!r}.")
    seconds = settings.JOIN_TOKEN_SECONDS if seconds is None else seconds
    if not MIN_TOKEN_SECONDS <= seconds <= MAX_TOKEN_SECONDS:
        problems.add("expires_in", TOKEN_LIFETIME)
    if problems:
        raise Invalid(fields=problems)
    check_free(name)
    secret = new_secret(JOIN_TOKEN_PREFIX)
    with transaction.atomic():
        token = JoinToken.objects.create(name=name, prefix=secret[:12], digest=digest(secret),
                                         created_by=user,
                                         expires_at=timezone.now() + timedelta(seconds=seconds))
        token.teams.set(teams)
        audit.record("host.join_token", actor=user, request=request, target_type="host",
                     target_name=name, params={"prefix": token.prefix,
                                               "teams": [team.name for team in teams],
                                               "expires_at": token.expires_at.isoformat()})
    return token, secret


def outstanding_join_tokens():
    """The join tokens that may still be used (not used, not expired), newest first."""
    return (JoinToken.objects.filter(used_at__isnull=True, expires_at__gt=timezone.now())
            .select_related("created_by").prefetch_related("teams"))


def revoke_join_token(user, token_id, *, request=None) -> JoinToken:
    """Revoke a join token that has not been used (superusers): it is deleted, and nothing can
    join with it. A used one is refused (Conflict): revoke the key of the host it let in."""
    require_superuser(user, "host.join_token.revoke", request=request,
                      target_type="join token", target_name=str(token_id)[:63],
                      message="Only a superuser may revoke a join token.")
    with transaction.atomic():
        token = JoinToken.objects.select_for_update().filter(pk=token_id).first()
        if token is None:
            raise NotFound("No such join token.")
        if token.used_at is not None:
            raise Conflict(f"This join token was used (host {token.name} joined with it): "
                           f"revoke that host's key instead.")
        teams = sorted(token.teams.values_list("name", flat=True))
        token.delete()
        audit.record("host.join_token.revoke", actor=user, request=request, target_type="host",
                     target_name=token.name,
                     params={"prefix": token.prefix, "teams": teams,
                             "expired": token.expires_at <= timezone.now()})
    return token


def join(secret: str, *, request=None) -> tuple[Host, str]:
    """Exchange a join token for the key of the host it names: the host is made (or, if it
    left, comes back), granted the token's teams, and given its key and Redis user. The
    token is spent only if all of that is done."""
    with transaction.atomic():
        token = JoinToken.objects.filter(digest=digest(secret or "")).first()
        now = timezone.now()
        if token is None or not JoinToken.objects.filter(
                pk=token.pk, used_at__isnull=True, expires_at__gt=now).update(used_at=now):
            raise Forbidden("This join token is unknown, used or expired: ask a superuser "
                            "for a new one.")
        check_free(token.name)
        host, made = Host.objects.get_or_create(name=token.name)
        JoinToken.objects.filter(pk=token.pk).update(host=host)
        teams = list(token.teams.all())
        for team in teams:
            _, granted = HostGrant.objects.get_or_create(
                team=team, host=host, defaults={"granted_by": token.created_by})
            if granted:
                audit.record("team.host.grant", actor=token.created_by, team=team,
                             target=host, host=host, params={"by": "join token"})
        key = issue_key(host)
        audit.record("host.join", actor=HostActor(host), request=request, target=host,
                     host=host, params={"prefix": token.prefix, "new": made,
                                        "teams": [team.name for team in teams]})
    return host, key


def revoke(user, host: Host, *, request=None) -> None:
    """Revoke `host`'s key (superusers): the host API, its websocket and Redis refuse it from
    now on, and its agent stops."""
    require_superuser(user, "host.revoke_key", request=request, target=host, host=host,
                      message="Only a superuser may revoke a host's key.")
    if not HostKey.objects.filter(host=host).exists():
        raise Conflict(f"Host {host.name} has no key to revoke.")
    with transaction.atomic():
        forget_key(host)
        audit.record("host.revoke_key", actor=user, request=request, target=host, host=host)


def leave(host: Host, *, request=None) -> None:
    """The host's agent leaves: its key is revoked, the host is offline."""
    with transaction.atomic():
        forget_key(host)
        Host.objects.filter(pk=host.pk).update(state=Host.State.OFFLINE)
        host.state = Host.State.OFFLINE
        audit.record("host.leave", actor=HostActor(host), request=request, target=host,
                     host=host)


def forget_key(host: Host) -> None:
    from console.streams import publish

    HostKey.objects.filter(host=host).delete()
    redis_users.revoke(host.name)
    transaction.on_commit(lambda: publish.host_key_revoked(host))


class HostActor:
    """Who acts when a host's key is used: not a user (no permissions, no teams), named
    `host:<name>` in the audit log."""

    pk = None
    is_superuser = False
    is_staff = False
    is_active = True
    is_authenticated = True
    is_anonymous = False

    def __init__(self, host: Host):
        self.host = host
        self.username = f"host:{host.name}"

    def __str__(self):
        return self.username
