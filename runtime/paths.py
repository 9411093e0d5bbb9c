"""Where the engine keeps its state.

All durable state lives under one root directory: `$MOORAGE_ROOT`, or `/var/lib/moorage`.
Short-lived state that needs short paths (unix sockets, the OCI runtime's state) lives under
`/run/moorage/<12 hex digits of the root's hash>/`, so several roots can share a machine.
"""

import hashlib
import os

DEFAULT_ROOT = "/var/lib/moorage"
RUN_BASE = "/run/moorage"


class Paths:
    """The directory layout of one engine root. Creating it does not touch the disk;
    `ensure()` makes the directories."""

    def __init__(self, root: str | None = None):
        root = root or os.environ.get("MOORAGE_ROOT") or DEFAULT_ROOT
        self.root = os.path.abspath(root)
        digest = hashlib.sha256(self.root.encode()).hexdigest()[:12]
        self.run = os.path.join(RUN_BASE, digest)
        # The cgroup every container of this root lives under, per controller:
        # /sys/fs/cgroup/<controller>/<cgroup_parent>/<container id>.
        self.cgroup_parent = f"moorage-{digest}"

    # durable state
    @property
    def blobs(self) -> str:
        return os.path.join(self.root, "blobs", "sha256")

    @property
    def layers(self) -> str:
        return os.path.join(self.root, "layers")

    @property
    def links(self) -> str:
        return os.path.join(self.root, "l")

    @property
    def images(self) -> str:
        return os.path.join(self.root, "images")

    @property
    def repositories(self) -> str:
        return os.path.join(self.root, "repositories.json")

    @property
    def containers(self) -> str:
        return os.path.join(self.root, "containers")

    @property
    def networks(self) -> str:
        return os.path.join(self.root, "networks")

    @property
    def tmp(self) -> str:
        return os.path.join(self.root, "tmp")

    def container(self, container_id: str) -> str:
        return os.path.join(self.containers, container_id)

    def lock(self, name: str) -> str:
        return os.path.join(self.root, f"{name}.lock")

    # short-lived state
    @property
    def sockets(self) -> str:
        return os.path.join(self.run, "sock")

    def oci_state(self, runtime_name: str) -> str:
        return os.path.join(self.run, runtime_name)

    @property
    def netns(self) -> str:
        return os.path.join(self.run, "netns")

    def ensure(self) -> "Paths":
        """Create the layout (idempotent). The root is private to root: container file
        systems under it must not be reachable by other users of the host."""
        if not os.path.isdir(self.root):
            os.makedirs(self.root, mode=0o700, exist_ok=True)
        os.chmod(self.root, 0o700)
        for path in (self.blobs, self.layers, self.links, self.images, self.containers,
                     self.networks, self.tmp, self.sockets, self.netns):
            os.makedirs(path, mode=0o700, exist_ok=True)
        # Which root this run directory serves, so `system gc` of any root can tell when
        # the root is gone and its short-lived state is debris.
        marker = os.path.join(self.run, "root")
        if not os.path.exists(marker):
            with open(marker + ".tmp", "w") as f:
                f.write(self.root)
            os.rename(marker + ".tmp", marker)
        return self
