"""Removing a host from the console (superusers), for a machine that is gone or retired.

The host must be offline (its agent stopped: a running one would report its host again) and
the request must confirm by giving the host's name. Then, in one transaction:

- what the console knew of the host is archived into the audit log, one `host.archive`
  entry per team that had anything there (and one without a team, for superusers): its
  containers (ID, name, image, state, limits, who made it, its environment variables: the
  audit log keeps their names, never their values), its images (ID, tags) and the commits
  made there (image, reference, message, author, the instructions changed) — each team's
  members read what their team lost;
- the host's credentials are revoked (`credentials.revoke_host_credentials`);
- `host.remove` is recorded, with the counts;
- the host row goes, and with it its containers, images, commits, jobs and grants (audit
  entries keep the host's name; terminal sessions their recordings).

The engine's state on the machine is not touched: nothing reaches it any more.
"""
from dataclasses import dataclass

from django.db import transaction

from console import audit
from console.containers.models import Container
from console.core.errors import Conflict, Invalid
from console.core.permissions import refuse
from console.hosts.credentials import revoke_host_credentials
from console.hosts.models import Host
from console.images.models import Commit, Image
from console.streams import publish


@dataclass
class Removed:
    host: str
    containers: int
    images: int
    commits: int
    credentials: int


def remove(user, host: Host, *, confirm: str = "", request=None) -> Removed:
    if not user.is_superuser:
        refuse("host.remove", user, request, target=host, host=host,
               message="Only a superuser may remove a host.")
    if confirm != host.name:
        raise Invalid(fields={"confirm": [
            f"Give the host's name ({host.name}) to confirm removing it."]})
    with transaction.atomic():
        host = Host.objects.select_for_update().get(pk=host.pk)
        if host.is_online:
            raise Conflict(f"Host {host.name} is online: stop its agent first (its worker "
                           "would register it again), then remove it.")
        containers = list(Container.objects.filter(host=host)
                          .select_related("team", "image", "created_by").defer("inspect_data"))
        images = list(Image.objects.filter(host=host).select_related("team"))
        commits = list(Commit.objects.filter(host=host).select_related("team", "author"))
        archive(user, host, containers, images, commits, request=request)
        revoked = revoke_host_credentials(host)
        removed = Removed(host.name, len(containers), len(images), len(commits), revoked)
        audit.record("host.remove", actor=user, request=request, target=host, host=host,
                     params={"containers": removed.containers, "images": removed.images,
                             "commits": removed.commits, "revoked": revoked})
        grantees = {c.pk: list(c.grants.values_list("user_id", flat=True)) for c in containers}
        for container in containers:
            container.host = host       # what the announcement says, once the row is gone
        host.delete()
        transaction.on_commit(lambda: announce(containers, grantees))
    return removed


def archive(user, host: Host, containers, images, commits, *, request=None) -> None:
    """One `host.archive` audit entry per team (and one for what had no team): what the rows
    of `host` said."""
    by_team = {}
    for kind, rows, describe in (("containers", containers, container_record),
                                 ("images", images, image_record),
                                 ("commits", commits, commit_record)):
        for row in rows:
            entry = by_team.setdefault(row.team_id, {"team": row.team, "containers": [],
                                                     "images": [], "commits": []})
            entry[kind].append(describe(row))
    for entry in by_team.values():
        audit.record("host.archive", actor=user, request=request, team=entry["team"],
                     target=host, host=host,
                     params={kind: entry[kind] for kind in ("containers", "images", "commits")})


def container_record(container: Container) -> dict:
    return {"id": container.engine_id, "name": container.name, "image": container.image_ref,
            "image_id": container.image.image_id if container.image_id else None,
            "state": container.state, "exit_code": container.exit_code,
            "cmd": container.command, "env": container.env,     # values redacted by the audit
            "options": container.options,
            "created_by": container.created_by.username if container.created_by_id else None,
            "created_at": container.created_at.isoformat()}


def image_record(image: Image) -> dict:
    return {"id": image.image_id, "tags": image.tags, "parent": image.parent_id,
            "size": image.size,
            "created": image.created.isoformat() if image.created else None}


def commit_record(commit: Commit) -> dict:
    return {"image_id": commit.new_image_id, "parent_image_id": commit.parent_image_id,
            "repository": commit.repository, "tag": commit.tag, "message": commit.message,
            "changes": commit.changes, "author": commit.author_name,
            "container": commit.container_name or commit.container_engine_id,
            "files_changed": len(commit.file_changes),
            "created_at": commit.created_at.isoformat()}


def announce(containers, grantees: dict) -> None:
    """Tell the pages showing them that the host's containers are gone."""
    for container in containers:
        publish.container_changed(container, removed=True,
                                  grantee_ids=grantees.get(container.pk, ()))
