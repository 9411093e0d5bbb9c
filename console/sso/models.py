"""Directories' groups mapped to teams and roles, and which accounts a directory made.

A `GroupMapping` says: members of the directory group `group` (an OpenID Connect `groups`
claim value, or an LDAP group's name or DN) have `role` in `team`. Superusers edit the table;
it is applied at every single sign-on login (`console.sso.mapping`). A `DirectoryIdentity`
links an account to the directory that made it, so that a directory never logs anyone into an
account it did not make (a local `admin`, say).
"""
from django.conf import settings
from django.db import models
from django.db.models import Q

from console.core.permissions import RestrictedQuerySet, team_ids_allowing
from console.core.roles import Role


class Source(models.TextChoices):
    OIDC = "oidc", "OpenID Connect"
    LDAP = "ldap", "LDAP"


class GroupMappingQuerySet(RestrictedQuerySet):
    def permission_filter(self, user, action):
        # A team's admins see which groups give roles in it; only superusers change the table.
        if action != "view":
            return Q(pk__in=[])
        return Q(team_id__in=team_ids_allowing(user, "manage"))


class GroupMapping(models.Model):
    source = models.CharField(max_length=8, choices=Source.choices)
    group = models.CharField(max_length=255, help_text="the group's name as the directory "
                                                       "gives it (LDAP: its name or its DN)")
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE,
                             related_name="group_mappings")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = GroupMappingQuerySet.as_manager()

    class Meta:
        ordering = ["source", "group", "team__name"]
        constraints = [models.UniqueConstraint(fields=["source", "group", "team"],
                                               name="one_role_per_group_and_team")]

    def __str__(self):
        return f"{self.get_source_display()} group {self.group} → {self.role} in {self.team}"


class DirectoryIdentity(models.Model):
    """The account a directory made for one of its users: OpenID Connect's `sub` claim, or
    the LDAP username."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="directory_identities")
    source = models.CharField(max_length=8, choices=Source.choices)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "subject"],
                                               name="one_account_per_directory_subject")]
        verbose_name_plural = "directory identities"

    def __str__(self):
        return f"{self.user} ({self.get_source_display()} {self.subject})"
