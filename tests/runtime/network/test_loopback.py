"""Published ports and the host's loopback: a container is reached through a loopback port
only when that port was published to loopback for it. Host-local clients of any other
loopback port (a service of the host's own, say) reach what listens there, never a container;
a container cannot reach a loopback-published port by aiming packets at 127.0.0.1 through its
gateway. Only loopback and the sandboxes' own addresses are contacted."""

import socket
import subprocess
import threading

import pytest

from runtime.network import store
from runtime.network.firewall import Firewall, published_ports, save

from .conftest import free_port, http_get

pytestmark = pytest.mark.privileged


class LoopbackService:
    """A host service of the test's on one loopback address: answers every connection with
    its own name, so a reply says who was reached."""

    def __init__(self, address: str, port: int):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((address, port))
        self.listener.listen()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.0 200 OK\r\n\r\nthe host's own service\n")

    def close(self):
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.thread.join(timeout=5)


@pytest.fixture
def loopback_service():
    made = []

    def make(address: str, port: int) -> LoopbackService:
        made.append(LoopbackService(address, port))
        return made[-1]

    yield make
    for service in made:
        service.close()


def test_a_port_without_an_address_is_on_127_0_0_1_and_no_other_loopback_address(
        paths, sandbox, loopback_service):
    """Docker's `-p 8080:80` (moor's default) serves on 127.0.0.1; a host service on
    127.0.0.2 with the same port number keeps its own clients."""
    port = free_port()
    server = sandbox(paths, ports=[f"{port}:80"])
    server.serve_http()
    assert http_get("127.0.0.1", port) == f"{server.name}\n"
    loopback_service("127.0.0.2", port)
    assert http_get("127.0.0.2", port) == "the host's own service\n"


def test_without_publish_loopback_host_local_clients_of_loopback_never_reach_the_container(
        paths, sandbox, loopback_service):
    """The console's users publish on the host's addresses, not on its loopback: a host
    service that comes up on 127.0.0.1 with the container's port number gets its own
    clients, and with nothing there a connection is refused."""
    port = free_port()
    server = sandbox(paths, ports=[f"{port}:80"], publish_loopback=False)
    server.serve_http()
    assert http_get(server.gateway, port) == f"{server.name}\n"
    for address in ("127.0.0.1", "127.0.0.2", "127.1.2.3"):
        with pytest.raises(ConnectionRefusedError):
            http_get(address, port, timeout=2)
    loopback_service("127.0.0.1", port)
    assert http_get("127.0.0.1", port) == "the host's own service\n"
    assert server.settings["Ports"] == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": str(port)}]}


def test_a_port_published_on_one_address_is_not_reached_through_loopback(paths, sandbox,
                                                                         loopback_service):
    port = free_port()
    other = sandbox(paths)    # its gateway is an address of the host
    server = sandbox(paths, ports=[f"{other.gateway}:{port}:80"])
    server.serve_http()
    assert http_get(other.gateway, port) == f"{server.name}\n"
    with pytest.raises(ConnectionRefusedError):
        http_get("127.0.0.1", port, timeout=2)


def _aim_loopback_at_the_gateway(box) -> None:
    """Make `box` send what it addresses to 127.0.0.1 to its gateway, as a container with raw
    sockets could by writing frames itself."""
    commands = [
        "echo 1 > /proc/sys/net/ipv4/conf/all/route_localnet",
        "echo 1 > /proc/sys/net/ipv4/conf/eth0/route_localnet",
        "ip addr del 127.0.0.1/8 dev lo",
        f"ip route add 127.0.0.1/32 via {box.gateway} dev eth0 onlink",
    ]
    for command in commands:
        subprocess.run(["nsenter", f"--net={box.attachment.netns}", "sh", "-c", command],
                       check=True, capture_output=True)


def test_a_container_cannot_reach_a_loopback_port_through_its_gateway(paths, sandbox):
    port = free_port()
    server = sandbox(paths, ports=[f"127.0.0.1:{port}:80"])
    server.serve_http()
    assert http_get("127.0.0.1", port) == f"{server.name}\n"
    intruder = sandbox(paths)
    _aim_loopback_at_the_gateway(intruder)
    fetched = intruder.fetch("127.0.0.1", port)
    assert fetched.returncode != 0 and server.name not in fetched.stdout


def test_the_published_ports_are_read_back_with_their_addresses(paths, sandbox):
    everywhere, outside, on_loopback = free_port(), free_port(), free_port()
    sandbox(paths, ports=[f"{everywhere}:80"])
    sandbox(paths, ports=[f"{outside}:80"], publish_loopback=False)
    sandbox(paths, ports=[f"127.0.0.1:{on_loopback}:80"])
    found = {(port.host_ip, port.host_port) for port in published_ports()}
    assert {("", everywhere), ("", outside), ("127.0.0.1", on_loopback)} <= found
    assert not [port for port in published_ports() if "/" in port.host_ip]


def _jumps(chain: str) -> list[str]:
    return [line for line in save()["nat"]
            if line.startswith("-A PREROUTING ") and line.endswith(f"-j {chain}")]


def test_a_prerouting_jump_of_an_older_release_is_replaced(fresh_paths, sandbox):
    """A host that ran an older release has a PREROUTING jump without the loopback guard
    while its bridges stay up: the next publish puts it right."""
    firewall = Firewall(store.root_hash(fresh_paths))
    chain, tag = firewall.chain("DNAT"), firewall.tag
    sandbox(fresh_paths)      # the bridge is up, the root's chains and jumps are made
    [current] = _jumps(chain)
    assert current.startswith("-A PREROUTING ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL ")
    subprocess.run(["iptables", "-t", "nat", "-D", *current[3:].replace('"', "").split()],
                   check=True)
    subprocess.run(["iptables", "-t", "nat", "-I", "PREROUTING", "1", "-m", "addrtype",
                    "--dst-type", "LOCAL", "-m", "comment", "--comment", tag, "-j", chain],
                   check=True)
    sandbox(fresh_paths, ports=[f"{free_port()}:80"])
    assert _jumps(chain) == [current]
