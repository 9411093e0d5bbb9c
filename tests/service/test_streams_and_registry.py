"""Attach, detach keys and resize through hijacked connections; `docker attach`;
`--restart`; `docker push` and `pull` through Debian's docker-registry."""

import socket

import pytest

from tests.stack import wait_until

pytestmark = pytest.mark.privileged


def hijack(service, path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    sock.connect(service.socket_path)
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                 "Content-Length: 0\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def read_until(sock, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def post(service, path: str) -> int:
    from tests.service.test_bad_input import UnixConnection
    connection = UnixConnection(service.socket_path)
    connection.request("POST", path, body=b"")
    status = connection.getresponse().status
    connection.close()
    return status


def test_terminal_attach_resize_and_detach_keys(service, docker, engine):
    container_id = docker("run", "-dit", "--name", "term", "busybox", "sh").stdout.strip()
    sock = hijack(service, f"/containers/{container_id}/attach?stream=1&stdin=1&stdout=1"
                           "&stderr=1&detachKeys=ctrl-x")
    assert post(service, f"/containers/{container_id}/resize?h=33&w=77") == 200
    sock.sendall(b"stty size\n")
    assert b"33 77" in read_until(sock, b"33 77")
    sock.sendall(b"\x18")              # ctrl-x: detach, the shell goes on
    sock.settimeout(10)
    read_until(sock, b"\x00never")     # to the end: the service closes (a timeout fails)
    assert sock.recv(1) == b""
    sock.close()
    assert engine.inspect(container_id)["State"]["Running"]
    docker("rm", "-f", "term")


def test_docker_attach_follows_the_output_to_the_end(docker):
    docker("run", "-d", "--name", "talker", "busybox", "sh", "-c",
           "sleep 1; echo attached output; exit 3")
    result = docker("attach", "talker", check=False)
    assert result.stdout == "attached output\n" and result.returncode == 3
    docker("rm", "talker")


def test_restart_policy(docker):
    docker("run", "-d", "--name", "flaky", "--restart", "on-failure:2", "busybox", "sh",
           "-c", "exit 1")
    wait_until(lambda: docker("inspect", "-f", "{{.RestartCount}} {{.State.Status}}",
                              "flaky").stdout.split() == ["2", "exited"],
               timeout=30, what="two restarts")
    assert docker("inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}", "flaky"
                  ).stdout.strip() == "on-failure"
    docker("rm", "flaky")


@pytest.fixture
def registry():
    from tests.runtime.registry_fixture import Registry
    running = Registry().start()
    yield running
    running.stop()


def test_push_and_pull_through_a_registry(docker, registry):
    reference = f"{registry.address}/tests/box:1"
    docker("tag", "busybox", reference)
    pushed = docker("push", reference)
    assert "digest: sha256:" in pushed.stdout
    docker("rmi", reference)
    pulled = docker("pull", reference)
    assert "Downloaded newer image" in pulled.stdout or "Image is up to date" in pulled.stdout
    assert docker("run", "--rm", reference, "echo", "pulled").stdout == "pulled\n"
    docker("rmi", reference)
    missing = docker("pull", f"{registry.address}/tests/absent:1", check=False)
    assert missing.returncode != 0 and missing.stderr.strip()
