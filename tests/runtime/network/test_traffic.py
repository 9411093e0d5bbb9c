"""Traffic through the engine's networks, between real network namespaces: reachability,
isolation, published ports. Only loopback and the sandboxes' own addresses are contacted."""

import os
import re
import socket
import subprocess

import pytest

from runtime.errors import Conflict
from tests.stack import wait_until

from .conftest import free_port, http_get

pytestmark = pytest.mark.privileged


def test_two_containers_on_the_default_bridge_reach_each_other_by_ip(paths, sandbox):
    server, client = sandbox(paths), sandbox(paths)
    server.serve_http()
    fetched = client.fetch(server.address)
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout == f"{server.name}\n"


def test_on_the_default_bridge_names_are_not_published(paths, sandbox):
    server, client = sandbox(paths), sandbox(paths)
    assert server.name not in client.file("hosts")


def test_two_containers_on_a_user_network_reach_each_other_by_name(paths, sandbox, user_network):
    network = user_network("frontend")
    server = sandbox(paths, mode=network, name="web")
    client = sandbox(paths, mode=network, name="shopper")
    server.serve_http()
    fetched = client.fetch("web")
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout == "web\n"
    # and the other way round, by the short id too
    assert f"{client.address}\tshopper {client.id[:12]}\n" in server.file("hosts")


def test_names_follow_containers_as_they_come_and_go(paths, sandbox, user_network):
    network = user_network("follow")
    first = sandbox(paths, mode=network, name="first")
    hosts_inode = __import__("os").stat(f"{first.dir}/hosts").st_ino
    second = sandbox(paths, mode=network, name="second")
    assert f"{second.address}\tsecond" in first.file("hosts")
    second.close()
    assert "second" not in first.file("hosts")
    assert __import__("os").stat(f"{first.dir}/hosts").st_ino == hosts_inode


def test_containers_on_different_networks_cannot_reach_each_other(paths, sandbox, user_network):
    blue, green = user_network("blue"), user_network("green")
    server = sandbox(paths, mode=blue, name="blue-web")
    outsider = sandbox(paths, mode=green, name="green-client")
    on_bridge = sandbox(paths)
    neighbour = sandbox(paths, mode=blue, name="blue-client")
    server.serve_http()
    assert neighbour.fetch(server.address).returncode == 0  # the test can succeed...
    assert outsider.fetch(server.address, timeout=1).returncode != 0  # ...and fails here
    assert on_bridge.fetch(server.address, timeout=1).returncode != 0
    assert "blue-web" not in outsider.file("hosts")


def test_networks_reach_each_other_through_published_ports(paths, sandbox, user_network):
    blue, green = user_network("pub-blue"), user_network("pub-green")
    port = free_port()
    server = sandbox(paths, mode=blue, name="pub-web", ports=[f"{port}:80"])
    outsider = sandbox(paths, mode=green, name="pub-client")
    server.serve_http()
    fetched = outsider.fetch(outsider.gateway, port)
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout == "pub-web\n"


def test_published_port_answers_on_loopback_and_on_the_bridge_address(paths, sandbox):
    port = free_port()
    server = sandbox(paths, ports=[f"{port}:80"])
    server.serve_http()
    assert http_get("127.0.0.1", port) == f"{server.name}\n"
    assert http_get(server.gateway, port) == f"{server.name}\n"
    assert server.settings["Ports"] == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": str(port)}]}


def test_published_port_on_one_host_address_only(paths, sandbox):
    port = free_port()
    server = sandbox(paths, ports=[f"127.0.0.1:{port}:80"])
    server.serve_http()
    assert http_get("127.0.0.1", port) == f"{server.name}\n"
    with pytest.raises(OSError):
        http_get(server.gateway, port, timeout=1)


def test_a_container_reaches_its_own_published_port(paths, sandbox):
    port = free_port()
    server = sandbox(paths, ports=[f"{port}:80"])
    server.serve_http()
    fetched = server.fetch(server.gateway, port)
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout == f"{server.name}\n"


def test_port_without_host_port_gets_a_free_one(paths, sandbox):
    server = sandbox(paths, ports=["80"])
    server.serve_http()
    [binding] = server.settings["Ports"]["80/tcp"]
    assert http_get("127.0.0.1", int(binding["HostPort"])) == f"{server.name}\n"


