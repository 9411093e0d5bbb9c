"""The OCI bundle's config.json, with what Docker's defaults give a container.

Sources for every default: moby's daemon/pkg/oci/defaults.go and daemon/oci_linux.go, runc's
libcontainer/specconv, and the OCI runtime spec's config-linux.md.
"""

import os

from runtime.container import devices, init_process, seccomp, security_options, ulimits

OCI_VERSION = "1.0.2"

# Docker's default capability set: exactly these 14 (CapEff 00000000a80425fb for root).
DEFAULT_CAPABILITIES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]

ALL_CAPABILITIES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
]

MASKED_PATHS = [
    "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# The device cgroup: deny everything, then allow the usual nodes (moby defaults.go).
DEVICE_RULES = [
    {"allow": False, "access": "rwm"},
    {"allow": True, "type": "c", "access": "m"},
    {"allow": True, "type": "b", "access": "m"},
    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},   # null
    {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},   # zero
    {"allow": True, "type": "c", "major": 1, "minor": 7, "access": "rwm"},   # full
    {"allow": True, "type": "c", "major": 1, "minor": 8, "access": "rwm"},   # random
    {"allow": True, "type": "c", "major": 1, "minor": 9, "access": "rwm"},   # urandom
    {"allow": True, "type": "c", "major": 5, "minor": 0, "access": "rwm"},   # tty
    {"allow": True, "type": "c", "major": 5, "minor": 1, "access": "rwm"},   # console
    {"allow": True, "type": "c", "major": 5, "minor": 2, "access": "rwm"},   # ptmx
    {"allow": True, "type": "c", "major": 136, "access": "rwm"},             # pts
    {"allow": True, "type": "c", "major": 10, "minor": 200, "access": "rwm"},  # tun
]

def existing_masked_paths() -> list[str]:
    """Docker's masked paths, plus each CPU's thermal_throttle directory, as far as this kernel
    has them (masking a path that does not exist is an error for some runtimes)."""
    paths = [p for p in MASKED_PATHS if os.path.exists(p)]
    cpu_dir = "/sys/devices/system/cpu"
    try:
        for entry in sorted(os.listdir(cpu_dir)):
            throttle = os.path.join(cpu_dir, entry, "thermal_throttle")
            if entry.startswith("cpu") and os.path.isdir(throttle):
                paths.append(throttle)
    except OSError:
        pass
    return paths


def capabilities(host_config: dict) -> list[str]:
    if host_config.get("Privileged"):
        return list(ALL_CAPABILITIES)
    caps = list(DEFAULT_CAPABILITIES)
    adds = [normalize_capability(c) for c in host_config.get("CapAdd") or []]
    drops = [normalize_capability(c) for c in host_config.get("CapDrop") or []]
    if "ALL" in drops:
        caps = []
    caps = [c for c in caps if c not in drops]
    if "ALL" in adds:
        caps = list(ALL_CAPABILITIES)
    for cap in adds:
        if cap != "ALL" and cap not in caps:
            caps.append(cap)
    return caps


def normalize_capability(name: str) -> str:
    from runtime.errors import InvalidArgument
    upper = name.upper()
    if upper == "ALL":
        return "ALL"
    if not upper.startswith("CAP_"):
        upper = "CAP_" + upper
    if upper not in ALL_CAPABILITIES:
        raise InvalidArgument(f"unknown capability: {name!r}")
    return upper


