"""One project, two Compose tools: docker-compose 1.29 (Debian's) through the engine service
and `moor compose` on the same engine root see the same stack — its containers, network and
named volume — whichever brought it up, and either brings it down."""

import os
import subprocess
import sys

import pytest

from runtime.compose import containers as labels
from runtime.network import list_networks
from tests.service.conftest import COMPOSE, REPOSITORY
from tests.stack import free_port

pytestmark = pytest.mark.privileged

FILE = """\
services:
  db:
    image: busybox
    command: ["httpd", "-f", "-p", "8080"]
    stop_grace_period: 1s
    volumes: ["data:/data"]
  web:
    image: busybox
    command: ["sleep", "300"]
    stop_grace_period: 1s
    depends_on: [db]
    ports: ["127.0.0.1:{port}:8080"]
volumes:
  data: {{}}
"""


@pytest.fixture
def project(service, engine, tmp_path):
    (tmp_path / "compose.yaml").write_text(FILE.format(port=free_port()))
    yield tmp_path
    moor_compose(engine, tmp_path, "down", "-v", "-t", "0", check=False)


def docker_compose(service, directory, *args, check=True):
    result = subprocess.run([COMPOSE, "--ansi", "never", "-f", "compose.yaml",
                             "-p", "interop", *args], cwd=directory, capture_output=True,
                            text=True, timeout=120, env={**os.environ, "DOCKER_HOST": service.url})
    if check:
        assert result.returncode == 0, (f"docker-compose {' '.join(args)}: {result.stderr}\n"
                                        f"{service.log_tail()}")
    return result


def moor_compose(engine, directory, *args, check=True):
    result = subprocess.run([sys.executable, "-m", "runtime", "--root", engine.paths.root,
                             "compose", "-f", str(directory / "compose.yaml"), "-p", "interop",
                             *args], cwd=REPOSITORY, capture_output=True, text=True,
                            timeout=120)
    if check:
        assert result.returncode == 0, f"moor compose {' '.join(args)}: {result.stderr}"
    return result


def in_db(engine, container: str, command: str) -> str:
    return subprocess.run([sys.executable, "-m", "runtime", "--root", engine.paths.root,
                           "exec", container, "sh", "-c", command], cwd=REPOSITORY,
                          capture_output=True, text=True, check=True).stdout


def stack(engine) -> dict:
    """What of the project the engine has: container names by service, networks, volumes."""
    return {
        "containers": {labels.service_of(summary): summary["Names"][0].lstrip("/")
                       for summary in engine.compose_containers("interop")},
        "networks": sorted(network["Name"] for network in list_networks(engine.paths)
                           if (network.get("Labels") or {}).get(labels.PROJECT) == "interop"),
        "volumes": sorted(volume["Name"] for volume in engine.volumes()
                          if (volume.get("Labels") or {}).get(labels.PROJECT) == "interop"),
    }


def test_a_project_docker_compose_made_is_moor_composes_too(service, engine, project):
    docker_compose(service, project, "up", "-d")
    in_db(engine, "interop_db_1", "echo kept > /data/value")
    assert stack(engine) == {"containers": {"db": "interop_db_1", "web": "interop_web_1"},
                             "networks": ["interop_default"], "volumes": ["interop_data"]}
    listed = moor_compose(engine, project, "ps").stdout
    assert "interop_db_1" in listed and "interop_web_1" in listed
    # up takes them over: the same network and volume, its own names and config hash
    moor_compose(engine, project, "up", "-d")
    assert stack(engine) == {"containers": {"db": "interop-db-1", "web": "interop-web-1"},
                             "networks": ["interop_default"], "volumes": ["interop_data"]}
    assert in_db(engine, "interop-db-1", "cat /data/value") == "kept\n"
    moor_compose(engine, project, "down", "-v", "-t", "0")
    assert stack(engine) == {"containers": {}, "networks": [], "volumes": []}


def test_a_project_moor_compose_made_is_docker_composes_too(service, engine, project):
    moor_compose(engine, project, "up", "-d")
    in_db(engine, "interop-db-1", "echo kept > /data/value")
    listed = docker_compose(service, project, "ps").stdout
    assert "interop-db-1" in listed and "interop-web-1" in listed
    assert listed.count(" Up ") == 2
    # docker-compose 1.29 uses the network and the volume as they are (it refused the
    # network for the bridge device among its options, and the containers without a
    # com.docker.compose.version label)
    docker_compose(service, project, "up", "-d")
    assert stack(engine) == {"containers": {"db": "interop_db_1", "web": "interop_web_1"},
                             "networks": ["interop_default"], "volumes": ["interop_data"]}
    assert in_db(engine, "interop_db_1", "cat /data/value") == "kept\n"
    docker_compose(service, project, "down", "-v", "-t", "0")
    assert stack(engine) == {"containers": {}, "networks": [], "volumes": []}
