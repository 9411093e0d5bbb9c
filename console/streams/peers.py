"""Peers: how a host's agent names the web-side socket it answers, without being able to name
any other.

A message the web side sends to a host's agent carries `reply_to`, the channel of the socket
(or HTTP response) that asked. The agent's websocket consumer hands the agent not the channel
but a peer: the channel with an HMAC (the console's secret key) binding it to that host. The
agent answers a peer; the consumer delivers only to a peer made for its host. So a host can
answer the sockets that asked it, and no other: no other host's sessions, no user's socket it
does not serve. A peer stays valid across reconnections of the agent and restarts of the web
processes (it is checked, not remembered), so sessions resume.
"""
import hashlib
import hmac

from django.conf import settings

SEPARATOR = "|"


def signature(host_name: str, channel: str) -> str:
    message = f"moorage-peer\x00{host_name}\x00{channel}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:40]


def peer(host_name: str, channel: str) -> str:
    """The peer of web-side `channel`, for host `host_name`."""
    return f"{channel}{SEPARATOR}{signature(host_name, channel)}"


def channel_of(host_name: str, value) -> str | None:
    """The channel `value` names, if it is a peer made for host `host_name`; else None."""
    if not isinstance(value, str) or SEPARATOR not in value or len(value) > 300:
        return None
    channel, _, mac = value.rpartition(SEPARATOR)
    return channel if hmac.compare_digest(mac, signature(host_name, channel)) else None
