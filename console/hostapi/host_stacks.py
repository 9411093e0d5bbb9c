"""Reconciling a host's stacks and volumes with what its engine reports (part of every sync,
`reconcile.sync_host`: the host's agent sends its containers' and volumes' listings through
the host API; nothing here asks the host anything).

Stacks: the host's Compose projects, found by their containers' labels
(`com.docker.compose.project`); a container whose health changed is asked for in full (a
sync asks for rows whose state changed, and health changes while a container runs). A
project the console does not know (made with `moor compose` or docker-compose, or through the
engine's Docker API) becomes a stack made outside:
it belongs to the team its containers' `moorage.team` label names (all of them, a team granted
the host), else to no team (superusers only) until a superuser gives it one. Each stack's list
of containers follows the engine; one made outside is forgotten once its containers have been
gone for SYNC_MISSES syncs (a stack made in the console stays, with its history, until it is
removed).

Volumes: each row follows the engine (labels, who uses it, its size: the agent measures a
volume at most every VOLUME_SIZE_SECONDS and sends `Size` then); a new one belongs to the team
its `moorage.team` label names, else to its stack's team, else (an anonymous volume) to the
team of the container using it. Rows are forgotten only after SYNC_MISSES syncs without them,
and never while the host's engine root is not the rows' own.
"""

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from console.containers.models import Container
from console.hostapi.specs import parse_time
from console.hosts.models import Host
from console.stacks.models import Stack
from console.volumes.models import Volume

log = logging.getLogger(__name__)
TEAM_LABEL = "moorage.team"
# Docker's own label names, as the engine sets them (runtime.compose.containers,
# runtime.volume.names).
COMPOSE_PROJECT_LABEL = "com.docker.compose.project"
COMPOSE_SERVICE_LABEL = "com.docker.compose.service"
ANONYMOUS_VOLUME_LABEL = "com.docker.volume.anonymous"


def health_changed(host, summaries: list[dict]) -> list[str]:
    """The IDs of project containers whose health changed since their rows were last read
    (the host sends their `inspect` next)."""
    health = {summary["Id"]: (summary.get("Health") or {}).get("Status") for summary in summaries
              if summary.get("Health")}
    if not health:
        return []
    changed = []
    for row in Container.objects.filter(host=host, engine_id__in=list(health)).only(
            "engine_id", "inspect_data"):
        known = ((row.inspect_data or {}).get("State") or {}).get("Health") or {}
        if known.get("Status") != health[row.engine_id]:
            changed.append(row.engine_id)
    return changed


def sync(host, summaries: list[dict], volumes: list[dict] | None, *, trusted: bool) -> dict:
    """Stacks and volumes of `host` in line with its listings (`volumes` None: the host sent
    none, its volumes are left as they are). One sync of a host at a time does this: the host's
    row is locked for it (PostgreSQL; SQLite writes one transaction at a time anyway), so a
    slower sync cannot write what it read over a later one's."""
    with transaction.atomic():
        Host.objects.select_for_update().filter(pk=host.pk).first()
        counts = {"stacks": sync_stacks(host, summaries, trusted=trusted)}
        if volumes is not None:
            counts["volumes"] = sync_volumes(host, volumes, trusted=trusted)
        return counts


def labelled_team(host, labels: dict):
    from console.hostapi.reconcile import labelled_team as team_of

    return team_of(host, {"Labels": labels})


def service_of(summary: dict) -> str:
    return str((summary.get("Labels") or {}).get(COMPOSE_SERVICE_LABEL) or "")


# -- stacks ---------------------------------------------------------------------------------------

