"""User-defined networks: create, list, inspect, remove, connect, disconnect; subnets that
clash with the host."""

import json
import os
import secrets
import subprocess

import pytest

from runtime.errors import Conflict, InvalidArgument, NotFound
from runtime.network import (
    NetworkRequest,
    connect,
    create_network,
    disconnect,
    inspect_network,
    list_networks,
    remove_network,
    store,
)

from .conftest import BUSYBOX, free_port, http_get, spare_range

pytestmark = pytest.mark.privileged


def _links() -> set[str]:
    return set(os.listdir("/sys/class/net"))


def test_create_inspect_list_remove(paths):
    created = create_network(paths, "lifecycle-net", labels={"team": "blue"})
    try:
        bridge = created["Options"]["com.docker.network.bridge.name"]
        assert bridge in _links() and len(bridge) <= 15
        inspected = inspect_network(paths, "lifecycle-net")
        assert inspected == inspect_network(paths, created["Id"][:10])
        assert inspected["Driver"] == "bridge" and inspected["Labels"] == {"team": "blue"}
        [config] = inspected["IPAM"]["Config"]
        assert config["Gateway"] == str(__import__("ipaddress").IPv4Network(
            config["Subnet"]).network_address + 1)
        names = [network["Name"] for network in list_networks(paths)]
        assert {"bridge", "host", "none", "lifecycle-net"} <= set(names)
        assert names == sorted(names)
    finally:
        remove_network(paths, "lifecycle-net")
    assert bridge not in _links()
    with pytest.raises(NotFound):
        inspect_network(paths, "lifecycle-net")
    assert not [line for line in subprocess.run(["iptables-save"], capture_output=True,
                                                text=True).stdout.splitlines()
                if f"net:{created['Id'][:12]}" in line]


def test_networks_get_different_subnets(paths, user_network):
    first = inspect_network(paths, user_network("sub-a"))["IPAM"]["Config"][0]["Subnet"]
    second = inspect_network(paths, user_network("sub-b"))["IPAM"]["Config"][0]["Subnet"]
    default = inspect_network(paths, "bridge")["IPAM"]["Config"][0]["Subnet"]
    assert len({first, second, default}) == 3


@pytest.mark.parametrize("name, error", [
    ("bridge", "pre-defined"), ("host", "pre-defined"), ("none", "pre-defined"),
    ("-bad", "invalid network name"), ("a b", "invalid network name"), ("", "invalid"),
])
def test_bad_names_are_refused(paths, name, error):
    with pytest.raises((InvalidArgument, Conflict), match=error):
        create_network(paths, name)


def test_a_duplicate_name_is_refused(paths, user_network):
    user_network("twice")
    with pytest.raises(Conflict, match="network with name twice already exists"):
        create_network(paths, "twice")


def test_subnet_and_gateway_are_checked(paths):
    with pytest.raises(InvalidArgument, match="invalid subnet"):
        create_network(paths, "badsub", subnet="10.0.0.1/16")
    with pytest.raises(InvalidArgument, match="not a host address"):
        create_network(paths, "badgw", subnet="10.91.0.0/16", gateway="10.92.0.1")


def test_a_subnet_in_use_is_refused(paths, user_network):
    n = spare_range()
    network = user_network("taken-subnet", subnet=f"10.{n}.0.0/24", gateway=f"10.{n}.0.254")
    assert inspect_network(paths, network)["IPAM"]["Config"] == [
        {"Subnet": f"10.{n}.0.0/24", "Gateway": f"10.{n}.0.254"}]
    with pytest.raises(Conflict, match=f"overlaps 10.{n}.0.0/24"):
        create_network(paths, "overlapping", subnet=f"10.{n}.0.0/16")


def test_predefined_networks_cannot_be_removed(paths):
    for name in ("bridge", "host", "none"):
        with pytest.raises(Conflict, match="pre-defined"):
            remove_network(paths, name)


def test_a_network_with_containers_cannot_be_removed(paths, sandbox, user_network):
    network = user_network("busy")
    sandbox(paths, mode=network, name="occupant")
    with pytest.raises(Conflict, match=r"active endpoints \(occupant\)"):
        remove_network(paths, network)


def test_inspect_lists_the_containers(paths, sandbox, user_network):
    network = user_network("listed")
    box = sandbox(paths, mode=network, name="member")
    containers = inspect_network(paths, network)["Containers"]
    assert containers == {box.id: {
        "Name": "member", "EndpointID": box.settings["Networks"][network]["EndpointID"],
        "MacAddress": box.settings["MacAddress"],
        "IPv4Address": f"{box.address}/{box.settings['IPPrefixLen']}", "IPv6Address": ""}}


