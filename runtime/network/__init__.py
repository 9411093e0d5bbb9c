"""The engine's network driver: Docker's networking model on a bridge, veth pairs, netfilter.

Modes: `bridge` (the root's default network), a user-defined network's name, `none` (a new
namespace with only `lo`), `host` (the host's namespace), `container:<id>` (another
container's namespace). Links, addresses, routes and namespaces are made through rtnetlink
(pyroute2's messages, `netlink.py`); isolation, masquerade and published ports are iptables
rules (`firewall.py`). State lives under `<root>/networks/` (`store.py`).

The lifecycle calls, in this order:
- `parse_ports(specs)` when a container is created, to refuse a bad `-p` early;
- `attach(paths, request)` when it starts, before the OCI runtime creates the container:
  the returned `netns` goes into the spec's network namespace `path` (no network namespace at
  all when `share_host`), and `<container_dir>/hosts` and `resolv.conf` are written for every
  mode, to be bind-mounted at /etc/hosts and /etc/resolv.conf;
- `detach(paths, container_id)` when it stops or exits: idempotent, safe after a crash;
- `network_settings(paths, container_id)` for `inspect` (it changes with connect/disconnect);
- `renamed(paths, container_id, name)` when a running container is renamed;
- `gc(paths, running_container_ids)` from `system gc` and when the engine starts.

Importing this package is cheap (a few standard modules: no dataclasses or typing, which cost
more than the rest of a container start's imports); pyroute2 is loaded by the functions that
touch the kernel.
"""

from runtime.network.attachment import (
    attach,
    connect,
    detach,
    disconnect,
    network_settings,
    renamed,
)
from runtime.network.cleanup import gc, teardown
from runtime.network.networks import (
    create_network,
    ensure_network,
    inspect_network,
    list_networks,
    remove_network,
)
from runtime.network.ports import PortSpec, describe_ports, parse_ports

# The mode of a container created without --network.
DEFAULT_MODE = "bridge"

__all__ = [
    "DEFAULT_MODE", "NetworkRequest", "NetworkAttachment", "PortSpec",
    "parse_ports", "describe_ports",
    "attach", "detach", "network_settings", "renamed", "gc", "teardown",
    "create_network", "ensure_network", "list_networks", "inspect_network", "remove_network",
    "connect", "disconnect",
]


class NetworkRequest:
    """What the lifecycle asks for when a container starts."""

    def __init__(self, container_id: str, name: str, hostname: str, mode: str,
                 ports: list[str] | None = None, publish_all: bool = False,
                 exposed: list[str] | None = None, container_dir: str = "",
                 peer_netns: str | None = None, publish_loopback: bool = True,
                 aliases: list[str] | None = None, address: str | None = None,
                 extra_hosts: list[str] | None = None, dns: list[str] | None = None,
                 dns_search: list[str] | None = None, dns_options: list[str] | None = None):
        self.container_id = container_id    # 64 hex
        self.name = name                    # container name (no leading slash)
        self.hostname = hostname
        self.mode = mode                    # "none" | "host" | "bridge" | "<user network>"
                                            # | "container:<id or name>"
        self.ports = list(ports or [])      # -p specs as typed: "8080:80", "80", ...
        self.publish_all = publish_all      # -P
        self.publish_loopback = publish_loopback  # ports without an address also on
                                            # 127.0.0.1 (Docker's way); False: only on the
                                            # host's addresses outside 127.0.0.0/8
        self.exposed = list(exposed or [])  # ExposedPorts keys, e.g. ["80/tcp"]
        self.container_dir = container_dir  # <root>/containers/<id>: hosts, resolv.conf go here
        self.peer_netns = peer_netns        # for container:<id>: the peer's /proc/<pid>/ns/net
        self.aliases = list(aliases or [])  # more names the others on a user network reach
                                            # it by (Docker's --network-alias, Compose's
                                            # service names and aliases)
        self.address = address              # --ip: the address on a user network
        self.extra_hosts = list(extra_hosts or [])  # --add-host, "NAME:ADDRESS" (or
                                            # NAME:host-gateway): lines of /etc/hosts
        self.dns = list(dns or [])          # --dns, --dns-search, --dns-option: what
        self.dns_search = list(dns_search or [])    # resolv.conf says instead of the
        self.dns_options = list(dns_options or [])  # host's


class NetworkAttachment:
    """What the lifecycle puts into the OCI spec and stores for `inspect`."""

    def __init__(self, netns: str | None, share_host: bool, settings: dict):
        self.netns = netns                  # a namespace path for the OCI runtime to join;
                                            # None with share_host False: the runtime makes a
                                            # new one (only lo, up)
        self.share_host = share_host        # --network host: no network namespace at all
        self.settings = settings            # Docker's NetworkSettings
