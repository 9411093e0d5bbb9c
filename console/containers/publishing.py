"""Where a run request may publish container ports on its host.

Superusers publish as `moor run -p` does: anywhere, and a port without an address also answers
on the host's 127.0.0.1 (Docker's behaviour). Everyone else publishes only where the console
allows, and never on the host's loopback unless it is listed:

- `MOORAGE_PUBLISH_ADDRESSES`: comma-separated IPv4 addresses and networks (`10.0.0.5`,
  `192.168.1.0/24`), and `*` for every address of the host outside 127.0.0.0/8 (the default).
  A port published without an address (or on 0.0.0.0) answers on every address of the host
  except loopback (the engine's `publish_loopback` is off), and is allowed only with `*`. A
  loopback address is allowed only when it is listed.
- `MOORAGE_PUBLISH_PORTS`: comma-separated host ports and ranges (`8080`, `8000-8999`);
  default 1024-65535. A port the host picks itself (`80`, `10.0.0.5::80`) comes from the
  host's ephemeral range, so it is allowed only when every port from 1024 up is.
"""
import functools
import ipaddress
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from console.core.engine_grammar import port_specs
from console.core.errors import Invalid

EVERY_ADDRESS = "*"
LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")
UNPRIVILEGED = range(1024, 65536)
PORTS_HELP = "Ports are [IP:]HOSTPORT:CONTAINERPORT[/tcp|udp], e.g. 8080:80."


@dataclass(frozen=True)
class PublishRules:
    every_address: bool                            # `*`: every address but loopback
    networks: tuple[ipaddress.IPv4Network, ...]    # listed addresses (as /32) and networks
    ports: tuple[range, ...]

    def describe_addresses(self) -> str:
        listed = [str(net.network_address) if net.prefixlen == 32 else str(net)
                  for net in self.networks]
        return ", ".join((["every address but loopback"] if self.every_address else []) + listed)

    def describe_ports(self) -> str:
        return ", ".join(f"{r.start}" if len(r) == 1 else f"{r.start}-{r.stop - 1}"
                         for r in self.ports)

    def allows_port(self, number: int) -> bool:
        return any(number in allowed for allowed in self.ports)

    def allows_picked_ports(self) -> bool:
        """Whether a port the host picks from its ephemeral range is sure to be allowed."""
        covered = sorted((r.start, r.stop) for r in self.ports)
        reach = UNPRIVILEGED.start
        for start, stop in covered:
            if start > reach:
                break
            reach = max(reach, stop)
        return reach >= UNPRIVILEGED.stop

    def refusal(self, port) -> str | None:
        """Why `port` (the engine's PortSpec) may not be published; None when it may."""
        if port.host_ip:
            address = ipaddress.IPv4Address(port.host_ip)
            listed = any(address in network for network in self.networks)
            if address in LOOPBACK and not listed:
                return (f"publishing on {address}, the host's loopback, is not allowed "
                        f"(allowed: {self.describe_addresses()})")
            if not listed and not (self.every_address and address not in LOOPBACK):
                return (f"publishing on {address} is not allowed (allowed: "
                        f"{self.describe_addresses()})")
        elif not self.every_address:
            return (f"give the address to publish on (allowed: {self.describe_addresses()}), "
                    f"e.g. {self.networks[0].network_address}:"
                    f"{port.host_port or ''}:{port.container_port}")
        if port.host_port and not self.allows_port(port.host_port):
            return (f"host port {port.host_port} is not allowed (allowed: "
                    f"{self.describe_ports()})")
        if not port.host_port and not self.allows_picked_ports():
            return f"give the host port (allowed: {self.describe_ports()})"
        return None


@functools.lru_cache(maxsize=8)
def parse_rules(addresses: str, ports: str) -> PublishRules:
    """The rules the two settings say; ImproperlyConfigured names what is wrong."""
    every, networks = False, []
    for item in (part.strip() for part in addresses.split(",")):
        if item == EVERY_ADDRESS:
            every = True
        elif item:
            try:
                networks.append(ipaddress.IPv4Network(item, strict=False))
            except ValueError:
                raise ImproperlyConfigured(
                    f"MOORAGE_PUBLISH_ADDRESSES: {item!r} is neither an IPv4 address, an IPv4 "
                    f"network nor *") from None
    if not every and not networks:
        raise ImproperlyConfigured("MOORAGE_PUBLISH_ADDRESSES allows no address: give "
                                   "addresses, networks or *")
    ranges = []
    for item in (part.strip() for part in ports.split(",")):
        if not item:
            continue
        match = re.fullmatch(r"(\d{1,5})(?:-(\d{1,5}))?", item)
        first, last = (int(match.group(1)), int(match.group(2) or match.group(1))) if match \
            else (0, 0)
        if not (1 <= first <= last <= 65535):
            raise ImproperlyConfigured(f"MOORAGE_PUBLISH_PORTS: {item!r} is not a port or a "
                                       f"range of ports (1-65535, e.g. 8000-8999)")
        ranges.append(range(first, last + 1))
    if not ranges:
        raise ImproperlyConfigured("MOORAGE_PUBLISH_PORTS allows no port: give ports or "
                                   "ranges, e.g. 1024-65535")
    return PublishRules(every, tuple(networks), tuple(ranges))


def rules() -> PublishRules:
    return parse_rules(settings.PUBLISH_ADDRESSES, settings.PUBLISH_PORTS)


def checked_ports(user, value) -> dict:
    """The engine options for the `ports` of a run request (a list of `-p` values, or one
    string of them separated by commas or spaces), checked with the engine's own grammar,
    then, for anyone but a superuser, against the rules above (Invalid, saying each port's
    problem)."""
    if value in (None, "", []):
        return {}
    if isinstance(value, str):
        value = [spec for spec in re.split(r"[\s,]+", value) if spec]
    if not isinstance(value, list) or not all(isinstance(spec, str) for spec in value):
        raise Invalid(PORTS_HELP)
    try:
        parsed = port_specs(value)
    except ValueError as error:
        raise Invalid(f"{str(error)[:200]}. {PORTS_HELP}") from None
    if user.is_superuser:
        return {"ports": value}
    allowed = rules()
    refused = [f"{spec}: {problem}." for spec, ports in parsed for problem in
               dict.fromkeys(filter(None, map(allowed.refusal, ports)))]
    if refused:
        raise Invalid(fields={"ports": refused})
    return {"ports": value, "publish_loopback": False}
