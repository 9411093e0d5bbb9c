"""A network's bridge device: brought up when a container first needs it, with its rules.

Order matters for crash safety: the firewall rules go in first and the bridge is set up last,
so an up bridge always has its isolation rules; `ensure_up` is a single netlink lookup when it
is already there.
"""

import ipaddress
import os

from runtime.errors import Conflict
from runtime.network import ipam, store
from runtime.network.attachment import MTU
from runtime.network.firewall import Firewall
from runtime.network.netlink import Netlink, link_is_up
from runtime.network.store import Network
from runtime.paths import Paths


def alias(paths: Paths, network: Network) -> str:
    """Written on the device, so `gc` of any root can tell whose a bridge is."""
    return f"moorage:{store.root_hash(paths)}:{network.id}:{paths.root}"


def parse_alias(text: str) -> tuple[str, str, str] | None:
    """(root hash, network id, root path) of a Moorage bridge's alias, else None."""
    parts = text.split(":", 3)
    if len(parts) == 4 and parts[0] == "moorage":
        return parts[1], parts[2], parts[3]
    return None


def host_subnets(netlink: Netlink, except_link: int | None = None
                 ) -> list[tuple[ipaddress.IPv4Network, int | None]]:
    """Subnets in use on the host: routes of the main table and the addresses of every link,
    with their link index."""
    used = [(network, index) for network, index in netlink.routes() if index != except_link]
    used += [(address.network, index) for address, index in netlink.addresses()
             if index != except_link]
    return used


def _describe_clash(netlink: Netlink, clash: tuple[ipaddress.IPv4Network, int | None]) -> str:
    network, index = clash
    names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in netlink.links()}
    return f"{network} on {names.get(index, 'the host')}"


def _sysctl(name: str, value: str):
    path = os.path.join("/proc/sys", name)
    with open(path) as file:
        if file.read().strip() == value:
            return
    with open(path, "w") as file:
        file.write(value)


def no_ipv6(device: str) -> None:
    """Turn IPv6 off on a host-side device of a bridge network. The rules that keep containers
    away from the host's own services are IPv4 rules; with IPv6 on, the bridge's link-local
    address would let a container reach any host service listening on `::`. (Nothing to do on
    a host without IPv6.)"""
    try:
        _sysctl(f"net/ipv6/conf/{device}/disable_ipv6", "1")
    except FileNotFoundError:
        pass


def _random_mac() -> str:
    return "02:" + ":".join(f"{byte:02x}" for byte in os.urandom(5))


def ensure_up(paths: Paths, netlink: Netlink, network: Network) -> int:
    """The bridge's link index, bringing the network up first if it is not. Caller holds the
    root's state lock. May move a subnet Moorage picked itself when it now clashes with the
    host and nothing is attached; refuses a configured one with the clash named."""
    link = netlink.link(network.bridge)
    if link is not None and link_is_up(link):
        return link["index"]
    with store.host_lock():
        from runtime.network.cleanup import sweep_deleted_roots
        sweep_deleted_roots(netlink)  # their subnets are free again
        link = netlink.link(network.bridge)
        index = link["index"] if link is not None else None
        used = host_subnets(netlink, except_link=index)
        subnet = ipaddress.IPv4Network(network.subnet)
        clashes = [entry for entry in used if entry[0].overlaps(subnet)]
        if clashes:
            if not network.subnet_chosen or ipam.members(paths, network):
                how = ("bip in <root>/networks/config.json" if network.default
                       else "recreate the network with --subnet")
                raise Conflict(
                    f"subnet {network.subnet} of network {network.name} clashes with "
                    f"{_describe_clash(netlink, clashes[0])}: configure another one ({how})")
            others = [ipaddress.IPv4Network(other.subnet) for other in store.all_networks(paths)
                      if other.id != network.id]
            moved = store.pick_subnet(store.address_pools(paths),
                                      [entry[0] for entry in used] + others)
            network.subnet, network.gateway = str(moved), str(moved.network_address + 1)
            network.save(paths)
            if index is not None:
                netlink.delete_link(network.bridge)
                index = None
        Firewall(store.root_hash(paths)).install_network(network)
        if index is None:
            index = netlink.create_bridge(network.bridge, _random_mac(), MTU)
            netlink.set_link(index, alias=alias(paths, network))
        if not any(address.ip == ipaddress.IPv4Address(network.gateway) and link_index == index
                   for address, link_index in netlink.addresses()):
            netlink.add_address(index, network.gateway, network.prefixlen)
        # The host's connections to 127.0.0.1:<published port> leave through the bridge with
        # their loopback source (then masqueraded); the INPUT rules keep the reverse closed.
        _sysctl(f"net/ipv4/conf/{network.bridge}/route_localnet", "1")
        no_ipv6(network.bridge)
        _sysctl("net/ipv4/ip_forward", "1")
        netlink.set_link(index, up=True)
        return index


def take_down(paths: Paths, netlink: Netlink, network: Network) -> list[str]:
    """Remove the bridge and the network's rules; returns what was removed."""
    removed = []
    if netlink.delete_link(network.bridge):
        removed.append(f"bridge {network.bridge}")
    removed += [f"rule {line[3:]}" for line in
                Firewall(store.root_hash(paths)).remove_network(network.id)]
    return removed
