"""Published ports: parsing `-p` specs, choosing and checking host ports, Docker's shapes.

A spec is `[HOSTIP:][HOSTPORT:]CONTAINERPORT[/PROTO]`, where a port may be a range `A-B`
(host and container ranges of equal length), HOSTPORT may be empty (`127.0.0.1::80`) and
`-p 80` alone asks for a free host port chosen at start.
"""

import ipaddress
import socket
from collections import namedtuple

from runtime.errors import Conflict, InvalidArgument

PROTOCOLS = ("tcp", "udp")


class PortSpec(namedtuple("PortSpec", "container_port proto host_ip host_port",
                          defaults=("tcp", "", 0))):
    """One published port. `host_ip` "" means every address of the host; `host_port` 0 means
    "pick a free one when the container starts"."""

    __slots__ = ()

    @property
    def key(self) -> str:
        """Docker's name for the container side: "80/tcp"."""
        return f"{self.container_port}/{self.proto}"

    def to_json(self) -> dict:
        return self._asdict()

    @classmethod
    def from_json(cls, data: dict) -> "PortSpec":
        return cls(**data)


def _port_range(text: str, what: str, spec: str) -> range:
    first, _, last = text.partition("-")
    try:
        start, end = int(first), int(last or first)
    except ValueError:
        raise InvalidArgument(f'invalid {what} port "{text}" in "{spec}"') from None
    if not (1 <= start <= end <= 65535):
        raise InvalidArgument(f'invalid {what} port "{text}" in "{spec}": ports are 1-65535')
    return range(start, end + 1)


def parse_port(spec: str) -> list[PortSpec]:
    """One `-p` value → the ports it publishes."""
    text = spec.strip()
    if not text:
        raise InvalidArgument("empty port specification")
    text, _, proto = text.partition("/")
    proto = proto.lower() or "tcp"
    if proto not in PROTOCOLS:
        raise InvalidArgument(f'invalid protocol "{proto}" in "{spec}": use tcp or udp')
    if text.startswith("["):
        raise InvalidArgument(f'"{spec}": IPv6 host addresses are not supported')
    parts = text.split(":")
    if len(parts) > 3:
        raise InvalidArgument(f'invalid port specification "{spec}"')
    host_ip, host_part, container_part = [""] * (3 - len(parts)) + parts
    if host_ip:
        try:
            address = ipaddress.ip_address(host_ip)
        except ValueError:
            raise InvalidArgument(f'invalid host address "{host_ip}" in "{spec}"') from None
        if address.version != 4:
            raise InvalidArgument(f'"{spec}": IPv6 host addresses are not supported')
        host_ip = "" if address.is_unspecified else str(address)
    container_ports = _port_range(container_part, "container", spec)
    if not host_part:
        return [PortSpec(port, proto, host_ip, 0) for port in container_ports]
    host_ports = _port_range(host_part, "host", spec)
    if len(host_ports) != len(container_ports):
        raise InvalidArgument(f'"{spec}": the host and container port ranges differ in length')
    return [PortSpec(port, proto, host_ip, host_port)
            for port, host_port in zip(container_ports, host_ports, strict=True)]


def parse_port_specs(specs: list[str]) -> list[PortSpec]:
    """`-p` values → the ports they publish; InvalidArgument names the first bad one."""
    parsed = []
    for spec in specs or ():
        parsed.extend(parse_port(spec))
    _refuse_duplicates(parsed)
    return parsed


def parse_ports(specs: list[str]) -> dict:
    """Validate `-p` values at create time and return them as Docker's
    HostConfig.PortBindings: {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]} (HostPort ""
    when the host port is picked at start)."""
    bindings = {}
    for port in parse_port_specs(specs):
        bindings.setdefault(port.key, []).append(
            {"HostIp": port.host_ip, "HostPort": str(port.host_port or "")})
    return bindings


