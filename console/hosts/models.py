"""Hosts: machines with an engine root and an agent (a worker consuming `host.<name>`, and a
stream bridge), which holds the host's own key (`HostKey`) and nothing else. A host joins with
a single-use `JoinToken` a superuser made."""
import hashlib
from datetime import timedelta

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from console.core.permissions import RestrictedQuerySet, host_ids_granted_to, team_ids_allowing

# The name is part of the host's queue (`host.<name>`) and of its channel names; `any` is
# what a run request names to let the console choose (`console.hosts.placement`).
ANY_HOST = "any"
HOST_NAME_PATTERN = rf"^(?!{ANY_HOST}$)[a-z0-9][a-z0-9-]{{0,62}}$"
validate_host_name = RegexValidator(
    HOST_NAME_PATTERN, "A host name is 1 to 63 lowercase letters, digits and '-', starting "
                       f"with a letter or a digit, and not {ANY_HOST!r} (a run request's word "
                       "for letting the console choose).")


class HostQuerySet(RestrictedQuerySet):
    def permission_filter(self, user, action):
        # A host is visible to members of the teams it is granted to; running on it (or
        # pulling and building images there) needs a role with that action in such a team.
        # Managing hosts is for superusers.
        wanted = action if action in ("view", "run", "pull", "build") else None
        if wanted is None:
            return Q(pk__in=[])
        return Q(pk__in=host_ids_granted_to(team_ids_allowing(user, wanted)))

    def online(self):
        """Hosts that sent a heartbeat within the offline window (as `Host.is_online`)."""
        return self.filter(online_filter())

    def offline(self):
        return self.exclude(online_filter())


def online_filter(prefix: str = "") -> Q:
    """Online, as `Host.is_online` says it, for a query (`prefix`: the path to the host, such
    as "host__")."""
    return Q(**{f"{prefix}state": Host.State.ONLINE,
                f"{prefix}last_seen__gte": timezone.now() - offline_after()})


def offline_after() -> timedelta:
    return timedelta(seconds=settings.HOST_OFFLINE_AFTER_SECONDS)


class Host(models.Model):
    class State(models.TextChoices):
        ONLINE = "online"
        OFFLINE = "offline"

    name = models.CharField(max_length=63, unique=True, validators=[validate_host_name])
    state = models.CharField(max_length=8, choices=State.choices, default=State.OFFLINE)
    last_seen = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True,
                              help_text="identity of the worker process serving the host")
    engine_root = models.CharField(max_length=500, blank=True,
                                   help_text="the engine root its worker reports")
    synced_root = models.CharField(
        max_length=500, blank=True,
        help_text="the engine root the console's rows of this host were made from: a sync "
                  "of another root removes no row")
    runtime_version = models.CharField(max_length=100, blank=True)
    kernel_version = models.CharField(max_length=100, blank=True)
    cpus = models.PositiveIntegerField(default=0)
    memory = models.BigIntegerField(default=0, help_text="bytes")
    capacity = models.JSONField(
        default=dict, blank=True,
        help_text="what the host's last heartbeat said it has free: memory_available and "
                  "disk_available (bytes), containers_running")
    memory_available = models.BigIntegerField(
        default=0, help_text="bytes the kernel could give without swapping (MemAvailable) at "
                             "the last heartbeat")
    cordoned = models.BooleanField(
        default=False, help_text="no new containers are made on it; those there are left alone")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = HostQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def queue(self) -> str:
        return f"host.{self.name}"

    @property
    def root_changed(self) -> bool:
        """The worker serves another engine root than the one the rows were made from."""
        return bool(self.synced_root and self.engine_root
                    and self.synced_root != self.engine_root)

    @property
    def is_online(self) -> bool:
        """Online means a heartbeat within the offline window, whatever `state` last said."""
        return (self.state == self.State.ONLINE and self.last_seen is not None
                and self.last_seen >= timezone.now() - offline_after())


# No __str__: a grant shows only as a row of its team's pages and admin inline, and one now
# would change what the admin shows.
class HostGrant(models.Model):  # noqa: DJ008
    """Team `team` may run containers on `host`."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="host_grants")
    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="grants")
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "host"], name="one_grant_per_host")]


KEY_PREFIX = "mhk_"
JOIN_TOKEN_PREFIX = "mjt_"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class HostKey(models.Model):
    """The one credential of a host's agent: for the host API (`/api/agent/`), its websocket
    (`/ws/agent/`) and, as the password of its own Redis user, its queue. Only its SHA-256 is
    kept; the key itself lives on the host (`var/host.key`). Deleting the row revokes it."""

    host = models.OneToOneField(Host, on_delete=models.CASCADE, related_name="key")
    prefix = models.CharField(max_length=12, help_text="the first characters, to recognise it")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.prefix}… ({self.host})"

    @classmethod
    def host_for_key(cls, key: str):
        """The HostKey row of `key` (with its host), or None."""
        if not key or not key.startswith(KEY_PREFIX):
            return None
        return cls.objects.select_related("host").filter(digest=digest(key)).first()


class JoinToken(models.Model):
    """Lets one new machine join as host `name`, granted to `teams`: used once, before
    `expires_at`. Only its SHA-256 is kept."""

    name = models.CharField(max_length=63, validators=[validate_host_name])
    teams = models.ManyToManyField("teams.Team", blank=True, related_name="+")
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    host = models.ForeignKey(Host, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", help_text="the host that joined with it")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.prefix}… (joins {self.name})"

    @property
    def usable(self) -> bool:
        return self.used_at is None and self.expires_at > timezone.now()
