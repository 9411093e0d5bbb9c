"""Netfilter rules through the `iptables` commands (whichever backend the host uses).

Each engine root has four chains of its own, named after its hash `<h>`, jumped to from the
built-in ones:

    filter INPUT       -> MOOR-<h>-IN     containers may not open connections to the host
    filter FORWARD     -> MOOR-<h>-FWD    isolation between networks, outbound traffic
    nat PREROUTING, OUTPUT (to a local address) -> MOOR-<h>-DNAT   published ports
    nat POSTROUTING    -> MOOR-<h>-POST   masquerade

Every rule carries a comment saying whose it is — `moorage:<h>` (the jumps),
`moorage:<h>:net:<network id 12>`, `moorage:<h>:ctr:<container id>` — so that clean-up deletes
exactly its own rules by reading them back (`iptables-save`), even after a crash.

Published ports are plain DNAT, no proxy process: the OUTPUT jump catches connections the host
makes to its own addresses, 127.0.0.1 included; `route_localnet` on the bridge lets such a
packet leave with its loopback source, and a MASQUERADE rule gives it the bridge's address.

Loopback is reached only where it was asked for: a port published without an address gets
one rule for the host's addresses outside 127.0.0.0/8 and, when loopback is wanted (Docker's
behaviour, `publish_loopback`), one for 127.0.0.1 alone; a port published on an address gets a
rule for that address only. A host-local client of any other loopback port never reaches a
container. The PREROUTING jump skips 127.0.0.0/8: loopback addresses belong to the host's own
clients, and a packet a container aims at 127.0.0.1 through its gateway (route_localnet is on
for the bridge) must not be taken to a port published on loopback.
"""

import re
import shutil
import subprocess

from runtime.errors import MoorError
from runtime.network.ports import PortSpec
from runtime.network.store import Network

TABLES = ("filter", "nat")
_COMMENT = re.compile(r'--comment "?([^" ]+)"?')
LOOPBACK = "127.0.0.0/8"
_JUMPS = {
    # (table, built-in chain, match before the jump, chain suffix)
    ("filter", "INPUT", "", "IN"),
    ("filter", "FORWARD", "", "FWD"),
    ("nat", "PREROUTING", f"! -d {LOOPBACK} -m addrtype --dst-type LOCAL ", "DNAT"),
    ("nat", "OUTPUT", "-m addrtype --dst-type LOCAL ", "DNAT"),
    ("nat", "POSTROUTING", "", "POST"),
}


