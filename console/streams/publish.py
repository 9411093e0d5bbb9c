"""Publishing state changes to browsers, from sync code (views' on_commit, host workers).

Each event goes to the groups whose members may see the object: the owning team's group, the
users holding a grant on the container, the job's requester, and the superusers' group. A
consumer forwards what it receives; who joins which group is decided (and re-decided when
permissions change) in `console.streams.consumers`.
"""
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from console.streams import groups

log = logging.getLogger(__name__)


def send(group_names, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        for name in dict.fromkeys(group_names):
            async_to_sync(layer.group_send)(name, message)
    except Exception:  # a browser missing one update must never fail a job
        log.exception("could not publish %s", message.get("type"))


def container_payload(container) -> dict:
    return {
        "id": container.engine_id,
        "name": container.name,
        "host": container.host.name,
        "host_state": container.host_state,
        "image": container.image_ref,
        "team": container.team.name if container.team_id else None,
        "state": container.state,
        "exit_code": container.exit_code,
        "created_at": container.created_at.isoformat() if container.created_at else None,
        "started_at": container.started_at.isoformat() if container.started_at else None,
        "finished_at": container.finished_at.isoformat() if container.finished_at else None,
        # Which of two descriptions of the container is the newer (see static/js/live.js).
        "updated_at": container.updated_at.isoformat() if container.updated_at else None,
    }


def container_groups(container) -> list[str]:
    names = [groups.EVERYTHING, groups.team_group(container.team_id)]
    if container.pk:
        names += [groups.user_group(uid) for uid in
                  container.grants.values_list("user_id", flat=True)]
    return names


def container_changed(container, *, removed: bool = False, grantee_ids=()) -> None:
    payload = container_payload(container)
    payload["removed"] = removed
    names = container_groups(container) if not removed else (
        [groups.EVERYTHING, groups.team_group(container.team_id)]
        + [groups.user_group(uid) for uid in grantee_ids])
    send(names, {"type": "container.event", "team_id": container.team_id,
                 "container": payload})


def job_payload(job) -> dict:
    return {
        "id": job.pk,
        "kind": job.kind,
        "state": job.state,
        "error": job.error,
        "host": job.host.name,
        "container": job.target_id if job.target_id else None,
        "target_name": job.target_name,
        "requested_by": job.requested_by.username if job.requested_by_id else None,
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def job_groups(job) -> list[str]:
    names = [groups.EVERYTHING, groups.team_group(job.team_id)]
    if job.requested_by_id:
        names.append(groups.user_group(job.requested_by_id))
    if job.container_id:
        names += [groups.user_group(uid) for uid in
                  job.container.grants.values_list("user_id", flat=True)]
    return names


def job_changed(job) -> None:
    send(job_groups(job), {"type": "job.event", "team_id": job.team_id,
                           "job": job_payload(job)})


def job_output(job, *, offset: int | None, text: str) -> None:
    """What a running job printed since the last piece: `text` starts at character `offset`
    of the job's output (None: the output was cut in the middle; fetch the job again)."""
    send(job_groups(job), {"type": "job.output", "team_id": job.team_id,
                           "output": {"job": job.pk, "offset": offset, "text": text}})


def host_changed(host) -> None:
    send([groups.EVERYTHING] + [groups.team_group(tid) for tid in
                                host.grants.values_list("team_id", flat=True)],
         {"type": "host.event", "host": {"name": host.name, "online": host.is_online,
                                          "last_seen": host.last_seen.isoformat()
                                          if host.last_seen else None}})


def permissions_changed(user_id) -> None:
    """Tell a user's open sockets to recompute what they may see (membership, role, grant)."""
    send([groups.user_group(user_id)], {"type": "permissions.changed"})


def permissions_changed_on_commit(user_ids) -> None:
    """`permissions_changed` for each of `user_ids` once the current transaction commits (at
    once outside one): told earlier, a socket would re-check against the rows as they were."""
    user_ids = sorted(set(user_ids))
    transaction.on_commit(lambda: [permissions_changed(uid) for uid in user_ids])


def session_ended(session_key: str) -> None:
    send([groups.session_group(session_key)], {"type": "session.ended"})


def token_revoked(token_id) -> None:
    """Close the sockets opened with an API token that was just revoked."""
    send([groups.token_group(token_id)], {"type": "token.revoked"})


def host_key_revoked(host) -> None:
    """Close the websocket of the host's agent: its key was revoked."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.send)(groups.agent_channel(host.name), {"type": "agent.revoked"})
    except Exception:  # the socket also checks its key every little while
        log.exception("could not tell host %s's agent socket", host.name)
