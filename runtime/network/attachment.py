"""Attaching containers to networks: attach at start, detach at exit, connect and disconnect.

For a bridge network a container gets: a network namespace pinned at `<run>/netns/<id>`, an
address from the network's IPAM, a veth pair whose host end `mrg<id12>` (`mr<n><id12>` for a
further network n) is a port of the bridge and whose other end is `eth<n>` inside, a default
route through the first network's gateway, DNAT rules for its published ports, and its hosts
and resolv.conf files. Each step pushes its undo; a failure unwinds them all.
"""

import contextlib
import ipaddress
import os
import re

from runtime import events
from runtime.errors import Conflict, InvalidArgument, MoorError, NotFound
from runtime.network import endpoints, hostfiles, ipam, store
from runtime.network.ports import (
    PortSpec,
    choose_host_ports,
    docker_ports,
    exposed_ports,
    parse_port_specs,
)
from runtime.paths import Paths

MAX_NETWORKS = 10
MTU = 1500  # of bridges and veths alike
CONTAINER_ID = re.compile(r"^[0-9a-f]{64}$")


def host_interface(container_id: str, position: int) -> str:
    """The host end of a container's veth for its network number `position`."""
    return f"mrg{container_id[:12]}" if position == 0 else f"mr{position}{container_id[:12]}"


def mac_address(address: str) -> str:
    """Docker's classic MAC for an address: 02:42 then the four bytes of the IPv4 address,
    unique within a subnet and stable across restarts."""
    return "02:42:" + ":".join(f"{byte:02x}" for byte in ipaddress.IPv4Address(address).packed)


def check_container_id(container_id: str):
    if not CONTAINER_ID.match(container_id or ""):
        raise InvalidArgument(f"invalid container id {container_id!r}: expected 64 hex digits")


def netns_path(paths: Paths, container_id: str) -> str:
    return os.path.join(paths.netns, container_id)


# hosts files ---------------------------------------------------------------------------------

class _Neighbourhood:
    """Who is on which user network, read once for a round of hosts-file writes."""

    def __init__(self, paths: Paths, network_ids: set[str]):
        self.members = {network.id: ipam.members(paths, network)
                        for network in store.all_networks(paths) if not network.default}
        # Names only matter on user networks; a start on the default bridge reads no records.
        self.records = endpoints.all_records(paths) if network_ids & set(self.members) else {}

    def hosts_of(self, record: dict) -> str:
        """A container's hosts text: its own name on its first address, and on user
        networks the names of the other containers there (none on the default bridge, as in
        Docker)."""
        extra = [tuple(line) for line in record.get("extra_hosts") or ()]
        if record["mode"] == "none" or not record["endpoints"]:
            return hostfiles.hosts_text(None, [], extra)
        first = record["endpoints"][0]
        own = (first["address"], [record["hostname"], record["name"]] +
               list(first.get("aliases") or ()))
        peers = []
        for endpoint in record["endpoints"]:
            for address, member in self.members.get(endpoint["network_id"], {}).items():
                other = self.records.get(member)
                if member != record["id"] and other:
                    there = endpoints.endpoint(other, endpoint["network_id"]) or {}
                    peers.append((address, [other["name"], other["id"][:12]] +
                                  list(there.get("aliases") or ())))
        return hostfiles.hosts_text(own, peers, extra)

    def write_hosts(self, record: dict):
        text = self.hosts_of(record)
        _write_if_there(os.path.join(record["container_dir"], "hosts"), text)
        for follower in self.records.values():  # containers sharing this one's namespace
            if follower.get("peer") == record["id"]:
                _write_if_there(os.path.join(follower["container_dir"], "hosts"), text)


def _write_if_there(path: str, text: str) -> None:
    """A member being removed at the same moment has no directory left to write to."""
    try:
        hostfiles.write_in_place(path, text)
    except FileNotFoundError:
        pass


def _refresh_hosts(paths: Paths, network_ids: list[str], also: dict | None = None):
    """Rewrite the hosts files of every container on these user networks (and of `also`)."""
    involved = set(network_ids) | {endpoint["network_id"]
                                   for endpoint in (also or {}).get("endpoints", [])}
    neighbourhood = _Neighbourhood(paths, involved)
    members = {member for network_id in network_ids
               for member in neighbourhood.members.get(network_id, {}).values()}
    for member in members:
        if member in neighbourhood.records:
            neighbourhood.write_hosts(neighbourhood.records[member])
    if also is not None and also["id"] not in members:
        neighbourhood.write_hosts(also)


