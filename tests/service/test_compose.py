"""docker-compose 1.29 (Debian's) against the engine service: `up -d`, `ps`, `logs`,
`down -v` of two-service projects, one whose second service waits for the first to be
healthy, sharing a named volume."""

import os
import subprocess

import pytest

from tests.service.conftest import COMPOSE
from tests.stack import wait_until

pytestmark = pytest.mark.privileged

TWO_SERVICES = """\
version: "2.4"
services:
  db:
    image: busybox
    command: ["sh", "-c", "echo db up; exec httpd -f -p 8080"]
  app:
    image: busybox
    command: ["sh", "-c", "echo app up; exec sleep 300"]
    depends_on: [db]
"""

HEALTHY_AND_VOLUME = """\
version: "2.4"
services:
  db:
    image: busybox
    command: ["sh", "-c", "echo kept > /data/value; touch /tmp/ready; exec sleep 300"]
    volumes: ["data:/data"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      retries: 30
  app:
    image: busybox
    command: ["sh", "-c", "cat /data/value; exec sleep 300"]
    volumes: ["data:/data"]
    depends_on:
      db:
        condition: service_healthy
volumes:
  data:
"""


def compose(service, directory, *args, timeout=120):
    result = subprocess.run([COMPOSE, "--no-ansi", *args], cwd=directory, capture_output=True,
                            text=True, timeout=timeout,
                            env={**os.environ, "DOCKER_HOST": service.url,
                                 "COMPOSE_PROJECT_NAME": "mooragetest"})
    assert result.returncode == 0, (f"docker-compose {' '.join(args)}: {result.stderr}\n"
                                    f"{service.log_tail()}")
    return result


def test_two_services_up_ps_logs_down(service, engine, tmp_path):
    (tmp_path / "docker-compose.yml").write_text(TWO_SERVICES)
    compose(service, tmp_path, "up", "-d")
    listing = compose(service, tmp_path, "ps").stdout
    assert "mooragetest_db_1" in listing and "mooragetest_app_1" in listing
    assert listing.count(" Up ") == 2
    logs = wait_until(lambda: (text := compose(service, tmp_path, "logs").stdout) and
                      "db up" in text and "app up" in text and text, what="both logs")
    assert "db_1" in logs and "app_1" in logs
    compose(service, tmp_path, "down", "-v", "-t", "1")
    assert engine.containers(all=True) == []
    from runtime.network import list_networks
    assert "mooragetest_default" not in {n["Name"] for n in list_networks(engine.paths)}


def test_second_service_waits_for_the_first_to_be_healthy(service, engine, tmp_path):
    (tmp_path / "docker-compose.yml").write_text(HEALTHY_AND_VOLUME)
    compose(service, tmp_path, "up", "-d")
    state = engine.inspect("mooragetest_db_1")["State"]
    assert state["Health"]["Status"] == "healthy"
    logs = wait_until(lambda: "kept" in (text := compose(service, tmp_path, "logs", "app"
                                                         ).stdout) and text, what="app's log")
    assert "kept" in logs
    assert compose(service, tmp_path, "ps").stdout.count(" Up ") == 2
    assert "(healthy)" in compose(service, tmp_path, "ps").stdout
    assert "mooragetest_data" in {volume["Name"] for volume in engine.volumes()}
    compose(service, tmp_path, "down", "-v", "-t", "1")
    assert engine.containers(all=True) == []
    assert "mooragetest_data" not in {volume["Name"] for volume in engine.volumes()}
