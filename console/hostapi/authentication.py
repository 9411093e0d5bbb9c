"""`Authorization: Host <key>`: the host API's one way in. The key is looked up by its SHA-256
(`HostKey`); the request is then the host's (`request.user` a `HostActor`, `request.auth` its
`HostKey`, `request.host` the host)."""
from django.utils import timezone
from rest_framework import authentication, permissions

from console.core.errors import NotAuthenticated
from console.hosts.keys import HostActor
from console.hosts.models import KEY_PREFIX, HostKey

SCHEME = "host"
LAST_USED_EVERY_SECONDS = 60


def key_from_header(value: str) -> str | None:
    """The key of `Authorization: Host <key>`, or of `Token <key>` when the key is a host's
    (how one would try it on the user API)."""
    parts = value.split()
    if len(parts) != 2:
        return None
    scheme, key = parts[0].lower(), parts[1]
    if scheme == SCHEME or (scheme == "token" and key.startswith(KEY_PREFIX)):
        return key
    return None


def host_key(key: str | None) -> HostKey | None:
    """The HostKey row of `key` (with its host), recording its use; None if it is none."""
    row = HostKey.host_for_key(key or "")
    if row is not None and (row.last_used is None or (
            timezone.now() - row.last_used).total_seconds() > LAST_USED_EVERY_SECONDS):
        HostKey.objects.filter(pk=row.pk).update(last_used=timezone.now())
    return row


class HostKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        key = key_from_header(header) if header else None
        if key is None:
            return None
        row = host_key(key)
        if row is None:
            raise NotAuthenticated("This host key is unknown or was revoked.")
        request._request.host = row.host
        return HostActor(row.host), row

    def authenticate_header(self, request):
        return "Host"


class IsHost(permissions.BasePermission):
    """Only a request made with a host's key."""

    def has_permission(self, request, view):
        return isinstance(request.auth, HostKey)
