"""Teams and their members. A member has one role per team (see `console.core.roles`)."""
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from console.core.permissions import RestrictedQuerySet, team_ids_allowing
from console.core.roles import Role
from console.teams.reasons import validate_reason_actions

# A user inside a container as `docker exec -u` takes it: a name or a number, optionally with a
# group (`app`, `1000`, `app:staff`, `1000:1000`).
CONTAINER_USER_PATTERN = re.compile(r"^(?:[a-z_][a-z0-9_.-]{0,31}|\d{1,10})"
                                    r"(?::(?:[a-z_][a-z0-9_.-]{0,31}|\d{1,10}))?$")


def validate_container_user(value: str) -> None:
    if value and not CONTAINER_USER_PATTERN.match(value):
        raise ValidationError("A user inside the container: a name or a number, optionally "
                              "with a group (app, 1000, app:staff, 1000:1000).")


class TeamQuerySet(RestrictedQuerySet):
    def permission_filter(self, user, action):
        return Q(pk__in=team_ids_allowing(user, action))


class Team(models.Model):
    name = models.CharField(max_length=64, unique=True)
    description = models.CharField(max_length=300, blank=True)
    # Terminals opened on the team's containers run as this user, whatever the person opening
    # them asks for; empty: the container's own user (or the one asked for).
    terminal_user = models.CharField(max_length=65, blank=True,
                                     validators=[validate_container_user],
                                     help_text="the user terminals run as inside the team's "
                                               "containers (empty: the container's user)")
    # The sensitive actions whose doers must say why (`console.teams.reasons`).
    reasons_required_for = models.JSONField(default=list, blank=True,
                                            validators=[validate_reason_actions])
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership",
                                     related_name="teams")

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def network(self) -> str:
        """The name of the team's own network on each of its hosts (made there on first use,
        and the value of the `moorage.team` label that marks a network as the team's): by
        number, so a rename changes nothing and no team's name shows. The engine keeps
        `team-<number>` for these (`moor network create` refuses it)."""
        return f"team-{self.pk}"

    @property
    def group(self) -> str:
        """The engine group the team's containers run in on each of its hosts, whose limits
        are its quota there (`console.quotas`): by number, like its network."""
        return f"team-{self.pk}"


class MembershipQuerySet(RestrictedQuerySet):
    def permission_filter(self, user, action):
        # Members see the members of their teams; only team admins change them.
        wanted = "view" if action == "view" else "manage"
        return Q(team_id__in=team_ids_allowing(user, wanted))


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "team"], name="one_role_per_team")]
        ordering = ["team__name", "user__username"]

    def __str__(self):
        return f"{self.user} in {self.team} as {self.role}"
