"""The OCI spec and the (Config, HostConfig) pair of representative containers, pinned.

`spec.build` and `options.build` are built in named steps; this file holds their whole output
for a few containers that between them take every branch (defaults, limits, binds, a
privileged host-network container, capabilities, a crun seccomp cache), so that reshaping the
code cannot change what a container gets. The host-dependent parts (the kernel's maskable
paths, the distribution's seccomp profile, the host name) are fixed here.

`tests/runtime/container/golden/` holds the expected documents; when a change to a container's
spec is intended, regenerate them with `python -m tests.runtime.container.test_spec_golden` and
review the diff.
"""

import json
import os
import sys

import pytest

from runtime.container import init_process, options, seccomp, seccomp_bpf, spec
from runtime.container.state import Container
from runtime.volume import specs

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
CONTAINER_ID = "c0ffee" + "0" * 58
IMAGE_CONFIG = {"config": {
    "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"],
    "Cmd": ["sh"], "WorkingDir": "/srv", "User": "daemon",
    "Labels": {"from": "image"}, "ExposedPorts": {"80/tcp": {}},
    "StopSignal": "SIGQUIT",
}}

# name -> the create options of a representative container.
OPTION_CASES = {
    "defaults": {"image": "busybox"},
    "limits": {
        "image": "busybox", "name": "web", "cmd": "httpd -f -p 80", "env": ["A=1", "LANG=en"],
        "workdir": "/www", "user": "0:0", "hostname": "web1", "domainname": "example.org",
        "tty": True, "stdin_open": True, "stdin_once": True, "memory": "64m",
        "memory_swap": "128m", "cpus": "0.5", "pids_limit": 40, "restart": "on-failure:3",
        "binds": ["/srv/site:/www:ro", "/tmp/cache:/cache"], "network": "none",
        "ports": ["8080:80"], "publish_all": True, "runtime": "runc",
        "labels": ["team=blue", "tier"], "cap_add": ["net_admin"], "cap_drop": ["mknod"],
        "stop_signal": "SIGTERM", "stop_timeout": 3, "shm_size": "128m", "read_only": True,
        "expose": ["9000", "53/udp"], "publish_loopback": False,
        "log_opts": ["max-size=10m", "max-file=2"],
    },
    "privileged_host": {
        "image": "busybox", "entrypoint": ["/bin/sh", "-c"], "cmd": ["echo hi"],
        "privileged": True, "network": "host", "auto_remove": True,
        "labels": {"k": "v"}, "id": CONTAINER_ID,
    },
    "drop_all": {"image": "busybox", "entrypoint": [], "cmd": ["true"],
                 "cap_drop": ["ALL"], "cap_add": ["CAP_CHOWN", "kill"], "memory": 8 << 20,
                 "init": True},
    # Volumes, binds and tmpfs of every kind; user mounts over /etc/hosts and /dev/shm take
    # the place of the engine's own.
    "mounts": {"image": "busybox", "binds": ["data:/data:ro,nocopy", "/srv/hosts:/etc/hosts:ro",
                                             "/srv/www:/www:rprivate"],
               "volumes": ["/cache"], "tmpfs": {"/run": "size=64m,exec"},
               "mounts": ["type=tmpfs,dst=/dev/shm,tmpfs-size=1m,tmpfs-mode=1777",
                          "type=volume,src=logs,dst=/data/logs,volume-nocopy"]},
    # The flags of /etc/hosts, resolv.conf, limits, devices and security options.
    "run_flags": {"image": "busybox", "network": "front", "ip": "10.5.0.9",
                  "extra_hosts": ["db:10.5.0.7", "gw:host-gateway", "six=[::1]"],
                  "dns": ["10.5.0.1"], "dns_search": ["example.org"],
                  "dns_options": ["ndots:2"], "ulimits": ["nofile=1024:2048", "core=0"],
                  "devices": ["/dev/null:/dev/xnull:rw"], "expose": ["7000-7001/udp"],
                  "security_opt": ["no-new-privileges=true", "systempaths=unconfined",
                                   'seccomp={"defaultAction": "SCMP_ACT_ALLOW", "syscalls": '
                                   '[{"names": ["mkdir", "mkdirat"], "action": '
                                   '"SCMP_ACT_ERRNO", "errnoRet": 1}]}']},
    "unconfined": {"image": "busybox", "security_opt": ["seccomp:unconfined",
                                                        "no-new-privileges"]},
}

