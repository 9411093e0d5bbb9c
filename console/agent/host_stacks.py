"""Reconciling a host's stacks and volumes with its engine (part of every sync,
`reconcile.sync_host`).

Stacks: the host's Compose projects, found by their containers' labels
(`com.docker.compose.project`); a container's row is refreshed when its health changes (a
sync refreshes rows whose state changed, and health changes while a container runs). A
project the console does not know (made with `moor compose` or docker-compose, or through the
engine's Docker API) becomes a stack made outside:
it belongs to the team its containers' `moorage.team` label names (all of them, a team granted
the host), else to no team (superusers only) until a superuser gives it one. Each stack's list
of containers follows the engine; one made outside is forgotten once its containers have been
gone for SYNC_MISSES syncs (a stack made in the console stays, with its history, until it is
removed).

Volumes: each row follows the engine (labels, who uses it, its size, measured at most every
VOLUME_SIZE_SECONDS); a new one belongs to the team its `moorage.team` label names, else to its
stack's team, else (an anonymous volume) to the team of the container using it. Rows are
forgotten only after SYNC_MISSES syncs without them, and never while the host's engine root is
not the rows' own.
"""
import contextlib
import fcntl
import logging
import os
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from console.agent.specs import parse_time
from console.containers.models import Container
from console.stacks.models import Stack
from console.volumes.models import Volume
from runtime.compose import containers as compose_labels
from runtime.volume.names import ANONYMOUS_LABEL

log = logging.getLogger(__name__)
TEAM_LABEL = "moorage.team"


def refresh_health(host, engine, summaries: list[dict]) -> None:
    """The rows of project containers whose health changed since they were last read (a
    sync refreshes a row when its state changes; health changes while a container runs)."""
    health = {summary["Id"]: summary["Health"].get("Status") for summary in summaries
              if summary.get("Health")}
    if not health:
        return
    from console.agent.reconcile import refresh

    for row in Container.objects.filter(host=host, engine_id__in=list(health)).select_related(
            "host", "team"):
        known = ((row.inspect_data or {}).get("State") or {}).get("Health") or {}
        if known.get("Status") != health[row.engine_id]:
            refresh(row, engine)


def sync(host, engine, *, trusted: bool) -> dict:
    """Stacks and volumes of `host` in line with its engine. One sync of a host at a time
    does this, reading the engine under its lock: a slower one that read the engine earlier
    must not write what it read over a later one's (another sync running now is skipped: the
    next one follows within MOORAGE_SYNC_SECONDS)."""
    with only_sync(host) as alone:
        if not alone:
            return {}
        summaries = engine.containers(all=True)
        return {"stacks": sync_stacks(host, engine, summaries, trusted=trusted),
                "volumes": sync_volumes(host, engine, trusted=trusted)}


@contextlib.contextmanager
def only_sync(host):
    """Whether this process holds the host's sync lock (a file lock in the agent's own
    directory), for the block."""
    directory = os.path.join(settings.VAR_DIR, "stacks", host.name)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd = os.open(os.path.join(directory, ".sync.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def labelled_team(host, labels: dict):
    from console.agent.reconcile import labelled_team as team_of

    return team_of(host, {"Labels": labels})


# -- stacks ---------------------------------------------------------------------------------------

def sync_stacks(host, engine, summaries: list[dict], *, trusted: bool) -> int:
    projects: dict[str, list[dict]] = {}
    for summary in summaries:
        name = (summary.get("Labels") or {}).get(compose_labels.PROJECT)
        if name:
            projects.setdefault(name, []).append(summary)
    refresh_health(host, engine, [s for found in projects.values() for s in found])
    stacks = {stack.name: stack for stack in Stack.objects.filter(host=host)
              .select_related("team")}
    for name, found in projects.items():
        entries = [{"id": summary["Id"], "service": compose_labels.service_of(summary)}
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

def sync_volumes(host, engine, *, trusted: bool) -> int:
    listed = engine.volumes()
    users = engine.volume_users()
    rows = {row.name: row for row in Volume.objects.filter(host=host)}
    stacks = dict(Stack.objects.filter(host=host).values_list("name", "team_id"))
    stale = timezone.now() - timedelta(seconds=settings.VOLUME_SIZE_SECONDS)
    for volume in listed:
        name = volume["Name"]
        labels = volume.get("Labels") or {}
        fields = {"labels": labels, "project": str(labels.get(compose_labels.PROJECT) or "")[:63],
                  "anonymous": ANONYMOUS_LABEL in labels,
                  "used_by": sorted(users.get(name, [])), "missed_syncs": 0}
        row = rows.get(name)
        if row is None or row.measured_at is None or row.measured_at < stale:
            fields["size"] = engine.volume_size(name)
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
