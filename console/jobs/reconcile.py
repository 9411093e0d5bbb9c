"""Reconciling the database with a host's engine, which is the truth about that host.

`refresh` records what the engine says about one container; `sync_host` walks the whole host:
containers that exited on their own show as exited with their exit code, containers made with
`moor` on the host appear (without a team: superusers only, until one is assigned), containers
removed outside the console disappear, and images follow the same rules.
"""
import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from console.containers.models import Container
from console.containers.status import InvalidTransition, Status
from console.images.models import Image
from console.jobs import specs
from console.jobs.engine import engine_error_types
from console.jobs.models import Job
from console.streams import publish

log = logging.getLogger(__name__)
PENDING_GRACE_SECONDS = 60


def refresh(container: Container, engine) -> bool:
    """Update `container` from `engine.inspect`; False if the engine no longer has it."""
    try:
        data = engine.inspect(container.engine_id)
    except engine_error_types():
        return False
    apply_inspect(container, data)
    return True


def apply_inspect(container: Container, data: dict) -> None:
    fields = specs.state_from_inspect(data)
    before = (container.state, container.exit_code, container.name)
    container.observe(fields["state"])
    container.exit_code = fields["exit_code"]
    container.started_at = fields["started_at"] or container.started_at
    container.finished_at = fields["finished_at"]
    if fields["name"]:
        container.name = fields["name"]
    container.inspect_data = data
    container.save(update_fields=["state", "exit_code", "started_at", "finished_at", "name",
                                  "inspect_data", "updated_at"])
    if before != (container.state, container.exit_code, container.name):
        publish.container_changed(container)


def upsert_image(host, data: dict, team=None) -> Image:
    """Create or update the row of one image from `image_inspect` or an `images()` summary."""
    image_id = data.get("Id") or data.get("ID")
    tags = data.get("RepoTags") or []
    tags = [tag for tag in tags if tag and tag != "<none>:<none>"]
    parent = data.get("Parent") or data.get("ParentId") or ""
    size = data.get("Size") or 0
    created = specs.parse_time(data.get("Created"))
    image, made = Image.objects.get_or_create(
        host=host, image_id=image_id,
        defaults={"tags": tags, "parent_id": parent, "size": size, "created": created,
                  "team": team})
    if not made:
        changed = {"tags": tags, "parent_id": parent, "size": size, "created": created}
        if team is not None and image.team_id is None:
            changed["team"] = team
        if any(getattr(image, key) != value for key, value in changed.items()):
            for key, value in changed.items():
                setattr(image, key, value)
            image.save()
    return image


def sync_host(host, engine) -> dict:
    """Bring every container and image row of `host` in line with its engine."""
    summaries = engine.containers(all=True)
    seen, added, updated, removed = set(), 0, 0, 0
    busy = set(Job.objects.filter(host=host, state__in=[Job.State.QUEUED, Job.State.RUNNING])
               .exclude(container=None).values_list("container_id", flat=True))
    for summary in summaries:
        engine_id = summary["Id"]
        seen.add(engine_id)
        row = Container.objects.filter(engine_id=engine_id).select_related("host", "team").first()
        try:
            if row is None:
                added += adopt(host, engine, summary)
            elif row.pk not in busy and (row.state != summary.get("State")
                                         or (summary.get("State") in ("exited", "dead")
                                             and row.exit_code != summary.get("ExitCode"))):
                if refresh(row, engine):
                    updated += 1
        except InvalidTransition as error:   # one odd container must not stop the sync
            log.warning("sync of %s: %s", host.name, error)
    # Pending rows are requests the engine has not acted on yet; one whose job is over (failed,
    # reaped) for a while and that the engine does not have will never become a container.
    settled = timezone.now() - timedelta(seconds=PENDING_GRACE_SECONDS)
    gone = (Container.objects.filter(host=host).exclude(engine_id__in=seen)
            .exclude(state=Status.PENDING, created_at__gte=settled)
            .exclude(pk__in=busy).select_related("host", "team"))
    for row in gone:
        grantees = list(row.grants.values_list("user_id", flat=True))
        row.delete()
        publish.container_changed(row, removed=True, grantee_ids=grantees)
        removed += 1
    images = sync_images(host, engine)
    return {"containers": len(seen), "added": added, "updated": updated, "removed": removed,
            "images": images}


def adopt(host, engine, summary: dict) -> int:
    """A container made outside the console (with `moor` on the host) gets a row."""
    try:
        data = engine.inspect(summary["Id"])
    except engine_error_types():
        return 0  # gone again already
    config = data.get("Config") or {}
    names = summary.get("Names") or []
    image = None
    image_ref = config.get("Image") or summary.get("Image") or ""
    image_id = data.get("Image") or summary.get("ImageID") or ""
    if image_id:
        image = Image.objects.filter(host=host, image_id=image_id).first()
    container = Container(
        engine_id=summary["Id"], host=host, image=image, image_ref=image_ref,
        name=(names[0] if names else data.get("Name", "")).lstrip("/"),
        command=(config.get("Entrypoint") or []) + (config.get("Cmd") or []),
        state=Status.CREATED)
    try:
        with transaction.atomic():
            container.save()
    except IntegrityError:
        log.warning("container %s on %s: name %r taken, not adopted", summary["Id"][:12],
                    host.name, container.name)
        return 0
    created = specs.parse_time(data.get("Created") or summary.get("Created"))
    if created:
        Container.objects.filter(pk=container.pk).update(created_at=created)
        container.created_at = created
    apply_inspect(container, data)
    publish.container_changed(container)
    return 1


def sync_images(host, engine) -> int:
    summaries = engine.images()
    seen = set()
    for summary in summaries:
        image = upsert_image(host, summary)
        seen.add(image.image_id)
    Image.objects.filter(host=host).exclude(image_id__in=seen).delete()
    return len(seen)


def mark_seen(host, *, worker: str, facts: dict) -> None:
    """A heartbeat: the host is online, served by `worker`."""
    was_online = host.is_online
    host.state = host.State.ONLINE
    host.last_seen = timezone.now()
    host.worker = worker
    for key, value in facts.items():
        setattr(host, key, value)
    host.save()
    if not was_online:
        publish.host_changed(host)
