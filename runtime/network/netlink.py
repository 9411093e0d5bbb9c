"""A small synchronous rtnetlink client built on pyroute2's message classes.

Why not `pyroute2.IPRoute`: importing the `pyroute2` package runs its `__init__`, which imports
every protocol the library speaks (conntrack, nftables, wireless, asyncio...) — about 150 ms,
more than a whole container start is allowed to cost. The engine needs only rtnetlink's link,
address and route messages, so it registers the `pyroute2` package without running its
`__init__` and imports just pyroute2's netlink core and its address and route messages (8 ms).
Anyone who later asks the package for a top-level name (`from pyroute2 import IPRoute`) gets
the complete package: the first such lookup runs the real `__init__` (see
`_load_pyroute2_package_lazily`).

The link message is declared here (`LinkMessage`) on pyroute2's `nlmsg`/`nla` classes, with the
attributes the engine uses: pyroute2's own `ifinfmsg` loads every link-kind plugin and its
configuration probes (multiprocessing, platform) at import, 7 ms more per container start.

A `Netlink` object is one NETLINK_ROUTE socket. A socket belongs to the network namespace it was
opened in, so `runtime.network.netns` opens one inside a container's namespace to configure it.
"""

import importlib.util
import ipaddress
import os
import socket
import struct
import sys


def _load_pyroute2_package_lazily():
    if "pyroute2" in sys.modules:
        return
    spec = importlib.util.find_spec("pyroute2")
    if spec is None:
        from runtime.errors import MoorError
        raise MoorError("pyroute2 is not installed: networking needs it "
                        "(pip install -r requirements.txt)")
    package = importlib.util.module_from_spec(spec)

    def complete_on_first_use(name):
        # Submodules and dunder lookups come from the import system while it loads
        # `pyroute2.x.y`: answer "not here" so that it imports the submodule itself.
        if name.startswith("__") or importlib.util.find_spec(f"pyroute2.{name}") is not None:
            raise AttributeError(name)
        del package.__getattr__
        spec.loader.exec_module(package)
        return getattr(package, name)

    package.__getattr__ = complete_on_first_use
    sys.modules["pyroute2"] = package


_load_pyroute2_package_lazily()

from pyroute2.netlink import (  # noqa: E402  (after the loader above, on purpose)
    NLM_F_ACK,
    NLM_F_CREATE,
    NLM_F_DUMP,
    NLM_F_EXCL,
    NLM_F_REQUEST,
    NLMSG_DONE,
    NLMSG_ERROR,
    nla,
    nlmsg,
)
from pyroute2.netlink.rtnl import (  # noqa: E402
    RTM_DELLINK,
    RTM_GETADDR,
    RTM_GETLINK,
    RTM_GETROUTE,
    RTM_NEWADDR,
    RTM_NEWLINK,
    RTM_NEWROUTE,
)
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg  # noqa: E402
from pyroute2.netlink.rtnl.rtmsg import rtmsg  # noqa: E402

IFF_UP = 0x1


class _LinkFields:
    """struct ifinfomsg and the IFLA_* attributes the engine reads or writes (numbered as in
    <linux/if_link.h>; others decode as unknown)."""

    prefix = "IFLA_"
    fields = (("family", "B"), ("__align", "x"), ("ifi_type", "H"), ("index", "i"),
              ("flags", "I"), ("change", "I"))
    nla_map = (
        (1, "IFLA_ADDRESS", "l2addr"),
        (3, "IFLA_IFNAME", "asciiz"),
        (4, "IFLA_MTU", "uint32"),
        (10, "IFLA_MASTER", "uint32"),
        (18, "IFLA_LINKINFO", "link_info"),
        (20, "IFLA_IFALIAS", "asciiz"),
        (28, "IFLA_NET_NS_FD", "uint32"),
    )

    class link_info(nla):
        prefix = "IFLA_INFO_"
        nla_map = ((1, "IFLA_INFO_KIND", "asciiz"), (2, "IFLA_INFO_DATA", "info_data"))

        @staticmethod
        def info_data(self, *argv, **kwarg):
            # only a veth's data is ever written; any other kind's is kept as bytes
            return self.veth_data if self.get_attr("IFLA_INFO_KIND") == "veth" else self.hex

        class veth_data(nla):
            nla_map = ((1, "VETH_INFO_PEER", "peer"),)

            @staticmethod
            def peer(self, *argv, **kwarg):
                return VethPeer


