"""Networking through the console, end to end: a container run through the API with a
published port serves on the host's loopback; a taken port fails the job clearly."""
import socket
import urllib.request

import pytest

from tests.stack import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.privileged]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_published_port_through_the_api(stack):
    api = stack.admin
    port = _free_port()
    job = api.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": "served", "network": "bridge",
        "ports": [f"{port}:80"],
        "cmd": ["sh", "-c", "mkdir -p /www && echo served-by-moorage > /www/index.html && "
                            "exec httpd -f -p 80 -h /www"]})
    assert job["state"] == "succeeded", job
    body = wait_until(lambda: _fetch(f"http://127.0.0.1:{port}/"), timeout=15,
                      what="the published port answers")
    assert body == "served-by-moorage\n"
    inspect = api.ok("GET", "/api/containers/served/inspect/")
    assert inspect["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"] == str(port)
    assert inspect["NetworkSettings"]["IPAddress"]
    api.ok("DELETE", "/api/containers/served/?force=1&wait=1")
    assert _fetch(f"http://127.0.0.1:{port}/") is None


def test_a_taken_port_fails_the_job_with_a_clear_error(stack):
    api = stack.admin
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        port = holder.getsockname()[1]
        job = api.ok("POST", "/api/containers/?wait=1", {
            "image": "busybox", "host": "e2e", "name": "clash", "ports": [f"{port}:80"],
            "cmd": ["sleep", "300"]})
        assert job["state"] == "failed"
        assert str(port) in job["error"] and "\n" not in job["error"]


def _fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode()
    except OSError:
        return None
