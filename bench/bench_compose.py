"""`moor compose up -d` of a three-service busybox project, measured in one run against the
same containers started one by one with `moor run -d`, against docker-compose 1.29
(Debian's) driving Moorage's engine service, and against docker-compose 1.29 driving a
private dockerd (Debian's docker.io) on the same busybox files. As root.

    .venv/bin/python bench/bench_compose.py [--runs N] [--no-docker] [--json FILE]

Targets: compose adds at most 50 ms over the sum of the single starts (`moor network
create` + three `moor run -d`), and `moor compose up -d` is faster than docker-compose
against dockerd.

Every side makes the same things: a user network and three `sleep` containers on it, and is
timed from spawning the first command to the exit of the last, when every container runs
(`up -d` returns once they have started): `moor compose up -d`, twice — with its file
already validated once (the schema check is remembered under the engine root) and with a
file never seen before (jsonschema imported and run); the one-by-one starts; `docker-compose
up -d` through `moor system service` on the run's root (its socket in the run's directory);
`docker-compose up -d` against dockerd; and, for information, `docker network create` +
three `docker run -d` against dockerd. The rounds alternate the order of the sides; between
sides everything is removed, untimed.

dockerd is a private one for the run: its own data
root, exec root, socket and PID file in the run's directory, `--iptables=false
--ip6tables=false --ip-forward=false --bridge=none --storage-driver=overlay2`, its
containers' cgroups under a parent of the run's; the busybox image is the one
`moor image bootstrap busybox` made, through `moor save` and `docker load`. It never touches
a system daemon, and what dockerd makes on the host on first use (/etc/docker/key.json,
/run/docker) is removed when it was not there before and no other dockerd runs.

It prints the medians and the targets, and leaves nothing behind (`moor system reset` of its
root, dockerd and the service ended by PID, the directory removed; also when interrupted).
A report, not a test: it exits 0 when it measured.
"""

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MOOR = [os.path.join(REPOSITORY, "bin", "moor")]
DOCKERD = "/usr/sbin/dockerd"
DOCKER = "/usr/bin/docker"                  # Debian's client, matching the daemon
DOCKER_COMPOSE = "/usr/bin/docker-compose"  # Debian's docker-compose 1.29
TARGET_MS = 50.0
PROJECT = "bench"
# What dockerd makes on the host even with private roots (checked before, removed after).
DOCKER_HOST_PATHS = ("/etc/docker/key.json", "/etc/docker", "/run/docker/plugins",
                     "/run/docker")

COMPOSE = """
services:
  a:
    image: busybox
    command: sleep 600
  b:
    image: busybox
    command: sleep 600
  c:
    image: busybox
    command: sleep 600
"""


def run(argv, env=None, check=True, timeout=300) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})})
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])}...: {result.stderr.strip()[-400:]}")
    return result


def moor(root: str, *args, check=True) -> subprocess.CompletedProcess:
    return run(MOOR + ["--root", root, *args], check=check)


def timed(commands) -> float:
    started = time.perf_counter()
    for command in commands:
        command()
    return (time.perf_counter() - started) * 1000


def _alive(pid: int | None) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError, TypeError):
        return False


def end_process(pid: int | None, seconds: float = 30) -> None:
    """SIGTERM, then SIGKILL after `seconds`."""
    if not _alive(pid):
        return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + seconds
    while _alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError, OSError):
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
        time.sleep(0.05)
    if _alive(pid):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, 0)


class MoorService:
    """`moor system service` on the run's root, its socket in the run's directory."""

    def __init__(self, directory: str, root: str):
        self.root = root
        self.socket = os.path.join(directory, "moor.sock")
        self.log = os.path.join(directory, "moor-service.log")
        self.process = None

    @property
    def env(self) -> dict:
        return {"DOCKER_HOST": f"unix://{self.socket}"}

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                MOOR + ["--root", self.root, "system", "service", "--socket", self.socket],
                stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                start_new_session=True)
        if not self.process.stdout.readline().startswith(b"listening on"):
            raise RuntimeError(f"the moor service did not start (see {self.log})")

    def stop(self) -> None:
        if self.process is not None:
            end_process(self.process.pid)
            self.process.stdout.close()
            self.process = None


