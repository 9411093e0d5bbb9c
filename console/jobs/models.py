"""Jobs: every change to a host is a row first, then a message carrying only its id."""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from console.core.permissions import RestrictedQuerySet, team_ids_allowing
from console.grants.models import granted_container_ids


class JobQuerySet(RestrictedQuerySet):
    def permission_filter(self, user, action):
        return (Q(team_id__in=team_ids_allowing(user, "view")) | Q(requested_by=user)
                | Q(container_id__in=granted_container_ids(user, "view")))

    def claim(self, job_id: int, worker: str) -> bool:
        """Take a queued job for `worker`. A conditional update, so of two deliveries of the
        same message exactly one wins; the other finds the job taken and does nothing."""
        return bool(self.filter(pk=job_id, state=Job.State.QUEUED).update(
            state=Job.State.RUNNING, worker=worker, started_at=timezone.now()))


class Job(models.Model):
    class Kind(models.TextChoices):
        RUN = "run"
        CREATE = "create"
        START = "start"
        STOP = "stop"
        KILL = "kill"
        RESTART = "restart"
        REMOVE = "remove"
        COMMIT = "commit"
        TAG = "tag"
        PULL = "pull"
        BUILD = "build"
        SYNC = "sync"
        STACK_PLAN = "stack.plan"
        STACK_DEPLOY = "stack.deploy"
        STACK_START = "stack.start"
        STACK_STOP = "stack.stop"
        STACK_RESTART = "stack.restart"
        STACK_DOWN = "stack.down"
        STACK_REMOVE = "stack.remove"
        VOLUME_CREATE = "volume.create"
        VOLUME_REMOVE = "volume.remove"
        QUOTA = "quota"

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    FINAL_STATES = (State.SUCCEEDED, State.FAILED)

    kind = models.CharField(max_length=16, choices=Kind.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="jobs")
    team = models.ForeignKey("teams.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="jobs")
    container = models.ForeignKey("containers.Container", null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="jobs")
    # Copies, so a job still says what it was about after its container is gone.
    target_id = models.CharField(max_length=71, blank=True)
    target_name = models.CharField(max_length=200, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="jobs")
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    # What a pull or build printed, written while it runs (capped: see agent/output.py).
    output = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["host", "state"])]

    def __str__(self):
        return f"{self.kind} {self.target_name or self.target_id} ({self.state})"

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None
