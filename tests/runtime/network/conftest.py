"""Fixtures for the network driver's tests.

`sandbox(...)` makes a container stand-in: a real attachment by the engine (namespace, veth,
address, rules, hosts files) with busybox processes run inside its network namespace, and —
so that name lookups read the container's own /etc/hosts — inside a private mount namespace
where that file is bind-mounted over /etc/hosts, as the lifecycle does for real containers.

Traffic goes only to loopback and to these namespaces' addresses on the root's bridges.
"""

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess

import pytest

from runtime.housekeeping import release_host_state
from runtime.network import (
    NetworkRequest,
    attach,
    create_network,
    detach,
    endpoints,
    ipam,
    remove_network,
    store,
    teardown,
)
from runtime.paths import Paths
from tests.stack import wait_until

BUSYBOX = shutil.which("busybox") or "/bin/busybox"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("0.0.0.0", 0))
        return probe.getsockname()[1]


def spare_range() -> int:
    """A second octet `n` such that nothing on the host routes into 10.n.0.0/16, picked at
    random so that test sessions running side by side do not pick the same one."""
    import random
    routes = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True,
                            text=True).stdout
    used = {int(match) for match in re.findall(r"\b10\.(\d+)\.", routes)}
    return random.choice([octet for octet in range(100, 250) if octet not in used])


def http_get(host: str, port: int, timeout: float = 3.0) -> str:
    """The body of GET / — over a plain socket, so no proxy setting can send it elsewhere."""
    with socket.create_connection((host, port), timeout=timeout) as connection:
        connection.sendall(b"GET / HTTP/1.0\r\nHost: test\r\n\r\n")
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    return data.split(b"\r\n\r\n", 1)[-1].decode()


