"""The resident processes `bench_engine.py` starts for a run, and ends by PID: Moorage's engine
service on the run's moor root, and a private Docker daemon (Debian's dockerd 20.10 with its
own containerd) on a data root, exec root and socket inside the run's directory, so that
neither touches a system daemon. Each writes its PID under the run's directory, where the
clean-up (also the next run's, after a run that was killed) finds it.

On hosts where crun needs it (cgroup v1 controllers beside a cgroup2 hierarchy that still
owns one), dockerd runs in a private mount namespace whose cgroup2 mount is covered by an
empty tmpfs, as the anchors were measured: there containerd's shims and runc see a pure v1
host (in the plain hybrid view, `docker rm -f` of many containers left shims gone and
containers up, for good). Its overlay mounts live and die with that namespace.

The private dockerd does not touch the host's network or firewall: `--iptables=false
--ip6tables=false --ip-forward=false --ip-masq=false`, and its default network is a bridge
the benchmark makes for it (`BRIDGE`, an address block of the 198.18.0.0/15 benchmarking
range) and removes at the end. Its containers' cgroups live under the run's cgroup
(`--cgroup-parent`). On first use dockerd writes /etc/docker/key.json and makes /run/docker:
the benchmark records whether they were there before and removes them if not.
"""

import contextlib
import os
import signal
import subprocess
import time

DOCKERD = "/usr/sbin/dockerd"
DOCKER = "/usr/bin/docker"          # Debian's client, matching the daemon (API 1.41)
BRIDGE = "moorbench-dk"
BRIDGE_ADDRESS = "198.18.251.1/24"
# What dockerd makes on the host even with private roots (checked before, removed after).
HOST_PATHS = ("/etc/docker", "/etc/docker/key.json", "/run/docker", "/run/docker/plugins")


def _wait_for(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not come up within {seconds:.0f} s")


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def read_pid(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _names(pid: int, text: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return text.encode() in f.read()
    except OSError:
        return False


def end_process(pid: int | None, naming: str, seconds: float = 30) -> None:
    """SIGTERM, then SIGKILL after `seconds`; only a process whose command line contains
    `naming` (a PID file may outlive its process, and the PID be another's by now)."""
    if not _alive(pid) or not _names(pid, naming):
        return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + seconds
    while _alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError, OSError):
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
        time.sleep(0.1)
    if _alive(pid):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, 0)


def tree_memory_kib(pid: int, field: str) -> int:
    """`field` (Rss, Pss) of `pid` and every process below it, from smaps_rollup."""
    total, pending, seen = 0, [pid], set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        with contextlib.suppress(OSError):
            with open(f"/proc/{current}/smaps_rollup") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        total += int(line.split()[1])
        with contextlib.suppress(OSError):
            with open(f"/proc/{current}/task/{current}/children") as f:
                pending += [int(child) for child in f.read().split()]
    return total


class MoorService:
    """`moor system service` on the run's root, its socket in the run's directory."""

    def __init__(self, directory: str, moor_argv, root: str):
        self.socket = os.path.join(directory, "moor-docker.sock")
        self.pid_file = os.path.join(directory, "moor-service.pid")
        self.log = os.path.join(directory, "moor-service.log")
        self.moor_argv = moor_argv
        self.root = root
        self.process = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                self.moor_argv("--root", self.root, "system", "service", "--socket",
                               self.socket),
                stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                start_new_session=True)
        with open(self.pid_file, "w") as f:
            f.write(str(self.process.pid))
        line = self.process.stdout.readline()
        if not line.startswith(b"listening on"):
            raise RuntimeError(f"the moor service did not start (see {self.log})")

    def memory_kib(self, field: str) -> int:
        """The service's processes (the API server and its command server) together."""
        return tree_memory_kib(self.process.pid, field) if self.process else 0

    def stop(self) -> None:
        stop_service(os.path.dirname(self.pid_file), self.root)


