"""Managing networks: create, list, inspect, remove — in Docker's shapes."""

import ipaddress
import os
import time

from runtime import events
from runtime.errors import Conflict, InvalidArgument, MoorError
from runtime.network import endpoints, ipam, store
from runtime.network.store import Network
from runtime.paths import Paths

_DRIVERS = {"bridge": "bridge", "host": "host", "none": "null"}


def _docker_shape(paths: Paths, network: Network) -> dict:
    records = endpoints.all_records(paths)
    containers = {}
    for address, container_id in sorted(ipam.members(paths, network).items()):
        record = records.get(container_id) or {}
        endpoint = endpoints.endpoint(record, network.id) if record else None
        containers[container_id] = {
            "Name": record.get("name", ""),
            "EndpointID": endpoint["endpoint_id"] if endpoint else "",
            "MacAddress": endpoint["mac"] if endpoint else "",
            "IPv4Address": f"{address}/{network.prefixlen}",
            "IPv6Address": "",
        }
    options = {"com.docker.network.bridge.name": network.bridge}
    if network.default:
        options["com.docker.network.bridge.default_bridge"] = "true"
    if network.host_access:
        options["moorage.host_access"] = "true"
    return {
        "Name": network.name, "Id": network.id, "Created": network.created, "Scope": "local",
        "Driver": "bridge", "EnableIPv4": True, "EnableIPv6": False,
        "IPAM": {"Driver": "default", "Options": None,
                 "Config": [{"Subnet": network.subnet, "Gateway": network.gateway}]},
        "Internal": network.internal, "Attachable": False, "Ingress": False,
        "ConfigFrom": {"Network": ""}, "ConfigOnly": False,
        "Containers": containers, "Options": options, "Labels": dict(network.labels),
    }


def _predefined_shape(paths: Paths, name: str) -> dict:
    records = endpoints.all_records(paths)
    containers = {record["id"]: {"Name": record["name"], "EndpointID": "", "MacAddress": "",
                                 "IPv4Address": "", "IPv6Address": ""}
                  for record in records.values() if record["mode"] == name}
    return {
        "Name": name, "Id": store.predefined_id(paths, name), "Created": "", "Scope": "local",
        "Driver": _DRIVERS[name], "EnableIPv4": True, "EnableIPv6": False,
        "IPAM": {"Driver": "default", "Options": None, "Config": []},
        "Internal": False, "Attachable": False, "Ingress": False,
        "ConfigFrom": {"Network": ""}, "ConfigOnly": False,
        "Containers": containers, "Options": {}, "Labels": {},
    }


def create_network(paths: Paths, name: str, subnet: str | None = None,
                   gateway: str | None = None, internal: bool = False,
                   host_access: bool = False, labels: dict | None = None) -> dict:
    """A user-defined bridge network with its own bridge and subnet. `host_access` lets its
    containers open connections to the host's own services (off by default: the host runs the
    broker and the database)."""
    store.validate_name(name)
    if gateway and not subnet:
        raise MoorError("a gateway needs a --subnet")
    store.ensure_dirs(paths)
    with store.state_lock(paths):
        if any(network.name == name for network in store.all_networks(paths)):
            raise Conflict(f"network with name {name} already exists")
        network = _create(paths, name, subnet, gateway, internal, host_access, labels)
        events.network(paths, "create", network.id, network.name)
        return _docker_shape(paths, network)


def ensure_network(paths: Paths, name: str, labels: dict) -> dict:
    """A team's network (`team-<number>`, a name only this makes), created with `labels` on
    first use, or the one made before: the same call from two jobs at once makes one network.
    A network of that name without these labels (made before the name was reserved) is
    refused, never taken over."""
    store.validate_name(name, managed=True)
    if not store.TEAM_NETWORK_PATTERN.match(name):
        raise InvalidArgument(f"{name} is not a team network's name (team-<number>)")
    store.ensure_dirs(paths)
    with store.state_lock(paths):
        for network in store.all_networks(paths):
            if network.name == name:
                if any(network.labels.get(key) != value for key, value in labels.items()):
                    raise Conflict(f"network {name} exists on this host but was not made for "
                                   f"its team: remove or rename it")
                return _docker_shape(paths, network)
        network = _create(paths, name, None, None, False, False, labels)
        events.network(paths, "create", network.id, network.name)
        return _docker_shape(paths, network)


