"""Every Channels group name, built here and nowhere else.

Channels allows ASCII letters, digits, `-`, `_` and `.` in names under 100 characters.
"""
import hashlib

EVERYTHING = "moorage.all"          # superusers: every event


def team_group(team_id) -> str:
    """Events about a team's containers and jobs; `team.none` for rows without a team."""
    return f"moorage.team.{team_id if team_id is not None else 'none'}"


def user_group(user_id) -> str:
    """Events for one user: their grants' containers, their jobs, permission changes."""
    return f"moorage.user.{user_id}"


def session_group(session_key: str) -> str:
    """One login session, so logging out closes that session's sockets."""
    return "moorage.session." + hashlib.sha256(session_key.encode()).hexdigest()[:32]


def token_group(token_id) -> str:
    """The sockets opened with one API token, so revoking it closes them."""
    return f"moorage.token.{token_id}"


def agent_channel(host_name: str) -> str:
    """The channel the websocket of a host's agent (`/ws/agent/`) reads: terminals and log
    follows for the host's containers are sent here, and its key's revocation. A plain
    channel, not a group: nothing about it lives in Redis but the messages, so it works again
    at once when Redis comes back."""
    return f"moorage.agent.{host_name}"


def agent_sockets(host_name: str) -> str:
    """The group of the websockets of a host's agent, where a new one tells the older ones to
    close (one per host)."""
    return f"moorage.agent-sockets.{host_name}"
