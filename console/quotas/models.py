"""A team's quota on one host, and the last reading of what its group there uses."""
from django.conf import settings
from django.db import models
from django.db.models import Q

from console.core.permissions import RestrictedQuerySet, team_ids_allowing


class QuotaQuerySet(RestrictedQuerySet):
    def permission_filter(self, user, action):
        # Team admins see their teams' quotas; only superusers change them.
        if action != "view":
            return Q(pk__in=[])
        return Q(team_id__in=team_ids_allowing(user, "manage"))


class Quota(models.Model):
    """The most team `team` may use on `host`; 0 is no limit. Memory, CPUs and PIDs are the
    limits of the team's group there (the kernel's); `containers` (running at once) and `disk`
    (bytes of volumes and writable layers) the console checks before a run or a start."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="quotas")
    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="quotas")
    memory = models.BigIntegerField(default=0, help_text="bytes")
    cpus = models.FloatField(default=0)
    pids = models.BigIntegerField(default=0)
    containers = models.PositiveIntegerField(default=0, help_text="running at once")
    disk = models.BigIntegerField(default=0, help_text="bytes")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    objects = QuotaQuerySet.as_manager()

    class Meta:
        ordering = ["team__name", "host__name"]
        constraints = [models.UniqueConstraint(fields=["team", "host"],
                                               name="one_quota_per_team_and_host")]

    def __str__(self):
        return f"quota of {self.team} on {self.host}"

    LIMITS = ("memory", "cpus", "pids", "containers", "disk")

    def limits(self) -> dict:
        return {name: getattr(self, name) for name in self.LIMITS}


class GroupReadingQuerySet(RestrictedQuerySet):
    def permission_filter(self, user, action):
        if action != "view":
            return Q(pk__in=[])
        return Q(team_id__in=team_ids_allowing(user, "manage"))


class GroupReading(models.Model):
    """What the team's group on a host used when its agent last looked (`Engine.group_inspect`
    as it answered: `limits` are the group's own, `usage` its cgroup files, containers and
    disk). The web side never asks the engine; it shows and checks against this."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="readings")
    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="readings")
    limits = models.JSONField(default=dict)
    usage = models.JSONField(default=dict)
    # CPUs the group kept busy on average between this reading and the one before.
    cpus_in_use = models.FloatField(null=True, blank=True)
    read_at = models.DateTimeField()

    objects = GroupReadingQuerySet.as_manager()

    class Meta:
        ordering = ["team__name", "host__name"]
        constraints = [models.UniqueConstraint(fields=["team", "host"],
                                               name="one_reading_per_team_and_host")]

    def __str__(self):
        return f"{self.team} on {self.host} at {self.read_at:%Y-%m-%d %H:%M:%S}"

    def disk_used(self) -> int:
        return int(((self.usage or {}).get("Disk") or {}).get("Total") or 0)
