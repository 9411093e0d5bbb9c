"""Machines for multi-host tests: network namespaces, each joined to this machine by a veth
pair on a /30 the test picks (in 10.213.0.0/16, skipping any prefix the machine already has),
so that what runs inside reaches the console's Redis and daphne only through that link
(`Stack(listen=[ns.outer ...])`). `Namespace.run` runs a command inside; `remove` takes the
namespace, its link and everything in its network stack (containers' bridges, iptables rules)
away. Nothing here leaves the machine: the namespaces have no route but their link."""
import ipaddress
import os
import secrets
import subprocess

POOL = ipaddress.ip_network("10.213.0.0/16")
MOUNTS_DIR = "/run/moorage-test-mounts"   # the namespaces' mount namespaces, bound to files


def ip(*args, check=True):
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def used_networks() -> list:
    found = []
    for line in ip("-o", "addr", "show").stdout.splitlines():
        parts = line.split()
        if "inet" in parts:
            found.append(ipaddress.ip_network(parts[parts.index("inet") + 1], strict=False))
    for line in ip("route", "show", "table", "all").stdout.splitlines():
        first = line.split()[0] if line.split() else ""
        try:
            found.append(ipaddress.ip_network(first, strict=False))
        except ValueError:
            continue
    return found


def free_link_network() -> ipaddress.IPv4Network:
    used = used_networks()
    for _ in range(200):
        candidate = ipaddress.ip_network(
            f"{POOL.network_address + secrets.randbelow(POOL.num_addresses // 4) * 4}/30")
        if not any(candidate.overlaps(network) for network in used if network.prefixlen > 0):
            return candidate
    raise RuntimeError(f"no free /30 in {POOL}")


class Namespace:
    """A network namespace and its link: `outer` is this machine's address on it, `inner`
    the namespace's."""

    def __init__(self):
        tag = secrets.token_hex(3)
        self.name = f"moorage-t{tag}"
        self.outer_link, self.inner_link = f"mrg{tag}o", f"mrg{tag}i"
        self.mounts = os.path.join(MOUNTS_DIR, self.name)
        network = free_link_network()
        self.outer, self.inner = (str(address) for address in list(network.hosts())[:2])
        ip("netns", "add", self.name)
        try:
            ip("link", "add", self.outer_link, "type", "veth", "peer", "name", self.inner_link)
            ip("link", "set", self.inner_link, "netns", self.name)
            ip("addr", "add", f"{self.outer}/30", "dev", self.outer_link)
            ip("link", "set", self.outer_link, "up")
            self.make_mount_namespace()
            self.run(["ip", "addr", "add", f"{self.inner}/30", "dev", self.inner_link])
            self.run(["ip", "link", "set", self.inner_link, "up"])
            self.run(["ip", "link", "set", "lo", "up"])
        except BaseException:
            self.remove()
            raise

    def argv(self, argv) -> list:
        """`argv` in the namespace: its network stack, and a mount namespace of its own (kept
        for the namespace's life, so that what the engine mounts there stays visible to the
        next command) in which /sys shows the namespace's network devices and the machine's
        cgroups (`ip netns exec` would hide the latter)."""
        return ["nsenter", f"--net=/run/netns/{self.name}", f"--mount={self.mounts}", *argv]

    def make_mount_namespace(self) -> None:
        os.makedirs(MOUNTS_DIR, exist_ok=True)
        open(self.mounts, "w").close()
        subprocess.run(["unshare", f"--mount={self.mounts}", "--propagation", "private",
                        "true"], check=True, capture_output=True)
        sysfs = f"/run/{self.name}-sys"
        script = (f"mkdir -p {sysfs} && mount -t sysfs sysfs {sysfs} && "
                  f"mount --bind {sysfs}/class/net /sys/class/net && "
                  f"mount --bind {sysfs}/devices/virtual/net /sys/devices/virtual/net")
        subprocess.run(self.argv(["sh", "-c", script]), check=True, capture_output=True)

    def run(self, argv, check=True, **kwargs):
        return subprocess.run(self.argv(argv), check=check, capture_output=True, text=True,
                              **kwargs)

    def remove(self):
        """The namespace (its end of the link with it, so the other end too)."""
        if os.path.exists(self.mounts):
            subprocess.run(["umount", "-l", self.mounts], check=False, capture_output=True)
            os.unlink(self.mounts)
        ip("netns", "del", self.name, check=False)
        for directory in (f"/run/{self.name}-sys", MOUNTS_DIR):
            try:
                os.rmdir(directory)
            except OSError:     # not made, or another namespace's still there
                pass
        ip("link", "del", self.outer_link, check=False)