class PrivateDockerd:
    """dockerd (and the containerd it starts) inside the run's directory."""

    def __init__(self, directory: str):
        self.directory = os.path.join(directory, "docker")
        self.socket = os.path.join(self.directory, "docker.sock")
        self.pid_file = os.path.join(self.directory, "dockerd.pid")
        self.log = os.path.join(self.directory, "dockerd.log")
        self.cgroup_parent = f"moorage-bench-compose-{os.path.basename(directory)[-8:]}"
        self.env = {"DOCKER_HOST": f"unix://{self.socket}",
                    "DOCKER_CONFIG": os.path.join(self.directory, "client")}
        self.absent_before = [path for path in DOCKER_HOST_PATHS if not os.path.exists(path)]

    @staticmethod
    def available() -> bool:
        return all(os.access(path, os.X_OK) for path in (DOCKERD, DOCKER, DOCKER_COMPOSE))

    def start(self) -> None:
        os.makedirs(self.env["DOCKER_CONFIG"], exist_ok=True)
        argv = [DOCKERD, "--data-root", os.path.join(self.directory, "data"),
                "--exec-root", os.path.join(self.directory, "exec"),
                "-H", f"unix://{self.socket}", "--pidfile", self.pid_file,
                "--iptables=false", "--ip6tables=false", "--ip-forward=false",
                "--ip-masq=false", "--bridge=none", "--storage-driver=overlay2",
                f"--cgroup-parent=/{self.cgroup_parent}", "--log-level=warn"]
        with open(self.log, "ab") as log:
            subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                             start_new_session=True)
        deadline = time.monotonic() + 60
        while run([DOCKER, "version"], env=self.env, check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"dockerd did not come up (see {self.log})")
            time.sleep(0.2)

    def docker(self, *args, check=True) -> subprocess.CompletedProcess:
        return run([DOCKER, *args], env=self.env, check=check)

    @property
    def pid(self) -> int | None:
        try:
            with open(self.pid_file) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        """Its containers and networks removed, then the daemon (it ends its containerd),
        its cgroups, and what it made on the host."""
        if _alive(self.pid):
            ids = self.docker("ps", "-aq", check=False).stdout.split()
            if ids:
                self.docker("rm", "-f", *ids, check=False)
            self.docker("network", "prune", "-f", check=False)
            end_process(self.pid, seconds=60)
        for base in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
            with contextlib.suppress(OSError):
                for controller in os.listdir(base):
                    path = os.path.join(base, controller, self.cgroup_parent)
                    if os.path.isdir(path):
                        for child in os.listdir(path):
                            with contextlib.suppress(OSError):
                                if os.path.isdir(os.path.join(path, child)):
                                    os.rmdir(os.path.join(path, child))
                        with contextlib.suppress(OSError):
                            os.rmdir(path)
        if run(["pgrep", "-x", "dockerd"], check=False).returncode == 0:
            return      # another dockerd (someone else's) may use them
        for path in self.absent_before:
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            elif os.path.exists(path):
                os.unlink(path)


class Sides:
    """The measured commands, each leaving three running containers that `clear` removes."""

    def __init__(self, root: str, directory: str, service: MoorService | None,
                 dockerd: PrivateDockerd | None):
        self.root = root
        self.file = os.path.join(directory, "compose.yaml")
        self.new_file = os.path.join(directory, "new", "compose.yaml")
        os.makedirs(os.path.dirname(self.new_file))
        with open(self.file, "w") as handle:
            handle.write(COMPOSE)
        self.service = service
        self.dockerd = dockerd

    def _moor_running(self) -> None:
        running = moor(self.root, "ps", "-q").stdout.split()
        assert len(running) == 3, running

    def compose(self, new_file: bool = False) -> float:
        file = self.file
        if new_file:    # content never validated before: jsonschema is imported and runs
            file = self.new_file
            with open(file, "w") as handle:
                handle.write(COMPOSE + f"x-round: {os.urandom(8).hex()}\n")
        elapsed = timed([lambda: moor(self.root, "compose", "-p", PROJECT, "-f", file, "up",
                                      "-d")])
        self._moor_running()
        moor(self.root, "compose", "-p", PROJECT, "-f", file, "down", "-t", "0")
        return elapsed

    def one_by_one(self) -> float:
        commands = [lambda: moor(self.root, "network", "create", f"{PROJECT}_default")]
        for service in "abc":
            commands.append(lambda service=service: moor(
                self.root, "run", "-d", "--network", f"{PROJECT}_default", "--name",
                f"{PROJECT}-{service}-1", "busybox", "sleep", "600"))
        elapsed = timed(commands)
        self._moor_running()
        moor(self.root, "rm", "-f", *moor(self.root, "ps", "-q").stdout.split())
        moor(self.root, "network", "rm", f"{PROJECT}_default")
        return elapsed

    def _docker_compose(self, env: dict, *args) -> subprocess.CompletedProcess:
        return run([DOCKER_COMPOSE, "--ansi", "never", "-p", PROJECT, "-f", self.file, *args],
                   env={**env, "DOCKER_CONFIG": self.dockerd.env["DOCKER_CONFIG"]})

    def docker_compose_moor(self) -> float:
        elapsed = timed([lambda: self._docker_compose(self.service.env, "up", "-d")])
        self._moor_running()
        self._docker_compose(self.service.env, "down", "-t", "0")
        return elapsed

    def docker_compose_dockerd(self) -> float:
        elapsed = timed([lambda: self._docker_compose(self.dockerd.env, "up", "-d")])
        running = self.dockerd.docker("ps", "-q").stdout.split()
        assert len(running) == 3, running
        self._docker_compose(self.dockerd.env, "down", "-t", "0")
        return elapsed

    def docker_one_by_one(self) -> float:
        docker = self.dockerd.docker
        commands = [lambda: docker("network", "create", f"{PROJECT}_default")]
        for service in "abc":
            commands.append(lambda service=service: docker(
                "run", "-d", "--network", f"{PROJECT}_default", "--name",
                f"{PROJECT}-{service}-1", "busybox", "sleep", "600"))
        elapsed = timed(commands)
        running = docker("ps", "-q").stdout.split()
        assert len(running) == 3, running
        docker("rm", "-f", *running)
        docker("network", "rm", f"{PROJECT}_default")
        return elapsed


