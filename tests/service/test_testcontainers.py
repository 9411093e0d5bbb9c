"""Testcontainers for Python (its reaper disabled, a local image) against the service."""

import pytest

pytestmark = pytest.mark.privileged


def test_docker_container_with_a_log_wait(service, engine, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", service.url)
    monkeypatch.setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy
    container = DockerContainer("busybox").with_command(
        ["sh", "-c", "echo starting; sleep 0.2; echo ready to serve; exec sleep 300"]
    ).waiting_for(LogMessageWaitStrategy("ready to serve"))
    with container:
        wrapped = container.get_wrapped_container()
        wrapped.reload()
        assert wrapped.status == "running"
        assert container.get_container_host_ip()
        stdout, _ = container.get_logs()
        assert b"ready to serve" in stdout
        identifier = wrapped.id
    assert identifier not in {c["Id"] for c in engine.containers(all=True)}