def test_publish_all_publishes_exposed_ports(paths, sandbox):
    server = sandbox(paths, publish_all=True, exposed=["80/tcp", "53/udp"])
    server.serve_http()
    ports = server.settings["Ports"]
    assert set(ports) == {"80/tcp", "53/udp"}
    assert http_get("127.0.0.1", int(ports["80/tcp"][0]["HostPort"])) == f"{server.name}\n"


def test_a_port_taken_on_the_host_fails_cleanly(paths, sandbox):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        box = sandbox(paths, attached=False, ports=[f"{port}:80"])
        with pytest.raises(Conflict, match=f"0.0.0.0:{port}.*already in use"):
            box.attach()
    # the sandbox fixture checks that the failed start left nothing behind


def test_a_port_taken_by_another_container_fails_cleanly(paths, sandbox):
    port = free_port()
    sandbox(paths, ports=[f"{port}:80"])
    second = sandbox(paths, attached=False, ports=[f"{port}:80"])
    with pytest.raises(Conflict, match="already allocated"):
        second.attach()


@pytest.fixture
def host_service():
    """A Redis the test starts on a free port of every host address."""
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "0.0.0.0", "--save", "",
         "--appendonly", "no", "--protected-mode", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def listening():
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    wait_until(listening, timeout=5, interval=0.05, what="redis-server to listen")
    yield port
    process.kill()
    process.wait()


def _ping_redis(box, address, port):
    return box.run("sh", "-c", f"printf 'PING\\r\\n' | busybox nc -w 2 {address} {port}")


def test_a_container_cannot_reach_the_hosts_redis_through_its_gateway(paths, sandbox,
                                                                     host_service):
    box = sandbox(paths)
    answer = _ping_redis(box, box.gateway, host_service)
    assert "PONG" not in answer.stdout


def _ipv6_addresses(device: str) -> list[str]:
    with open("/proc/net/if_inet6") as table:
        return [line.split()[0] for line in table if line.split()[-1] == device]


def test_no_ipv6_path_leads_from_a_container_to_the_host(paths, sandbox):
    """The isolation rules are IPv4 rules: the host keeps no IPv6 address on the bridge or
    the container's veth, so a container cannot reach a host service listening on `::`
    through a link-local address. On the container's link only the container answers the
    all-nodes address."""
    if not os.path.exists("/proc/net/if_inet6"):
        pytest.skip("this host has no IPv6")
    from runtime.network import store
    from runtime.network.attachment import host_interface

    box = sandbox(paths)
    bridge = next(n.bridge for n in store.all_networks(paths) if n.default)
    for device in (bridge, host_interface(box.id, 0)):
        with open(f"/proc/sys/net/ipv6/conf/{device}/disable_ipv6") as setting:
            assert setting.read().strip() == "1", device
        assert _ipv6_addresses(device) == [], device

    def link_local_ready():  # the container's own link-local address, usable once DAD is over
        shown = box.run("ip", "-6", "addr", "show", "dev", "eth0").stdout
        return "fe80" in shown and "tentative" not in shown
    wait_until(link_local_ready, timeout=10, interval=0.2, what="the link-local address")
    answer = box.run("ping", "-c", "3", "-w", "4", "ff02::1%eth0")
    assert answer.returncode == 0, answer.stdout + answer.stderr
    responders = set(re.findall(r"bytes from ([0-9a-f:]+): seq", answer.stdout))
    assert len(responders) <= 1, answer.stdout     # itself at most


def test_a_host_access_network_can_reach_the_host(paths, sandbox, user_network, host_service):
    trusted = user_network("trusted", host_access=True)
    box = sandbox(paths, mode=trusted)
    answer = _ping_redis(box, box.gateway, host_service)
    assert "PONG" in answer.stdout


def test_an_internal_network_keeps_its_traffic_inside(paths, sandbox, user_network):
    sealed = user_network("sealed", internal=True)
    port = free_port()
    outside = sandbox(paths, name="outside", ports=[f"{port}:80"])
    outside.serve_http()
    inside, neighbour = sandbox(paths, mode=sealed, name="inside"), sandbox(paths, mode=sealed)
    inside.serve_http()
    assert neighbour.fetch("inside").stdout == "inside\n"
    assert neighbour.fetch(neighbour.gateway, port, timeout=1).returncode != 0
    assert neighbour.fetch(outside.address, timeout=1).returncode != 0
    assert outside.fetch(inside.address, timeout=1).returncode != 0