def renamed(paths: Paths, container_id: str, name: str) -> None:
    """A running container's new name: its record, and the hosts files of everyone on its
    user networks (names follow containers as they come, go and are renamed)."""
    record = endpoints.load(paths, container_id)
    if record is None or record.get("name") == name:
        return
    record["name"] = name
    endpoints.save(paths, record)
    if record["mode"] != "none" and not record.get("peer"):
        _refresh_hosts(paths, [endpoint["network_id"] for endpoint in record["endpoints"]],
                       also=record)


# settings -----------------------------------------------------------------------------------

def _empty_endpoint(network_id: str = "") -> dict:
    return {"IPAMConfig": None, "Links": None, "Aliases": None, "MacAddress": "",
            "DriverOpts": None, "NetworkID": network_id, "EndpointID": "", "Gateway": "",
            "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "", "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0, "DNSNames": None}


def settings_of(paths: Paths, record: dict) -> dict:
    """Docker's NetworkSettings for a container's record."""
    networks = {}
    mode = record["mode"]
    if mode in ("none", "host"):
        networks[mode] = _empty_endpoint(store.predefined_id(paths, mode))
    for endpoint in record["endpoints"]:
        entry = _empty_endpoint(endpoint["network_id"])
        entry.update({
            "MacAddress": endpoint["mac"], "EndpointID": endpoint["endpoint_id"],
            "Gateway": endpoint["gateway"], "IPAddress": endpoint["address"],
            "IPPrefixLen": endpoint["prefixlen"],
        })
        if endpoint.get("requested_address"):
            entry["IPAMConfig"] = {"IPv4Address": endpoint["requested_address"]}
        if endpoint["network"] != store.DEFAULT_NETWORK:
            aliases = list(endpoint.get("aliases") or ())
            entry["Aliases"] = aliases or None
            entry["DNSNames"] = [record["name"], record["id"][:12]] + aliases
        networks[endpoint["network"]] = entry
    first = record["endpoints"][0] if record["endpoints"] else {}
    published = [PortSpec.from_json(port) for port in record["ports"]]
    return {
        "Bridge": "", "SandboxID": record["id"] if record["netns"] else "",
        "SandboxKey": record["netns"] or "", "HairpinMode": False,
        "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0,
        "Ports": docker_ports(published, record["exposed"]) if first else {},
        "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None,
        "EndpointID": first.get("endpoint_id", ""), "Gateway": first.get("gateway", ""),
        "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
        "IPAddress": first.get("address", ""), "IPPrefixLen": first.get("prefixlen", 0),
        "IPv6Gateway": "", "MacAddress": first.get("mac", ""),
        "Networks": networks,
    }


def network_settings(paths: Paths, container_id: str) -> dict | None:
    """The current NetworkSettings of an attached container (None when it is not attached):
    what `inspect` should show after connect/disconnect changed them."""
    record = endpoints.load(paths, container_id)
    return settings_of(paths, record) if record else None


# attach -------------------------------------------------------------------------------------

def _plug(paths: Paths, netlink, inside, network, bridge_index: int, record: dict,
          position: int, undo: contextlib.ExitStack, wanted: str | None = None) -> dict:
    """Give the container an address (`wanted`, if given: `--ip`) and an interface
    `eth<position>` on `network`."""
    container_id = record["id"]
    address = ipam.allocate(paths, network, container_id, wanted)
    undo.callback(ipam.release, paths, network, container_id)
    host_name, inner_name = host_interface(container_id, position), f"eth{position}"
    netlink.delete_link(host_name)  # a left-over of a crash, if any
    fd = os.open(record["netns"], os.O_RDONLY | os.O_CLOEXEC)
    try:
        netlink.create_veth(host_name, bridge_index, MTU, inner_name, fd, mac_address(address))
    finally:
        os.close(fd)
    undo.callback(_delete_link, host_name)
    from runtime.network.bridge import no_ipv6
    no_ipv6(host_name)
    # hairpin: a container may reach its own published port through the host's address
    with open(f"/sys/class/net/{host_name}/brport/hairpin_mode", "w") as file:
        file.write("1")
    index = inside.link(inner_name)["index"]
    inside.add_address(index, address, network.prefixlen)
    inside.set_link(index, up=True)
    if position == 0:
        inside.add_default_route(network.gateway)
    return {"network_id": network.id, "network": network.name,
            "endpoint_id": os.urandom(32).hex(), "interface": inner_name,
            "host_interface": host_name, "address": address,
            "prefixlen": network.prefixlen, "gateway": network.gateway,
            "mac": mac_address(address), "requested_address": wanted or ""}


