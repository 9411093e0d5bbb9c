"""Users and their API tokens: each change is audited in the transaction that makes it; a
revoked token's open sockets close. (Teams and their members: `console.teams.actions`;
container grants: `console.grants.actions`.)"""
from django.contrib.auth import get_user_model
from django.db import transaction

from console import audit
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
