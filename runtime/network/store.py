"""Network state on disk, and the locks that guard it.

```
<root>/networks/
  config.json                  optional, written by the operator: {"bip": "172.30.0.1/16",
                               "default-address-pools": [{"base": "10.50.0.0/16", "size": 24}]}
                               (Docker's daemon.json names: the default bridge's gateway/prefix,
                               and where user networks' subnets come from)
  <network id>/network.json    one network's definition (`Network`)
  <network id>/ipam.json       its address allocations (`runtime.network.ipam`)
  endpoints/<container id>.json   what one container is attached to (`runtime.network.endpoints`)
<root>/network.lock            flock: every change to the files above
/run/moorage/network.lock      flock: machine-wide resources shared by every engine root —
                               host ports, subnets and bridge creation
```
"""

import hashlib
import ipaddress
import os
import re
import shutil
import time

from runtime.atomic import read_json, write_json
from runtime.errors import Conflict, InvalidArgument, NotFound
from runtime.locking import locked
from runtime.paths import DEFAULT_ROOT, RUN_BASE, Paths

DEFAULT_NETWORK = "bridge"
PREDEFINED = ("bridge", "host", "none")
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
# `team-<number>`: the network the console makes for one of its teams on first use (named by
# the team's number, which neither a rename nor another team's name changes). Only
# `ensure_network` makes these, so a user network can never take a team's name first.
TEAM_NETWORK_PATTERN = re.compile(r"^team-[0-9]+$")
# Docker's default pools: 172.17-31.0.0/16, then 192.168.0.0/16 cut into /20s.
DEFAULT_POOLS = ([(f"172.{second}.0.0/16", 16) for second in range(17, 32)]
                 + [("192.168.0.0/16", 20)])


def root_hash(paths: Paths) -> str:
    """12 hex digits naming this engine root in host-wide names (chains, bridges, comments)."""
    return os.path.basename(paths.run)


# locks ------------------------------------------------------------------------------------

def state_lock(paths: Paths):
    """The root's network lock. Taken before `host_lock` when both are needed."""
    os.makedirs(paths.root, mode=0o700, exist_ok=True)
    return locked(paths.lock("network"))


def host_lock():
    """The machine-wide lock for resources every engine root shares (ports, subnets)."""
    os.makedirs(RUN_BASE, mode=0o700, exist_ok=True)
    return locked(os.path.join(RUN_BASE, "network.lock"))


def ensure_dirs(paths: Paths):
    for path in (paths.networks, endpoints_dir(paths), paths.netns):
        os.makedirs(path, mode=0o700, exist_ok=True)


def endpoints_dir(paths: Paths) -> str:
    return os.path.join(paths.networks, "endpoints")


# network definitions -----------------------------------------------------------------------

class Network:
    """A bridge network. `subnet_chosen` marks a subnet Moorage picked itself (it may move to
    another free one if it clashes with the host while no container uses it); a configured
    subnet never moves."""

    def __init__(self, id: str, name: str, subnet: str, gateway: str, bridge: str,
                 internal: bool = False, host_access: bool = False, default: bool = False,
                 subnet_chosen: bool = True, created: str = "", labels: dict | None = None):
        self.id, self.name, self.bridge = id, name, bridge
        self.subnet, self.gateway, self.subnet_chosen = subnet, gateway, subnet_chosen
        self.internal, self.host_access, self.default = internal, host_access, default
        self.created, self.labels = created, dict(labels or {})

    @property
    def prefixlen(self) -> int:
        return ipaddress.IPv4Network(self.subnet).prefixlen

    def directory(self, paths: Paths) -> str:
        return os.path.join(paths.networks, self.id)

    def save(self, paths: Paths):
        os.makedirs(self.directory(paths), mode=0o700, exist_ok=True)
        write_json(os.path.join(self.directory(paths), "network.json"), dict(vars(self)))


def _load(paths: Paths, network_id: str) -> Network | None:
    data = read_json(os.path.join(paths.networks, network_id, "network.json"))
    return Network(**data) if data else None


def all_networks(paths: Paths) -> list[Network]:
    try:
        names = os.listdir(paths.networks)
    except FileNotFoundError:
        return []
    found = [_load(paths, name) for name in sorted(names) if len(name) == 64]
    return sorted((network for network in found if network),
                  key=lambda network: (not network.default, network.created, network.name))


def find(paths: Paths, name_or_id: str) -> Network:
    """A network by name, full ID or unique ID prefix (the default bridge is made on first
    use)."""
    if name_or_id == DEFAULT_NETWORK:
        return default_network(paths)
    networks = all_networks(paths)
    for network in networks:
        if network.name == name_or_id or network.id == name_or_id:
            return network
    matches = [network for network in networks if network.id.startswith(name_or_id)]
    if len(matches) == 1 and re.fullmatch(r"[0-9a-f]+", name_or_id):
        return matches[0]
    if len(matches) > 1:
        raise Conflict(f"network {name_or_id} is ambiguous ({len(matches)} matches)")
    raise NotFound(f"network {name_or_id} not found")


