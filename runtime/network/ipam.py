"""Address allocation for one network, kept in `<network dir>/ipam.json`:

    {"allocated": {"172.17.0.2": "<container id>", ...}, "last": "172.17.0.2"}

Callers hold the root's network lock (`store.state_lock`). Addresses are handed out in turn
after the last one given (so a released address is not reused at once, while other containers
may still hold it in their ARP caches), skipping the network, gateway and broadcast addresses;
an address is never given to two containers. Every entry names its container, so a crashed
start is cleaned up by releasing whatever that container holds.
"""

import ipaddress
import os

from runtime.atomic import read_json, write_json
from runtime.errors import Conflict, InvalidArgument
from runtime.network.store import Network
from runtime.paths import Paths


def _path(paths: Paths, network: Network) -> str:
    return os.path.join(network.directory(paths), "ipam.json")


def load(paths: Paths, network: Network) -> dict:
    state = read_json(_path(paths, network), None) or {}
    state.setdefault("allocated", {})
    state.setdefault("last", None)
    return state


def members(paths: Paths, network: Network) -> dict[str, str]:
    """{address: container id} of everything attached to the network."""
    return dict(load(paths, network)["allocated"])


def allocate(paths: Paths, network: Network, container_id: str,
             wanted: str | None = None) -> str:
    """The next free address, or `wanted` (`--ip`) when it is free in the network."""
    state = load(paths, network)
    subnet = ipaddress.IPv4Network(network.subnet)
    reserved = {subnet.network_address, subnet.broadcast_address,
                ipaddress.IPv4Address(network.gateway)}
    if wanted:
        return _reserve(paths, network, state, container_id, wanted, subnet, reserved)
    first, last = int(subnet.network_address) + 1, int(subnet.broadcast_address) - 1
    start = int(ipaddress.IPv4Address(state["last"])) + 1 if state["last"] else first
    if not first <= start <= last:
        start = first
    size = last - first + 1
    for step in range(size):
        candidate = ipaddress.IPv4Address(first + (start - first + step) % size)
        if candidate in reserved or str(candidate) in state["allocated"]:
            continue
        state["allocated"][str(candidate)] = container_id
        state["last"] = str(candidate)
        write_json(_path(paths, network), state)
        return str(candidate)
    raise Conflict(f"no free address left in network {network.name} ({network.subnet})")


def _reserve(paths, network, state, container_id, wanted, subnet, reserved) -> str:
    try:
        address = ipaddress.IPv4Address(wanted)
    except ValueError:
        raise InvalidArgument(f"invalid IPv4 address: {wanted!r}") from None
    if address not in subnet:
        raise InvalidArgument(f"Invalid address {wanted}: It does not belong to any of this "
                              f"network's subnets ({network.name}: {network.subnet})")
    if address in reserved:
        raise Conflict(f"Address already in use: {wanted} is the {network.name} network's "
                       f"{'gateway' if str(address) == network.gateway else 'own'} address")
    owner = state["allocated"].get(str(address))
    if owner and owner != container_id:
        raise Conflict(f"Address already in use: {wanted} in network {network.name} is "
                       f"container {owner[:12]}'s")
    state["allocated"][str(address)] = container_id
    write_json(_path(paths, network), state)
    return str(address)


def release(paths: Paths, network: Network, container_id: str) -> list[str]:
    """Free every address the container holds in the network; returns them."""
    state = load(paths, network)
    freed = [address for address, owner in state["allocated"].items() if owner == container_id]
    if freed:
        for address in freed:
            del state["allocated"][address]
        write_json(_path(paths, network), state)
    return freed


def release_unless(paths: Paths, network: Network, keep: set[str]) -> list[tuple[str, str]]:
    """Free the addresses of every container not in `keep`; returns (address, container)."""
    state = load(paths, network)
    freed = [(address, owner) for address, owner in state["allocated"].items()
             if owner not in keep]
    if freed:
        for address, _owner in freed:
            del state["allocated"][address]
        write_json(_path(paths, network), state)
    return freed
