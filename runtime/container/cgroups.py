"""A container's cgroups: its processes (`top`) and resource use (`stats`); and the cgroups
of groups, whose limits hold for every container inside (runtime.container.groups).

The OCI runtime creates and removes a container's cgroups (`linux.cgroupsPath` =
/moorage-<root hash>/<id>, or /moorage-<root hash>/<group>/<id> for a container in a group);
on cgroup v1 hosts each controller has its own hierarchy under /sys/fs/cgroup/<controller>/, on
a pure v2 host everything is under /sys/fs/cgroup/ itself. A group's own cgroup is made and
limited here, before any of its containers exists.
"""

import contextlib
import os
import signal
import time

CGROUP_ROOT = "/sys/fs/cgroup"


def _unified() -> bool:
    return os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers"))


def cgroup_dir(parent: str, container_id: str, controller: str) -> str:
    if _unified():
        return os.path.join(CGROUP_ROOT, parent, container_id)
    return os.path.join(CGROUP_ROOT, controller, parent, container_id)


_hierarchies: list[str] | None = None


def hierarchies() -> list[str]:
    """Every mounted cgroup hierarchy: /sys/fs/cgroup itself on a pure v2 host, else each
    v1 controller's (and name=systemd's, and the v2 one beside them on a hybrid host).
    Looked up once per process: they are mounted at boot."""
    global _hierarchies
    if _hierarchies is None:
        _hierarchies = _find_hierarchies()
    return _hierarchies


def _find_hierarchies() -> list[str]:
    if _unified():
        return [CGROUP_ROOT]
    found = []
    try:
        entries = sorted(os.listdir(CGROUP_ROOT))
    except OSError:
        return found
    for entry in entries:
        path = os.path.join(CGROUP_ROOT, entry)
        if not os.path.islink(path) and os.path.ismount(path):
            found.append(path)
    return found


def membership(pid) -> dict[str, str]:
    """The cgroup of process `pid` in each hierarchy: {hierarchy directory: "/path"}."""
    found = {}
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return found
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if not controllers:
            directory = CGROUP_ROOT if _unified() else os.path.join(CGROUP_ROOT, "unified")
        else:
            directory = os.path.join(CGROUP_ROOT, controllers.removeprefix("name="))
        found[directory] = path
    return found


def move_to(relative: str, pid: int) -> None:
    """Put process `pid` into the cgroup `relative` (e.g. "moorage-<hash>/monitors") of every
    hierarchy, creating it; best effort where a hierarchy refuses. A hierarchy where it is
    there already (it was born there) is left alone: each move costs the kernel an RCU grace
    period on cgroup v1, milliseconds on every start."""
    wanted = "/" + relative.strip("/")
    current = membership(pid)
    for hierarchy in hierarchies():
        if current.get(hierarchy) == wanted:
            continue
        directory = os.path.join(hierarchy, relative)
        try:
            os.makedirs(directory, exist_ok=True)
            if os.path.exists(os.path.join(directory, "cpuset.cpus")):
                _give_cpus_and_memory_nodes(hierarchy, relative)
            with open(os.path.join(directory, "cgroup.procs"), "w") as f:
                f.write(str(pid))
        except OSError:
            continue


def _give_cpus_and_memory_nodes(hierarchy: str, relative: str) -> None:
    """A new cpuset cgroup of v1 has no CPUs and no memory nodes, and takes no process (the
    write fails, after the kernel's costly attach lock): each level without them gets its
    parent's, as Docker and crun do for their own cgroups."""
    parent = hierarchy
    for part in relative.strip("/").split("/"):
        directory = os.path.join(parent, part)
        for name in ("cpuset.cpus", "cpuset.mems"):
            value = _read(os.path.join(directory, name))
            if value is not None and not value.strip():
                inherited = _read(os.path.join(parent, name)) or ""
                with open(os.path.join(directory, name), "w") as f:
                    f.write(inherited.strip())
        parent = directory


