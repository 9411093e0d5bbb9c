"""Where a pull made on someone else's behalf may connect, and what its failures may tell.

`moor pull` on the host connects wherever the reference says, as Docker does. A pull the
console makes for a user runs as root on the host's network, so without a limit it would
speak HTTP to the host's own services (Redis, the console, anything on loopback), to the cloud
metadata service on a link-local address and to the containers on the host's bridges, and its
error would tell an open HTTP port from Redis from a closed one. For such pulls the caller
hands the engine an `AddressPolicy`: every connection the pull makes (to the registry, to its
token server, to the blob storage a redirect names) resolves the name first and connects only
to an address the policy permits, checking again the address it actually connected to. The
engine knows nothing of users: who gets which policy is the caller's business.

A policy refuses, with `local` (the default), loopback, link-local, unspecified and multicast
addresses, every address of this host's interfaces and the subnets of Moorage's bridges
(`moor*`, where containers live); with `deny`, addresses, networks (CIDR) and host names (a
name is refused as written and at every address it resolves to). `allow` takes entries out of
both: `address[:port]`, `name[:port]` (the name's addresses) or a network, e.g. a registry the
host itself runs on `127.0.0.1:5000`.

Under a policy a refused address, one where nothing answers and one where something that is
not a registry answers all fail with one message (`unreachable`), so a pull cannot be used to
map what listens where: the client first asks `GET /v2/` and goes on only when a registry
answers it (client.py).
"""

import ipaddress
import re
import socket

from runtime.errors import InvalidArgument, MoorError

BRIDGE_PREFIX = "moor"
_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)*$")
_ALWAYS_LOCAL = [ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "169.254.0.0/16", "0.0.0.0/8", "224.0.0.0/4", "255.255.255.255/32",
    "::1/128", "::/128", "fe80::/10", "ff00::/8")]


class Refused(OSError):
    """A connection the policy does not permit (never attempted)."""


def _address(text: str):
    return ipaddress.ip_address(text.split("%", 1)[0])


def _plain(address):
    """An IPv4-mapped IPv6 address as the IPv4 address it is."""
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped if mapped is not None else address


def _split_port(text: str) -> tuple[str, int | None]:
    """`host`, `host:port`, `[v6]:port` or a bare IPv6 address -> (host, port or None)."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(text)
        return host, int(port)
    return text, None


class _Rule:
    """One `deny` or `allow` entry: a network, or a name (resolved when first used), with an
    optional port. A denied name is refused also as written; an allowed one only at its
    addresses, so that a name cannot be made to point somewhere else and be let through."""

    def __init__(self, text: str, kind: str, setting: str):
        item = text.strip().lower()
        self.kind = kind
        self.port, self.network, self.name, self._resolved = None, None, None, None
        try:
            if "/" in item:
                self.network = ipaddress.ip_network(item, strict=False)
                return
            host, self.port = _split_port(item)
            try:
                self.network = ipaddress.ip_network(host)
            except ValueError:
                host = host.rstrip(".")
                if not _NAME.match(host):
                    raise ValueError(item) from None
                self.name = host
        except ValueError:
            raise InvalidArgument(f"{setting}: {text.strip()!r} is not an address, a network "
                                  "(CIDR) or a host name, with an optional :port") from None

    def addresses(self) -> list:
        if self.network is not None:
            return [self.network]
        if self._resolved is None:
            try:
                infos = socket.getaddrinfo(self.name, None, type=socket.SOCK_STREAM)
            except OSError:
                infos = []
            self._resolved = [ipaddress.ip_network(_plain(_address(info[4][0])))
                              for info in infos]
        return self._resolved

    def covers(self, address, port: int, name: str = "") -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.kind == "deny" and self.name is not None and name == self.name:
            return True
        return any(address in network for network in self.addresses()
                   if network.version == address.version)


class AddressPolicy:
    """The addresses a pull may connect to (see the module's description)."""

    def __init__(self, *, local: bool = True, deny=(), allow=(), names=("deny", "allow")):
        """`names`: what to call the two lists in an error about one of their entries (the
        settings they came from)."""
        self.local = local
        self.deny = [_Rule(item, "deny", names[0]) for item in deny if item.strip()]
        self.allow = [_Rule(item, "allow", names[1]) for item in allow if item.strip()]
        self._host_networks = None

    def host_networks(self) -> list:
        """This host's own addresses, and the subnets of Moorage's bridges (read once)."""
        if self._host_networks is None:
            self._host_networks = _host_networks()
        return self._host_networks

    def permits(self, address, port: int, name: str = "") -> bool:
        address = _plain(address)
        if any(rule.covers(address, port, name) for rule in self.allow):
            return True
        if any(rule.covers(address, port, name) for rule in self.deny):
            return False
        if self.local and (any(address in network for network in _ALWAYS_LOCAL
                               if network.version == address.version)
                           or any(address in network for network in self.host_networks()
                                  if network.version == address.version)):
            return False
        return True

    def connect(self, destination: tuple[str, int], timeout: float) -> socket.socket:
        """A connected socket to `destination` (host, port) at an address the policy
        permits (socket.create_connection's signature); Refused when there is none."""
        host, port = destination
        name = host.lower().rstrip(".")
        failure = None
        for family, kind, proto, _, sockaddr in socket.getaddrinfo(host, port,
                                                                   type=socket.SOCK_STREAM):
            if not self.permits(_address(sockaddr[0]), port, name):
                failure = failure or Refused(f"{host}: not an address pulls may use")
                continue
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(timeout)
                sock.connect(sockaddr)
                peer = sock.getpeername()
                if not self.permits(_address(peer[0]), peer[1], name):
                    raise Refused(f"{host}: not an address pulls may use")
                return sock
            except OSError as error:
                sock.close()
                failure = error
        raise failure or Refused(f"{host}: no address")

    @staticmethod
    def unreachable(registry: str) -> str:
        """The one message of a pull that found no registry it may use at `registry`."""
        return (f"cannot pull from {registry}: no registry this host may pull from answers "
                "there (the host's own, loopback, link-local and denied addresses are not "
                "used)")


def _host_networks() -> list:
    """Every address of this network namespace's interfaces (as single-address networks),
    and the whole subnet of each Moorage bridge."""
    found = []
    try:
        from runtime.network.netlink import Netlink, link_name
        with Netlink() as netlink:
            names = {link["index"]: link_name(link) for link in netlink.links()}
            for interface, index in netlink.addresses():
                found.append(ipaddress.ip_network(interface.ip))
                if names.get(index, "").startswith(BRIDGE_PREFIX):
                    found.append(interface.network)
    except (ImportError, OSError, MoorError):      # no netlink here: the kernel's own list
        found.extend(ipaddress.ip_network(a) for a in _ipv4_from_proc())
    try:
        with open("/proc/net/if_inet6") as f:
            for line in f:
                digits = line.split()[0]
                found.append(ipaddress.ip_network(ipaddress.IPv6Address(int(digits, 16))))
    except OSError:
        pass
    return found


def _ipv4_from_proc() -> list[str]:
    """The local IPv4 addresses of /proc/net/fib_trie (`/32 host LOCAL` entries)."""
    addresses, last = [], None
    try:
        with open("/proc/net/fib_trie") as f:
            for line in f:
                words = line.split()
                if len(words) == 2 and words[0] == "|--":
                    last = words[1]
                elif "/32 host LOCAL" in line and last:
                    addresses.append(last)
    except OSError:
        pass
    return addresses
