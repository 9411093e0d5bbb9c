"""Stacks: a Compose file and its `.env`, run as one Compose project on one host for one team,
and every version of the file that was deployed.

A stack's name is its project's name on the host (`com.docker.compose.project`), so it is
unique on its host, as a container's name is. A stack made with `moor compose` or
docker-compose on the host (`made_outside`) comes with no file: the console knows its
containers from their labels, and it belongs to no team (superusers only) until a superuser
gives it to one.
"""
from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from console.core.permissions import RestrictedQuerySet, team_ids_allowing
from console.grants.models import granted_stack_ids

# Compose's project names (and so the prefix of the containers, networks and volumes it makes).
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
validate_stack_name = RegexValidator(
    NAME_PATTERN, "A stack's name is 1 to 63 lowercase letters, digits, '-' and '_', starting "
                  "with a letter or a digit (it names the Compose project on the host).")


class StackQuerySet(RestrictedQuerySet):
    def permission_filter(self, user, action):
        # A team role, or a stack grant (`console.grants`) of this stack alone.
        return (models.Q(team_id__in=team_ids_allowing(user, action))
                | models.Q(pk__in=granted_stack_ids(user, action)))

    def with_versions(self):
        """Each stack with its versions' numbers and services (not their files), for lists:
        `Stack.current` reads them without a query of its own."""
        return self.prefetch_related(models.Prefetch("versions", queryset=StackVersion.objects
                                                     .only("id", "stack_id", "number",
                                                           "services")))


class Stack(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active"
        REMOVING = "removing"       # its removal was asked for: no other request is taken

    name = models.CharField(max_length=63, validators=[validate_stack_name])
    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="stacks")
    team = models.ForeignKey("teams.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="stacks")
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    made_outside = models.BooleanField(
        default=False, help_text="found on the host (moor compose, docker-compose): no file "
                                 "in the console until a version is deployed")
    containers = models.JSONField(
        default=list, blank=True,
        help_text='its containers as the host last reported them: [{"id", "service"}]')
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    missed_syncs = models.PositiveSmallIntegerField(
        default=0, help_text="consecutive syncs that found none of a stack made outside")

    objects = StackQuerySet.as_manager()

    class Meta:
        ordering = ["name", "host__name"]
        constraints = [models.UniqueConstraint(fields=["host", "name"],
                                               name="one_stack_of_a_name_per_host")]

    def __str__(self):
        return self.name

    @property
    def current(self):
        """The version deployed last (None for a stack made outside with none); from the
        versions prefetched by `with_versions`, when they were."""
        prefetched = getattr(self, "_prefetched_objects_cache", {}).get("versions")
        if prefetched is not None:
            return max(prefetched, key=lambda version: version.number, default=None)
        return self.versions.order_by("-number").first()

    @property
    def container_ids(self) -> list[str]:
        return [entry["id"] for entry in self.containers or []]


class StackVersion(models.Model):
    """One deployed version of a stack's file: what was deployed, by whom, when and why. A
    rollback deploys an old version again as a new one (`redeploy_of`), so the history reads
    as what ran, in order."""

    stack = models.ForeignKey(Stack, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    compose = models.TextField()
    env = models.TextField(blank=True, help_text="the .env text (its values may be secrets)")
    message = models.CharField(max_length=500, blank=True)
    services = models.JSONField(default=list, blank=True,
                                help_text="the services the file runs, in dependency order")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    author_name = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="+", help_text="the job that deployed it")
    redeploy_of = models.PositiveIntegerField(null=True, blank=True,
                                              help_text="the version it deployed again")
    reason = models.TextField(blank=True, help_text="why, where the team requires a reason "
                                                    "(also in the deploy's audit entry)")

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["stack", "number"],
                                               name="one_version_of_a_number_per_stack")]

    def __str__(self):
        return f"{self.stack.name} version {self.number}"