def _create(paths: Paths, name: str, subnet: str | None, gateway: str | None,
            internal: bool, host_access: bool, labels: dict | None) -> Network:
    """Make a network and bring up its bridge. Caller holds the root's state lock and has
    checked the name."""
    from runtime.network import bridge
    from runtime.network.netlink import Netlink

    others = [ipaddress.IPv4Network(network.subnet) for network in store.all_networks(paths)]
    with Netlink() as netlink:
        with store.host_lock():
            used = [entry[0] for entry in bridge.host_subnets(netlink)] + others
            if subnet:
                chosen, gateway = store.check_subnet(subnet, gateway)
                clash = next((other for other in used if other.overlaps(chosen)), None)
                if clash:
                    raise Conflict(f"subnet {chosen} overlaps {clash}, already in use on "
                                   f"this host")
            else:
                chosen = store.pick_subnet(store.address_pools(paths), used)
                gateway = str(chosen.network_address + 1)
        network_id = store.new_id()
        network = Network(id=network_id, name=name, subnet=str(chosen), gateway=gateway,
                          bridge=store.bridge_name(paths, network_id, default=False),
                          internal=internal, host_access=host_access,
                          subnet_chosen=not subnet, created=store.now_iso(),
                          labels=dict(labels or {}))
        network.save(paths)
        try:
            bridge.ensure_up(paths, netlink, network)
        except BaseException as error:
            bridge.take_down(paths, netlink, network)
            store.delete_definition(paths, network)
            if isinstance(error, OSError):
                raise MoorError(f"cannot create network {name}: "
                                f"{error.strerror or error}") from None
            raise
    return network


def list_networks(paths: Paths) -> list[dict]:
    """Every network of the root, the pre-defined ones included, sorted by name."""
    with store.state_lock(paths):
        store.default_network(paths)
        shapes = [_docker_shape(paths, network) for network in store.all_networks(paths)]
        shapes += [_predefined_shape(paths, name) for name in ("host", "none")]
    return sorted(shapes, key=lambda shape: shape["Name"])


def inspect_network(paths: Paths, name_or_id: str) -> dict:
    with store.state_lock(paths):
        for name in ("host", "none"):
            if name_or_id in (name, store.predefined_id(paths, name)):
                return _predefined_shape(paths, name)
        return _docker_shape(paths, store.find(paths, name_or_id))


def remove_network(paths: Paths, name_or_id: str) -> None:
    """Remove a user network with its bridge and rules; refused while containers are on it."""
    from runtime.network import bridge
    from runtime.network.netlink import Netlink

    if name_or_id in store.PREDEFINED:
        raise Conflict(f"{name_or_id} is a pre-defined network and cannot be removed")
    deadline = time.monotonic() + REMOVALS_WAIT
    while True:
        with store.state_lock(paths):
            network = store.find(paths, name_or_id)
            if network.default:
                raise Conflict(f"{network.name} is a pre-defined network and cannot be removed")
            attached = set(ipam.members(paths, network).values())
            if not attached:
                with Netlink() as netlink:
                    bridge.take_down(paths, netlink, network)
                store.delete_definition(paths, network)
                break
            if not all(_being_removed(paths, member) for member in attached) \
                    or time.monotonic() > deadline:
                records = endpoints.all_records(paths)
                names = sorted(records.get(member, {}).get("name") or member[:12]
                               for member in attached)
                raise Conflict(f"network {network.name} has active endpoints "
                               f"({', '.join(names)}): disconnect or stop them first")
        # Only containers whose removal is releasing them right now (`rm` answers once a
        # container is out of sight, and releases its network just after): as with Docker,
        # `rm -f c && network rm n` works.
        time.sleep(0.02)
    events.network(paths, "destroy", network.id, network.name)


REMOVALS_WAIT = 10.0    # seconds, at most, for removed containers to release a network


def _being_removed(paths: Paths, container_id: str) -> bool:
    return not os.path.exists(paths.container(container_id)) and \
        os.path.lexists(os.path.join(paths.tmp, f"removing-{container_id}"))
