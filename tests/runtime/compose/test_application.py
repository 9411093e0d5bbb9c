"""A real application under `moor compose`, built offline from `moor image bootstrap debian`:
a small Python web app (Debian's python3 and python3-redis) that counts visits in Redis,
redis-server with its data on a named volume and a health check, and nginx in front
publishing a loopback port; the app waits for Redis with `condition: service_healthy`.

Through real HTTP to the published port: the count rises; `down` + `up` keeps it (the
volume); an edit of the app's environment recreates the app (and nginx, which depends on
it), never Redis; `down -v` resets it; a broken health check keeps the app from starting and
the error names the unhealthy dependency. The app runs under `init: true`: as PID 1,
python3 would ignore a stop's SIGTERM and wait out the grace period.

One Debian image is bootstrapped for the module with every package the three services need
(the packages come from the repository `./moorage install` cached, served by a container:
tests/runtime/debian_fixture.py); the app's and nginx's images are built FROM it by
`compose up`, copying their files.
"""

import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

import pytest

from runtime.api import Engine
from runtime.compose import containers as labels
from runtime.container import health_checker
from tests.runtime.conftest import REPOSITORY, destroy_root
from tests.runtime.debian_fixture import AptRepository
from tests.stack import free_port, wait_until

pytestmark = pytest.mark.privileged

PACKAGES = ["python3", "python3-redis", "redis-server", "nginx"]

COMPOSE = """\
name: visits
services:
  redis:
    image: debian:{suite}
    command: ["redis-server", "--dir", "/data", "--appendonly", "yes",
              "--appendfsync", "always", "--bind", "0.0.0.0", "--protected-mode", "no"]
    volumes: ["data:/data"]
    healthcheck:
      test: redis-cli ping | grep -q PONG
      interval: 300ms
      retries: 3
  app:
    build: ./app
    init: true          # python3 as PID 1 would ignore a stop's SIGTERM
    environment:
      GREETING: hello
    depends_on:
      redis: {{condition: service_healthy}}
  web:
    build: ./web
    ports: ["127.0.0.1:{port}:80"]
    depends_on: [app]
volumes:
  data: {{}}
"""

APP = """\
import http.server
import os

import redis

store = redis.Redis(host="redis", port=6379)


class Visits(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"{os.environ['GREETING']} {store.incr('visits')}\\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


http.server.ThreadingHTTPServer(("", 8000), Visits).serve_forever()
"""

NGINX = """\
events {}
http {
    access_log off;
    server {
        listen 80;
        location / { proxy_pass http://app:8000; }
    }
}
"""


@pytest.fixture(scope="module")
def engine_root():
    """A root of this module's own: its images, volumes and containers go with it."""
    root = tempfile.mkdtemp(prefix="moorage-test-visits-")
    engine = Engine(root)
    engine.bootstrap_busybox()
    yield root
    destroy_root(engine)


@pytest.fixture(scope="module")
def suite(engine_root):
    """debian:<suite> with the three services' packages, bootstrapped once."""
    repository = AptRepository(Engine(engine_root)).start()
    try:
        Engine(engine_root).bootstrap_debian(include=PACKAGES,
                                             **repository.bootstrap_options())
    finally:
        repository.stop()
    return repository.suite


