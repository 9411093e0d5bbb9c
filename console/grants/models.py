"""Container grants: one user may do some actions on one container."""
from django.conf import settings
from django.db import models
from django.db.models import Q

from console.core.permissions import RestrictedQuerySet, team_ids_allowing

# Any grant lets its holder see the container; the other actions are granted one by one.
SEEING = ("view", "logs", "inspect")


def granted_container_ids(user, action) -> list[int]:
    """The containers on which a grant lets `user` do `action`."""
    grants = ContainerGrant.objects.filter(user=user).values_list("container_id", "actions")
    return [container_id for container_id, actions in grants
            if action in SEEING or action in actions]


class GrantQuerySet(RestrictedQuerySet):
    def permission_filter(self, user, action):
        # Team admins see and change the grants on their team's containers; a user sees the
        # grants they hold.
        admin = Q(container__team_id__in=team_ids_allowing(user, "manage"))
        return admin | Q(user=user) if action == "view" else admin


class ContainerGrant(models.Model):
    """One user may do some actions on one container, beyond (or without) a team role."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="container_grants")
    container = models.ForeignKey("containers.Container", on_delete=models.CASCADE,
                                  related_name="grants")
    actions = models.JSONField(default=list)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = GrantQuerySet.as_manager()

    class Meta:
        # The table the grants had when they were part of the containers app: moving the
        # model between apps changed no row (migrations grants 0001, containers 0004).
        db_table = "containers_containergrant"
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["user", "container"],
                                               name="one_grant_per_user_and_container")]

    def __str__(self):
        return f"{self.user} may {', '.join(self.actions)} on {self.container}"
