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

from runtime.errors import Conflict
from runtime.atomic import read_json, write_json
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


def allocate(paths: Paths, network: Network, container_id: str) -> str:
    state = load(paths, network)
    subnet = ipaddress.IPv4Network(network.subnet)
    reserved = {subnet.network_address, subnet.broadcast_address,
                ipaddress.IPv4Address(network.gateway)}
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