def _interfaces(box) -> str:
    return subprocess.run(["nsenter", f"--net={box.attachment.netns}", BUSYBOX, "ip", "-o",
                           "addr"], capture_output=True, text=True).stdout


def test_connect_and_disconnect_a_running_container(paths, sandbox, user_network):
    network = user_network("joinable")
    resident = sandbox(paths, mode=network, name="resident")
    resident.serve_http()
    visitor = sandbox(paths, name="visitor")
    assert visitor.fetch("resident", timeout=1).returncode != 0
    settings = connect(paths, network, NetworkRequest(visitor.id, "visitor", visitor.id[:12],
                                                      network))
    address = settings["Networks"][network]["IPAddress"]
    assert f"inet {address}/" in _interfaces(visitor)
    assert "eth1" in _interfaces(visitor)
    assert f"{address}\tvisitor" in resident.file("hosts")
    fetched = visitor.fetch("resident")
    assert fetched.returncode == 0 and fetched.stdout == "resident\n"
    with pytest.raises(Conflict, match="already connected"):
        connect(paths, network, NetworkRequest(visitor.id, "visitor", visitor.id[:12], network))

    settings = disconnect(paths, network, visitor.id)
    assert list(settings["Networks"]) == ["bridge"]
    assert "eth1" not in _interfaces(visitor)
    assert "visitor" not in resident.file("hosts")
    with pytest.raises(NotFound, match="not connected"):
        disconnect(paths, network, visitor.id)


def test_disconnecting_the_first_network_moves_route_and_ports(paths, sandbox, user_network):
    network = user_network("second-home")
    port = free_port()
    box = sandbox(paths, name="mover", ports=[f"{port}:80"])
    box.serve_http()
    connect(paths, network, NetworkRequest(box.id, "mover", box.id[:12], network))
    settings = disconnect(paths, "bridge", box.id)
    assert settings["IPAddress"] == settings["Networks"][network]["IPAddress"]
    routes = subprocess.run(["nsenter", f"--net={box.attachment.netns}", BUSYBOX, "ip", "route"],
                            capture_output=True, text=True).stdout
    assert routes.startswith(f"default via {settings['Gateway']}")
    assert http_get("127.0.0.1", port) == "mover\n"


def test_only_bridge_containers_can_connect(paths, sandbox, user_network):
    network = user_network("picky")
    box = sandbox(paths, mode="none")
    with pytest.raises(Conflict, match="network mode none"):
        connect(paths, network, NetworkRequest(box.id, box.name, box.id[:12], network))
    with pytest.raises(Conflict, match="not running"):
        connect(paths, network, NetworkRequest("c" * 64, "ghost", "ghost", network))


@pytest.fixture
def host_link():
    """A link the test adds to the host (an empty bridge), holding an address in 10.x."""
    name = f"tclash{secrets.token_hex(3)}"
    subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)

    def with_address(cidr):
        subprocess.run(["ip", "addr", "add", cidr, "dev", name], check=True)
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
        return name

    yield with_address
    subprocess.run(["ip", "link", "del", name], check=True)


def test_a_configured_subnet_that_clashes_with_the_host_is_refused(fresh_paths, sandbox,
                                                                   host_link):
    n = spare_range()
    link = host_link(f"10.{n}.0.1/24")
    with open(os.path.join(fresh_paths.networks, "config.json"), "w") as file:
        json.dump({"bip": f"10.{n}.0.1/16"}, file)
    box = sandbox(fresh_paths, attached=False)
    with pytest.raises(Conflict, match=f"subnet 10.{n}.0.0/16 of network bridge clashes with "
                                       f"10.{n}.0.0/24 on {link}"):
        box.attach()
    with pytest.raises(Conflict, match="overlaps"):
        create_network(fresh_paths, "clashing", subnet=f"10.{n}.0.0/20")


def test_a_picked_subnet_moves_when_the_host_takes_it(fresh_paths, sandbox, host_link):
    n = spare_range()
    with open(os.path.join(fresh_paths.networks, "config.json"), "w") as file:
        json.dump({"default-address-pools": [{"base": f"10.{n}.0.0/16", "size": 24}]}, file)
    assert inspect_network(fresh_paths, "bridge")["IPAM"]["Config"][0]["Subnet"] == \
        f"10.{n}.0.0/24"
    host_link(f"10.{n}.0.1/24")
    box = sandbox(fresh_paths)
    assert box.settings["Gateway"] == f"10.{n}.1.1"
    assert store.default_network(fresh_paths).subnet == f"10.{n}.1.0/24"


def test_a_broken_config_file_is_one_clear_error(fresh_paths):
    with open(os.path.join(fresh_paths.networks, "config.json"), "w") as file:
        file.write("{not json")
    with pytest.raises(InvalidArgument, match="config.json is not valid JSON"):
        inspect_network(fresh_paths, "bridge")
