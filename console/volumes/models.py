"""Volumes as each host's engine reports them (Docker's `local` driver): their size, who uses
them, and the team they belong to — the team whose container or stack made them (the
`moorage.team` label the console puts on them, or the stack of their Compose project). A
volume made on the host without one belongs to no team (superusers only) until a superuser
gives it to one."""
from django.conf import settings
from django.db import models

from console.core.permissions import RestrictedQuerySet, team_ids_allowing


class VolumeQuerySet(RestrictedQuerySet):
    def permission_filter(self, user, action):
        return models.Q(team_id__in=team_ids_allowing(user, action))


class Volume(models.Model):
    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="volumes")
    name = models.CharField(max_length=255)
    team = models.ForeignKey("teams.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="volumes")
    project = models.CharField(max_length=63, blank=True,
                               help_text="the Compose project (stack) that made it")
    anonymous = models.BooleanField(default=False)
    labels = models.JSONField(default=dict, blank=True)
    size = models.BigIntegerField(null=True, blank=True, help_text="bytes, when measured")
    measured_at = models.DateTimeField(null=True, blank=True)
    used_by = models.JSONField(default=list, blank=True,
                               help_text="the engine IDs of the containers that name it")
    created = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    missed_syncs = models.PositiveSmallIntegerField(
        default=0, help_text="consecutive syncs whose engine did not list the volume")

    objects = VolumeQuerySet.as_manager()

    class Meta:
        ordering = ["host__name", "name"]
        constraints = [models.UniqueConstraint(fields=["host", "name"],
                                               name="one_volume_of_a_name_per_host")]
        indexes = [models.Index(fields=["host", "project"])]

    def __str__(self):
        return self.name

    @property
    def in_use(self) -> bool:
        return bool(self.used_by)
