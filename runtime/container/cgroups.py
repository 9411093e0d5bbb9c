"""Reading a container's cgroups: its processes (`top`) and resource use (`stats`).

The OCI runtime creates and removes the cgroups (`linux.cgroupsPath` = /moorage/<id>); on these
cgroup v1 hosts each controller has its own hierarchy under /sys/fs/cgroup/<controller>/, on a
pure v2 host everything is under /sys/fs/cgroup/ itself.
"""

import os
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
    for pid in pids(parent, container.id):
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
    return _read_int(os.path.join(cgroup_dir(parent, container_id, "cpuacct"), "cpuacct.usage")) or 0


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
    first = {c.id: (_container_cpu_ns(parent, c.id), _system_cpu_ns()) for c in containers}
    if containers:
        time.sleep(interval)
    online = os.cpu_count() or 1
    rows = []
    for container in containers:
        cpu_before, system_before = first[container.id]
        cpu_delta = _container_cpu_ns(parent, container.id) - cpu_before
        system_delta = _system_cpu_ns() - system_before
        cpu_percent = (cpu_delta / system_delta * online * 100.0) if system_delta > 0 else 0.0
        usage, limit = _memory(parent, container.id)
        pid = container.state.get("Pid") or 0
        received, sent = _network(pid) if pid else (0, 0)
        read, written = _block(parent, container.id)
        rows.append({
            "id": container.id, "name": container.name,
            "cpu_percent": max(cpu_percent, 0.0),
            "memory": usage, "limit": limit,
            "memory_percent": usage / limit * 100 if limit else 0.0,
            "memory_text": human_bytes(usage), "limit_text": human_bytes(limit),
            "net_text": f"{human_bytes(received, False)} / {human_bytes(sent, False)}",
            "block_text": f"{human_bytes(read, False)} / {human_bytes(written, False)}",
            "pids": len(pids(parent, container.id)),
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