def frozen(parent: str, container_id: str) -> bool:
    """Whether the container's processes are frozen, as the kernel says (the freezer
    controller's state on v1, `cgroup.freeze` on v2): what its record says may be stale."""
    if _unified():
        return (_read(os.path.join(cgroup_dir(parent, container_id, ""), "cgroup.freeze"))
                or "").strip() == "1"
    state = _read(os.path.join(cgroup_dir(parent, container_id, "freezer"), "freezer.state"))
    return (state or "").strip() in ("FROZEN", "FREEZING")


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _read_int(path: str) -> int | None:
    text = _read(path)
    try:
        return int(text.strip()) if text is not None and text.strip() != "max" else None
    except ValueError:
        return None


def container_parent(parent: str, container) -> str:
    """The cgroup `container` lives under: the root's `parent`, or its group's below it."""
    group = container.host_config.get("CgroupParent")
    return f"{parent}/{group}" if group else parent


def oom_kill_counted(container) -> bool:
    """Whether the kernel counted an OOM kill in the container's own cgroup, which conmon's
    `oom` file alone does not say: conmon writes it when the container's cgroup is notified
    of an OOM, and an OOM of a group notifies every container inside, killed or not. True
    when there is no count to read (a kernel without it, a cgroup gone with a reboot)."""
    import json
    try:
        with open(container.path("config.json")) as f:
            relative = json.load(f)["linux"]["cgroupsPath"].strip("/")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return True
    if _unified():
        counts = _keyed(_read(os.path.join(CGROUP_ROOT, relative, "memory.events")))
    else:
        counts = _keyed(_read(os.path.join(CGROUP_ROOT, "memory", relative,
                                           "memory.oom_control")))
    return counts.get("oom_kill", 1) > 0


def pids(parent: str, container_id: str) -> list[int]:
    for controller in ("pids", "memory", "cpu"):
        text = _read(os.path.join(cgroup_dir(parent, container_id, controller), "cgroup.procs"))
        if text is not None:
            return sorted(int(p) for p in text.split())
    return []


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def processes(parent: str, container) -> list[list[str]]:
    """`top`'s rows: UID PID PPID C STIME TTY TIME CMD."""
    rows = []
    boot = _boot_time()
    for pid in pids(container_parent(parent, container), container.id):
        stat = _read(f"/proc/{pid}/stat")
        status = _read(f"/proc/{pid}/status")
        cmdline = _read(f"/proc/{pid}/cmdline")
        if stat is None or status is None:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        uid = next((line.split()[1] for line in status.splitlines()
                    if line.startswith("Uid:")), "?")
        ticks = int(fields[11]) + int(fields[12])
        started = boot + int(fields[19]) / _CLOCK_TICKS
        tty_nr = int(fields[4])
        tty = f"pts/{os.minor(tty_nr)}" if os.major(tty_nr) == 136 else "?"
        seconds = ticks // _CLOCK_TICKS
        command = (cmdline or "").replace("\0", " ").strip() or \
            "[" + stat[stat.find("(") + 1:stat.rfind(")")] + "]"
        rows.append([uid, str(pid), fields[1], "0", time.strftime("%H:%M", time.gmtime(started)),
                     tty, f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}",
                     command])
    return rows


def _boot_time() -> float:
    for line in (_read("/proc/stat") or "").splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    return 0.0


def _system_cpu_ns() -> int:
    for line in (_read("/proc/stat") or "").splitlines():
        if line.startswith("cpu "):
            return sum(int(v) for v in line.split()[1:8]) * 1_000_000_000 // _CLOCK_TICKS
    return 0


def _container_cpu_ns(parent: str, container_id: str) -> int:
    if _unified():
        for line in (_read(os.path.join(cgroup_dir(parent, container_id, "cpu"), "cpu.stat")) or
                     "").splitlines():
            if line.startswith("usage_usec "):
                return int(line.split()[1]) * 1000
        return 0
    usage = os.path.join(cgroup_dir(parent, container_id, "cpuacct"), "cpuacct.usage")
    return _read_int(usage) or 0


