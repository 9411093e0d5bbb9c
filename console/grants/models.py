"""Grants: one user may do some actions on one container, or on one stack, for good or until a
time; and requests for a container grant, which a team admin approves or refuses. Container
grants and stack grants share how they end, are made, taken back and expire (`BaseGrant`,
`console.grants.actions`)."""
from datetime import timezone as dt_timezone

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from console.core.permissions import RestrictedQuerySet, team_ids_allowing

# Any grant lets its holder see the container; the other actions are granted one by one.
SEEING = ("view", "logs", "inspect")


# Any stack grant lets its holder see the stack; the stack's verbs each need a role action.
STACK_GRANTABLE = ("view", "start", "stop", "restart", "deploy")
STACK_VERB_OF_ACTION = {"view": "view", "start": "start", "stop": "stop", "restart": "restart",
                        "create": "deploy"}


def current_grants(model=None):
    """Grants (container grants unless `model` says) that have not ended (an ended one counts
    for nothing, even before housekeeping takes it away)."""
    model = model or ContainerGrant
    return model.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))


def granted_container_ids(user, action) -> list[int]:
    """The containers on which a current grant lets `user` do `action`."""
    grants = current_grants().filter(user=user).values_list("container_id", "actions")
    return sorted({container_id for container_id, actions in grants
                   if action in SEEING or action in actions})


def granted_stack_ids(user, action) -> list[int]:
    """The stacks on which a current grant lets `user` do the role action `action` (a grant
    of any verb lets its holder see the stack; "deploy" is the role action "create")."""
    verb = STACK_VERB_OF_ACTION.get(action)
    if verb is None:
        return []
    grants = current_grants(StackGrant).filter(user=user).values_list("stack_id", "actions")
    return sorted({stack_id for stack_id, actions in grants
                   if verb == "view" or verb in actions})


class GrantQuerySet(RestrictedQuerySet):
    def permission_filter(self, user, action):
        # Team admins see and change the grants on their team's containers (or stacks); a
        # user sees the grants they hold.
        target = self.model.target_field
        admin = Q(**{f"{target}__team_id__in": team_ids_allowing(user, "manage")})
        return admin | Q(user=user) if action == "view" else admin


class BaseGrant(models.Model):
    """What container and stack grants share: whose, which actions, by whom, until when.
    `target_field` names the granted object's field ("container", "stack")."""

    target_field = ""

    actions = models.JSONField(default=list)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = GrantQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        until = f" until {self.expires_at:%Y-%m-%d %H:%M:%S}" if self.expires_at else ""
        return f"{self.user} may {', '.join(self.actions)} on {self.target}{until}"

    @property
    def target(self):
        return getattr(self, self.target_field)


class StackGrant(BaseGrant):
    """One user may do some of a stack's verbs (view, start, stop, restart, deploy) on one
    stack, beyond (or without) a team role; until `expires_at` when it is set. Any grant lets
    its holder see the stack; other stacks of its team stay out of sight."""

    target_field = "stack"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="stack_grants")
    stack = models.ForeignKey("stacks.Stack", on_delete=models.CASCADE, related_name="grants")

    class Meta(BaseGrant.Meta):
        constraints = [models.UniqueConstraint(
            fields=["user", "stack"], condition=Q(expires_at__isnull=True),
            name="one_lasting_grant_per_user_and_stack")]


class ContainerGrant(BaseGrant):
    """One user may do some actions on one container, beyond (or without) a team role; until
    `expires_at` when it is set (then housekeeping takes it away and closes what it opened).
    A user holds at most one lasting grant on a container, and any number that end."""

    target_field = "container"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="container_grants")
    container = models.ForeignKey("containers.Container", on_delete=models.CASCADE,
                                  related_name="grants")

    class Meta(BaseGrant.Meta):
        # The table the grants had when they were part of the containers app: moving the
        # model between apps changed no row (migrations grants 0001, containers 0004).
        db_table = "containers_containergrant"
        constraints = [models.UniqueConstraint(
            fields=["user", "container"], condition=Q(expires_at__isnull=True),
            name="one_lasting_grant_per_user_and_container")]


class RequestQuerySet(RestrictedQuerySet):
    def permission_filter(self, user, action):
        # The requester sees their own; the team admins of the container's team see and
        # decide them.
        admin = Q(container__team_id__in=team_ids_allowing(user, "manage"))
        return admin | Q(user=user) if action == "view" else admin

    def pending(self):
        return self.filter(state=AccessRequest.State.PENDING)


class AccessRequest(models.Model):
    """A user asks for actions on a container for a while, saying why; a team admin of its
    team approves (a grant ending after `duration` seconds) or refuses (nothing granted)."""

    class State(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REFUSED = "refused"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="access_requests")
    container = models.ForeignKey("containers.Container", on_delete=models.CASCADE,
                                  related_name="access_requests")
    actions = models.JSONField(default=list)
    duration = models.PositiveIntegerField(help_text="seconds the grant lasts once approved")
    reason = models.TextField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True, help_text="what the team admin said deciding it")
    grant = models.ForeignKey(ContainerGrant, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    expires_at = models.DateTimeField(null=True, blank=True,
                                      help_text="when the approved grant ends")

    objects = RequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state", "created_at"])]

    def __str__(self):
        return f"{self.user} asks to {', '.join(self.actions)} on {self.container} ({self.state})"

    @property
    def duration_words(self) -> str:
        """"2 hours", "90 seconds": the duration in its largest whole unit."""
        for unit, seconds in (("day", 86400), ("hour", 3600), ("minute", 60)):
            if self.duration >= seconds and self.duration % seconds == 0:
                count = self.duration // seconds
                return f"{count} {unit}{'s' if count != 1 else ''}"
        return f"{self.duration} second{'s' if self.duration != 1 else ''}"

    def answer_words(self, now=None) -> str:
        """What the requester reads after the state: " until 2026-12-06 18:00:00 UTC by ann —
        “note”", with " (ended)" once an approved grant has ended; "" while pending."""
        now = now or timezone.now()
        words = ""
        if self.state == self.State.APPROVED and self.expires_at:
            ends = self.expires_at.astimezone(dt_timezone.utc)
            words += f" until {ends:%Y-%m-%d %H:%M:%S} UTC"
            if self.expires_at <= now or not self.grant_id:
                words += " (ended)"
        if self.decided_by_id:
            words += f" by {self.decided_by.username}"
        if self.note:
            words += f" — “{self.note}”"
        return words

    def answer_payload(self) -> dict:
        """The answer as the requester's pages show it, for the events socket."""
        return {"id": self.pk, "state": self.state, "words": self.answer_words()}
