"""Schedules: an action on a container (start, stop, restart, commit) or on a stack (redeploy:
its current version again) at the times a cron expression names, as its owner."""
from django.conf import settings
from django.db import models
from django.db.models import Q

from console.core.permissions import RestrictedQuerySet, team_ids_allowing


class ScheduleQuerySet(RestrictedQuerySet):
    def permission_filter(self, user, action):
        # Members of the team see its schedules; its developers (and admins) change them.
        wanted = "view" if action == "view" else "schedule"
        return Q(team_id__in=team_ids_allowing(user, wanted))


class Schedule(models.Model):
    class Action(models.TextChoices):
        START = "start"
        STOP = "stop"
        RESTART = "restart"
        COMMIT = "commit"
        REDEPLOY = "redeploy"       # a stack's current version again

    class Result(models.TextChoices):
        REQUESTED = "requested"     # the run's job was made: its outcome is the job's
        FAILED = "failed"           # no job: the owner may not, the container cannot...

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="schedules")
    # Its target: a container, or a stack (for `redeploy`), never both.
    container = models.ForeignKey("containers.Container", null=True, blank=True,
                                  on_delete=models.CASCADE, related_name="schedules")
    stack = models.ForeignKey("stacks.Stack", null=True, blank=True, on_delete=models.CASCADE,
                              related_name="schedules")
    action = models.CharField(max_length=10, choices=Action.choices)
    cron = models.CharField(max_length=100)
    # commit: repository, tag (a pattern: {date} {time} {datetime} {run}), message;
    # redeploy: message; any: reason
    params = models.JSONField(default=dict, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                              related_name="schedules")
    owner_name = models.CharField(max_length=150)
    paused = models.BooleanField(default=False)
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    runs = models.PositiveIntegerField(default=0)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_result = models.CharField(max_length=10, choices=Result.choices, blank=True)
    last_error = models.TextField(blank=True)
    last_job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScheduleQuerySet.as_manager()

    class Meta:
        ordering = ["next_run_at", "pk"]
        indexes = [models.Index(fields=["paused", "next_run_at"])]
        constraints = [models.CheckConstraint(
            condition=Q(container__isnull=False, stack__isnull=True) & ~Q(action="redeploy")
            | Q(container__isnull=True, stack__isnull=False, action="redeploy"),
            name="a_schedule_targets_a_container_or_redeploys_a_stack")]

    def __str__(self):
        return f"{self.action} {self.target} at {self.cron!r}"

    @property
    def target(self):
        """The container or the stack it acts on."""
        return self.stack if self.stack_id else self.container

    @property
    def target_name(self) -> str:
        if self.stack_id:
            return f"stack {self.stack.name}"
        return self.container.display_name

    def audit_params(self) -> dict:
        return {"schedule": self.pk, "action": self.action, "cron": self.cron,
                "params": self.params, "owner": self.owner_name}