def _memory(parent: str, container_id: str) -> tuple[int, int]:
    directory = cgroup_dir(parent, container_id, "memory")
    total_memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if _unified():
        usage = _read_int(os.path.join(directory, "memory.current")) or 0
        limit = _read_int(os.path.join(directory, "memory.max")) or total_memory
        cache_key = "inactive_file"
    else:
        usage = _read_int(os.path.join(directory, "memory.usage_in_bytes")) or 0
        limit = _read_int(os.path.join(directory, "memory.limit_in_bytes")) or total_memory
        cache_key = "total_inactive_file"
    for line in (_read(os.path.join(directory, "memory.stat")) or "").splitlines():
        key, _, value = line.partition(" ")
        if key == cache_key:
            usage = max(0, usage - int(value))
            break
    return usage, min(limit, total_memory)


def _network(pid: int) -> tuple[int, int]:
    received = sent = 0
    for line in (_read(f"/proc/{pid}/net/dev") or "").splitlines()[2:]:
        name, _, values = line.partition(":")
        if name.strip() == "lo":
            continue
        numbers = values.split()
        if len(numbers) >= 9:
            received += int(numbers[0])
            sent += int(numbers[8])
    return received, sent


def _block(parent: str, container_id: str) -> tuple[int, int]:
    read = written = 0
    if _unified():
        for line in (_read(os.path.join(cgroup_dir(parent, container_id, "io"), "io.stat")) or
                     "").splitlines():
            for item in line.split()[1:]:
                key, _, value = item.partition("=")
                if key == "rbytes":
                    read += int(value)
                elif key == "wbytes":
                    written += int(value)
        return read, written
    path = os.path.join(cgroup_dir(parent, container_id, "blkio"),
                        "blkio.throttle.io_service_bytes_recursive")
    for line in (_read(path) or "").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] == "Read":
            read += int(parts[2])
        elif len(parts) == 3 and parts[1] == "Write":
            written += int(parts[2])
    return read, written


def human_bytes(value: float, binary: bool = True) -> str:
    base = 1024.0 if binary else 1000.0
    units = ["B", "KiB", "MiB", "GiB", "TiB"] if binary else ["B", "kB", "MB", "GB", "TB"]
    for unit in units:
        if abs(value) < base or unit == units[-1]:
            return f"{value:.4g}{unit}" if unit != "B" else f"{int(value)}B"
        value /= base
    return f"{value}"


def sample_stats(parent: str, containers, interval: float = 0.5) -> list[dict]:
    """One `stats --no-stream` row per container, CPU % measured over `interval`."""
    placed = {c.id: container_parent(parent, c) for c in containers}
    first = {c.id: (_container_cpu_ns(placed[c.id], c.id), _system_cpu_ns()) for c in containers}
    if containers:
        time.sleep(interval)
    online = os.cpu_count() or 1
    rows = []
    for container in containers:
        cpu_before, system_before = first[container.id]
        own_parent = placed[container.id]
        cpu_delta = _container_cpu_ns(own_parent, container.id) - cpu_before
        system_delta = _system_cpu_ns() - system_before
        cpu_percent = (cpu_delta / system_delta * online * 100.0) if system_delta > 0 else 0.0
        usage, limit = _memory(own_parent, container.id)
        pid = container.state.get("Pid") or 0
        received, sent = _network(pid) if pid else (0, 0)
        read, written = _block(own_parent, container.id)
        rows.append({
            "id": container.id, "name": container.name,
            "cpu_percent": max(cpu_percent, 0.0),
            "memory": usage, "limit": limit,
            "memory_percent": usage / limit * 100 if limit else 0.0,
            "memory_text": human_bytes(usage), "limit_text": human_bytes(limit),
            "net_text": f"{human_bytes(received, False)} / {human_bytes(sent, False)}",
            "block_text": f"{human_bytes(read, False)} / {human_bytes(written, False)}",
            "pids": len(pids(own_parent, container.id)),
        })
    return rows