def exposed_ports(exposed: list[str]) -> list[PortSpec]:
    """`-P`: every exposed port ("80/tcp", "53/udp", "8080") on a free host port."""
    ports = []
    for key in exposed or ():
        number, _, proto = key.partition("/")
        ports.extend(PortSpec(port, proto or "tcp")
                     for port in _port_range(number, "exposed", key))
    return ports


def _overlap(a: PortSpec, b: PortSpec) -> bool:
    return (a.proto == b.proto and a.host_port == b.host_port
            and (a.host_ip == b.host_ip or not a.host_ip or not b.host_ip))


def _refuse_duplicates(ports: list[PortSpec]):
    fixed = [port for port in ports if port.host_port]
    for index, port in enumerate(fixed):
        for other in fixed[index + 1:]:
            if _overlap(port, other):
                raise InvalidArgument(
                    f"host port {describe_host(port)}/{port.proto} is published twice")


def describe_host(port: PortSpec) -> str:
    return f"{port.host_ip or '0.0.0.0'}:{port.host_port}"


def _socket_type(proto: str) -> int:
    return socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM


def _bind_probe(port: PortSpec):
    """Bind the host port to see that nothing on the host holds it."""
    probe = socket.socket(socket.AF_INET, _socket_type(port.proto))
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((port.host_ip or "0.0.0.0", port.host_port))
    except OSError as error:
        if error.errno == 99:  # EADDRNOTAVAIL
            raise InvalidArgument(
                f"cannot publish on {port.host_ip}: not an address of this host") from None
        raise Conflict(f"Bind for {describe_host(port)} failed: port is already in use "
                       f"on the host") from None
    finally:
        probe.close()


def _free_port(port: PortSpec, taken: list[PortSpec]) -> int:
    """A host port the kernel reports free that no container publishes either."""
    for _ in range(64):
        probe = socket.socket(socket.AF_INET, _socket_type(port.proto))
        try:
            probe.bind((port.host_ip or "0.0.0.0", 0))
            number = probe.getsockname()[1]
        finally:
            probe.close()
        candidate = port._replace(host_port=number)
        if not any(_overlap(candidate, other) for other in taken):
            return number
    raise Conflict("no free host port left to publish on")


def choose_host_ports(requested: list[PortSpec], taken: list[PortSpec]) -> list[PortSpec]:
    """Give every requested port a host port, refusing one that the host or another
    container already holds. `taken` lists the ports Moorage's containers publish now; the
    caller holds the machine-wide lock until its rules are in place."""
    chosen = []
    for port in requested:
        if port.host_port:
            for other in taken + chosen:
                if _overlap(port, other):
                    raise Conflict(f"Bind for {describe_host(port)} failed: port is already "
                                   f"allocated")
            _bind_probe(port)
        else:
            port = port._replace(host_port=_free_port(port, taken + chosen))
        chosen.append(port)
    return chosen


def docker_ports(published: list[PortSpec], exposed: list[str]) -> dict:
    """NetworkSettings.Ports: {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}],
    "443/tcp": None} (exposed but not published)."""
    ports = {}
    for key in exposed or ():
        number, _, proto = key.partition("/")
        ports.setdefault(f"{number}/{proto or 'tcp'}", None)
    for port in published:
        bindings = ports.get(port.key) or []
        bindings.append({"HostIp": port.host_ip or "0.0.0.0", "HostPort": str(port.host_port)})
        ports[port.key] = bindings
    return ports


def describe_ports(ports: dict) -> str:
    """The PORTS column of `ps`: "0.0.0.0:8080->80/tcp, 443/tcp"."""
    shown = []
    for key, bindings in sorted(ports.items(), key=lambda item: port_sort_key(item[0])):
        if not bindings:
            shown.append(key)
        for binding in bindings or ():
            shown.append(f"{binding['HostIp']}:{binding['HostPort']}->{key}")
    return ", ".join(shown)


def port_sort_key(key: str):
    """Docker's order for "80/tcp" keys: by number, then protocol."""
    number, _, proto = key.partition("/")
    return (int(number) if number.isdigit() else 0, proto)