def _publish(paths: Paths, record: dict, requested: list[PortSpec]):
    """Choose host ports and install their DNAT rules, holding the machine-wide lock from the
    check to the rules so that two starts never take the same port."""
    from runtime.network.firewall import Firewall, published_ports, save

    with store.host_lock():
        saved = save()
        chosen = choose_host_ports(requested, published_ports(saved))
        record["ports"] = [port.to_json() for port in chosen]
        Firewall(store.root_hash(paths)).publish(record["id"], record["endpoints"][0]["address"],
                                                 chosen, loopback=record["publish_loopback"],
                                                 saved=saved)


def _delete_link(name: str):
    from runtime.network.netlink import Netlink
    with Netlink() as netlink:
        netlink.delete_link(name)


def _attach_bridge(paths: Paths, record: dict, network, requested: list[PortSpec],
                   undo: contextlib.ExitStack, wanted: str | None = None):
    from runtime.network import bridge, netns
    from runtime.network.netlink import Netlink

    with Netlink() as netlink:
        bridge_index = bridge.ensure_up(paths, netlink, network)
        undo.callback(netns.remove, record["netns"])
        with netns.create(record["netns"]) as inside:
            inside.set_link(inside.link("lo")["index"], up=True)
            record["endpoints"].append(_plug(paths, netlink, inside, network, bridge_index,
                                             record, 0, undo, wanted))
    if requested:
        _publish(paths, record, requested)
        undo.callback(_unpublish, paths, record["id"])


def _unpublish(paths: Paths, container_id: str) -> list[str]:
    from runtime.network.firewall import Firewall
    return Firewall(store.root_hash(paths)).unpublish(container_id)


def _mode(request) -> str:
    mode = (request.mode or "bridge").strip()
    return "bridge" if mode == "default" else mode


def attach(paths: Paths, request):
    """Attach a starting container to its network (see `runtime.network.NetworkRequest`)."""
    from runtime.network import NetworkAttachment

    check_container_id(request.container_id)
    mode = _mode(request)
    requested = parse_port_specs(request.ports)
    if request.publish_all:
        fixed = {port.key for port in requested}
        requested += [port for port in exposed_ports(request.exposed) if port.key not in fixed]
    if mode.startswith("container:") and requested:
        raise InvalidArgument("conflicting options: port publishing and the container type "
                              "network mode")
    store.ensure_dirs(paths)
    os.makedirs(request.container_dir, exist_ok=True)
    bridged = mode not in ("none", "host") and not mode.startswith("container:")
    # Written before anything exists on the host: with the namespace path and whether ports
    # will be published, it says everything a clean-up after a crash needs.
    record = {"id": request.container_id, "name": request.name.lstrip("/"),
              "hostname": request.hostname, "mode": mode,
              "container_dir": request.container_dir,
              "netns": netns_path(paths, request.container_id) if bridged else None,
              "publishing": bridged and bool(requested),
              "publish_loopback": bool(request.publish_loopback),
              "share_host": False, "peer": None,
              "endpoints": [], "ports": [], "exposed": list(request.exposed or ())}
    with store.state_lock(paths):
        stale = endpoints.load(paths, request.container_id)
        if stale:
            release(paths, request.container_id, stale)
        netns_for_runtime = None
        resolv_conf = hostfiles.resolv_conf_text(request.dns, request.dns_search,
                                                 request.dns_options)
        with contextlib.ExitStack() as undo:
            endpoints.save(paths, record)
            undo.callback(endpoints.remove, paths, request.container_id)
            if mode == "host":
                record["share_host"] = True
                if not (request.dns or request.dns_search or request.dns_options):
                    resolv_conf = None      # the host's own, copied
            elif mode.startswith("container:"):
                netns_for_runtime = _join_peer(paths, request, record)
            elif bridged:
                network = store.find(paths, mode)
                _check_user_network(network, request)
                try:
                    _attach_bridge(paths, record, network, requested, undo, request.address)
                except OSError as error:
                    raise MoorError(f"cannot attach {record['name']} to network "
                                    f"{network.name}: {error.strerror or error}") from None
                netns_for_runtime = record["netns"]
                record["endpoints"][0]["aliases"] = list(request.aliases)
            record["extra_hosts"] = hostfiles.resolve_extra_hosts(
                request.extra_hosts, lambda: _host_gateway(paths, record))
            endpoints.save(paths, record)
            _write_files(paths, record, request, resolv_conf)
            undo.pop_all()
    _connected(paths, record, "connect")
    return NetworkAttachment(netns=netns_for_runtime, share_host=record["share_host"],
                             settings=settings_of(paths, record))