def docker_stats(parent: str, container, previous: dict | None) -> dict:
    """One sample of Docker's stats document (`GET /containers/{id}/stats`), with
    `precpu_stats` from `previous` (None for the first of a series)."""
    from runtime.container.state import rfc3339_ns
    usage, limit = _memory(parent, container.id)
    pid = container.state.get("Pid") or 0
    running = container.status in ("running", "paused")
    received, sent = _network(pid) if pid and running else (0, 0)
    read, written = _block(parent, container.id)
    cpu = {"cpu_usage": {"total_usage": _container_cpu_ns(parent, container.id),
                         "usage_in_kernelmode": 0, "usage_in_usermode": 0},
           "system_cpu_usage": _system_cpu_ns(), "online_cpus": os.cpu_count() or 1,
           "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}
    empty_cpu = {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0,
                               "usage_in_usermode": 0},
                 "system_cpu_usage": 0, "online_cpus": 0,
                 "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}
    return {
        "read": rfc3339_ns(),
        "preread": previous["read"] if previous else "0001-01-01T00:00:00Z",
        "id": container.id, "name": "/" + container.name,
        "pids_stats": {"current": len(pids(parent, container.id))},
        "blkio_stats": {"io_service_bytes_recursive": [
            {"major": 0, "minor": 0, "op": "Read", "value": read},
            {"major": 0, "minor": 0, "op": "Write", "value": written}]},
        "num_procs": 0, "storage_stats": {},
        "cpu_stats": cpu,
        "precpu_stats": previous["cpu_stats"] if previous else empty_cpu,
        "memory_stats": {"usage": usage, "limit": limit, "stats": {}} if running else {},
        "networks": {"eth0": {"rx_bytes": received, "rx_packets": 0, "rx_errors": 0,
                              "rx_dropped": 0, "tx_bytes": sent, "tx_packets": 0,
                              "tx_errors": 0, "tx_dropped": 0}} if running else {},
    }


# -- groups ------------------------------------------------------------------------------------
#
# A group is an intermediate cgroup, /sys/fs/cgroup/<controller>/<root parent>/<group>/ on v1
# and /sys/fs/cgroup/<root parent>/<group>/ on v2, whose limits hold for all its containers
# together whatever each one asks: the kernel charges a child's memory, CPU time and
# processes to every ancestor. A container's own limits stay as asked (memory may overcommit,
# as Docker's do) except CPUs and PIDs above the group's, which are capped to the group's:
# a v1 kernel refuses a child CFS quota above its parent's, and the container's own files then
# say what it can really use. A group's memory limit is on memory (RAM), not on swap.

CFS_PERIOD_US = 100000
_V1_GROUP_CONTROLLERS = ("memory", "cpu", "cpuacct", "pids")
_V2_GROUP_CONTROLLERS = ("memory", "cpu", "pids")
_UNLIMITED_BYTES = 1 << 62      # v1 reads "no limit" back as about 2**63


def cfs_quota(nano_cpus: int) -> int:
    """The CFS quota (µs per 100 ms period) of a CPU limit in nano-CPUs; -1 for none."""
    return nano_cpus * CFS_PERIOD_US // 1_000_000_000 if nano_cpus > 0 else -1


def capped(asked: int, group: int) -> int:
    """A container's limit inside a group: what it asked, at most the group's. A container
    without a limit of its own (0) keeps none: its group's holds for it anyway."""
    if asked <= 0 or group <= 0:
        return asked
    return min(asked, group)


def _write(directory: str, name: str, value) -> None:
    with open(os.path.join(directory, name), "w") as f:
        f.write(str(value))


def _children(directory: str) -> list[str]:
    """The container cgroups (64 hex digits) inside a group's directory."""
    try:
        entries = os.listdir(directory)
    except OSError:
        return []
    return sorted(entry for entry in entries if len(entry) == 64 and
                  os.path.isdir(os.path.join(directory, entry)))


def group_exists(relative: str) -> bool:
    """Whether the group's cgroup is there with its limits (it goes with a reboot)."""
    if _unified():
        return os.path.isdir(os.path.join(CGROUP_ROOT, relative))
    return all(os.path.isdir(os.path.join(CGROUP_ROOT, controller, relative))
               for controller in _V1_GROUP_CONTROLLERS)


def apply_group(relative: str, limits: dict, asked: dict[str, tuple[int, int]]) -> None:
    """Make the group's cgroup `relative` ("moorage-<hash>/<group>") if needed and give it
    `limits` (`Memory` bytes, `NanoCpus`, `PidsLimit`; 0 = none), re-capping the containers
    inside: `asked` maps a container ID to the (NanoCpus, PidsLimit) it asked for. OSError
    when the kernel refuses (EBUSY: a v1 memory limit below what the group uses now)."""
    if _unified():
        _apply_group_v2(relative, limits, asked)
    else:
        _apply_group_v1(relative, limits, asked)


def _lower(new: int, current: int) -> bool:
    """Whether quota `new` is below `current` (-1 is no limit)."""
    return new != -1 and (current == -1 or new < current)


def _apply_group_v1(relative: str, limits: dict, asked: dict) -> None:
    for controller in _V1_GROUP_CONTROLLERS:
        os.makedirs(os.path.join(CGROUP_ROOT, controller, relative), exist_ok=True)
    memory = int(limits.get("Memory") or 0)
    _write(os.path.join(CGROUP_ROOT, "memory", relative), "memory.limit_in_bytes",
           memory if memory > 0 else -1)

    cpu_dir = os.path.join(CGROUP_ROOT, "cpu", relative)
    quota = cfs_quota(int(limits.get("NanoCpus") or 0))
    targets = {}
    for child in _children(cpu_dir):
        directory = os.path.join(cpu_dir, child)
        current = _read_int(os.path.join(directory, "cpu.cfs_quota_us"))
        current = -1 if current is None else current
        own = cfs_quota(asked[child][0]) if child in asked else current
        targets[directory] = (current, own if quota == -1 or own == -1 else min(own, quota))
    # The kernel refuses a child quota above its parent's: children come down first and go
    # back up last.
    for directory, (current, target) in targets.items():
        if _lower(target, current):
            _write(directory, "cpu.cfs_quota_us", target)
    if quota != -1 and _read_int(os.path.join(cpu_dir, "cpu.cfs_period_us")) != CFS_PERIOD_US:
        _write(cpu_dir, "cpu.cfs_quota_us", -1)
        _write(cpu_dir, "cpu.cfs_period_us", CFS_PERIOD_US)
    _write(cpu_dir, "cpu.cfs_quota_us", quota)
    for directory, (current, target) in targets.items():
        if not _lower(target, current) and target != current:
            _write(directory, "cpu.cfs_quota_us", target)

    pids_dir = os.path.join(CGROUP_ROOT, "pids", relative)
    _set_pids(pids_dir, int(limits.get("PidsLimit") or 0), asked)


def _set_pids(directory: str, pids: int, asked: dict) -> None:
    _write(directory, "pids.max", pids if pids > 0 else "max")
    for child in _children(directory):
        own = asked[child][1] if child in asked else 0
        limit = capped(own, pids) if child in asked else pids
        if limit > 0:
            _write(os.path.join(directory, child), "pids.max", limit)


def _enable_controllers(directory: str) -> None:
    """Let the cgroups below `directory` have the controllers groups limit (v2)."""
    available = (_read(os.path.join(directory, "cgroup.controllers")) or "").split()
    enabled = (_read(os.path.join(directory, "cgroup.subtree_control")) or "").split()
    missing = [c for c in _V2_GROUP_CONTROLLERS if c in available and c not in enabled]
    if missing:
        _write(directory, "cgroup.subtree_control", " ".join("+" + c for c in missing))


def _apply_group_v2(relative: str, limits: dict, asked: dict) -> None:
    directory = CGROUP_ROOT
    for part in relative.split("/"):
        _enable_controllers(directory)
        directory = os.path.join(directory, part)
        os.makedirs(directory, exist_ok=True)
    _enable_controllers(directory)     # for its containers' own limits
    memory = int(limits.get("Memory") or 0)
    _write(directory, "memory.max", memory if memory > 0 else "max")
    quota = cfs_quota(int(limits.get("NanoCpus") or 0))
    _write(directory, "cpu.max", f"{quota if quota != -1 else 'max'} {CFS_PERIOD_US}")
    for child in _children(directory):
        if child in asked:
            own = cfs_quota(asked[child][0])
            target = own if quota == -1 or own == -1 else min(own, quota)
        else:
            target = quota
        if target != -1:
            _write(os.path.join(directory, child), "cpu.max", f"{target} {CFS_PERIOD_US}")
    _set_pids(directory, int(limits.get("PidsLimit") or 0), asked)


def _limit(value: int | None) -> int:
    """A limit read from a cgroup file: 0 for none (or no file)."""
    return 0 if value is None or value >= _UNLIMITED_BYTES else value


def _keyed(text: str | None) -> dict[str, int]:
    """A flat keyed file (memory.events, cpu.stat, memory.oom_control) as numbers."""
    values = {}
    for line in (text or "").splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            values[key] = int(value)
    return values


def group_usage(relative: str) -> dict:
    """What the group's cgroup files say: memory (`Current`, `Max`, `FailCount`: how often
    the limit was hit, `OOMKills`: processes killed inside, None on v1 where it is not kept),
    CPU (`UsageNanos`, `Quota` and `Period` in µs, -1 for no quota) and PIDs (`Current`,
    `Max`); a limit of 0 is none."""
    if _unified():
        directory = os.path.join(CGROUP_ROOT, relative)
        events = _keyed(_read(os.path.join(directory, "memory.events")))
        quota, _, period = (_read(os.path.join(directory, "cpu.max")) or "max 100000").partition(
            " ")
        return {
            "Memory": {"Current": _read_int(os.path.join(directory, "memory.current")) or 0,
                       "Max": _limit(_read_int(os.path.join(directory, "memory.max"))),
                       "FailCount": events.get("max", 0),
                       "OOMKills": events.get("oom_kill", 0)},
            "Cpu": {"UsageNanos": _keyed(_read(os.path.join(directory, "cpu.stat"))).get(
                        "usage_usec", 0) * 1000,
                    "Quota": -1 if quota.strip() == "max" else int(quota),
                    "Period": int(period.strip() or CFS_PERIOD_US)},
            "Pids": {"Current": _read_int(os.path.join(directory, "pids.current")) or 0,
                     "Max": _limit(_read_int(os.path.join(directory, "pids.max")))},
        }
    memory = os.path.join(CGROUP_ROOT, "memory", relative)
    cpu = os.path.join(CGROUP_ROOT, "cpu", relative)
    pids_dir = os.path.join(CGROUP_ROOT, "pids", relative)
    quota = _read_int(os.path.join(cpu, "cpu.cfs_quota_us"))
    return {
        "Memory": {"Current": _read_int(os.path.join(memory, "memory.usage_in_bytes")) or 0,
                   "Max": _limit(_read_int(os.path.join(memory, "memory.limit_in_bytes"))),
                   "FailCount": _read_int(os.path.join(memory, "memory.failcnt")) or 0,
                   # v1 counts a kill in the victim's own cgroup only, gone with it.
                   "OOMKills": None},
        "Cpu": {"UsageNanos": _read_int(os.path.join(CGROUP_ROOT, "cpuacct", relative,
                                                     "cpuacct.usage")) or 0,
                "Quota": -1 if quota is None else quota,
                "Period": _read_int(os.path.join(cpu, "cpu.cfs_period_us")) or CFS_PERIOD_US},
        "Pids": {"Current": _read_int(os.path.join(pids_dir, "pids.current")) or 0,
                 "Max": _limit(_read_int(os.path.join(pids_dir, "pids.max")))},
    }


def remove_tree(path: str) -> None:
    """Remove a cgroup and those below it, killing what is left inside each (rmdir only:
    the kernel refuses while a process remains, so this waits for the kills to land)."""
    with contextlib.suppress(FileNotFoundError):
        for entry in os.listdir(path):
            if os.path.isdir(os.path.join(path, entry)):
                remove_tree(os.path.join(path, entry))
    for _attempt in range(50):
        text = _read(os.path.join(path, "cgroup.procs")) or ""
        for pid in text.split():
            with contextlib.suppress(OSError):
                os.kill(int(pid), signal.SIGKILL)
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)
    os.rmdir(path)


def remove_group(relative: str) -> None:
    """Remove the group's cgroup from every hierarchy (with what its ended containers left)."""
    for hierarchy in hierarchies():
        directory = os.path.join(hierarchy, relative)
        if os.path.isdir(directory):
            remove_tree(directory)
