"""`update`: a container's memory, CPU and process limits and its restart policy, changed
while it runs (through the OCI runtime's `update`, which writes its cgroups) or while it is
stopped (its next start uses them), as Docker's `docker update`. In a group, CPUs and PIDs
above the group's are capped to the group's, as at start (runtime.container.groups)."""

import json
import os
import tempfile

from runtime.container import options as opts
from runtime.container.lifecycle import holding, memory_swap_supported, oci_runtime
from runtime.container.state import PAUSED, RESTARTING, RUNNING, Container
from runtime.errors import InvalidArgument, MoorError

CPU_PERIOD = 100000             # the period the OCI spec of every container uses (spec.py)
UPDATABLE = ("memory", "memory_swap", "cpus", "pids_limit", "restart")


def update(engine, container: Container, changes: dict) -> None:
    """Apply `changes` (keys of UPDATABLE, values as `create` takes them) to the container's
    HostConfig, and to its cgroups when it runs. Nothing changes when a value is refused."""
    unknown = sorted(set(changes) - set(UPDATABLE))
    if unknown:
        raise InvalidArgument(f"cannot update {', '.join(unknown)}")
    with holding(container):
        container.refresh()
        host = dict(container.host_config)
        _apply(host, changes, container)
        if container.status in (RUNNING, PAUSED, RESTARTING) and \
                {"memory", "memory_swap", "cpus", "pids_limit"} & set(changes):
            if container.status != RESTARTING:
                _write_cgroups(engine, container, host)
        container.config["HostConfig"] = host
        container.save_config()


def _apply(host: dict, changes: dict, container: Container) -> None:
    if "restart" in changes:
        policy = opts.parse_restart(changes["restart"])
        if policy["Name"] and host.get("AutoRemove"):
            raise InvalidArgument("Restart policy cannot be updated because AutoRemove is "
                                  "enabled for the container")
        host["RestartPolicy"] = policy
    if "memory" in changes:
        memory = opts.parse_memory(changes["memory"])
        swap = int(host.get("MemorySwap") or 0)
        if "memory_swap" not in changes and memory and swap > 0 and memory > swap:
            raise InvalidArgument("Memory limit should be smaller than already set memoryswap "
                                  "limit, update the memoryswap at the same time")
        host["Memory"] = memory
    if "memory_swap" in changes:
        text = changes["memory_swap"]
        swap = 0 if text in (None, "", "-1", -1) else opts.parse_size(text, "memory-swap")
        if swap and not host.get("Memory"):
            raise InvalidArgument("You should always set the Memory limit when using "
                                  "Memoryswap limit, see usage")
        if swap and swap < int(host.get("Memory") or 0):
            raise InvalidArgument("Minimum memoryswap limit should be larger than memory "
                                  "limit, see usage")
        host["MemorySwap"] = swap
    if "cpus" in changes:
        host["NanoCpus"] = opts.parse_cpus(changes["cpus"])
    if "pids_limit" in changes:
        host["PidsLimit"] = opts.parse_pids_limit(changes["pids_limit"])


def resources(host: dict, group: dict | None = None) -> dict:
    """The OCI linux.resources of the limits that are set, as the runtimes' `update -r`
    takes them (a memory of -1: none); CPUs and PIDs capped to the `group`'s limits."""
    from runtime.container.cgroups import capped
    group = group or {}
    nano_cpus = capped(int(host.get("NanoCpus") or 0), int(group.get("NanoCpus") or 0))
    pids = capped(int(host.get("PidsLimit") or 0), int(group.get("PidsLimit") or 0))
    memory = int(host.get("Memory") or 0)
    swap = int(host.get("MemorySwap") or 0)
    limits = {"memory": {"limit": memory or -1}}
    if memory_swap_supported():
        limits["memory"]["swap"] = (swap or memory) if memory else -1
    if nano_cpus:
        limits["cpu"] = {"period": CPU_PERIOD, "quota": nano_cpus * CPU_PERIOD // 1_000_000_000}
    if pids:
        limits["pids"] = {"limit": pids}
    return limits


def _group_limits(engine, container: Container) -> dict | None:
    """The limits of the container's group (None: in none, or its group is gone)."""
    from runtime.container import groups
    from runtime.errors import NotFound
    name = container.host_config.get("CgroupParent")
    if not name:
        return None
    try:
        return groups.definition(engine.paths, name)
    except NotFound:
        return None


def _write_cgroups(engine, container: Container, host: dict) -> None:
    runtime = oci_runtime(engine, container)
    fd, path = tempfile.mkstemp(prefix="update-", suffix=".json", dir=container.dir)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(resources(host, _group_limits(engine, container)), f)
        runtime.run("update", "--resources", path, container.id)
    finally:
        os.unlink(path)
    _lift_removed_limits(engine, container, host)


def _lift_removed_limits(engine, container: Container, host: dict) -> None:
    """No CPU or process limit any more: crun refuses -1 for these where runc takes it, so
    the cgroup files get their `max` here, as the runtimes write it."""
    from runtime.container import cgroups
    parent = cgroups.container_parent(engine.paths.cgroup_parent, container)
    cpu_v2 = os.path.exists(os.path.join(cgroups.cgroup_dir(parent, container.id, "cpu"),
                                         "cpu.max"))
    writes = []
    if not host.get("NanoCpus"):
        writes.append(("cpu", "cpu.max", f"max {CPU_PERIOD}") if cpu_v2
                      else ("cpu", "cpu.cfs_quota_us", "-1"))
    if not host.get("PidsLimit"):
        writes.append(("pids", "pids.max", "max"))
    for controller, name, value in writes:
        target = os.path.join(cgroups.cgroup_dir(parent, container.id, controller), name)
        try:
            with open(target, "w") as f:
                f.write(value)
        except OSError as error:
            raise MoorError(f"cannot lift the {controller} limit of {container.name}: "
                            f"{error.strerror}") from None
