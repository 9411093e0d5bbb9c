"""What `moor login` stored: `<root>/registry-auth.json`, readable by root only, shaped like
Docker's config.json: `{"auths": {"<registry>": {"auth": base64("user:password")}}}`, with
Docker Hub under `https://index.docker.io/v1/`."""

import base64
import os

from runtime import atomic
from runtime.errors import MoorError
from runtime.image.distribution.names import DOCKER_HUB
from runtime.locking import locked

DOCKER_HUB_KEY = "https://index.docker.io/v1/"


class Credentials:
    FILE = "registry-auth.json"

    def __init__(self, paths):
        self.paths = paths
        self.path = os.path.join(paths.root, self.FILE)

    @staticmethod
    def key(registry: str) -> str:
        return DOCKER_HUB_KEY if registry == DOCKER_HUB else registry

    def _read(self) -> dict:
        document = atomic.read_json(self.path, {})
        return document if isinstance(document, dict) else {}

    def get(self, registry: str) -> tuple[str, str] | None:
        entry = (self._read().get("auths") or {}).get(self.key(registry)) or {}
        encoded = entry.get("auth")
        if not isinstance(encoded, str):
            return None
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise MoorError(f"{self.path}: the credentials for {registry} are damaged "
                            f"(moor logout {registry}, then log in again)") from None
        return user, password

    def save(self, registry: str, user: str, password: str) -> None:
        self.paths.ensure()
        with locked(self.paths.lock("registry-auth")):
            document = self._read()
            encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
            document.setdefault("auths", {})[self.key(registry)] = {"auth": encoded}
            atomic.write_json(self.path, document, 0o600)

    def remove(self, registry: str) -> bool:
        """Forget the registry's credentials; False when there were none."""
        if not os.path.exists(self.path):
            return False
        with locked(self.paths.lock("registry-auth")):
            document = self._read()
            if (document.get("auths") or {}).pop(self.key(registry), None) is None:
                return False
            atomic.write_json(self.path, document, 0o600)
        return True
