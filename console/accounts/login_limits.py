"""Refusing password guessing: after `LOGIN_FAILURE_LIMIT` failures for one username or one
address within the window, further attempts are refused until the window has passed."""
import hashlib

from django.conf import settings
from django.core.cache import cache


class LoginLimiter:
    def __init__(self, username: str, request):
        address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
        self.keys = ["moorage.login.user." + hashlib.sha256(username.lower().encode()).hexdigest(),
                     "moorage.login.addr." + hashlib.sha256(address.encode()).hexdigest()]

    def blocked(self) -> bool:
        return any((cache.get(key) or 0) >= settings.LOGIN_FAILURE_LIMIT for key in self.keys)

    def failed(self) -> None:
        for key in self.keys:
            cache.add(key, 0, timeout=settings.LOGIN_FAILURE_WINDOW_SECONDS)
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW_SECONDS)

    def succeeded(self) -> None:
        cache.delete(self.keys[0])