class PrivateDockerd:
    """dockerd (and the containerd it starts) inside the run's directory."""

    def __init__(self, directory: str, cgroup_parent: str):
        self.directory = os.path.join(directory, "docker")
        self.data_root = os.path.join(self.directory, "data")
        self.exec_root = os.path.join(self.directory, "exec")
        self.socket = os.path.join(self.directory, "docker.sock")
        self.pid_file = os.path.join(self.directory, "dockerd.pid")
        self.log = os.path.join(self.directory, "dockerd.log")
        self.cgroup_parent = cgroup_parent
        self.env = {"DOCKER_HOST": f"unix://{self.socket}",
                    "DOCKER_CONFIG": os.path.join(self.directory, "client")}

    @staticmethod
    def available() -> bool:
        return os.access(DOCKERD, os.X_OK) and os.access(DOCKER, os.X_OK)

    def start(self, memory_cgroup: str | None, shadow_cgroup2: bool) -> None:
        """Start it (in `memory_cgroup`, with everything it starts; with `shadow_cgroup2`, in
        a mount namespace of its own without the cgroup2 hierarchy) and wait for its API."""
        os.makedirs(self.env["DOCKER_CONFIG"], exist_ok=True)
        if os.path.exists(f"/sys/class/net/{BRIDGE}"):     # a killed run's
            subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True)
        subprocess.run(["ip", "link", "add", BRIDGE, "type", "bridge"], check=True,
                       capture_output=True)
        subprocess.run(["ip", "addr", "add", BRIDGE_ADDRESS, "dev", BRIDGE], check=True,
                       capture_output=True)
        subprocess.run(["ip", "link", "set", BRIDGE, "up"], check=True, capture_output=True)

        def enter_cgroup():
            if memory_cgroup:
                os.makedirs(memory_cgroup, exist_ok=True)
                with open(os.path.join(memory_cgroup, "cgroup.procs"), "w") as f:
                    f.write(str(os.getpid()))
        argv = [DOCKERD, "--data-root", self.data_root, "--exec-root", self.exec_root,
                "-H", f"unix://{self.socket}", "--pidfile", self.pid_file,
                "--iptables=false", "--ip6tables=false", "--ip-forward=false",
                "--ip-masq=false", "--storage-driver=overlay2", f"--bridge={BRIDGE}",
                f"--cgroup-parent={self.cgroup_parent}", "--log-level=warn"]
        if shadow_cgroup2:
            argv = ["unshare", "--mount", "--propagation", "slave", "--", "sh", "-c",
                    "mount -t tmpfs -o size=16m,mode=755 moorage-bench-cgroup2-shadow "
                    "/sys/fs/cgroup/unified && exec \"$@\"", "sh", *argv]
        with open(self.log, "ab") as log:
            subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                             start_new_session=True, preexec_fn=enter_cgroup)

        def answers() -> bool:
            return subprocess.run([DOCKER, "version"], env={**os.environ, **self.env},
                                  capture_output=True).returncode == 0
        _wait_for(answers, 60, f"dockerd (see {self.log})")

    def docker(self, *args, check: bool = True, timeout: float = 600) -> str:
        result = subprocess.run([DOCKER, *args], env={**os.environ, **self.env},
                                capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)}: {result.stderr.strip()[-300:]}")
        return result.stdout

    @property
    def pid(self) -> int | None:
        return read_pid(self.pid_file)

    def stop(self) -> None:
        """Its containers removed, then the daemon ended (it ends its containerd)."""
        stop(self.directory)


def stop(docker_directory: str) -> None:
    """End a private dockerd found by its PID file (also one of a run that was killed):
    its containers first, then the daemon; then its bridge."""
    pid = read_pid(os.path.join(docker_directory, "dockerd.pid"))
    if _alive(pid):
        socket = os.path.join(docker_directory, "docker.sock")
        env = {**os.environ, "DOCKER_HOST": f"unix://{socket}",
               "DOCKER_CONFIG": os.path.join(docker_directory, "client")}
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            ids = subprocess.run([DOCKER, "ps", "-aq"], env=env, capture_output=True,
                                 text=True, timeout=60).stdout.split()
            for start in range(0, len(ids), 50):
                subprocess.run([DOCKER, "rm", "-f", *ids[start:start + 50]], env=env,
                               capture_output=True, timeout=600)
        end_process(pid, docker_directory, seconds=60)
    if os.path.exists(f"/sys/class/net/{BRIDGE}"):
        subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True)


def stop_service(directory: str, root: str) -> None:
    """End the moor service of a run (also of one that was killed) by its PID file."""
    end_process(read_pid(os.path.join(directory, "moor-service.pid")), root)