class SpecRequest:
    """What one container's OCI spec is made from: its record (Config and HostConfig) and what
    the start resolved for it (root file system, user, environment, program, network
    namespace, cgroup parent and the limits of the container's group, if any)."""

    def __init__(self, container, rootfs: str, user, env: list[str], argv: list[str],
                 cwd: str, network_namespace: str | None, share_host_network: bool,
                 memory_swap_supported: bool, cgroup_parent: str,
                 seccomp_cache: str | None = None, group: dict | None = None):
        self.container = container
        self.rootfs = rootfs
        self.user = user
        self.env = env
        self.argv = argv
        self.cwd = cwd
        self.network_namespace = network_namespace
        self.share_host_network = share_host_network
        self.memory_swap_supported = memory_swap_supported
        self.cgroup_parent = cgroup_parent
        self.seccomp_cache = seccomp_cache
        self.group = group
        self.config = container.config["Config"]
        self.host = container.host_config
        self.privileged = bool(self.host.get("Privileged"))
        self.capabilities = capabilities(self.host)
        self.security = security_options.settings(self.host.get("SecurityOpt"))


def build(container, rootfs: str, user, env: list[str], argv: list[str], cwd: str,
          network_namespace: str | None, share_host_network: bool,
          memory_swap_supported: bool, cgroup_parent: str,
          seccomp_cache: str | None = None, group: dict | None = None) -> dict:
    """Return the OCI config for `container` (a runtime.container.state.Container).

    `seccomp_cache`: for crun, a directory where the seccomp profile is kept compiled; the
    bundle then also carries the compiled program (see seccomp_bpf). `group`: the limits of
    the group the container runs in (`cgroup_parent` is then the group's cgroup).

    The spec is made in named steps (`STEPS`), each filling its own part, in the manner of
    podman's pkg/specgen/generate."""
    request = SpecRequest(container, rootfs, user, env, argv, cwd, network_namespace,
                          share_host_network, memory_swap_supported, cgroup_parent,
                          seccomp_cache, group)
    spec = {"ociVersion": OCI_VERSION, "linux": {}}
    for step in STEPS:
        step(request, spec)
    return spec


def add_process(request: SpecRequest, spec: dict) -> None:
    """The program: terminal, user, argv (under the init with `--init`), environment,
    working directory, and the resource limits of `--ulimit`."""
    user = request.user
    process = {
        "terminal": bool(request.config.get("Tty")),
        "user": {"uid": user.uid, "gid": user.gid},
        "args": init_process.wrap(request.argv) if request.host.get("Init") else request.argv,
        "env": request.env,
        "cwd": request.cwd,
    }
    if user.additional_gids:
        process["user"]["additionalGids"] = user.additional_gids
    rlimits = ulimits.rlimits(request.host)
    if rlimits:
        process["rlimits"] = rlimits
    spec["process"] = process


def add_root(request: SpecRequest, spec: dict) -> None:
    """The root file system, the host name and the domain name."""
    spec["root"] = {"path": request.rootfs,
                    "readonly": bool(request.host.get("ReadonlyRootfs"))}
    spec["hostname"] = request.config.get("Hostname") or (
        os.uname().nodename if request.share_host_network else request.container.id[:12])
    if request.config.get("Domainname"):
        spec["domainname"] = request.config["Domainname"]


def add_mounts(request: SpecRequest, spec: dict) -> None:
    """The kernel file systems every container gets and the engine's files for /etc, except
    where the user mounts something of their own (Docker's rule), then the user's mounts:
    binds, volumes and tmpfs (runtime.volume.mountpoints); with `--init`, the init."""
    from runtime.volume import mountpoints
    user = mountpoints.oci_mounts(request.container)
    taken = {mount["destination"] for mount in user}
    defaults = [mount for mount in kernel_mounts(request) + engine_file_mounts(request)
                if mount["destination"] not in taken and not (
                    "/dev" in taken and mount["destination"].startswith("/dev/"))]
    spec["mounts"] = defaults + user
    if request.host.get("Init"):
        spec["mounts"].append(init_process.mount(init_process.binary()))
    propagation = mountpoints.check_propagation(request.container)
    if propagation:
        spec["linux"]["rootfsPropagation"] = propagation


