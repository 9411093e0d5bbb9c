"""The audit log: one append-only row per state-changing action, allowed, failed or denied.

Rows are never changed or deleted through the ORM: `save()` on an existing row, `delete()` and
queryset `update()`/`delete()` raise. Only the retention setting prunes (`prune_audit`).
"""
from django.conf import settings
from django.db import models
from django.db.models import Q

from console.core.permissions import RestrictedQuerySet, team_ids_allowing


class AppendOnly(Exception):
    pass


def own_entries_naming_no_team_or_host(user) -> Q:
    """The entries `user` caused that name no team and no host: their logins and tokens, and
    their refusals, which by construction carry only what they typed (`record_unseen`, and the
    refusals of runs, pulls and builds). An entry of theirs that names a team or host they
    cannot see (one they left, or one written when refusals still recorded what they hit)
    is not theirs to read: it would tell them about it."""
    return Q(actor=user, team__isnull=True, team_name="", host__isnull=True, host_name="")


class AuditQuerySet(RestrictedQuerySet):
    def permission_filter(self, user, action):
        """A member reads their teams' entries, and their own that name no team or host."""
        if action != "view":
            return Q(pk__in=[])
        return (Q(team_id__in=team_ids_allowing(user, "view"))
                | own_entries_naming_no_team_or_host(user))

    def update(self, **kwargs):
        raise AppendOnly("audit entries cannot be changed")

    def delete(self):
        raise AppendOnly("audit entries cannot be deleted")

    def prune_before(self, moment) -> int:
        """Delete entries older than `moment`: the retention setting's job, nobody else's."""
        return models.QuerySet.delete(self.filter(time__lt=moment))[0]


class AuditEntry(models.Model):
    class Result(models.TextChoices):
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        DENIED = "denied"
        REQUESTED = "requested"   # a job was queued; its outcome is on the linked job

    time = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True)
    team = models.ForeignKey("teams.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    team_name = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=32, blank=True)
    target_id = models.CharField(max_length=71, blank=True)
    target_name = models.CharField(max_length=200, blank=True)
    host = models.ForeignKey("hosts.Host", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    host_name = models.CharField(max_length=63, blank=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.CharField(max_length=10, choices=Result.choices)
    error = models.TextField(blank=True)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="audit_entries")
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-time", "-pk"]
        # Pages walk the log newest first by (time, id), so each filter has an index that
        # starts with its column and continues with the time and the id: read backwards, it
        # is already in page order, and a page reads a page's worth of index however long the
        # log is. (Descending indexes would not do: backwards they give the ids ascending.)
        indexes = [models.Index(fields=[column, "time", "id"],
                                name=f"audit_{column[:12]}_time_idx")
                   for column in ("team", "actor", "team_name", "actor_name", "action",
                                  "host_name", "result")]
        indexes += [models.Index(fields=["target_id"]), models.Index(fields=["target_name"])]
        verbose_name_plural = "audit entries"

    def __str__(self):
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.result}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnly("audit entries cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("audit entries cannot be deleted")