class Sandbox:
    """A container stand-in attached by the network driver."""

    made: dict[str, set[str]] = {}  # engine root -> ids of every sandbox made there

    def __init__(self, paths: Paths, mode: str = "bridge", name: str | None = None,
                 ports=(), publish_all: bool = False, exposed=(), peer_netns=None,
                 publish_loopback: bool = True):
        self.paths = paths
        self.id = secrets.token_hex(32)
        Sandbox.made.setdefault(paths.root, set()).add(self.id)
        self.name = name or f"c{self.id[:8]}"
        self.dir = paths.container(self.id)
        os.makedirs(self.dir, exist_ok=True)
        self.request = NetworkRequest(
            container_id=self.id, name=self.name, hostname=self.id[:12], mode=mode,
            ports=list(ports), publish_all=publish_all, exposed=list(exposed),
            container_dir=self.dir, peer_netns=peer_netns, publish_loopback=publish_loopback)
        self.attachment = None
        self.processes = []

    def attach(self) -> "Sandbox":
        self.attachment = attach(self.paths, self.request)
        return self

    @property
    def settings(self) -> dict:
        return self.attachment.settings

    @property
    def address(self) -> str:
        return self.settings["IPAddress"]

    @property
    def gateway(self) -> str:
        return self.settings["Gateway"]

    def file(self, name: str) -> str:
        with open(os.path.join(self.dir, name)) as file:
            return file.read()

    def argv(self, *command) -> list[str]:
        inner = ["nsenter", f"--net={self.attachment.netns}", BUSYBOX, *command]
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mount --bind "$0" /etc/hosts && exec "$@"', os.path.join(self.dir, "hosts"),
                *inner]

    def run(self, *command, timeout: float = 15) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(*command), capture_output=True, text=True,
                              timeout=timeout)

    def spawn(self, *command) -> subprocess.Popen:
        process = subprocess.Popen(self.argv(*command), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        self.processes.append(process)
        return process

    def serve_http(self, port: int = 80) -> None:
        """busybox httpd on `port` answering its container name, ready when this returns."""
        docroot = os.path.join(self.dir, "www")
        os.makedirs(docroot, exist_ok=True)
        with open(os.path.join(docroot, "index.html"), "w") as file:
            file.write(self.name + "\n")
        self.spawn("httpd", "-f", "-p", str(port), "-h", docroot)
        wait_until(lambda: self.fetch("127.0.0.1", port, timeout=1).returncode == 0,
                   timeout=5, interval=0.05, what=f"httpd in {self.name} to start")

    def fetch(self, host: str, port: int = 80, timeout: int = 2) -> subprocess.CompletedProcess:
        """wget from inside the container. (`timeout` wraps it: Debian's busybox 1.35 wget
        crashes with its own -T.)"""
        return self.run("timeout", "-s", "KILL", str(timeout), BUSYBOX, "wget", "-q", "-O", "-",
                        f"http://{host}:{port}/")

    def close(self):
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if self.attachment is not None:
            detach(self.paths, self.id)
        shutil.rmtree(self.dir, ignore_errors=True)


def leftovers(paths: Paths, container_ids=None) -> list[str]:
    """Network resources this root still holds for these containers (all when None)."""
    found = []
    root_hash = store.root_hash(paths)
    prefixes = None if container_ids is None else {cid[:12] for cid in container_ids}
    bridges = {network.bridge for network in store.all_networks(paths)}
    made_here = {cid[:12] for cid in Sandbox.made.get(paths.root, ())}
    for name in os.listdir("/sys/class/net"):
        match = re.match(r"^mr(?:g|[1-9])([0-9a-f]{12})$", name)
        if not match:
            continue
        master = os.path.join("/sys/class/net", name, "master")
        if (match.group(1) in (prefixes if prefixes is not None else made_here)
                or (prefixes is None and os.path.exists(master)
                    and os.path.basename(os.readlink(master)) in bridges)):
            found.append(f"veth {name}")
    saved = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    for line in saved.splitlines():
        match = re.search(rf"moorage:{root_hash}:ctr:([0-9a-f]{{64}})", line)
        if match and (container_ids is None or match.group(1) in container_ids):
            found.append(f"rule {line}")
    if os.path.isdir(paths.netns):
        found += [f"netns {name}" for name in os.listdir(paths.netns)
                  if container_ids is None or name in container_ids]
    for network in store.all_networks(paths):
        for address, owner in ipam.members(paths, network).items():
            if container_ids is None or owner in container_ids:
                found.append(f"address {address} of {network.name}")
    found += [f"record {cid}" for cid in endpoints.all_records(paths)
              if container_ids is None or cid in container_ids]
    return found


def host_rules(paths: Paths) -> list[str]:
    """Every iptables line naming this root."""
    saved = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    root_hash = store.root_hash(paths)
    return [line for line in saved.splitlines() if root_hash in line]


@pytest.fixture(scope="session")
def paths(tmp_path_factory):
    """One engine root for the session; torn down at the end, and checked to leave nothing."""
    root = Paths(str(tmp_path_factory.mktemp("network") / "root")).ensure()
    yield root
    teardown(root)
    assert leftovers(root) == []
    assert host_rules(root) == []
    release_host_state(root)


@pytest.fixture
def fresh_paths(tmp_path):
    """A root of its own, for a test that configures it."""
    root = Paths(str(tmp_path / "root")).ensure()
    yield root
    teardown(root)
    assert host_rules(root) == []
    release_host_state(root)


@pytest.fixture
def user_network(paths):
    """`user_network("name", **options)` → a network of the session root, removed after the
    test (after its sandboxes: `sandbox` depends on this fixture)."""
    made = []

    def make(name, **options):
        create_network(paths, name, **options)
        made.append(name)
        return name

    yield make
    for name in made:
        remove_network(paths, name)


@pytest.fixture
def sandbox(user_network):
    """`sandbox(paths, mode=..., ports=...)` → an attached Sandbox; all closed after the test,
    and checked to leave nothing behind."""
    made = []

    def make(paths: Paths, attached: bool = True, **options) -> Sandbox:
        box = Sandbox(paths, **options)
        made.append(box)
        return box.attach() if attached else box

    yield make
    for box in reversed(made):
        box.close()
    for box in made:
        assert leftovers(box.paths, {box.id}) == []
