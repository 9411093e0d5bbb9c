"""Finding and removing network leftovers, by name: after a crash, a killed worker, or an
engine root that was deleted while its bridges were up."""

import os
import re
from collections import namedtuple

from runtime.network import endpoints, ipam, store
from runtime.network.attachment import netns_path, release
from runtime.paths import RUN_BASE, Paths

_VETH = re.compile(r"^mr(?:g|[1-9])([0-9a-f]{12})$")


def gc(paths: Paths, live_container_ids: set[str]) -> list[str]:
    """Remove every network resource of this root that belongs to no live (running)
    container or to no defined network, and the bridges and rules of engine roots that no
    longer exist; returns one description per thing removed."""
    from runtime.network import netns
    from runtime.network.firewall import Firewall
    from runtime.network.netlink import Netlink, link_master, link_name

    live = set(live_container_ids)
    removed = []
    store.ensure_dirs(paths)
    with store.state_lock(paths):
        for container_id, record in endpoints.all_records(paths).items():
            if container_id not in live:
                released = release(paths, container_id, record)
                removed += [f"{what} (container {container_id[:12]})" for what in released]
                removed.append(f"network record of container {container_id[:12]}")
        networks = store.all_networks(paths)
        for network in networks:
            for address, owner in ipam.release_unless(paths, network, live):
                removed.append(f"address {address} of network {network.name} "
                               f"(container {owner[:12]})")
        for name in os.listdir(paths.netns):
            if name not in live and netns.remove(netns_path(paths, name)):
                removed.append(f"netns {netns_path(paths, name)}")
        own_hash = store.root_hash(paths)
        defined = {network.id for network in networks}
        live_prefixes = {container_id[:12] for container_id in live}
        with Netlink() as netlink:
            links = netlink.links()
            bridges = moorage_bridges(links)
            for link in links:
                match = _VETH.match(link_name(link) or "")
                owner = bridges.get(link_master(link))
                if (match and owner and owner.root_hash == own_hash
                        and match.group(1) not in live_prefixes
                        and netlink.delete_link(link_name(link))):
                    removed.append(f"veth {link_name(link)}")
            for owner in bridges.values():
                if (owner.root_hash == own_hash and owner.network_id not in defined
                        and netlink.delete_link(owner.name)):
                    removed.append(f"bridge {owner.name} of a removed network")
            removed += sweep_deleted_roots(netlink, links)
        removed += [f"rule {line[3:]}" for line in Firewall(own_hash).leftovers(
            live, {network_id[:12] for network_id in defined})]
        removed += _remove_temporary_files(paths)
    return removed


OwnedBridge = namedtuple("OwnedBridge", "name root_hash network_id root")


def moorage_bridges(links) -> dict[int, OwnedBridge]:
    """{link index: owner} of every Moorage bridge on the host, read from their aliases."""
    from runtime.network.bridge import parse_alias
    from runtime.network.netlink import link_alias, link_name

    bridges = {}
    for link in links:
        owner = parse_alias(link_alias(link))
        if owner:
            bridges[link["index"]] = OwnedBridge(link_name(link), *owner)
    return bridges


def sweep_deleted_roots(netlink, links=None) -> list[str]:
    """Remove the bridges, namespaces and rules of engine roots whose directory is gone (a
    test root deleted with its bridges up, say), so they hold no subnet or rule forever."""
    from runtime.network import netns
    from runtime.network.firewall import Firewall

    removed = []
    vanished = {}
    for owner in moorage_bridges(links if links is not None else netlink.links()).values():
        if not os.path.isdir(owner.root):
            vanished.setdefault((owner.root_hash, owner.root), []).append(owner.name)
    for (root_hash, root), names in vanished.items():
        netns_dir = os.path.join(RUN_BASE, root_hash, "netns")
        for name in os.listdir(netns_dir) if os.path.isdir(netns_dir) else ():
            if netns.remove(os.path.join(netns_dir, name)):
                removed.append(f"netns {os.path.join(netns_dir, name)} of deleted root {root}")
        for name in names:
            if netlink.delete_link(name):
                removed.append(f"bridge {name} of deleted root {root}")
        removed += [f"rule {line[3:]} of deleted root {root}"
                    for line in Firewall(root_hash).remove_all() if line.startswith("-D ")]
    return removed


def _remove_temporary_files(paths: Paths) -> list[str]:
    """Half-written state files of a process killed while writing them."""
    removed = []
    directories = [store.endpoints_dir(paths)] + [network.directory(paths)
                                                  for network in store.all_networks(paths)]
    for directory in directories:
        for name in os.listdir(directory) if os.path.isdir(directory) else ():
            if name.startswith(".tmp-"):  # runtime.atomic's temporary names
                os.unlink(os.path.join(directory, name))
                removed.append(f"temporary file {os.path.join(directory, name)}")
    return removed


def teardown(paths: Paths) -> list[str]:
    """Remove every host resource of this root's networking — attachments, bridges, rules,
    chains — keeping the network definitions on disk (they come up again when used). For a
    root that is being deleted, and for tests."""
    from runtime.network.firewall import Firewall
    from runtime.network.netlink import Netlink

    removed = gc(paths, set())
    with store.state_lock(paths), Netlink() as netlink:
        for network in store.all_networks(paths):
            if netlink.delete_link(network.bridge):
                removed.append(f"bridge {network.bridge}")
        removed += [f"rule {line[3:]}" for line in Firewall(store.root_hash(paths)).remove_all()
                    if line.startswith("-D ")]
    return removed
