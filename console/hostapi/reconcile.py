"""The database brought in line with what a host's engine reports: the engine is the truth
about its host, and the host reports it through the host API (`views.sync`, a job's report).

`apply_inspect` records what `inspect` says of one container; `sync_host` takes a host's
whole listing: containers that exited on their own show as exited with their exit code,
containers made with `moor` on the host appear (with the team their `moorage.team` label
names, if that team is granted the host, else without one: superusers only, until one is
assigned), containers removed outside the console disappear, and images follow the same
rules. A listing names containers by summary; those whose rows are new or changed are asked
for in full (`inspect`), which the host sends next (`apply_details`).

A host reports only about itself: a container ID that is another host's row is refused and
audited, never moved.

Forgetting is careful, since rows carry what the engine does not know (teams, grants, commit
history): a row goes only after the engine has not listed it in SYNC_MISSES consecutive
syncs, and never while the host's engine root is not the one its rows were made from (a
worker started on the wrong or an empty `MOORAGE_ROOT` lists nothing: that must not wipe a
host). A superuser who moved a host's root on purpose accepts the new one
(`POST /api/hosts/{id}/accept-root/`).
"""
import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from console.containers.models import Container
from console.containers.status import InvalidTransition, Status
from console.hostapi import host_stacks, specs
from console.hosts.models import Host
from console.images.models import Image
from console.jobs.models import Job
from console.streams import publish
from console.teams.models import Team

log = logging.getLogger(__name__)
PENDING_GRACE_SECONDS = 60
TEAM_LABEL = "moorage.team"


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


def refresh(container: Container, data: dict | None) -> bool:
    """Record the engine's `inspect` of `container` (None: the engine no longer has it, and
    the row stays as it is); whether there was one."""
    if data is None:
        return False
    apply_inspect(container, data)
    return True


def remove_row(container: Container) -> None:
    grantees = list(container.grants.values_list("user_id", flat=True))
    Container.objects.filter(pk=container.pk).delete()
    publish.container_changed(container, removed=True, grantee_ids=grantees)


def upsert_image(host, data: dict, team=None) -> Image:
    """Create or update the row of one image from `image_inspect` or an `images()` summary.
    A new row belongs to `team`, else to the team its `moorage.team` label names."""
    image_id = data.get("Id") or data.get("ID")
    tags = data.get("RepoTags") or []
    tags = [tag for tag in tags if tag and tag != "<none>:<none>"]
    parent = data.get("Parent") or data.get("ParentId") or ""
    size = data.get("Size") or 0
    created = specs.parse_time(data.get("Created"))
    image, made = Image.objects.get_or_create(
        host=host, image_id=image_id,
        defaults={"tags": tags, "parent_id": parent, "size": size, "created": created,
                  "team": team if team is not None else labelled_team(host, data)})
    if not made:
        changed = {"tags": tags, "parent_id": parent, "size": size, "created": created,
                   "missed_syncs": 0}
        if team is not None and image.team_id is None:
            changed["team"] = team
        if any(getattr(image, key) != value for key, value in changed.items()):
            for key, value in changed.items():
                setattr(image, key, value)
            # Only what the host reports: a row read before a change made meanwhile in the
            # console (the image given to a team) must not write the old values back.
            image.save(update_fields=list(changed))
    return image


def labelled_team(host, data: dict) -> Team | None:
    """The team a `moorage.team` label names (the console labels what it runs and builds), if
    that team is granted the host; None otherwise. Anything on a host may carry any label (an
    image pulled from elsewhere, a container made with `moor` on it): only a team that may use
    the host is believed."""
    labels = data.get("Labels") or (data.get("Config") or {}).get("Labels") or {}
    value = str(labels.get(TEAM_LABEL) or "")
    if not value:
        return None
    teams = Team.objects.filter(host_grants__host=host)
    team = teams.filter(name=value).first()
    if team is None and value.startswith("team-") and value[5:].isdigit():
        team = teams.filter(pk=int(value[5:])).first()      # a name a label cannot hold
    return team


def root_unchanged(host, root: str) -> bool:
    """Whether `root` is the engine root this host's rows were made from. The first sync of a
    host records it; a different one later is reported, and nothing is forgotten until a
    superuser accepts it."""
    if not host.synced_root:
        Host.objects.filter(pk=host.pk).update(synced_root=root)
        host.synced_root = root
    if host.synced_root == root:
        return True
    log.warning("host %s: the engine root is %s, its rows were made from %s: no row is "
                "removed until a superuser accepts the new root", host.name, root,
                host.synced_root)
    return False


def others_rows(host, engine_ids) -> list[str]:
    """Which of `engine_ids` are containers of another host."""
    return list(Container.objects.filter(engine_id__in=list(engine_ids)).exclude(host=host)
                .values_list("engine_id", flat=True))


def busy_ids(host) -> set:
    """Rows whose job is queued or running: the job records their state, not a sync."""
    return set(Job.objects.filter(host=host, state__in=[Job.State.QUEUED, Job.State.RUNNING])
               .exclude(container=None).values_list("container_id", flat=True))