# name -> how the spec is built for it: (options case, spec arguments).
SPEC_CASES = {
    "defaults": ("defaults", {"share_host_network": False, "network_namespace": None,
                              "memory_swap_supported": False, "seccomp_cache": None}),
    "limits": ("limits", {"share_host_network": False,
                          "network_namespace": "/run/moorage/x/netns/c0ffee",
                          "memory_swap_supported": True, "seccomp_cache": None}),
    "limits_no_swap": ("limits", {"share_host_network": False, "network_namespace": None,
                                  "memory_swap_supported": False, "seccomp_cache": None}),
    "privileged_host": ("privileged_host", {"share_host_network": True,
                                            "network_namespace": None,
                                            "memory_swap_supported": True,
                                            "seccomp_cache": "/run/moorage/x/seccomp"}),
    "drop_all_crun": ("drop_all", {"share_host_network": False, "network_namespace": None,
                                   "memory_swap_supported": True,
                                   "seccomp_cache": "/run/moorage/x/seccomp"}),
    "mounts": ("mounts", {"share_host_network": False, "network_namespace": None,
                          "memory_swap_supported": False, "seccomp_cache": None}),
    "run_flags": ("run_flags", {"share_host_network": False, "network_namespace": None,
                                "memory_swap_supported": False, "seccomp_cache": None}),
    "unconfined_crun": ("unconfined", {"share_host_network": False, "network_namespace": None,
                                       "memory_swap_supported": False,
                                       "seccomp_cache": "/run/moorage/x/seccomp"}),
}


class User:
    def __init__(self, uid, gid, additional_gids):
        self.uid, self.gid, self.additional_gids = uid, gid, additional_gids


def fixed_host(monkeypatch):
    """The host-dependent inputs of a spec, the same on every machine."""
    monkeypatch.setattr(spec, "existing_masked_paths", lambda: list(spec.MASKED_PATHS))
    monkeypatch.setattr(seccomp, "default_profile",
                        lambda caps: {"defaultAction": "SCMP_ACT_ERRNO", "for": sorted(caps)})
    monkeypatch.setattr(seccomp_bpf, "annotation",
                        lambda profile, cache: f"compiled in {cache}")
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setattr(init_process, "binary", lambda: "/usr/bin/tini-static")
    uname = os.uname()
    monkeypatch.setattr(os, "uname", lambda: os.uname_result(
        (uname.sysname, "golden-host", uname.release, uname.version, uname.machine)))


def build_options(case: str) -> dict:
    config, host_config = options.build(dict(OPTION_CASES[case]), IMAGE_CONFIG)
    return {"Config": config, "HostConfig": host_config}


def build_spec(case: str) -> dict:
    options_case, arguments = SPEC_CASES[case]
    built = build_options(options_case)
    record = {"Id": CONTAINER_ID, "Name": "golden", "Config": built["Config"],
              "HostConfig": built["HostConfig"]}
    if case == "mounts":
        record["MountPoints"] = mount_points(built)
    container = Container(f"/var/lib/moorage/containers/{CONTAINER_ID}", record, {})
    user = User(1, 1, [2, 3]) if case == "defaults" else User(0, 0, [])
    return spec.build(container, "/var/lib/moorage/containers/x/merged", user,
                      ["PATH=/bin", "HOME=/root"], ["/bin/sh", "-c", "true"], "/srv",
                      cgroup_parent="moorage-0123456789ab", **arguments)


def mount_points(built: dict) -> list[dict]:
    """The mount points create would record, volumes named and placed as it would."""
    points = specs.plan(built["Config"], built["HostConfig"])
    for point in points:
        if point["Type"] == "volume":
            point["Name"] = point["Name"] or "a" * 64
            point["Source"] = f"/var/lib/moorage/volumes/{point['Name']}/_data"
    return points


def golden(kind: str, case: str) -> dict:
    with open(os.path.join(GOLDEN, f"{kind}-{case}.json")) as f:
        return json.load(f)


@pytest.mark.parametrize("case", sorted(OPTION_CASES))
def test_options_are_unchanged(monkeypatch, case):
    fixed_host(monkeypatch)
    assert json.loads(json.dumps(build_options(case))) == golden("options", case)


@pytest.mark.parametrize("case", sorted(SPEC_CASES))
def test_spec_is_unchanged(monkeypatch, case):
    fixed_host(monkeypatch)
    assert json.loads(json.dumps(build_spec(case))) == golden("spec", case)


def regenerate() -> None:
    monkeypatch = pytest.MonkeyPatch()
    fixed_host(monkeypatch)
    try:
        os.makedirs(GOLDEN, exist_ok=True)
        documents = {f"options-{case}": build_options(case) for case in OPTION_CASES}
        documents.update({f"spec-{case}": build_spec(case) for case in SPEC_CASES})
    finally:
        monkeypatch.undo()
    for name, document in documents.items():
        with open(os.path.join(GOLDEN, f"{name}.json"), "w") as f:
            json.dump(document, f, indent=1, sort_keys=True)
            f.write("\n")
    sys.stdout.write(f"wrote {len(documents)} documents to {GOLDEN}\n")


if __name__ == "__main__":
    regenerate()