def sync_stacks(host, summaries: list[dict], *, trusted: bool) -> int:
    projects: dict[str, list[dict]] = {}
    for summary in summaries:
        name = (summary.get("Labels") or {}).get(COMPOSE_PROJECT_LABEL)
        if name:
            projects.setdefault(str(name), []).append(summary)
    stacks = {stack.name: stack for stack in Stack.objects.filter(host=host)
              .select_related("team")}
    for name, found in projects.items():
        entries = [{"id": summary["Id"], "service": service_of(summary)}
                   for summary in sorted(found, key=lambda s: s.get("Created") or 0)]
        stack = stacks.get(name)
        if stack is None:
            made_outside(host, name, found, entries)
            continue
        if sorted(map(str, stack.containers)) != sorted(map(str, entries)) or stack.missed_syncs:
            Stack.objects.filter(pk=stack.pk).update(containers=entries, missed_syncs=0)
        if stack.team_id is not None:
            Container.objects.filter(host=host, engine_id__in=[e["id"] for e in entries],
                                     team__isnull=True).update(team=stack.team_id)
    if not trusted:
        return len(projects)
    for name, stack in stacks.items():
        if name in projects:
            continue
        if stack.containers:
            Stack.objects.filter(pk=stack.pk).update(containers=[])
        if stack.made_outside and not stack.versions.exists():
            if stack.missed_syncs + 1 >= settings.SYNC_MISSES:
                stack.delete()
            else:
                Stack.objects.filter(pk=stack.pk).update(missed_syncs=stack.missed_syncs + 1)
    return len(projects)


def made_outside(host, name: str, found: list[dict], entries: list[dict]) -> None:
    """A project the console does not know: a stack made outside, the team's when all its
    containers carry one team's label."""
    labels = {(summary.get("Labels") or {}).get(TEAM_LABEL) or "" for summary in found}
    team = labelled_team(host, {TEAM_LABEL: labels.pop()}) if len(labels) == 1 else None
    try:
        with transaction.atomic():
            Stack.objects.create(name=name[:63], host=host, team=team, made_outside=True,
                                 containers=entries)
    except IntegrityError:
        log.warning("project %s on %s: a stack of that name exists", name, host.name)


# -- volumes --------------------------------------------------------------------------------------

def sync_volumes(host, listed: list[dict], *, trusted: bool) -> int:
    """`listed`: the engine's volumes, each with `UsedBy` (the containers naming it) and, when
    the agent measured it, `Size`."""
    rows = {row.name: row for row in Volume.objects.filter(host=host)}
    stacks = dict(Stack.objects.filter(host=host).values_list("name", "team_id"))
    for volume in listed:
        name = volume["Name"]
        labels = volume.get("Labels") or {}
        fields = {"labels": labels, "project": str(labels.get(COMPOSE_PROJECT_LABEL) or "")[:63],
                  "anonymous": ANONYMOUS_VOLUME_LABEL in labels,
                  "used_by": sorted(map(str, volume.get("UsedBy") or [])), "missed_syncs": 0}
        row = rows.get(name)
        if isinstance(volume.get("Size"), int) and volume["Size"] >= 0:
            fields["size"] = volume["Size"]
            fields["measured_at"] = timezone.now()
        if row is None:
            team = (labelled_team(host, labels) or team_of_stack(host, stacks, fields["project"])
                    or team_of_user(host, fields["used_by"]))
            try:
                with transaction.atomic():
                    Volume.objects.create(host=host, name=name, team=team,
                                          created=parse_time(volume.get("CreatedAt")), **fields)
            except IntegrityError:
                pass        # made by a job meanwhile
        elif any(getattr(row, key) != value for key, value in fields.items()):
            Volume.objects.filter(pk=row.pk).update(**fields)
    if trusted:
        seen = {volume["Name"] for volume in listed}
        for name, row in rows.items():
            if name in seen:
                continue
            if row.missed_syncs + 1 >= settings.SYNC_MISSES:
                row.delete()
            else:
                Volume.objects.filter(pk=row.pk).update(missed_syncs=row.missed_syncs + 1)
    return len(listed)


def team_of_stack(host, stacks: dict, project: str):
    from console.teams.models import Team

    team_id = stacks.get(project) if project else None
    return Team.objects.filter(pk=team_id).first() if team_id else None


def team_of_user(host, engine_ids: list[str]):
    row = (Container.objects.filter(host=host, engine_id__in=engine_ids, team__isnull=False)
           .select_related("team").first()) if engine_ids else None
    return row.team if row is not None else None
