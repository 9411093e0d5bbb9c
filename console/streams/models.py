"""Terminal sessions as the console remembers them: who opened which terminal, how it ended,
and where its recording (asciicast v2) is. The audit log has the entries; this row has what
the replay player needs."""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from console.core.permissions import RestrictedQuerySet, team_ids_allowing


class TerminalSessionQuerySet(RestrictedQuerySet):
    def permission_filter(self, user, action):
        # A recording holds whatever was typed and shown: its own user and the team's admins
        # may watch it (superusers always may); nobody changes it.
        if action != "view":
            return Q(pk__in=[])
        return Q(user=user) | Q(team_id__in=team_ids_allowing(user, "manage"))

    def open(self):
        return self.filter(ended_at=None)


class TerminalSession(models.Model):
    class Mode(models.TextChoices):
        EXEC = "exec"
        ATTACH = "attach"

    id = models.CharField(primary_key=True, max_length=32,
                          help_text="the session's ID, the same on the host")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="terminal_sessions")
    username = models.CharField(max_length=150)
    container = models.ForeignKey("containers.Container", null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="terminal_sessions")
    container_engine_id = models.CharField(max_length=64)
    container_name = models.CharField(max_length=128, blank=True)
    host = models.ForeignKey("hosts.Host", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    host_name = models.CharField(max_length=63, blank=True)
    team = models.ForeignKey("teams.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    mode = models.CharField(max_length=8, choices=Mode.choices)
    command = models.JSONField(default=list, blank=True)
    exec_user = models.CharField(max_length=65, blank=True,
                                 help_text="the user inside the container (empty: its own)")
    cols = models.PositiveIntegerField(default=80)
    rows = models.PositiveIntegerField(default=24)
    started_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now,
                                   help_text="last sign of life of the socket serving it")
    detached_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    end_reason = models.CharField(max_length=40, blank=True)
    recording = models.CharField(max_length=200, blank=True,
                                 help_text="file name under RECORDINGS_DIR")
    recorded_until = models.BigIntegerField(default=0,
                                            help_text="output stream position recorded")

    objects = TerminalSessionQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["container_engine_id", "-started_at"]),
                   models.Index(fields=["ended_at", "detached_at"])]

    def __str__(self):
        return f"terminal {self.id[:8]} of {self.username} on {self.container_name}"

    @property
    def duration(self) -> float | None:
        if self.ended_at is None:
            return None
        return round((self.ended_at - self.started_at).total_seconds(), 3)

    @property
    def recording_path(self):
        return settings.RECORDINGS_DIR / self.recording if self.recording else None