def _command(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if not found:
        raise MoorError(f"{name} not found: networking needs the iptables package")
    return found


def save() -> dict[str, list[str]]:
    """The current rules, table by table, as `iptables-save` prints them."""
    result = subprocess.run([_command("iptables-save")], capture_output=True, text=True)
    if result.returncode != 0:
        raise MoorError(f"iptables-save failed: {result.stderr.strip()}")
    tables, current = {}, None
    for line in result.stdout.splitlines():
        if line.startswith("*"):
            current = tables.setdefault(line[1:], [])
        elif current is not None and line and line[0] in ":-":
            current.append(line)
    return tables


def restore(lines: dict[str, list[str]]):
    """Apply rule changes atomically per table, keeping everything else (`--noflush`)."""
    text = "".join(f"*{table}\n" + "".join(f"{line}\n" for line in rules) + "COMMIT\n"
                   for table, rules in lines.items() if rules)
    if not text:
        return
    result = subprocess.run([_command("iptables-restore"), "-w", "--noflush"], input=text,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise MoorError(f"iptables-restore failed: {result.stderr.strip().splitlines()[-1:]}")


def comment_of(line: str) -> str | None:
    match = _COMMENT.search(line)
    return match.group(1) if match else None


def deletion(line: str) -> str:
    """The restore line that deletes a rule printed by iptables-save."""
    return "-D" + line[2:]


class Firewall:
    """The rules of one engine root."""

    def __init__(self, root_hash: str):
        self.root_hash = root_hash
        self.tag = f"moorage:{root_hash}"

    def chain(self, suffix: str) -> str:
        return f"MOOR-{self.root_hash}-{suffix}"

    def network_tag(self, network_id: str) -> str:
        return f"{self.tag}:net:{network_id[:12]}"

    def container_tag(self, container_id: str) -> str:
        return f"{self.tag}:ctr:{container_id}"

    def _ours(self, comment: str | None) -> bool:
        return bool(comment) and (comment == self.tag or comment.startswith(self.tag + ":"))

    # the chains and jumps -------------------------------------------------------------------

    def _base(self, saved: dict[str, list[str]]) -> dict[str, list[str]]:
        """Lines creating whichever of this root's chains and jumps are missing."""
        lines = {table: [] for table in TABLES}
        for table in TABLES:
            rules = saved.get(table, [])
            for suffix in sorted({suffix for t, _b, _m, suffix in _JUMPS if t == table}):
                if not any(rule.startswith(f":{self.chain(suffix)} ") for rule in rules):
                    lines[table].append(f":{self.chain(suffix)} - [0:0]")
        for table, builtin, match, suffix in sorted(_JUMPS):
            target = f"-j {self.chain(suffix)}"
            jumps = [rule for rule in saved.get(table, [])
                     if rule.startswith(f"-A {builtin} ") and rule.endswith(target)]
            current = [rule for rule in jumps if rule.startswith(f"-A {builtin} {match}")]
            # A jump of an older release (without today's match) is replaced.
            lines[table] += [deletion(rule) for rule in jumps if rule not in current]
            if not current:
                lines[table].append(f"-I {builtin} 1 {match}-m comment --comment {self.tag} "
                                    f"{target}")
        return lines

    # networks ------------------------------------------------------------------------------

    def _network_rules(self, network: Network) -> dict[str, list[str]]:
        bridge, subnet = network.bridge, network.subnet
        tag = f"-m comment --comment {self.network_tag(network.id)}"
        forward, inbound, post = self.chain("FWD"), self.chain("IN"), self.chain("POST")
        filter_rules = []
        if network.internal:
            filter_rules += [
                f"-A {forward} -i {bridge} -o {bridge} {tag} -j ACCEPT",
                f"-A {forward} -i {bridge} {tag} -j DROP",
                f"-A {forward} -o {bridge} {tag} -j DROP",
            ]
        else:
            filter_rules += [
                # replies, and connections to published ports (DNAT'd by us)
                f"-A {forward} -o {bridge} -m conntrack --ctstate RELATED,ESTABLISHED,DNAT "
                f"{tag} -j ACCEPT",
                f"-A {forward} -i {bridge} -o {bridge} {tag} -j ACCEPT",
                # nothing else enters the network: not other networks, not the LAN
                f"-A {forward} -o {bridge} {tag} -j DROP",
            ]
            if not network.host_access:
                # link-local, e.g. a cloud's metadata service at 169.254.169.254
                filter_rules.append(f"-A {forward} -i {bridge} -d 169.254.0.0/16 {tag} -j DROP")
            # outbound, except into another Moorage network
            filter_rules.append(f"-A {forward} -i {bridge} ! -o moor+ {tag} -j ACCEPT")
        # The host's services: loopback-bound ones never (route_localnet is on for the
        # bridge, so a container could aim packets at 127.0.0.1 or forge a loopback source),
        # the others only on networks made with host access.
        filter_rules += [
            f"-A {inbound} -i {bridge} -s 127.0.0.0/8 {tag} -j DROP",
            f"-A {inbound} -i {bridge} -d 127.0.0.0/8 -m conntrack ! --ctstate "
            f"RELATED,ESTABLISHED,DNAT {tag} -j DROP",
        ]
        if not network.host_access:
            filter_rules += [
                f"-A {inbound} -i {bridge} -m conntrack --ctstate RELATED,ESTABLISHED {tag} "
                f"-j ACCEPT",
                f"-A {inbound} -i {bridge} {tag} -j REJECT --reject-with icmp-port-unreachable",
            ]
        nat_rules = [
            # the host's own connections to published ports, from 127.0.0.1 too
            f"-A {post} -o {bridge} -m addrtype --src-type LOCAL {tag} -j MASQUERADE",
            # hairpin: a container reaching a published port of its own network
            f"-A {post} -s {subnet} -o {bridge} -m conntrack --ctstate DNAT {tag} -j MASQUERADE",
        ]
        if not network.internal:
            nat_rules.append(f"-A {post} -s {subnet} ! -o {bridge} {tag} -j MASQUERADE")
        return {"filter": filter_rules, "nat": nat_rules}

    def _deletions(self, saved: dict[str, list[str]], wanted) -> dict[str, list[str]]:
        return {table: [deletion(line) for line in saved.get(table, [])
                        if line.startswith("-A ") and wanted(comment_of(line))]
                for table in TABLES}

    def install_network(self, network: Network):
        """Make the root's chains if needed and (re)write the network's rules."""
        saved = save()
        lines = self._base(saved)
        tag = self.network_tag(network.id)
        for table, deletions in self._deletions(saved, lambda c: c == tag).items():
            lines[table] += deletions
        for table, rules in self._network_rules(network).items():
            lines[table] += rules
        restore(lines)

    def remove_network(self, network_id: str) -> list[str]:
        tag = self.network_tag(network_id)
        lines = self._deletions(save(), lambda comment: comment == tag)
        restore(lines)
        return [line for rules in lines.values() for line in rules]

    # published ports -----------------------------------------------------------------------

    def publish(self, container_id: str, address: str, ports: list[PortSpec],
                loopback: bool = True, saved: dict[str, list[str]] | None = None):
        """DNAT rules taking the host ports to the container at `address`. A port without a
        host address answers on every address of the host outside 127.0.0.0/8, and on
        127.0.0.1 only when `loopback`. With the current rules (`saved`), the root's chains
        and jumps are put right first (a jump of an older release is replaced)."""
        chain, tag = self.chain("DNAT"), self.container_tag(container_id)
        lines = self._base(saved) if saved is not None else {"nat": []}
        rules = lines["nat"]
        for port in ports:
            if port.host_ip:
                destinations = [f"-d {port.host_ip}/32"]
            else:
                destinations = [f"! -d {LOOPBACK}"] + (["-d 127.0.0.1/32"] if loopback else [])
            rules += [f"-A {chain} {destination} -p {port.proto} -m {port.proto} "
                      f"--dport {port.host_port} -m comment --comment {tag} "
                      f"-j DNAT --to-destination {address}:{port.container_port}"
                      for destination in destinations]
        restore(lines)

    def unpublish(self, container_id: str) -> list[str]:
        tag = self.container_tag(container_id)
        lines = self._deletions(save(), lambda comment: comment == tag)
        restore(lines)
        return lines["nat"]

    # clean-up ------------------------------------------------------------------------------

    def leftovers(self, live_containers: set[str], networks: set[str]) -> list[str]:
        """Delete the rules of containers not in `live_containers` and of networks (12-digit
        ID prefixes) not in `networks`; returns the deleted rules."""
        container_prefix, network_prefix = f"{self.tag}:ctr:", f"{self.tag}:net:"

        def stale(comment):
            if not comment:
                return False
            if comment.startswith(container_prefix):
                return comment[len(container_prefix):] not in live_containers
            if comment.startswith(network_prefix):
                return comment[len(network_prefix):] not in networks
            return False

        lines = self._deletions(save(), stale)
        restore(lines)
        return [line for rules in lines.values() for line in rules]

    def remove_all(self) -> list[str]:
        """Delete every rule, jump and chain of this root."""
        saved = save()
        lines = self._deletions(saved, self._ours)
        for table in TABLES:
            for line in saved.get(table, []):
                name = line[1:].split(" ", 1)[0]
                if line.startswith(":") and name.startswith(f"MOOR-{self.root_hash}-"):
                    lines[table] += [f"-F {name}", f"-X {name}"]
        restore(lines)
        return [line for rules in lines.values() for line in rules]


def published_ports(saved: dict[str, list[str]] | None = None) -> list[PortSpec]:
    """The host ports every Moorage root on this machine publishes now, read from the kernel
    (or from `saved`, what `save()` returned)."""
    found = []
    for line in (saved if saved is not None else save()).get("nat", []):
        if "-j DNAT" not in line or not (comment_of(line) or "").startswith("moorage:"):
            continue
        # "! -d 127.0.0.0/8" (every address but loopback) counts as every address
        host_ip = re.search(r"(?<!!) -d (\S+?)(?:/32)? ", line)
        proto = re.search(r" -p (\S+) ", line)
        port = re.search(r" --dport (\d+) ", line)
        if proto and port:
            found.append(PortSpec(0, proto.group(1), host_ip.group(1) if host_ip else "",
                                  int(port.group(1))))
    return found
