"""Containers as the console knows them: one row per engine container on each host."""
from django.conf import settings
from django.db import models
from django.db.models import Q

from console.containers.status import ENGINE_STATES, InvalidTransition, Status, can_move
from console.core.permissions import RestrictedQuerySet, team_ids_allowing
from console.grants.models import granted_container_ids


class ContainerQuerySet(RestrictedQuerySet):
    def permission_filter(self, user, action):
        return (Q(team_id__in=team_ids_allowing(user, action))
                | Q(pk__in=granted_container_ids(user, action)))

    def resolve(self, reference: str):
        """Rows matching a full engine ID, a unique ID prefix or an exact name: exact ID
        first, then prefix, then name (the caller decides what several matches mean)."""
        ref = reference.strip().lower()
        if len(ref) == 64:
            exact = self.filter(engine_id=ref)
            if exact.exists():
                return exact
        if ref and all(c in "0123456789abcdef" for c in ref):
            by_prefix = self.filter(engine_id__startswith=ref)
            if by_prefix.exists():
                return by_prefix
        return self.filter(name=reference.strip())


class Container(models.Model):
    engine_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=128, blank=True)
    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="containers")
    team = models.ForeignKey("teams.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="containers")
    image = models.ForeignKey("images.Image", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="containers")
    image_ref = models.CharField(max_length=255, help_text="the image as the user named it")
    command = models.JSONField(default=list, blank=True)
    env = models.JSONField(default=list, blank=True)
    options = models.JSONField(default=dict, blank=True,
                               help_text="memory, cpus, pids_limit, restart, tty, ports, network")
    state = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    exit_code = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    inspect_data = models.JSONField(default=dict, blank=True)
    missed_syncs = models.PositiveSmallIntegerField(
        default=0, help_text="consecutive syncs whose engine did not list the container")
    updated_at = models.DateTimeField(auto_now=True)

    objects = ContainerQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["host", "name"], condition=~Q(name=""),
                                    name="container_name_unique_per_host"),
        ]
        indexes = [models.Index(fields=["state"]), models.Index(fields=["name"])]

    def __str__(self):
        return self.name or self.short_id

    @property
    def short_id(self) -> str:
        return self.engine_id[:12]

    @property
    def display_name(self) -> str:
        return self.name or self.short_id

    @property
    def host_state(self) -> str:
        """Whether the container's host answers ("online") or has gone silent ("offline")."""
        return "online" if self.host.is_online else "offline"

    @property
    def display_state(self) -> str:
        """What pages show: the state the engine last reported, or "unknown" while the host is
        offline (that state may no longer hold, and nothing can be asked of the container).
        The API keeps `state` in Docker's words and says `host_state` beside it."""
        return self.state if self.host.is_online else "unknown"

    @property
    def network_mode(self) -> str:
        """The network the container was given: the engine's word for it, else the
        request's."""
        host_config = (self.inspect_data or {}).get("HostConfig") or {}
        return host_config.get("NetworkMode") or self.options.get("network") or "bridge"

    def transition(self, new: str) -> None:
        """Move to `new` as the console's own table allows; raises InvalidTransition."""
        if not can_move(self.state, new):
            raise InvalidTransition(f"container {self.display_name}: {self.state} -> {new}")
        self.state = new

    def observe(self, engine_state: str) -> None:
        """Record a state the engine reported. It is the truth about the host, whatever the
        row said before (`moor pause` between two syncs makes an exited row paused): the
        engine's own table allowed the move."""
        if engine_state not in ENGINE_STATES:
            raise InvalidTransition(f"unknown engine state {engine_state!r}")
        self.state = engine_state
