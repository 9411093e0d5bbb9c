"""Parsing `-p`, choosing host ports, and Docker's shapes for them."""

import socket

import pytest

from runtime.errors import Conflict, InvalidArgument
from runtime.network.ports import (
    PortSpec,
    choose_host_ports,
    describe_ports,
    docker_ports,
    exposed_ports,
    parse_port_specs,
    parse_ports,
)


@pytest.mark.parametrize("spec, expected", [
    ("80", [PortSpec(80)]),
    ("8080:80", [PortSpec(80, "tcp", "", 8080)]),
    ("127.0.0.1:8080:80/udp", [PortSpec(80, "udp", "127.0.0.1", 8080)]),
    ("127.0.0.1::80", [PortSpec(80, "tcp", "127.0.0.1", 0)]),
    ("0.0.0.0:8080:80", [PortSpec(80, "tcp", "", 8080)]),
    ("53/UDP", [PortSpec(53, "udp")]),
    ("8000-8001:80-81", [PortSpec(80, "tcp", "", 8000), PortSpec(81, "tcp", "", 8001)]),
    ("90-91", [PortSpec(90), PortSpec(91)]),
])
def test_valid_specs(spec, expected):
    assert parse_port_specs([spec]) == expected


@pytest.mark.parametrize("spec, message", [
    ("", "empty"),
    ("abc", 'invalid container port "abc"'),
    ("70000", "ports are 1-65535"),
    ("0:80", 'invalid host port "0"'),
    ("80/sctp", 'invalid protocol "sctp"'),
    ("1.2.3:80:80", 'invalid host address "1.2.3"'),
    ("[::1]:80:80", "IPv6 host addresses are not supported"),
    ("8000-8002:80-81", "differ in length"),
    ("1:2:3:4", "invalid port specification"),
    ("90-80", 'invalid container port "90-80"'),
])
def test_invalid_specs_get_one_clear_line(spec, message):
    with pytest.raises(InvalidArgument, match=message) as raised:
        parse_port_specs([spec])
    assert "\n" not in str(raised.value)


def test_the_same_host_port_twice_is_refused():
    with pytest.raises(InvalidArgument, match="published twice"):
        parse_port_specs(["8080:80", "127.0.0.1:8080:81"])
    # different protocols or addresses do not clash
    parse_port_specs(["8080:80", "8080:80/udp", "127.0.0.1:9090:80", "127.0.0.2:9090:80"])


def test_parse_ports_returns_dockers_port_bindings():
    assert parse_ports(["8080:80", "127.0.0.1::53/udp", "443"]) == {
        "80/tcp": [{"HostIp": "", "HostPort": "8080"}],
        "53/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
        "443/tcp": [{"HostIp": "", "HostPort": ""}],
    }


def test_exposed_ports():
    assert exposed_ports(["80/tcp", "53/udp", "8080"]) == [PortSpec(80), PortSpec(53, "udp"),
                                                          PortSpec(8080)]


def test_docker_ports_and_the_ps_column():
    ports = docker_ports([PortSpec(80, "tcp", "", 8080), PortSpec(80, "tcp", "127.0.0.1", 9090)],
                         ["80/tcp", "443/tcp"])
    assert ports == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"},
                                {"HostIp": "127.0.0.1", "HostPort": "9090"}],
                     "443/tcp": None}
    assert describe_ports(ports) == "0.0.0.0:8080->80/tcp, 127.0.0.1:9090->80/tcp, 443/tcp"


def test_a_port_held_on_the_host_is_refused():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(Conflict, match=f"Bind for 0.0.0.0:{port} failed: port is already "
                                           f"in use"):
            choose_host_ports([PortSpec(80, host_port=port)], [])


def test_a_port_published_by_a_container_is_refused():
    taken = [PortSpec(0, "tcp", "", 18080)]
    with pytest.raises(Conflict, match="already allocated"):
        choose_host_ports([PortSpec(80, host_port=18080)], taken)
    with pytest.raises(Conflict, match="already allocated"):
        choose_host_ports([PortSpec(80, host_ip="127.0.0.1", host_port=18080)], taken)
    # another protocol is another port
    assert choose_host_ports([PortSpec(80, "udp", host_port=18080)], taken)


def test_an_address_that_is_not_the_hosts_is_refused():
    with pytest.raises(InvalidArgument, match="not an address of this host"):
        choose_host_ports([PortSpec(80, host_ip="203.0.113.9", host_port=18080)], [])


def test_a_free_port_is_picked_and_avoids_published_ones():
    [chosen] = choose_host_ports([PortSpec(80)], [])
    assert 1024 < chosen.host_port < 65536
    [other] = choose_host_ports([PortSpec(80)], [PortSpec(0, "tcp", "", chosen.host_port)])
    assert other.host_port != chosen.host_port