def _check_user_network(network, request) -> None:
    """Aliases and a chosen address are for user-defined networks only, as in Docker, and an
    address for those whose subnet the user chose."""
    if request.aliases and network.default:
        raise InvalidArgument("network-scoped aliases are supported only for containers on "
                              "user-defined networks")
    if request.address and network.default:
        raise InvalidArgument("user specified IP address is supported on user defined "
                              "networks only")
    if request.address and network.subnet_chosen:
        raise InvalidArgument(f"user specified IP address is supported only when connecting "
                              f"to networks with user configured subnets (network "
                              f"{network.name} was given {network.subnet})")


def _host_gateway(paths: Paths, record: dict) -> str:
    """The address `--add-host NAME:host-gateway` names: the host as the container's first
    network reaches it, or the default bridge's gateway (Docker's choice) for the others."""
    if record["endpoints"]:
        return record["endpoints"][0]["gateway"]
    return store.default_network(paths).gateway


def _join_peer(paths: Paths, request, record: dict) -> str | None:
    """container:<id or name>: the peer's namespace (or the host's, if the peer shares it)."""
    reference = record["mode"].split(":", 1)[1]
    peer = endpoints.find(paths, reference)
    if peer is None and CONTAINER_ID.match(reference):
        record["peer"] = reference
    elif peer is not None:
        record["peer"] = peer["id"]
    if peer and peer["share_host"]:
        record["share_host"] = True
        return None
    # the namespace Moorage pinned outlives a reused PID; /proc/<pid>/ns/net for the others
    joined = (peer and peer["netns"]) or request.peer_netns
    if not joined or not record["peer"]:
        raise Conflict(f"cannot join the network namespace of container {reference}: it is "
                       f"not running")
    return joined


def _write_files(paths: Paths, record: dict, request, resolv_conf: str | None):
    hosts = os.path.join(request.container_dir, "hosts")
    resolv = os.path.join(request.container_dir, "resolv.conf")
    if record["mode"] == "host" or (record["peer"] and record["share_host"]):
        hostfiles.copy_in_place(hostfiles.HOST_HOSTS, hosts, hostfiles.LOCALHOST_LINES,
                                append=hostfiles.extra_hosts_text(record["extra_hosts"]))
        if resolv_conf:
            hostfiles.write_in_place(resolv, resolv_conf)
        else:
            hostfiles.copy_in_place(hostfiles.HOST_RESOLV_CONF, resolv)
    elif record["peer"]:
        peer_dir = paths.container(record["peer"])
        hostfiles.copy_in_place(os.path.join(peer_dir, "hosts"), hosts,
                                hostfiles.LOCALHOST_LINES)
        hostfiles.copy_in_place(os.path.join(peer_dir, "resolv.conf"), resolv,
                                resolv_conf or "")
    else:
        hostfiles.write_in_place(resolv, resolv_conf)
        _refresh_hosts(paths, [endpoint["network_id"] for endpoint in record["endpoints"]],
                       also=record)


# detach -------------------------------------------------------------------------------------

def release(paths: Paths, container_id: str, record: dict) -> list[str]:
    """Remove everything a container's record says it may hold; returns what was removed.
    Works on a half-made attachment too: every resource is found by the container's id."""
    removed = []
    if record["ports"] or record.get("publishing"):
        removed += [f"rule {line[3:]}" for line in _unpublish(paths, container_id)]
    if record["netns"]:
        from runtime.network import netns
        from runtime.network.netlink import Netlink

        with Netlink() as netlink:
            for position in range(MAX_NETWORKS):
                if netlink.delete_link(host_interface(container_id, position)):
                    removed.append(f"veth {host_interface(container_id, position)}")
        if netns.remove(record["netns"]):
            removed.append(f"netns {record['netns']}")
    networks = []
    for network in store.all_networks(paths):
        for address in ipam.release(paths, network, container_id):
            removed.append(f"address {address} of network {network.name}")
            networks.append(network.id)
    endpoints.remove(paths, container_id)
    _refresh_hosts(paths, networks)
    _connected(paths, record, "disconnect")
    return removed


def _connected(paths: Paths, record: dict, action: str) -> None:
    """The journal's `connect` (a container starts on its networks) or `disconnect` (it
    has left them) for each network of the record, as Docker's daemon logs them."""
    if record["endpoints"]:
        names = {network.id: network.name for network in store.all_networks(paths)}
        for endpoint in record["endpoints"]:
            network_id = endpoint["network_id"]
            events.network(paths, action, network_id, names.get(network_id, ""),
                           container_id=record["id"])
    elif record["mode"] in ("host", "none"):
        events.network(paths, action, store.predefined_id(paths, record["mode"]),
                       record["mode"], "host" if record["mode"] == "host" else "null",
                       container_id=record["id"])