def kernel_mounts(request: SpecRequest) -> list[dict]:
    mounts = [
        {"destination": "/proc", "type": "proc", "source": "proc",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["ro", "nosuid", "noexec", "nodev"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777",
                     f"size={int(request.host.get('ShmSize') or 64 << 20)}"]},
    ]
    if request.share_host_network:
        # A host-network container must not get a private /sys (the kernel refuses sysfs in a
        # network namespace it does not own); bind the host's read-only like Docker.
        mounts[3] = {"destination": "/sys", "type": "bind", "source": "/sys",
                     "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]}
    return mounts


def engine_file_mounts(request: SpecRequest) -> list[dict]:
    """/etc/resolv.conf, /etc/hostname and /etc/hosts, written by the engine."""
    return [{"destination": f"/etc/{name}", "type": "bind",
             "source": request.container.path(name), "options": ["rbind", "rprivate"]}
            for name in ("resolv.conf", "hostname", "hosts")]


def add_namespaces(request: SpecRequest, spec: dict) -> None:
    """pid, ipc, uts and mount always; a network namespace unless the host's is shared."""
    namespaces = [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]
    if not request.share_host_network:
        network = {"type": "network"}
        if request.network_namespace:
            network["path"] = request.network_namespace
        namespaces.append(network)
    spec["linux"]["namespaces"] = namespaces


def add_resources(request: SpecRequest, spec: dict) -> None:
    """The cgroup: its path, the device rules (and the nodes of `--device`), memory, CPU and
    PIDs limits. In a group, CPUs and PIDs above the group's are capped to the group's
    (runtime.container.groups); memory stays as asked."""
    from runtime.container.cgroups import capped
    host = request.host
    group = request.group or {}
    nodes, rules = devices.oci(host)
    if nodes:
        spec["linux"]["devices"] = nodes
    resources = {"devices": [{"allow": True, "access": "rwm"}] if request.privileged
                 else DEVICE_RULES + rules}
    memory = int(host.get("Memory") or 0)
    if memory > 0:
        resources["memory"] = {"limit": memory}
        if request.memory_swap_supported:
            swap = int(host.get("MemorySwap") or 0)
            resources["memory"]["swap"] = swap if swap > 0 else memory
    nano_cpus = capped(int(host.get("NanoCpus") or 0), int(group.get("NanoCpus") or 0))
    if nano_cpus > 0:
        period = 100000
        resources["cpu"] = {"period": period, "quota": nano_cpus * period // 1_000_000_000}
    pids = capped(int(host.get("PidsLimit") or 0), int(group.get("PidsLimit") or 0))
    if pids > 0:
        resources["pids"] = {"limit": pids}
    spec["linux"]["resources"] = resources
    spec["linux"]["cgroupsPath"] = f"/{request.cgroup_parent}/{request.container.id}"


def add_security(request: SpecRequest, spec: dict) -> None:
    """Capabilities, no-new-privileges, the AppArmor profile asked for, and for unprivileged
    containers the masked and read-only paths and the seccomp filter (the default one, or
    the container's own: runtime.container.security_options), compiled in advance for
    crun."""
    caps = request.capabilities
    security = request.security
    spec["process"]["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps,
                                       "inheritable": [], "ambient": []}
    spec["process"]["noNewPrivileges"] = security.no_new_privileges
    if security.apparmor:
        spec["process"]["apparmorProfile"] = security.apparmor
    if request.privileged:
        return
    linux = spec["linux"]
    if not security.system_paths_unconfined:
        linux["maskedPaths"] = existing_masked_paths()
        linux["readonlyPaths"] = list(READONLY_PATHS)
    if security.seccomp == "unconfined":
        return
    profile = seccomp.convert(security.seccomp, caps) if security.seccomp else \
        seccomp.default_profile(caps)
    if not profile:
        return
    linux["seccomp"] = profile
    if request.seccomp_cache:
        from runtime.container import seccomp_bpf
        compiled = seccomp_bpf.annotation(profile, request.seccomp_cache)
        if compiled:
            spec.setdefault("annotations", {})["run.oci.seccomp_bpf_data"] = compiled


STEPS = (add_process, add_root, add_mounts, add_namespaces, add_resources, add_security)
