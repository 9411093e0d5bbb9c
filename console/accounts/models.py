"""API tokens. Only the SHA-256 of a token is stored; the token itself is shown once."""
import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from console.core.permissions import RestrictedQuerySet

TOKEN_PREFIX = "mrg_"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class TokenQuerySet(RestrictedQuerySet):
    def permission_filter(self, user, action):
        return Q(user=user)   # a user sees and revokes their own tokens

    def create_for(self, user, name: str = "") -> tuple["ApiToken", str]:
        """A new token for `user`: the row and the key, which is never stored."""
        key = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = self.create(user=user, name=name[:100], prefix=key[:12], digest=digest(key))
        return token, key


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, help_text="the first characters, to recognise it")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)

    objects = TokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.prefix}… ({self.user})"

    @classmethod
    def user_for_key(cls, key: str):
        """The active user owning `key`, or None."""
        if not key.startswith(TOKEN_PREFIX):
            return None
        token = cls.objects.select_related("user").filter(digest=digest(key)).first()
        if token is None or not token.user.is_active:
            return None
        return token
