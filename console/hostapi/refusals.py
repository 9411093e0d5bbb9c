"""Every refusal on the host API is audited, with the host as actor (`host:<name>`; an unknown
key has none), the path it asked and why it was refused, then raised: superusers see what a
host tried that it may not."""
from types import SimpleNamespace

from console import audit
from console.core.errors import ConsoleError

NOBODY = SimpleNamespace(pk=None, username="")


def actor_of(host):
    from console.hosts.keys import HostActor

    return HostActor(host) if host is not None else NOBODY


def refuse(request, action: str, error: ConsoleError, *, host, params=None, **fields):
    """Audit `host`'s attempt at `action` as denied, then raise `error`."""
    record_refusal(request, action, error, host=host, params=params, **fields)
    raise error


def record_refusal(request, action: str, error: ConsoleError, *, host, params=None, **fields):
    django_request = getattr(request, "_request", request)
    audit.record(action, actor=actor_of(host), request=django_request, host=host,
                 result="denied", error=error.message,
                 params={"path": django_request.path[:300], **(params or {})}, **fields)
