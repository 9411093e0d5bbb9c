"""What a host's agent knows: its key file and its environment. Nothing of the console's
settings, database or secret key.

The key file (`var/host.key`, mode 0600; `MOORAGE_HOST_KEY` names another) is written when the
host joins (`./moorage join`, or `./moorage up` for the machine the console runs on), as JSON:

    {"host": "node2",                       the host's name (its queue is host.<name>)
     "console": "https://console:8000",     where the host API and /ws/agent/ are
     "key": "mhk_...",                      the host's key: its one secret
     "redis": "rediss://console:6390/0",    where its notices are (its Redis user is
                                            host-<name>, its password the key)
     "ca": "/path/var/ca.pem" | null}       the CA that signed the console's and Redis's
                                            certificates (null: the system's)

The environment gives the engine root (`MOORAGE_ROOT`) and how many jobs run at once
(`MOORAGE_WORKER_CONCURRENCY`).
"""
import functools
import json
import os
import ssl
from dataclasses import asdict, dataclass
from urllib.parse import quote, urlsplit, urlunsplit

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class AgentError(Exception):
    """The agent cannot run as configured; the message says what to do."""


@dataclass(frozen=True)
class HostConfig:
    host: str
    console: str
    key: str
    redis: str
    ca: str | None = None

    @property
    def queue(self) -> str:
        return f"host.{self.host}"

    def redis_url(self) -> str:
        """The Redis URL of the host's own user."""
        parts = urlsplit(self.redis)
        netloc = f"{quote(f'host-{self.host}', safe='')}:{quote(self.key, safe='')}@" \
                 f"{parts.netloc.rsplit('@', 1)[-1]}"
        return urlunsplit((parts.scheme, netloc, parts.path or "/0", parts.query, ""))

    def ssl_context(self) -> ssl.SSLContext:
        """For https:// and rediss://: the host's CA file, else the system's."""
        return ssl.create_default_context(cafile=self.ca) if self.ca else \
            ssl.create_default_context()

    def redis_ssl_options(self) -> dict | None:
        """Celery's `broker_use_ssl` for rediss:// (certificates checked), else None."""
        if not self.redis.startswith("rediss://"):
            return None
        options = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
        if self.ca:
            options["ssl_ca_certs"] = self.ca
        return options

    def websocket_url(self) -> str:
        parts = urlsplit(self.console)
        scheme = "wss" if parts.scheme == "https" else "ws"
        return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/ws/agent/", "", ""))


def var_dir() -> str:
    return os.environ.get("MOORAGE_VAR") or os.path.join(REPO, "var")


def key_path() -> str:
    return os.environ.get("MOORAGE_HOST_KEY") or os.path.join(var_dir(), "host.key")


def engine_root() -> str | None:
    return os.environ.get("MOORAGE_ROOT") or None


def worker_concurrency() -> int:
    return int(os.environ.get("MOORAGE_WORKER_CONCURRENCY", 2))


@functools.lru_cache(maxsize=1)
def current() -> HostConfig:
    """The host's configuration, read once from its key file."""
    return load(key_path())


def load(path: str) -> HostConfig:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise AgentError(f"no host key at {path}: this machine has not joined a console "
                         "(./moorage join URL TOKEN)") from None
    except (OSError, ValueError) as error:
        raise AgentError(f"cannot read the host key {path}: {error}") from None
    try:
        config = HostConfig(**{name: data.get(name) for name in
                               ("host", "console", "key", "redis", "ca")})
    except TypeError as error:
        raise AgentError(f"{path} is not a host key file: {error}") from None
    if not all(isinstance(value, str) and value for value in
               (config.host, config.console, config.key, config.redis)):
        raise AgentError(f"{path} is not a host key file: it needs host, console, key and "
                         "redis")
    return config


def save(path: str, config: HostConfig) -> None:
    """Write the key file (mode 0600 from the start, replacing any other at once)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    temporary = f"{path}.new"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(asdict(config), handle, indent=1)
        handle.write("\n")
    os.replace(temporary, path)
