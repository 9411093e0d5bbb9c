"""Slowing password guessing without handing anyone a way to lock others out.

As django-axes does by default, failures are counted per username *and* source address: after
`LOGIN_FAILURE_LIMIT` failures of one username from one address within the window, that pair
is refused until the window has passed. The same username from any other address, and other
usernames from that address, are not affected, so nobody can lock `admin` out, nor everyone
behind a shared NAT address; the right password from an address that has not failed is never
refused. Spraying many usernames from one address is caught by a second, much higher count:
`LOGIN_ADDRESS_FAILURE_LIMIT` failures from one address, whatever the usernames, block that
address. A successful login clears its own pair (not the address's count: logging into one's
own account must not reset a spray).

An IPv6 address counts as its /64 network, which one machine commonly has to itself. Counts
live in Django's cache (the web process's memory by default).
"""
import hashlib
import ipaddress
import math
import time

from django.conf import settings
from django.core.cache import cache


def address_of(request) -> str:
    """The source address a failure is counted against: an IPv4 address, or an IPv6 /64."""
    text = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return text
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _key(kind: str, *parts: str) -> str:
    return f"moorage.login.{kind}." + hashlib.sha256("\0".join(parts).encode()).hexdigest()


class LoginLimiter:
    """The counts of one login attempt: `blocked()` before checking the password, then
    `failed()` or `succeeded()`."""

    def __init__(self, username: str, request):
        address = address_of(request)
        self.pair = _key("pair", username.strip().lower(), address)
        self.address = _key("address", address)

    def _limits(self):
        return ((self.pair, settings.LOGIN_FAILURE_LIMIT),
                (self.address, settings.LOGIN_ADDRESS_FAILURE_LIMIT))

    def blocked(self) -> bool:
        return self.retry_after() > 0

    def retry_after(self) -> int:
        """Seconds until this username may try again from this address (0: it may now)."""
        now, window = time.time(), settings.LOGIN_FAILURE_WINDOW_SECONDS
        waits = [(cache.get(key + ".ends") or now + window) - now
                 for key, limit in self._limits() if (cache.get(key) or 0) >= limit]
        return max([math.ceil(wait) for wait in waits if wait > 0], default=0)

    def failed(self) -> None:
        window = settings.LOGIN_FAILURE_WINDOW_SECONDS
        for key, _ in self._limits():
            if cache.add(key, 0, timeout=window):
                cache.set(key + ".ends", time.time() + window, timeout=window)
            try:
                cache.incr(key)
            except ValueError:      # the window ended in between
                cache.set(key, 1, timeout=window)
                cache.set(key + ".ends", time.time() + window, timeout=window)

    def succeeded(self) -> None:
        cache.delete_many([self.pair, self.pair + ".ends"])
