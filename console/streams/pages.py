"""What the container page needs to show its terminal and its live logs."""
from console.streams import access
from console.streams.models import TerminalSession

RECENT_SESSIONS = 10


def container_streams(request, container) -> dict:
    user = request.user
    may_terminal = access.may(user, container, "terminal")
    host_held = access.host_held(user, container, "terminal") if may_terminal else []
    may_terminal = may_terminal and not host_held
    sessions = []
    if may_terminal or user.is_superuser:
        sessions = list(TerminalSession.objects.restrict(user, "view")
                        .filter(container_engine_id=container.engine_id)[:RECENT_SESSIONS])
    return {"streams": {
        "terminal": may_terminal,
        "terminal_refused": ", ".join(host_held),
        "logs": access.may(user, container, "logs"),
        "pinned_user": container.team.terminal_user if container.team_id else "",
        "tty": bool((container.inspect_data.get("Config") or {}).get("Tty")
                    or container.options.get("tty")),
        "sessions": sessions,
        "reason_for_root": bool(container.team_id) and "terminal-root" in (
            container.team.reasons_required_for or []),
    }}
