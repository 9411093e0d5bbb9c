"""A host's own credentials, as far as removing a host is concerned.

`revoke_host_credentials(host)` is called by `console.hosts.removal.remove` inside the
removal's transaction, before the host's rows go: whatever lets that host's agent speak to
the console as that host stops working then. A host's agent holds one credential, its key
(`console.hosts.keys`: the host API, its websocket and its Redis user all take it); the key is
forgotten and the host's Redis user deleted, and the agent, refused from then on, stops. It
answers how many credentials it revoked (0 for a host whose key was revoked already, or that
left).
"""
from console.hosts import keys
from console.hosts.models import HostKey


def revoke_host_credentials(host) -> int:
    count = HostKey.objects.filter(host=host).count()
    if count:
        keys.forget_key(host)
    return count