def detach(paths: Paths, container_id: str) -> None:
    """Release a container's network resources. Idempotent, and safe after a crash."""
    check_container_id(container_id)
    if endpoints.load(paths, container_id) is None:
        return
    with store.state_lock(paths):
        record = endpoints.load(paths, container_id)
        if record:
            release(paths, container_id, record)


# connect / disconnect -----------------------------------------------------------------------

def _running_record(paths: Paths, container_id: str) -> dict:
    record = endpoints.load(paths, container_id)
    if record is None:
        raise Conflict(f"container {container_id[:12]} is not running: connect it to a network "
                       f"when it runs, or start it with --network")
    if not record["netns"]:
        raise Conflict(f"container {record['name']} uses network mode {record['mode']}: only "
                       f"containers on bridge networks can join or leave networks")
    return record


def connect(paths: Paths, network_name: str, request) -> dict:
    """Connect a running container to one more network; returns its new NetworkSettings."""
    from runtime.network import bridge, netns
    from runtime.network.netlink import Netlink

    check_container_id(request.container_id)
    with store.state_lock(paths):
        record = _running_record(paths, request.container_id)
        network = store.find(paths, network_name)
        if endpoints.endpoint(record, network.id):
            raise Conflict(f"container {record['name']} is already connected to network "
                           f"{network.name}")
        if request.aliases and network.default:
            raise InvalidArgument("network-scoped aliases are supported only for containers "
                                  "on user-defined networks")
        used = {int(endpoint["interface"][3:]) for endpoint in record["endpoints"]}
        free = [position for position in range(MAX_NETWORKS) if position not in used]
        if not free:
            raise Conflict(f"container {record['name']} is on {MAX_NETWORKS} networks already")
        try:
            with contextlib.ExitStack() as undo:
                with Netlink() as netlink, netns.open_inside(record["netns"]) as inside:
                    bridge_index = bridge.ensure_up(paths, netlink, network)
                    endpoint = _plug(paths, netlink, inside, network, bridge_index, record,
                                     free[0], undo)
                endpoint["aliases"] = list(request.aliases)
                record["endpoints"].append(endpoint)
                endpoints.save(paths, record)
                _refresh_hosts(paths, [item["network_id"] for item in record["endpoints"]],
                               also=record)
                undo.pop_all()
        except OSError as error:
            raise MoorError(f"cannot connect {record['name']} to network {network.name}: "
                            f"{error.strerror or error}") from None
        events.network(paths, "connect", network.id, network.name,
                       container_id=request.container_id)
        return settings_of(paths, record)


def disconnect(paths: Paths, network_name: str, container_id: str) -> dict:
    """Disconnect a running container from a network; returns its new NetworkSettings. When
    its first network goes, the next one takes over the default route and published ports."""
    from runtime.network import netns
    from runtime.network.firewall import Firewall
    from runtime.network.netlink import Netlink

    check_container_id(container_id)
    with store.state_lock(paths):
        record = _running_record(paths, container_id)
        network = store.find(paths, network_name)
        endpoint = endpoints.endpoint(record, network.id)
        if endpoint is None:
            raise NotFound(f"container {record['name']} is not connected to network "
                           f"{network.name}")
        was_first = record["endpoints"][0] is endpoint
        with Netlink() as netlink:
            netlink.delete_link(endpoint["host_interface"])
        ipam.release(paths, network, container_id)
        record["endpoints"].remove(endpoint)
        if was_first and record["ports"]:
            _unpublish(paths, container_id)
        if was_first and record["endpoints"]:
            first = record["endpoints"][0]
            with netns.open_inside(record["netns"]) as inside:
                try:
                    inside.add_default_route(first["gateway"])
                except FileExistsError:
                    pass
            if record["ports"]:
                Firewall(store.root_hash(paths)).publish(
                    container_id, first["address"],
                    [PortSpec.from_json(port) for port in record["ports"]],
                    loopback=record.get("publish_loopback", True))
        elif was_first:
            record["ports"] = []
        endpoints.save(paths, record)
        _refresh_hosts(paths, [network.id] + [item["network_id"] for item in record["endpoints"]],
                       also=record)
        events.network(paths, "disconnect", network.id, network.name,
                       container_id=container_id)
        return settings_of(paths, record)
