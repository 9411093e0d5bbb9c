"""API tokens (only the SHA-256 of a token is stored; the token itself is shown once), and who
may log in how: the console's login policy and the teams that require two-factor login."""
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


class LoginPolicy(models.Model):
    """The console's login rules: one row (pk 1), changed by superusers on the login settings
    page (`console.accounts.policy_views`), each change audited. Until a superuser saves it,
    the defaults hold: local accounts on, two-factor login required of nobody."""

    local_accounts = models.BooleanField(
        default=True, help_text="users log in with a password kept by the console (off: only "
                                "through a directory, but for the first superuser)")
    two_factor_for_everyone = models.BooleanField(
        default=False, help_text="every user needs a second factor to log in")
    two_factor_for_superusers = models.BooleanField(
        default=False, help_text="superusers need a second factor to log in")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "login policy"

    def __str__(self):
        return "login policy"

    @classmethod
    def current(cls) -> "LoginPolicy":
        """The policy in force (the defaults, unsaved, while nobody has saved one)."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)


def break_glass_account_id():
    """The id of the account that may always log in with its password, local accounts on or
    off: the active superuser made first (the one `./moorage up` makes)."""
    from django.contrib.auth import get_user_model

    return (get_user_model().objects.filter(is_superuser=True, is_active=True)
            .order_by("pk").values_list("pk", flat=True).first())


class TeamTwoFactorRequirement(models.Model):
    """A team whose members need a second factor to log in (its team admins decide). The row
    is the requirement: none, no requirement."""

    team = models.OneToOneField("teams.Team", primary_key=True, on_delete=models.CASCADE,
                                related_name="two_factor_requirement")
    required_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"team {self.team} requires two-factor login"
