"""Fixtures for the engine service's tests: a private engine root with busybox, the real
service (`moor system service`) on a temporary socket, and the real clients: Debian's docker
CLI (20.10, API 1.41), docker-py, docker-compose 1.29, Testcontainers.

The service is a subprocess of its own session, ended by its PID. Every container a test makes
is removed after it, and a test fails if its containers left host resources behind.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile

import pytest

from runtime.api import Engine
from runtime.container import removal, state as records

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCKER = "/usr/bin/docker"            # Debian's docker.io: the 20.10 client, API 1.41
COMPOSE = "/usr/bin/docker-compose"   # Debian's docker-compose 1.29


class RunningService:
    """A `moor system service` process on `socket_path` for the engine root `root`."""

    def __init__(self, root: str, socket_path: str, log_path: str, group: str | None = None):
        self.root = root
        self.group = group
        self.socket_path = socket_path
        self.log_path = log_path
        self.process = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self) -> "RunningService":
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [os.path.join(REPOSITORY, "bin", "moor"), "--root", self.root, "system",
             "service", "--socket", self.socket_path,
             *(["--group", self.group] if self.group else [])],
            cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
            start_new_session=True)
        log.close()
        # The service says so on stdout once its socket listens.
        line = self.process.stdout.readline()
        if not line.startswith(b"listening on"):
            self.stop()
            raise RuntimeError(f"the service did not start: {self.log_tail()}")
        return self

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.kill(self.process.pid, sig)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process.stdout.close()

    def log_tail(self, size: int = 4000) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-size:].decode("utf-8", "replace")
        except OSError:
            return ""


def need_clients():
    missing = [path for path in (DOCKER, COMPOSE) if not os.path.exists(path)]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: ./moorage install installs docker.io and "
                    "docker-compose (clients only)")


@pytest.fixture(scope="session")
def service_root():
    if os.geteuid() != 0:
        pytest.skip("the engine service's tests need root")
    root = tempfile.mkdtemp(prefix="moorage-service-test-")
    engine = Engine(root)
    engine.bootstrap_busybox()
    yield root
    engine.reset()


@pytest.fixture(scope="session")
def service(service_root):
    need_clients()
    directory = tempfile.mkdtemp(prefix="moorage-socket-")
    os.chmod(directory, 0o755)     # the socket's own mode is what keeps others out
    running = RunningService(service_root, os.path.join(directory, "docker.sock"),
                             os.path.join(directory, "service.log")).start()
    yield running
    running.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def engine(service, service_root):
    """The service's engine; what a test made is removed after it, checked for leftovers."""
    from tests.runtime.conftest import leftovers
    engine = Engine(service_root)
    from runtime.network import list_networks, remove_network
    before = {c.id for c in records.all_containers(engine)}
    networks_before = {network["Id"] for network in list_networks(engine.paths)}
    volumes_before = {volume["Name"] for volume in engine.volumes()}
    yield engine
    for container in records.all_containers(engine):
        if container.id not in before:
            with contextlib.suppress(Exception):
                removal.remove(engine, container, force=True)
    for network in list_networks(engine.paths):
        if network["Id"] not in networks_before:
            with contextlib.suppress(Exception):
                remove_network(engine.paths, network["Id"])
    for volume in engine.volumes():
        if volume["Name"] not in volumes_before:
            with contextlib.suppress(Exception):
                engine.volume_remove(volume["Name"])
    remaining = leftovers(engine)
    assert not remaining, f"left behind: {remaining}"


@pytest.fixture
def docker(service, engine):
    """Run Debian's docker CLI against the service: docker("ps", "-a")."""
    environment = {**os.environ, "DOCKER_HOST": service.url,
                   "DOCKER_CONFIG": _docker_config()}

    def run(*args, input=None, timeout=60, check=True):
        result = subprocess.run([DOCKER, *args], input=input, capture_output=True,
                                timeout=timeout, env=environment,
                                text=isinstance(input, str) or input is None)
        if check and result.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed ({result.returncode}): "
                                 f"{result.stderr}\n--- service log ---\n{service.log_tail()}")
        return result
    run.environment = environment
    return run


_CONFIG = {}


def _docker_config() -> str:
    """An empty client configuration of our own, not the machine's ~/.docker."""
    if "path" not in _CONFIG:
        _CONFIG["path"] = tempfile.mkdtemp(prefix="moorage-docker-config-")
    return _CONFIG["path"]


@pytest.fixture
def client(service, engine):
    import docker as docker_py
    api = docker_py.DockerClient(base_url=service.url, timeout=60)
    yield api
    api.close()
