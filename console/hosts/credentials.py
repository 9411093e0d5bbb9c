"""A host's own credentials, as far as removing a host is concerned.

`revoke_host_credentials(host)` is called by `console.hosts.removal.remove` inside the
removal's transaction, before the host's rows go: whatever lets that host's agent speak to
the console as that host must stop working then. It answers how many credentials it revoked.

In this version a host's agent reaches the console with the console's own database and Redis
settings, not with a credential of its own, so there is nothing of the host's alone to
revoke (0): that is why a host is removed only once it is offline, its agent stopped
(`removal.remove` refuses an online one), since a running agent registers its host again.
"""


def revoke_host_credentials(host) -> int:
    return 0
