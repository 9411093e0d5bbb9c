"""The console's record of terminal sessions: the row, and the audit entries for the session's
opening and its end (who, which container, mode, the user inside, duration, how it ended).

A session ends when its process exits, when its user closes it, when the user logs out or
loses the permission, or when nobody resumed it within TERMINAL_RESUME_SECONDS of its socket
dropping (the host's bridge then ends it too). Whatever notices first writes the end, once.
"""
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from console import audit
from console.streams.models import TerminalSession

# A socket updates `seen_at` every few pings; one silent for longer than this is gone.
SEEN_SLACK = timedelta(seconds=60)


class ScopeRequest:
    """What the audit log reads from a request, taken from a websocket's scope."""

    def __init__(self, scope):
        headers = dict(scope.get("headers") or [])
        client = scope.get("client") or (None, None)
        self.user = scope.get("user")
        self.META = {"REMOTE_ADDR": client[0],
                     "HTTP_USER_AGENT": headers.get(b"user-agent", b"").decode("latin-1")}


def begin(session_id: str, *, user, container, mode: str, command, exec_user: str, cols: int,
          rows: int, request=None, reason: str = "") -> TerminalSession:
    with transaction.atomic():
        row = TerminalSession.objects.create(
            id=session_id, user=user, username=user.username, container=container,
            container_engine_id=container.engine_id, container_name=container.name,
            host=container.host, host_name=container.host.name, team=container.team,
            mode=mode, command=list(command or []), exec_user=exec_user or "", cols=cols,
            rows=rows)
        audit.record("container.terminal.open", actor=user, request=request,
                     team=container.team, target=container, host=container.host,
                     params={"session": session_id, "mode": mode, "user": exec_user or "",
                             "command": list(command or []),
                             **({"reason": reason} if reason else {})})
    return row


def refused(*, user, container, mode: str, exec_user: str, error: str, request=None) -> None:
    audit.record("container.terminal.open", actor=user, request=request, team=container.team,
                 target=container, host=container.host, result="failed", error=error,
                 params={"mode": mode, "user": exec_user or ""})


def save_position(session_id: str, recorded_until: int, *, detached: bool) -> None:
    """A socket serving the session is alive (`detached`: has just gone away)."""
    now = timezone.now()
    TerminalSession.objects.filter(pk=session_id).update(
        recorded_until=recorded_until, seen_at=now, detached_at=now if detached else None)


def finish(session_id: str, *, reason: str, exit_code=None, recorded_until=None,
           ended_at=None, request=None) -> bool:
    """Record the session's end (once: False when it was already recorded)."""
    ended_at = ended_at or timezone.now()
    with transaction.atomic():
        fields = {"ended_at": ended_at, "end_reason": reason[:40], "exit_code": exit_code}
        if recorded_until is not None:
            fields["recorded_until"] = recorded_until
        if not TerminalSession.objects.filter(pk=session_id, ended_at=None).update(**fields):
            return False
        row = TerminalSession.objects.select_related("container", "host", "team", "user").get(
            pk=session_id)
        target = {"target": row.container} if row.container_id else {
            "target_type": "container", "target_id": row.container_engine_id,
            "target_name": row.container_name}
        audit.record("container.terminal.close", actor=row.user, request=request,
                     team=row.team, host=row.host, **target,
                     params={"session": row.id, "mode": row.mode, "user": row.exec_user,
                             "command": row.command, "duration": row.duration,
                             "exit_code": exit_code, "reason": reason})
    return True


def finish_stale() -> int:
    """End the sessions whose socket dropped (or whose web process died) and that nobody
    resumed in time."""
    window = timedelta(seconds=settings.TERMINAL_RESUME_SECONDS)
    before = timezone.now() - window
    stale = TerminalSession.objects.filter(ended_at=None).filter(
        Q(detached_at__lt=before) | Q(detached_at=None, seen_at__lt=before - SEEN_SLACK))
    count = 0
    for session_id, detached_at, seen_at in stale.values_list("pk", "detached_at", "seen_at"):
        count += finish(session_id, reason="not resumed",
                        ended_at=(detached_at or seen_at) + window)
    return count