class Visits:
    """The project's directory, and `moor compose` on it."""

    def __init__(self, engine, directory, suite: str):
        self.engine = engine
        self.directory = directory
        self.port = free_port()
        self.file = os.path.join(directory, "compose.yaml")
        for name, files in (("app", {"app.py": APP,
                                     "Dockerfile": f"FROM debian:{suite}\nCOPY app.py /\n"
                                                   'CMD ["python3", "/app.py"]\n'}),
                            ("web", {"nginx.conf": NGINX,
                                     "Dockerfile": f"FROM debian:{suite}\n"
                                                   "COPY nginx.conf /etc/nginx/nginx.conf\n"
                                                   'CMD ["nginx", "-g", "daemon off;"]\n'})):
            os.makedirs(os.path.join(directory, name))
            for file_name, text in files.items():
                with open(os.path.join(directory, name, file_name), "w") as handle:
                    handle.write(text)
        self.write(COMPOSE.format(suite=suite, port=self.port))

    def write(self, text: str) -> None:
        with open(self.file, "w") as handle:
            handle.write(text)

    def edit(self, old: str, new: str) -> None:
        with open(self.file) as handle:
            text = handle.read()
        assert old in text
        self.write(text.replace(old, new))

    def compose(self, *args, check=True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "-m", "runtime", "--root", self.engine.paths.root, "compose",
             "-f", self.file, *args], cwd=REPOSITORY, capture_output=True, text=True,
            timeout=300)
        if check:
            assert result.returncode == 0, f"moor compose {' '.join(args)}: {result.stderr}"
        return result

    def visit(self) -> str:
        """One GET through nginx; retried while nginx or the app are still coming up."""
        def get():
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/",
                                        timeout=5) as response:
                return response.read().decode().strip()
        return wait_until(get, timeout=30, what="an answer through nginx")

    def containers(self) -> dict[str, dict]:
        return {labels.service_of(summary): summary
                for summary in self.engine.compose_containers("visits")}

    def volume_exists(self) -> bool:
        return any(volume["Name"] == "visits_data" for volume in self.engine.volumes())


@pytest.fixture
def visits(engine, suite, tmp_path):
    project = Visits(engine, str(tmp_path / "visits"), suite)
    yield project
    project.compose("down", "-v", "-t", "1", check=False)
    health_checker.stop_stand_in(engine.paths)


def test_up_answers_through_nginx_and_the_count_rises(visits):
    visits.compose("up", "-d")
    assert visits.visit() == "hello 1"
    assert visits.visit() == "hello 2"
    running = visits.containers()
    assert {name: summary["State"] for name, summary in running.items()} == {
        "redis": "running", "app": "running", "web": "running"}
    assert "(healthy)" in running["redis"]["Status"]
    listed = visits.compose("ps").stdout
    assert "visits-redis-1" in listed and "(healthy)" in listed


def test_down_and_up_keep_the_count_on_the_volume(visits):
    visits.compose("up", "-d")
    visits.visit()
    assert visits.visit() == "hello 2"
    visits.compose("down")
    assert visits.containers() == {} and visits.volume_exists()
    visits.compose("up", "-d")
    assert visits.visit() == "hello 3"


def test_an_edit_of_the_apps_environment_recreates_the_app_never_redis(visits):
    visits.compose("up", "-d")
    assert visits.visit() == "hello 1"
    before = {name: summary["Id"] for name, summary in visits.containers().items()}
    visits.edit("GREETING: hello", "GREETING: bonjour")
    planned = visits.compose("up", "--dry-run").stdout.splitlines()
    assert planned == ["service redis: keep",
                       "service app: recreate (configuration changed: environment)",
                       "service web: recreate (it depends on app, which is recreated)"]
    visits.compose("up", "-d")
    after = {name: summary["Id"] for name, summary in visits.containers().items()}
    assert after["redis"] == before["redis"]
    assert after["app"] != before["app"] and after["web"] != before["web"]
    assert visits.visit() == "bonjour 2"


def test_down_v_resets_the_count(visits):
    visits.compose("up", "-d")
    visits.visit()
    assert visits.visit() == "hello 2"
    visits.compose("down", "-v")
    assert not visits.volume_exists()
    visits.compose("up", "-d")
    assert visits.visit() == "hello 1"


def test_a_broken_health_check_keeps_the_app_from_starting(visits):
    visits.edit("test: redis-cli ping | grep -q PONG",
                "test: redis-cli -p 1 ping | grep -q PONG")
    failed = visits.compose("up", "-d", check=False)
    assert failed.returncode == 1
    assert failed.stderr.splitlines()[-1].startswith(
        "Error: service app was not started: its dependency redis is unhealthy (last check: "
        "exit code 1")
    assert set(visits.containers()) == {"redis"}
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{visits.port}/", timeout=5)