LABELS = {
    "compose": "moor compose up -d, 3 services",
    "compose_new_file": "  the same, a file never seen before",
    "one_by_one": "network create + 3 x moor run -d",
    "docker_compose_moor": "docker-compose 1.29 up -d, moor's service",
    "docker_compose_dockerd": "docker-compose 1.29 up -d, dockerd",
    "docker_one_by_one": "docker network create + 3 x run -d",
}


def report(results: dict, runs: int) -> dict:
    medians = {name: statistics.median(values) for name, values in results.items() if values}
    for name, label in LABELS.items():
        if name in medians:
            print(f"{label + ':':<45}{medians[name]:8.1f} ms (median of {len(results[name])})")
    verdicts = {}
    for label, measured in (("compose's overhead", "compose"),
                            ("  with a new file", "compose_new_file")):
        overhead = medians[measured] - medians["one_by_one"]
        met = overhead <= TARGET_MS
        verdicts[measured + "_overhead_ms"] = overhead
        print(f"{label + ':':<45}{overhead:8.1f} ms (target at most {TARGET_MS:.0f} ms: "
              f"{'met' if met else 'MISSED'})")
    if "docker_compose_dockerd" in medians:
        ratio = medians["compose"] / medians["docker_compose_dockerd"]
        verdicts["compose_vs_docker_compose_dockerd"] = ratio
        print(f"{'moor compose / docker-compose on dockerd:':<45}{ratio:8.2f}    (target below "
              f"1: {'met' if ratio < 1 else 'MISSED'})")
        ratio = medians["docker_compose_moor"] / medians["docker_compose_dockerd"]
        verdicts["docker_compose_moor_vs_dockerd"] = ratio
        print(f"{'docker-compose: moor service / dockerd:':<45}{ratio:8.2f}    (information)")
    return {"medians_ms": medians, **verdicts}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--no-docker", action="store_true",
                        help="only moor compose against moor run (no service, no dockerd)")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.stderr.write("bench_compose.py makes containers: run it as root\n")
        return 1
    directory = tempfile.mkdtemp(prefix="moorage-bench-compose-")
    root = os.path.join(directory, "root")
    with_docker = not args.no_docker and PrivateDockerd.available()
    if not args.no_docker and not with_docker:
        sys.stderr.write("dockerd, docker or docker-compose is missing (Debian's docker.io "
                         "and docker-compose): only moor's sides are measured\n")
    service = MoorService(directory, root) if with_docker else None
    dockerd = PrivateDockerd(directory) if with_docker else None
    results = {name: [] for name in LABELS}
    try:
        moor(root, "image", "bootstrap", "busybox")
        if with_docker:
            service.start()
            dockerd.start()
            archive = os.path.join(directory, "busybox.tar")
            moor(root, "save", "-o", archive, "busybox")
            dockerd.docker("load", "-i", archive)
        sides = Sides(root, directory, service, dockerd)
        measured = [("compose", sides.compose),
                    ("compose_new_file", lambda: sides.compose(new_file=True)),
                    ("one_by_one", sides.one_by_one)]
        if with_docker:
            measured += [("docker_compose_moor", sides.docker_compose_moor),
                         ("docker_compose_dockerd", sides.docker_compose_dockerd),
                         ("docker_one_by_one", sides.docker_one_by_one)]
        for _, side in measured:    # warm-up: caches, the first network's set-up
            side()
        for round_number in range(args.runs):
            order = measured if round_number % 2 == 0 else list(reversed(measured))
            for name, side in order:
                results[name].append(side())
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    finally:
        if dockerd is not None:
            dockerd.stop()
        if service is not None:
            service.stop()
        moor(root, "system", "reset", "--force", check=False)
        shutil.rmtree(directory, ignore_errors=True)
    summary = report(results, args.runs)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"runs_ms": results, **summary, "target_ms": TARGET_MS}, handle,
                      indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