class LinkMessage(_LinkFields, nlmsg):
    """RTM_*LINK: one network interface."""


class VethPeer(_LinkFields, nla):
    """The other end of a veth pair being created, nested in its request."""

_HEADER = struct.Struct("=IHHII")
_MAIN_TABLE = 254
_UNIVERSE_SCOPE = 0
_STATIC_PROTO = 4
_UNICAST_ROUTE = 1


class Netlink:
    """One rtnetlink socket in the network namespace of the thread that opened it."""

    def __init__(self):
        self._socket = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        self._socket.bind((0, 0))
        self._sequence = 0

    def close(self):
        self._socket.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def request(self, message, kind: int, flags: int = 0, reply_class=None) -> list:
        """Send one request, wait for its acknowledgement; return the decoded replies of a
        dump or get. Raises OSError with the kernel's errno on a refusal."""
        self._sequence += 1
        message["header"]["type"] = kind
        message["header"]["flags"] = flags | NLM_F_REQUEST | NLM_F_ACK
        message["header"]["sequence_number"] = self._sequence
        message.encode()
        self._socket.send(message.data)
        replies = []
        while True:
            data = self._socket.recv(1 << 16)
            offset = 0
            while offset + _HEADER.size <= len(data):
                length, reply_kind, _flags, sequence, _pid = _HEADER.unpack_from(data, offset)
                if length < _HEADER.size:
                    break
                if sequence == self._sequence:
                    if reply_kind == NLMSG_ERROR:
                        (code,) = struct.unpack_from("=i", data, offset + _HEADER.size)
                        if code:
                            raise OSError(-code, os.strerror(-code))
                        return replies
                    if reply_kind == NLMSG_DONE:
                        return replies
                    if reply_class is not None:
                        reply = reply_class(data[offset:offset + length])
                        reply.decode()
                        replies.append(reply)
                offset += (length + 3) & ~3

    # links ------------------------------------------------------------------------------

    def links(self) -> list:
        return self.request(LinkMessage(), RTM_GETLINK, NLM_F_DUMP, LinkMessage)

    def link(self, name: str):
        """The link called `name`, or None."""
        message = LinkMessage()
        message["attrs"] = [("IFLA_IFNAME", name)]
        try:
            found = self.request(message, RTM_GETLINK, 0, LinkMessage)
        except OSError as error:
            if error.errno in (19, 2):  # ENODEV, ENOENT
                return None
            raise
        return found[0] if found else None

    def create_bridge(self, name: str, mac: str, mtu: int) -> int:
        message = LinkMessage()
        message["attrs"] = [
            ("IFLA_IFNAME", name),
            ("IFLA_ADDRESS", mac),
            ("IFLA_MTU", mtu),
            ("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "bridge")]}),
        ]
        self.request(message, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL)
        return self.link(name)["index"]

    def create_veth(self, name: str, master: int, mtu: int, peer_name: str, peer_netns_fd: int,
                    peer_mac: str) -> int:
        """A veth pair in one request: `name` on this side, up, enslaved to bridge `master`;
        its peer `peer_name` created directly inside the namespace `peer_netns_fd`. Being one
        request, a crash never leaves a half-made pair."""
        peer = {"attrs": [("IFLA_IFNAME", peer_name), ("IFLA_NET_NS_FD", peer_netns_fd),
                          ("IFLA_ADDRESS", peer_mac), ("IFLA_MTU", mtu)]}
        message = LinkMessage()
        message["flags"] = IFF_UP
        message["change"] = IFF_UP
        message["attrs"] = [
            ("IFLA_IFNAME", name),
            ("IFLA_MASTER", master),
            ("IFLA_MTU", mtu),
            ("IFLA_LINKINFO", {"attrs": [
                ("IFLA_INFO_KIND", "veth"),
                ("IFLA_INFO_DATA", {"attrs": [("VETH_INFO_PEER", peer)]}),
            ]}),
        ]
        self.request(message, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL)
        return self.link(name)["index"]

    def set_link(self, index: int, up: bool | None = None, alias: str | None = None):
        message = LinkMessage()
        message["index"] = index
        if up is not None:
            message["flags"] = IFF_UP if up else 0
            message["change"] = IFF_UP
        if alias is not None:
            message["attrs"] = [("IFLA_IFALIAS", alias)]
        self.request(message, RTM_NEWLINK)

    def delete_link(self, name: str) -> bool:
        """Delete a link by name; False when there was none."""
        found = self.link(name)
        if found is None:
            return False
        message = LinkMessage()
        message["index"] = found["index"]
        try:
            self.request(message, RTM_DELLINK)
        except OSError as error:
            if error.errno == 19:  # ENODEV: gone meanwhile
                return False
            raise
        return True

    # addresses and routes -----------------------------------------------------------------

    def add_address(self, index: int, address: str, prefixlen: int):
        network = ipaddress.IPv4Network(f"{address}/{prefixlen}", strict=False)
        message = ifaddrmsg()
        message["family"] = socket.AF_INET
        message["prefixlen"] = prefixlen
        message["index"] = index
        message["attrs"] = [("IFA_LOCAL", address), ("IFA_ADDRESS", address),
                            ("IFA_BROADCAST", str(network.broadcast_address))]
        self.request(message, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL)

    def addresses(self) -> list[tuple[ipaddress.IPv4Interface, int]]:
        """Every IPv4 address of this namespace with its link index."""
        request = ifaddrmsg()
        request["family"] = socket.AF_INET
        found = []
        for reply in self.request(request, RTM_GETADDR, NLM_F_DUMP, ifaddrmsg):
            address = reply.get_attr("IFA_LOCAL") or reply.get_attr("IFA_ADDRESS")
            if address:
                found.append((ipaddress.IPv4Interface(f"{address}/{reply['prefixlen']}"),
                               reply["index"]))
        return found

    def add_default_route(self, gateway: str):
        message = rtmsg()
        message["family"] = socket.AF_INET
        message["table"] = _MAIN_TABLE
        message["proto"] = _STATIC_PROTO
        message["scope"] = _UNIVERSE_SCOPE
        message["type"] = _UNICAST_ROUTE
        message["attrs"] = [("RTA_GATEWAY", gateway)]
        self.request(message, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL)

    def routes(self) -> list[tuple[ipaddress.IPv4Network, int | None]]:
        """The IPv4 destinations of the main table with their output link (None for a route
        without one); the default route is left out."""
        request = rtmsg()
        request["family"] = socket.AF_INET
        found = []
        for reply in self.request(request, RTM_GETROUTE, NLM_F_DUMP, rtmsg):
            table = reply.get_attr("RTA_TABLE") or reply["table"]
            if table != _MAIN_TABLE or reply["dst_len"] == 0:
                continue
            destination = reply.get_attr("RTA_DST")
            if destination:
                found.append((ipaddress.IPv4Network(f"{destination}/{reply['dst_len']}",
                                                    strict=False),
                               reply.get_attr("RTA_OIF")))
        return found


def link_name(link) -> str:
    return link.get_attr("IFLA_IFNAME")


def link_alias(link) -> str:
    return link.get_attr("IFLA_IFALIAS") or ""


def link_master(link) -> int | None:
    return link.get_attr("IFLA_MASTER")


def link_is_up(link) -> bool:
    return bool(link["flags"] & IFF_UP)

