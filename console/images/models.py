"""Images as each host's engine reports them, and the commits that made some of them."""
from django.conf import settings
from django.db import models
from django.db.models import Q

from console.core.permissions import RestrictedQuerySet, host_ids_granted_to, team_ids_allowing


class ImageQuerySet(RestrictedQuerySet):
    def permission_filter(self, user, action):
        owned = Q(team_id__in=team_ids_allowing(user, action))
        if action in ("view", "run", "create", "inspect"):
            # Images without a team are the host's base images (the bootstrapped busybox,
            # images made with `moor` on the host): every team granted the host may see and
            # run them; only superusers change them.
            base = "view" if action in ("view", "inspect") else "run"
            owned |= Q(team__isnull=True,
                       host_id__in=host_ids_granted_to(team_ids_allowing(user, base)))
        return owned


class Image(models.Model):
    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="images")
    image_id = models.CharField(max_length=71, help_text="sha256:<64 hex>")
    tags = models.JSONField(default=list, blank=True)
    parent_id = models.CharField(max_length=71, blank=True)
    size = models.BigIntegerField(default=0)
    created = models.DateTimeField(null=True, blank=True)
    team = models.ForeignKey("teams.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="images")
    missed_syncs = models.PositiveSmallIntegerField(
        default=0, help_text="consecutive syncs whose engine did not list the image")

    objects = ImageQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["host", "image_id"],
                                               name="one_image_row_per_host")]
        ordering = ["host__name", "-created"]

    def __str__(self):
        return self.reference

    @property
    def short_id(self) -> str:
        return self.image_id.removeprefix("sha256:")[:12]

    @property
    def reference(self) -> str:
        """The first tag, or the short ID for an untagged image."""
        return self.tags[0] if self.tags else self.short_id

    def matches(self, reference: str) -> bool:
        """Whether `reference` names this image: a tag (`latest` implied), ID or ID prefix."""
        ref = reference.strip()
        if not ref:
            return False
        bare = ref.removeprefix("sha256:")
        hex_id = self.image_id.removeprefix("sha256:")
        if (len(bare) >= 4 and all(c in "0123456789abcdef" for c in bare)
                and hex_id.startswith(bare)):
            return True
        name = ref if ":" in ref.rsplit("/", 1)[-1] else f"{ref}:latest"
        return name in self.tags


class CommitQuerySet(RestrictedQuerySet):
    def permission_filter(self, user, action):
        # The team's members by role; an author also sees the commits they made (through a
        # grant on another team's container, say).
        allowed = Q(team_id__in=team_ids_allowing(user, action))
        return allowed | Q(author=user) if action == "view" else allowed

    def resolve(self, reference: str):
        """Commits matching a number (the commit's own), an image ID or unique ID prefix (at
        least 4 hex digits, `sha256:` optional), or a `repository[:tag]` (the newest commit
        of that name): tried in that order."""
        ref = reference.strip()
        if ref.isdigit() and len(ref) <= 12:
            by_pk = self.filter(pk=int(ref))
            if by_pk.exists():
                return by_pk
        bare = ref.lower().removeprefix("sha256:")
        if len(bare) >= 4 and all(c in "0123456789abcdef" for c in bare):
            by_id = self.filter(new_image_id__startswith="sha256:" + bare)
            if by_id.exists():
                return by_id
        repository, _, tag = ref.partition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "")
        tags = [tag] if tag not in ("", "latest") else ["", "latest"]
        newest = (self.filter(repository=repository, tag__in=tags)
                  .order_by("-created_at", "-pk").values("pk")[:1])
        return self.filter(pk__in=newest) if repository else self.none()


class Commit(models.Model):
    """A container committed into an image: who, from what, into what, and the file changes."""

    image = models.ForeignKey(Image, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="commits")
    new_image_id = models.CharField(max_length=71, help_text="the image the commit made")
    parent_image_id = models.CharField(max_length=71, blank=True)
    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="commits")
    team = models.ForeignKey("teams.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="commits")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="commits")
    author_name = models.CharField(max_length=150)
    container_engine_id = models.CharField(max_length=64)
    container_name = models.CharField(max_length=200, blank=True)
    repository = models.CharField(max_length=255, blank=True)
    tag = models.CharField(max_length=128, blank=True)
    message = models.TextField(blank=True)
    changes = models.JSONField(default=list, blank=True)
    file_changes = models.JSONField(default=list, blank=True,
                                    help_text='[{"kind": "A|C|D", "path": ..., "size": ...}]')
    layer_size = models.BigIntegerField(default=0)
    job = models.OneToOneField("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="commit")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CommitQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["team", "-created_at"]),
                   models.Index(fields=["host", "new_image_id"])]

    def __str__(self):
        return f"{self.short_id} {self.reference or ''}".strip()

    @property
    def short_id(self) -> str:
        return self.new_image_id.removeprefix("sha256:")[:12]

    @property
    def reference(self) -> str:
        """`repository:tag` the commit was made as ('' for an untagged commit)."""
        return f"{self.repository}:{self.tag or 'latest'}" if self.repository else ""

    @property
    def subject(self) -> str:
        """The message's first line, as `git log --oneline` shows it."""
        return self.message.strip().split("\n", 1)[0]

    @property
    def body(self) -> str:
        """The message after its subject line."""
        return self.message.strip().partition("\n")[2].strip()


class BuildContext(models.Model):
    """The context archive sent with a build request, kept until the build's host has read
    it: the database is the one thing the web process and every host share. Never unpacked
    here; the host unpacks it with the engine's safe unpacker (`agent/image_tasks.py`)."""

    job = models.OneToOneField("jobs.Job", on_delete=models.CASCADE, related_name="build_context")
    archive = models.BinaryField()
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"context of job {self.job_id} ({self.size} bytes)"