def sync_host(host, root: str, summaries: list[dict], images: list[dict],
              volumes: list[dict] | None = None) -> dict:
    """Bring `host`'s rows in line with its engine's listing (`containers(all=True)`,
    `images()` and `volumes()`, from the engine root `root`), stacks and volumes too
    (`host_stacks`). Answers the counts and, under `inspect`, the IDs of the containers whose
    rows are new or changed (their state, or a project container's health): the host sends
    their `inspect` next (`apply_details`). IDs that are other hosts' rows are left out
    (`foreign`)."""
    trusted = root_unchanged(host, root)
    listed = {summary["Id"]: summary for summary in summaries}
    foreign = set(others_rows(host, listed))
    rows = {row.engine_id: row for row in Container.objects.filter(host=host)
            .select_related("host", "team").defer("inspect_data")}
    busy = busy_ids(host)
    wanted = []
    for engine_id, summary in listed.items():
        row = rows.get(engine_id)
        if engine_id in foreign:
            continue
        if row is None:
            wanted.append(engine_id)
        elif row.pk not in busy and (row.state != summary.get("State")
                                     or (summary.get("State") in ("exited", "dead")
                                         and row.exit_code != summary.get("ExitCode"))):
            wanted.append(engine_id)
    back = [row.pk for engine_id, row in rows.items() if engine_id in listed and row.missed_syncs]
    if back:
        Container.objects.filter(pk__in=back).update(missed_syncs=0)
    # Pending rows are requests the engine has not acted on yet; one whose job is over (failed,
    # reaped) for a while and that the engine does not have will never become a container.
    settled = timezone.now() - timedelta(seconds=PENDING_GRACE_SECONDS)
    missing = [row for engine_id, row in rows.items()
               if engine_id not in listed and row.pk not in busy
               and not (row.state == Status.PENDING and row.created_at >= settled)]
    removed = 0
    for row in missed(Container, missing) if trusted else ():
        remove_row(row)
        removed += 1
    image_count = sync_images(host, images, trusted=trusted)
    own = [summary for engine_id, summary in listed.items() if engine_id not in foreign]
    wanted += [engine_id for engine_id in host_stacks.health_changed(host, own)
               if engine_id not in wanted and rows.get(engine_id) is not None
               and rows[engine_id].pk not in busy]
    return {"containers": len(listed) - len(foreign), "removed": removed,
            "images": image_count, "inspect": wanted, "foreign": sorted(foreign),
            **host_stacks.sync(host, own, volumes, trusted=trusted)}


def apply_details(host, details: list[dict]) -> dict:
    """The `inspect` of containers a sync asked for: rows made for new ones (adopted), rows
    updated for changed ones. Those of other hosts' rows are left out (`foreign`)."""
    by_id = {data["Id"]: data for data in details}
    foreign = set(others_rows(host, by_id))
    rows = {row.engine_id: row for row in Container.objects.filter(
        host=host, engine_id__in=list(by_id)).select_related("host", "team")}
    busy = busy_ids(host)
    added = updated = 0
    for engine_id, data in by_id.items():
        if engine_id in foreign:
            continue
        row = rows.get(engine_id)
        try:
            if row is None:
                added += adopt(host, data)
            elif row.pk not in busy:
                apply_inspect(row, data)
                updated += 1
        except InvalidTransition as error:   # one odd container must not stop the sync
            log.warning("sync of %s: %s", host.name, error)
    return {"added": added, "updated": updated, "foreign": sorted(foreign)}


def missed(model, rows: list) -> list:
    """Count one more sync that did not list `rows`; those missed SYNC_MISSES times in a row
    are returned, to be forgotten."""
    if not rows:
        return []
    model.objects.filter(pk__in=[row.pk for row in rows]).update(
        missed_syncs=F("missed_syncs") + 1)
    return [row for row in rows if row.missed_syncs + 1 >= settings.SYNC_MISSES]


def adopt(host, data: dict) -> int:
    """A container made outside the console (with `moor` on the host), or whose row was lost,
    gets a row; the team its `moorage.team` label names (the console labels every container
    it runs) owns it, if that team is granted the host."""
    config = data.get("Config") or {}
    image = None
    image_id = data.get("Image") or ""
    if image_id:
        image = Image.objects.filter(host=host, image_id=image_id).first()
    container = Container(
        engine_id=data["Id"], host=host, team=labelled_team(host, data), image=image,
        image_ref=config.get("Image") or "", name=(data.get("Name") or "").lstrip("/"),
        command=(config.get("Entrypoint") or []) + (config.get("Cmd") or []),
        state=Status.CREATED)
    try:
        with transaction.atomic():
            container.save()
    except IntegrityError:
        log.warning("container %s on %s: its ID or name %r is taken by another row, not "
                    "adopted", data["Id"][:12], host.name, container.name)
        return 0
    created = specs.parse_time(data.get("Created"))
    if created:
        Container.objects.filter(pk=container.pk).update(created_at=created)
        container.created_at = created
    apply_inspect(container, data)
    publish.container_changed(container)
    return 1


def sync_images(host, summaries: list[dict], *, trusted: bool) -> int:
    """Bring the image rows of `host` in line with its engine's `images()` (`trusted`: whether
    the engine root is the rows' own, `root_unchanged`)."""
    seen = set()
    for summary in summaries:
        image = upsert_image(host, summary)
        seen.add(image.image_id)
    missing = list(Image.objects.filter(host=host).exclude(image_id__in=seen)
                   .only("pk", "missed_syncs"))
    if trusted:
        gone = missed(Image, missing)
        Image.objects.filter(pk__in=[image.pk for image in gone]).delete()
    return len(seen)


def mark_seen(host, *, worker: str, facts: dict) -> None:
    """A heartbeat: the host is online, served by `worker`, with `facts` (Host fields).

    Only those fields are written: `host` was loaded when the agent's key was checked, and
    what changed since (a superuser's cordon, the engine root a sync recorded) stands."""
    was_online = host.is_online
    host.state = host.State.ONLINE
    host.last_seen = timezone.now()
    host.worker = worker
    for key, value in facts.items():
        setattr(host, key, value)
    host.save(update_fields=["state", "last_seen", "worker", *facts])
    if not was_online:
        publish.host_changed(host)