def predefined_id(paths: Paths, name: str) -> str:
    """Stable IDs for the `host` and `none` pseudo-networks of a root."""
    return hashlib.sha256(f"{paths.root}\0{name}".encode()).hexdigest()


def bridge_name(paths: Paths, network_id: str, default: bool) -> str:
    """Bridge device names (at most 15 characters), all starting with `moor` so firewall rules
    can name every Moorage bridge at once (`moor+`): `moor0` for the default root's default
    network, `moor-<root hash>` for another root's, `moor<network id>` for user networks."""
    if default:
        return "moor0" if paths.root == DEFAULT_ROOT else f"moor-{root_hash(paths)[:10]}"
    return f"moor{network_id[:11]}"


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{time.time_ns() % 10**9:09d}Z"


def _config(paths: Paths) -> dict:
    path = os.path.join(paths.networks, "config.json")
    try:
        data = read_json(path, {})
    except ValueError as error:
        raise InvalidArgument(f"{path} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise InvalidArgument(f"{path} must hold a JSON object")
    return data


def address_pools(paths: Paths) -> list[tuple[str, int]]:
    pools = _config(paths).get("default-address-pools")
    if not pools:
        return DEFAULT_POOLS
    try:
        return [(str(ipaddress.IPv4Network(pool["base"])), int(pool["size"])) for pool in pools]
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidArgument(f"bad default-address-pools in {paths.networks}/config.json: "
                              f"{error}") from None


def pick_subnet(pools: list[tuple[str, int]],
                used: list[ipaddress.IPv4Network]) -> ipaddress.IPv4Network:
    """The first subnet of the pools that overlaps nothing in `used`."""
    for base, size in pools:
        for candidate in ipaddress.IPv4Network(base).subnets(new_prefix=size):
            if not any(candidate.overlaps(other) for other in used):
                return candidate
    raise Conflict("no free subnet left in the address pools: remove unused networks, or "
                   "configure default-address-pools in <root>/networks/config.json")


def check_subnet(subnet: str, gateway: str | None) -> tuple[ipaddress.IPv4Network, str]:
    """Validate a subnet/gateway pair given by a user; the gateway defaults to the first
    address."""
    try:
        network = ipaddress.IPv4Network(subnet, strict=True)
    except ValueError as error:
        raise InvalidArgument(f"invalid subnet {subnet}: {error}") from None
    if network.prefixlen > 29 or network.prefixlen < 8:
        raise InvalidArgument(f"invalid subnet {subnet}: use a prefix between /8 and /29")
    if gateway:
        try:
            address = ipaddress.IPv4Address(gateway)
        except ValueError:
            raise InvalidArgument(f"invalid gateway {gateway}") from None
        if address not in network or address in (network.network_address,
                                                 network.broadcast_address):
            raise InvalidArgument(f"gateway {gateway} is not a host address of {subnet}")
        return network, str(address)
    return network, str(network.network_address + 1)


def default_network(paths: Paths) -> Network:
    """The root's `bridge` network, defined on first use: from `bip` in config.json, or a free
    subnet of the pools (the bridge device itself is made when a container first needs it)."""
    for network in all_networks(paths):
        if network.default:
            return network
    ensure_dirs(paths)
    bip = _config(paths).get("bip")
    network_id = new_id()
    if bip:
        try:
            interface = ipaddress.IPv4Interface(bip)
        except ValueError:
            raise InvalidArgument(f"invalid bip {bip} in {paths.networks}/config.json") from None
        subnet, gateway = check_subnet(str(interface.network), str(interface.ip))
        chosen = False
    else:
        subnet = pick_subnet(address_pools(paths), [ipaddress.IPv4Network(other.subnet)
                                                    for other in all_networks(paths)])
        gateway, chosen = str(subnet.network_address + 1), True
    network = Network(id=network_id, name=DEFAULT_NETWORK, subnet=str(subnet), gateway=gateway,
                      bridge=bridge_name(paths, network_id, default=True), default=True,
                      subnet_chosen=chosen, created=now_iso())
    network.save(paths)
    return network


def new_id() -> str:
    return os.urandom(32).hex()


def validate_name(name: str, managed: bool = False):
    """Refuse a name `create_network` may not use; `managed`: a team network's own name, made
    by `ensure_network`."""
    if not NAME_PATTERN.match(name or ""):
        raise InvalidArgument(f'invalid network name "{name}": use letters, digits, "_", "." '
                              f'and "-", starting with a letter or digit')
    if name in PREDEFINED:
        raise Conflict(f"{name} is a pre-defined network and cannot be created")
    if TEAM_NETWORK_PATTERN.match(name) and not managed:
        raise InvalidArgument(f"invalid network name \"{name}\": names team-<number> are "
                              f"reserved for the networks the console makes for its teams")


def delete_definition(paths: Paths, network: Network):
    shutil.rmtree(network.directory(paths), ignore_errors=True)
