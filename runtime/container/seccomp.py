"""The default seccomp profile, in the OCI runtime spec's form.

The base is the distribution's containers profile (`/usr/share/containers/seccomp.json`, the
one podman uses), converted the way moby converts its own: groups are kept or dropped by the
container's capabilities, the host architecture and kernel version. That profile allows the
namespace and mount calls to everyone and leaves the capability check to the kernel; we tighten
them to Docker's default so a container without CAP_SYS_ADMIN cannot even create namespaces
(the CVE-2022-0492 route): `mount`, `umount2`, `unshare`, `setns`, `pivot_root`, `keyctl`... are
only allowed with the capability, and `clone` only without namespace flags.
"""

import json
import os

DISTRIBUTION_PROFILE = "/usr/share/containers/seccomp.json"

_ARCH_NAMES = {
    "x86_64": ("SCMP_ARCH_X86_64", "amd64"),
    "aarch64": ("SCMP_ARCH_AARCH64", "arm64"),
}

# Docker gates these behind a capability (moby profiles/seccomp/default.json).
_CAP_GATED = {
    "CAP_SYS_ADMIN": ["mount", "umount", "umount2", "unshare", "setns", "sethostname",
                      "setdomainname", "syslog", "quotactl", "quotactl_fd", "fsopen", "fsmount",
                      "fsconfig", "fspick", "move_mount", "open_tree", "mount_setattr",
                      "bpf", "fanotify_init", "lookup_dcookie", "perf_event_open", "clone3"],
    "CAP_SYS_BOOT": ["reboot"],
    "CAP_SYS_PTRACE": ["kcmp", "pidfd_getfd", "process_madvise"],
}
# Never allowed, whatever the capabilities (Docker's list).
_NEVER = ["pivot_root", "keyctl", "add_key", "request_key", "kexec_load", "kexec_file_load",
          "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register"]
CLONE_NAMESPACE_FLAGS = 0x7E020000
ENOSYS = 38


def _kernel_at_least(version: str) -> bool:
    def parts(text):
        out = []
        for piece in text.split("-")[0].split(".")[:3]:
            out.append(int("".join(c for c in piece if c.isdigit()) or 0))
        return out
    return parts(os.uname().release) >= parts(version)


def default_profile(capabilities: list[str]) -> dict | None:
    """The OCI `linux.seccomp` object for a container holding `capabilities`, or None when
    the distribution ships no profile (then the container runs without a filter, which
    `moor info` reports)."""
    try:
        with open(DISTRIBUTION_PROFILE, "rb") as f:
            profile = json.load(f)
    except (OSError, ValueError):
        return None
    return convert(profile, capabilities, tighten=True)


def convert(profile: dict, capabilities: list[str], tighten: bool = False) -> dict:
    """A profile in Docker's JSON format (`defaultAction`, `architectures` or `archMap`,
    `syscalls` with `names`, `includes` and `excludes`...) -> the OCI `linux.seccomp` object
    for this host and a container holding `capabilities`, as moby's `setupSeccomp` converts
    one. `tighten`: the engine's default, Docker's capability gates added (see the module's
    note); a user's own profile (`--security-opt seccomp=FILE`) is taken as it is. Raises
    ValueError on a profile that is not of that format."""
    if not isinstance(profile, dict) or not isinstance(profile.get("defaultAction"), str):
        raise ValueError("a seccomp profile is a JSON object with a defaultAction")
    if profile.get("architectures") and profile.get("archMap"):
        raise ValueError("use either 'architectures' or 'archMap' in a seccomp profile")
    machine = os.uname().machine
    scmp_arch, go_arch = _ARCH_NAMES.get(machine, ("SCMP_ARCH_" + machine.upper(), machine))
    caps = set(capabilities)

    architectures = list(profile.get("architectures") or [])
    for entry in profile.get("archMap") or []:
        if entry.get("architecture") == scmp_arch:
            architectures = [scmp_arch] + list(entry.get("subArchitectures") or [])

    removed: set[str] = set()
    if tighten:
        gated = {name: cap for cap, names in _CAP_GATED.items() for name in names}
        removed = set(_NEVER) | {name for name, cap in gated.items() if cap not in caps}
        if "CAP_SYS_ADMIN" not in caps:
            removed.add("clone")

    syscalls = []
    for group in profile.get("syscalls") or []:
        if not isinstance(group, dict) or not isinstance(group.get("action"), str):
            raise ValueError("each syscall rule of a seccomp profile needs an action")
        if group.get("name") and group.get("names"):
            raise ValueError("use either 'name' or 'names' in a seccomp rule")
        includes = group.get("includes") or {}
        excludes = group.get("excludes") or {}
        if includes.get("caps") and not set(includes["caps"]) <= caps:
            continue
        if excludes.get("caps") and set(excludes["caps"]) & caps:
            continue
        if includes.get("arches") and go_arch not in includes["arches"]:
            continue
        if excludes.get("arches") and go_arch in excludes["arches"]:
            continue
        if includes.get("minKernel") and not _kernel_at_least(includes["minKernel"]):
            continue
        names = list(group.get("names") or ([group["name"]] if group.get("name") else []))
        if not all(isinstance(name, str) for name in names):
            raise ValueError("syscall names in a seccomp profile are strings")
        if group.get("action") == "SCMP_ACT_ALLOW":
            names = [n for n in names if n not in removed]
        if not names:
            continue
        rule = {"names": names, "action": group["action"]}
        if group.get("args"):
            rule["args"] = [{k: a[k] for k in ("index", "value", "valueTwo", "op") if k in a}
                            for a in group["args"]]
        if group.get("errnoRet") is not None:
            rule["errnoRet"] = group["errnoRet"]
        syscalls.append(rule)

    if tighten and "CAP_SYS_ADMIN" not in caps:
        syscalls.append({"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{
            "index": 0, "value": CLONE_NAMESPACE_FLAGS, "valueTwo": 0,
            "op": "SCMP_CMP_MASKED_EQ"}]})
        # libc falls back to clone() when clone3() says it does not exist.
        syscalls.append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS})
    present = {name for rule in syscalls for name in rule["names"]}
    denied = sorted(removed - {"clone", "clone3"} - present)
    if denied:
        syscalls.append({"names": denied, "action": "SCMP_ACT_ERRNO", "errnoRet": 1})

    result = {"defaultAction": profile["defaultAction"], "architectures": architectures,
              "syscalls": syscalls}
    if profile.get("defaultErrnoRet") is not None:
        result["defaultErrnoRet"] = profile["defaultErrnoRet"]
    return result


def available() -> bool:
    return os.path.exists(DISTRIBUTION_PROFILE)
